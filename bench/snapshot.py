"""The bulk snapshot's cost as the store grows (issue 14: bounded memory at 1M activities).

For each size (default 20,000 and 60,000 activities) builds a fresh store of generated
activities (each with 2 budgets, 10 transactions, a result with an indicator and 2 periods),
ingested in files of --per-file activities, each written just before its ingest and deleted
after; then runs `iatiportal snapshot` on it as a process of its own and prints its wall time,
its peak resident memory (getrusage of that one process, from wait4), the snapshot's file sizes
and the CSV rows. Memory that does not grow with the store is what the streaming is for; time
and sizes grow with it.

SQLite by default (a file in a temporary folder, removed afterwards); --pg URL uses a fresh
PostgreSQL database per size on that server (created and dropped). Figures, not pass/fail; the
machine's other work makes times noisy, so compare figures of one run.

    PYTHONPATH=. python bench/snapshot.py [--sizes 20000,60000] [--pg URL] [--per-file 5000]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.sax.saxutils import escape

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from iatiportal.exports import manifest as snapshot_manifest

COUNTRIES = ("ML", "SN", "KE", "NP", "JO", "CO", "UA", "BD", "HT", "SO")
SECTORS = ("15170", "15180", "13010", "72010", "16010")
WORDS = [
    "women",
    "girls",
    "equality",
    "leadership",
    "violence",
    "prevention",
    "budget",
    "peace",
    "climate",
    "data",
]


def _narrative(value: str) -> str:
    return f'<narrative xml:lang="en">{escape(value)}</narrative>'


def write_activities(path: Path, first: int, count: int, seed: int) -> None:
    """``count`` IATI 2.03 activities, numbered from ``first`` (elements in schema order)."""
    r = random.Random(seed)  # noqa: S311 - made-up data, not secrets
    with path.open("w", encoding="utf-8") as f:
        w = f.write
        w('<?xml version="1.0" encoding="UTF-8"?>\n')
        w('<iati-activities version="2.03" generated-datetime="2024-10-01T00:00:00Z">\n')
        for i in range(first, first + count):
            country, year = r.choice(COUNTRIES), r.randint(2016, 2023)
            ident = f"XM-DAC-41146-BENCH-{i:07d}"
            title = " ".join(r.choice(WORDS) for _ in range(8))
            w(
                '<iati-activity last-updated-datetime="2024-09-01T10:00:00Z" xml:lang="en" '
                'default-currency="USD" humanitarian="0">'
                f"<iati-identifier>{ident}</iati-identifier>"
                f'<reporting-org ref="XM-DAC-41146" type="40">{_narrative("UN Women")}'
                f"</reporting-org><title>{_narrative(title)}</title>"
                f'<description type="1">{_narrative(title + " programme")}</description>'
                f'<participating-org ref="GB-GOV-1" role="1" type="10">{_narrative("UK")}'
                '</participating-org><participating-org ref="XM-DAC-41146" role="4" '
                f'type="40">{_narrative("UN Women")}</participating-org>'
                '<activity-status code="2"/>'
                f'<activity-date iso-date="{year}-01-01" type="2"/>'
                f'<activity-date iso-date="{year + 2}-12-31" type="3"/>'
                f'<recipient-country code="{country}" percentage="100"/>'
                f'<sector vocabulary="1" code="{r.choice(SECTORS)}" percentage="100"/>'
                '<default-flow-type code="10"/><default-finance-type code="110"/>'
            )
            for y in (year, year + 1):
                w(
                    f'<budget type="1" status="2"><period-start iso-date="{y}-01-01"/>'
                    f'<period-end iso-date="{y}-12-31"/><value currency="USD" '
                    f'value-date="{y}-01-01">{r.randint(10_000, 900_000)}.00</value></budget>'
                )
            for k in range(10):
                day = f"{year + k // 5}-{1 + k % 12:02d}-{1 + k % 28:02d}"
                kind = "1" if k == 0 else "4"
                w(
                    f'<transaction><transaction-type code="{kind}"/>'
                    f'<transaction-date iso-date="{day}"/><value currency="USD" '
                    f'value-date="{day}">{r.randint(100, 90_000)}.{r.randint(0, 99):02d}</value>'
                    f"<description>{_narrative(f'Payment {k}')}</description></transaction>"
                )
            w(
                f'<result type="2" aggregation-status="0"><title>{_narrative("Outcome")}</title>'
                f'<indicator measure="1" ascending="1"><title>{_narrative("Women reached")}'
                f'</title><baseline year="{year}" iso-date="{year}-01-01" value="0"/>'
            )
            for y in (year, year + 1):
                w(
                    f'<period><period-start iso-date="{y}-01-01"/>'
                    f'<period-end iso-date="{y}-12-31"/><target value="{r.randint(50, 500)}"/>'
                    f'<actual value="{r.randint(0, 500)}"/></period>'
                )
            w("</indicator></result></iati-activity>\n")
        w("</iati-activities>\n")


@contextmanager
def store_url(kind: str, folder: Path, pg: str | None) -> Iterator[str]:
    """A fresh store's URL: a SQLite file in ``folder``, or a PostgreSQL database dropped
    afterwards."""
    if pg is None:
        yield f"sqlite:///{folder / 'store.db'}"
        return
    admin = create_engine(pg, isolation_level="AUTOCOMMIT")
    name = f"iatiportal_bench_{kind}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "iatiportal.cli", *args]


def fill(url: str, folder: Path, size: int, per_file: int) -> float:
    """Ingest ``size`` generated activities; the seconds it took."""
    started = time.perf_counter()
    for n, first in enumerate(range(0, size, per_file)):
        path = folder / f"bench-{n:04d}.xml"
        write_activities(path, first, min(per_file, size - first), seed=n)
        subprocess.run(
            cli("ingest", "-q", "--no-validate", "--no-snapshot", "--db", url, str(path)),
            check=True,
        )
        path.unlink()
    return time.perf_counter() - started


def measured_snapshot(url: str, target: Path) -> tuple[float, float, int]:
    """`iatiportal snapshot` as a process of its own: (wall seconds, CPU seconds, peak RSS in
    bytes)."""
    started = time.perf_counter()
    command = cli("snapshot", "--db", url, "--snapshot-dir", str(target))
    proc = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"iatiportal snapshot failed ({proc.returncode})")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024  # kB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,60000", help="activities per store")
    parser.add_argument("--per-file", type=int, default=5000, help="activities per file")
    parser.add_argument("--pg", metavar="URL", help="PostgreSQL server (a database per size)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    kind = "postgresql" if args.pg else "sqlite"
    for size in sizes:
        with (
            tempfile.TemporaryDirectory(prefix="iatiportal-bench-snapshot-") as tmp,
            store_url(kind, Path(tmp), args.pg) as url,
        ):
            folder = Path(tmp)
            filled = fill(url, folder, size, args.per_file)
            wall, cpu, peak = measured_snapshot(url, folder / "snapshot")
            manifest = snapshot_manifest.read_manifest(folder / "snapshot")
            assert manifest is not None
            sizes_mb = ", ".join(f"{f.name} {f.bytes / 1e6:.1f} MB" for f in manifest.files)
            rows = ", ".join(f"{name} {n:,}" for name, n in manifest.rows.items())
            print(
                f"{kind}, {size:,} activities (ingested in {filled:.0f} s): snapshot "
                f"{wall:.1f} s ({cpu:.1f} s of CPU), peak memory {peak / 2**20:.0f} MiB; "
                f"{sizes_mb}; rows: {rows}",
                flush=True,
            )


if __name__ == "__main__":
    main()
