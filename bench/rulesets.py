"""Cost of the IATI Standard rule set (iatiportal.ingest.rulesets) per activity.

Generates N activities with shared/tools/gen_iati.py (or reads --file), then prints, best of
--repeat passes each: ms per activity of the rule set's checks alone (on elements parsed
beforehand), and of reading the file as the ingest does (parse.iter_file: records, schema,
codelists, sanity rules and the rule set), with the rule set's share of it.

With --counts, reads every IATI file under a folder instead (by default the shared files,
$IATIPORTAL_SHARED_DATA/iati) as the ingest does and prints, per file, its activities, the
XSD errors the ingest's schema check found (ingest.validate: each one, those past the five kept
per activity included) and the rule set's problems; then per rule id how many problems (one per
activity and rule) and occurrences (the "N times in all" of a problem); then the totals, over
the activities of 2.0x (where the rule set runs) and over all.

Figures, not pass/fail; compare figures of one run (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lxml import etree

from iatiportal.ingest import parse, rulesets
from iatiportal.ingest import records as r

SHARED = Path(os.environ.get("IATIPORTAL_SHARED_DATA", "../shared/data")).resolve()
GEN = SHARED.parent / "tools/gen_iati.py"


def best(repeat: int, run: object) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return min(times)


STANDARD_ID = re.compile(r"[0-9]+(?:\.[0-9]+)+")
MORE_SCHEMA = re.compile(r"([0-9]+) more schema errors")
TIMES = re.compile(r"\(([0-9]+) times in all\)$")


class Tally:
    """Activities, XSD errors and rule set problems of some files."""

    def __init__(self) -> None:
        self.activities = 0
        self.xsd_errors = 0
        self.xsd_activities = 0
        self.rule_problems = 0
        self.rule_activities = 0

    def add(self, act: r.Activity) -> tuple[int, list[r.Problem]]:
        xsd = 0
        for p in act.problems:
            if p.rule == "schema":
                more = MORE_SCHEMA.fullmatch(p.message)
                xsd += int(more.group(1)) if more else 1
        rules = [p for p in act.problems if STANDARD_ID.fullmatch(p.rule)]
        self.activities += 1
        self.xsd_errors += xsd
        self.xsd_activities += bool(xsd)
        self.rule_problems += len(rules)
        self.rule_activities += bool(rules)
        return xsd, rules

    def merge(self, other: Tally) -> None:
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)

    def summary(self, label: str) -> str:
        return (
            f"{label}: rules find {self.rule_problems} problems in {self.rule_activities} of "
            f"{self.activities} activities where the XSD finds {self.xsd_errors} errors in "
            f"{self.xsd_activities}"
        )


def counts(folder: Path) -> None:
    """Per file, per rule and in all: what the rule set finds beside the XSD."""
    per_rule: dict[str, list[int]] = {}  # rule: [problems, occurrences]
    severity: dict[str, str] = {}
    total, total_2 = Tally(), Tally()
    started = time.perf_counter()
    files = sorted(folder.rglob("*.xml"))
    print(f"{'activities':>10} {'XSD errors':>10} {'rule problems':>13}  file")
    for path in files:
        tally, version = Tally(), ""
        try:
            for item in parse.iter_file(path):
                if isinstance(item, r.FileHeader):
                    version = item.iati_version or ""
                elif isinstance(item, r.Activity):
                    _xsd, rules = tally.add(item)
                    if rulesets.applies(item.iati_version):
                        total_2.add(item)
                    for p in rules:
                        seen = per_rule.setdefault(p.rule, [0, 0])
                        times = TIMES.search(p.message)
                        seen[0] += 1
                        seen[1] += int(times.group(1)) if times else 1
                        severity[p.rule] = p.severity
        except parse.FileError as e:
            print(f"{'':>10} {'':>10} {'':>13}  {path.relative_to(folder)}: {e.message}")
            continue
        total.merge(tally)
        print(
            f"{tally.activities:>10} {tally.xsd_errors:>10} {tally.rule_problems:>13}  "
            f"{path.relative_to(folder)} ({version or 'no version'})"
        )
    print()
    print(f"{'rule':<9} {'severity':<8} {'problems':>8} {'occurrences':>11}  message")
    key = lambda rule: tuple(int(n) for n in rule.split("."))  # noqa: E731
    for rule in sorted(per_rule, key=key):
        problems, occurrences = per_rule[rule]
        message = rulesets.RULES[rule].message
        print(f"{rule:<9} {severity[rule]:<8} {problems:>8} {occurrences:>11}  {message[:70]}")
    print()
    print(total_2.summary("activities of 2.0x"))
    print(total.summary(f"all {len(files)} files"))
    print(f"read in {time.perf_counter() - started:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, nargs="?", default=2000, help="activities to generate")
    ap.add_argument("--file", type=Path, help="an IATI activity file instead")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--counts",
        type=Path,
        nargs="?",
        const=SHARED / "iati",
        help="per rule and per file, the rule set's problems beside the XSD errors, over the "
        "IATI files under this folder (default: the shared files)",
    )
    args = ap.parse_args()
    if args.counts is not None:
        counts(args.counts)
        return
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
