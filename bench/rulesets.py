"""Cost of the IATI Standard rule set (iatiportal.ingest.rulesets) per activity.

Generates N activities with shared/tools/gen_iati.py (or reads --file), then prints, best of
--repeat passes each: ms per activity of the rule set's checks alone (on elements parsed
beforehand), and of reading the file as the ingest does (parse.iter_file: records, schema,
codelists, sanity rules and the rule set), with the rule set's share of it.

Figures, not pass/fail; compare figures of one run (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lxml import etree

from iatiportal.ingest import parse, rulesets

SHARED = Path(os.environ.get("IATIPORTAL_SHARED_DATA", "../shared/data")).resolve()
GEN = SHARED.parent / "tools/gen_iati.py"


def best(repeat: int, run: object) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, nargs="?", default=2000, help="activities to generate")
    ap.add_argument("--file", type=Path, help="an IATI activity file instead")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.file
        if path is None:
            path = Path(tmp) / "generated.xml"
            subprocess.run([sys.executable, str(GEN), str(args.n), str(path), "1"], check=True)
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
        elements = etree.parse(str(path), parser).getroot().findall("iati-activity")
        n = len(elements)

        def rules_only() -> None:
            for el in elements:
                rulesets.activity_problems(el, None)

        def whole_read() -> None:
            for _item in parse.iter_file(path):
                pass

        rules = best(args.repeat, rules_only)
        whole = best(args.repeat, whole_read)
    print(f"{n} activities ({path.name})")
    print(f"rule set alone: {rules / n * 1000:.3f} ms/activity")
    print(f"whole read (iter_file, rule set included): {whole / n * 1000:.3f} ms/activity")
    print(f"rule set share of the read: {rules / whole:.1%}")


if __name__ == "__main__":
    main()
