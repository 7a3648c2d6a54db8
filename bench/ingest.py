"""Ingest benchmark: speed and peak memory of `iatiportal ingest`, beside the floor and a peer.

Prints, for the 69 MB / 5,300-activity D-Portal benchmark file (or --file):
- the floor: a bare lxml iterparse pass that clears each activity (best of 3);
- the full ingest, validation included, into a fresh SQLite file (median of --repeat runs):
  seconds in the ingest call, MB/s, activities/s, peak memory of the process tree
  (the ingest process and its parsing workers, summed), and the ratio to the floor; then,
  apart, the rebuild of the money facts and search text that `iatiportal ingest` runs after
  the files (the pages' tables, issue 3);
- re-ingesting the unchanged file: seconds in the ingest call and for the whole command;
- the iatiflattener peer on the same file, if it installs from PyPI (--peer-venv).

With --pg-large N it instead generates N synthetic activities with shared/tools/gen_iati.py,
ingests them into a fresh PostgreSQL database and prints time, memory and database size
(the generated file is deleted afterwards).

Figures, not pass/fail: targets are in the ingest issue.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from lxml import etree
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

SHARED = Path(os.environ.get("IATIPORTAL_SHARED_DATA", "../shared/data")).resolve()
BENCH_FILE = SHARED / "iati/dportal-covid19-2021/benchmark/dportal-covid19-merged-53pages.xml"
GEN = SHARED.parent / "tools/gen_iati.py"
PG_URL = os.environ.get(
    "IATIPORTAL_TEST_PG_URL", "postgresql+psycopg://iatiportal:iatiportal@127.0.0.1:5432/iatiportal"
)

INGEST_ONCE = """
import json, sys, time
from iatiportal.store.db import open_store
from iatiportal.store.load import ingest, refresh_derived
engine = open_store(sys.argv[1])
started = time.perf_counter()
summary = ingest(engine, [sys.argv[2]], refresh=False)
seconds = time.perf_counter() - started
started = time.perf_counter()
refresh_derived(engine)
refresh = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "refresh": refresh,
                  "status": [f.status for f in summary.files],
                  "activities": sum(f.activities for f in summary.files)}))
"""

PEER = """
# iatiflattener's FlattenIATIData.process_package passes (activities, transactions, budgets) on
# one file, offline: its constructor fetches codelists and IMF rates from the network, so the
# instance is set up here from the shared codelists and a flat 1.0 rate table (same work per
# value). Its budget pass stops the whole file at the first ZeroDivisionError; here the failing
# activities are skipped and counted instead.
import collections, csv, json, os, sys, tempfile, time
from pathlib import Path
from lxml import etree
import exchangerates
import iatiflattener
from iatiflattener.lib import variables

xml, shared = Path(sys.argv[1]), Path(sys.argv[2])
def codes(name):
    path = shared / f"iati-standard/codelists/non-embedded/{name}.xml"
    return [c.text for c in etree.parse(str(path)).iterfind(".//codelist-item/code")]
out = Path(tempfile.mkdtemp())
rates = out / "rates.csv"
with rates.open("w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["Date", "Rate", "Currency", "Frequency", "Source", "Country code", "Country"])
    for cur in codes("Currency"):
        for year in range(1990, 2031):
            for month in range(1, 13):
                w.writerow([f"{year}-{month:02d}-01", "1.0", cur, "M", "bench", "", ""])
countries = codes("Country")
self = iatiflattener.FlattenIATIData.__new__(iatiflattener.FlattenIATIData)
self.langs = ["en", "fr"]
self.csv_headers = variables.headers(self.langs)
self.activity_csv_headers = variables.activity_headers(self.langs)
self.output_dir = str(out)
os.makedirs(out / "csv" / "activities", exist_ok=True)
self.countries = countries + codes("Region")
self.category_group = collections.defaultdict(lambda: "")
self.organisations = {"en": {}, "fr": {}}
self.exchange_rates = exchangerates.CurrencyConverter(update=False, source=str(rates))
self.countries_currencies = {c: "USD" for c in countries}
self.reporting_organisation_groups = {}
self.setup_countries(); self.setup_organisations()
# process_package's three passes, timed; the budget pass skips activities it fails on
# (process_package itself stops at the first one, losing the whole file).
from iatiflattener import model
started = time.perf_counter()
doc = etree.parse(str(xml))
self.activity_cache = model.ActivityCache()
writer = model.ActivityCSVFilesWriter(self.output_dir, headers=self.activity_csv_headers)
for activity in doc.xpath("//iati-activity"):
    self.process_activity(writer, activity)
writer.write()
writer = model.CSVFilesWriter(budget_transaction="transaction", headers=self.csv_headers,
                              output_dir=self.output_dir)
for transaction in doc.xpath("//transaction"):
    self.process_transaction(writer, transaction.getparent(), transaction)
writer.write()
writer = model.CSVFilesWriter(budget_transaction="budget", headers=self.csv_headers,
                              output_dir=self.output_dir)
failed = 0
for activity in doc.xpath("//iati-activity[budget]"):
    try:
        self.process_activity_for_budgets(writer, activity)
    except ZeroDivisionError:
        failed += 1
writer.write()
secs = time.perf_counter() - started
print(json.dumps({"seconds": secs, "budget_failures": failed}))
"""


def _children(pid: int) -> list[int]:
    """Child processes, from /proc/PID/task/*/children (no scan of all of /proc)."""
    kids: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return kids
    for task in tasks:
        try:
            kids.extend(int(k) for k in (task / "children").read_text().split())
        except OSError:
            continue
    return kids


def _tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, in bytes."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
        todo.extend(_children(p))
    return total


def measured(cmd: list[str]) -> tuple[float, int, str]:
    """Run cmd; return wall seconds, peak tree RSS and stdout."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.05)
        wall = time.perf_counter() - started
        err = proc.stderr.read().decode() if proc.stderr else ""
        out.seek(0)
        stdout = out.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])}... failed ({proc.returncode}):\n{err}")
    return wall, peak, stdout


def bare_parse(path: Path) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _event, el in etree.iterparse(str(path), events=("end",), tag="iati-activity"):
            el.clear()
            while el.getprevious() is not None:
                del el.getparent()[0]
        best = min(best, time.perf_counter() - started)
    return best


def ensure_peer(venv: Path) -> Path | None:
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"installing the iatiflattener peer into {venv} (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "iatiflattener"],
            check=False,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            print(f"  iatiflattener did not install: {done.stderr.strip()[-300:]}")
            return None
    return python


def bench_file(path: Path, repeat: int, peer_venv: Path | None) -> None:
    size_mb = path.stat().st_size / 1e6
    floor = bare_parse(path)
    print(f"file: {path} ({size_mb:.1f} MB)")
    print(f"floor, bare lxml iterparse (best of 3): {floor:.2f} s = {size_mb / floor:.0f} MB/s")

    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            db = f"sqlite:///{tmp}/run{i}.db"
            wall, peak, out = measured([sys.executable, "-c", INGEST_ONCE, db, str(path)])
            result = json.loads(out)
            runs.append((result["seconds"], wall, peak, result["activities"], result["refresh"]))
        seconds = statistics.median(r[0] for r in runs)
        activities = runs[0][3]
        peak = max(r[2] for r in runs)
        print(
            f"iatiportal ingest, validation included (median of {repeat}): {seconds:.2f} s "
            f"in the ingest call ({statistics.median(r[1] for r in runs):.2f} s for the "
            f"process) = {size_mb / seconds:.1f} MB/s, {activities / seconds:,.0f} "
            f"activities/s, {seconds / floor:.1f}x the floor; peak memory "
            f"{peak / 2**20:.0f} MiB (process tree)"
        )
        print(
            f"then the money facts and search text the pages read (issue 3), rebuilt once "
            f"after the run: {statistics.median(r[4] for r in runs):.2f} s"
        )
        db = f"sqlite:///{tmp}/run0.db"
        wall, _peak, out = measured([sys.executable, "-c", INGEST_ONCE, db, str(path)])
        result = json.loads(out)
        assert result["status"] == ["unchanged"], result
        command = [sys.executable, "-m", "iatiportal.cli", "ingest", "-q", "--db", db, str(path)]
        # The first command run writes the bulk snapshot, which this store (made by the library
        # call) does not have yet; from then on an unchanged file leaves it as it is.
        first_wall, _p, _o = measured(command)
        cli_wall, _p, _o = measured(command)
        print(
            f"re-ingest of the unchanged file: {result['seconds']:.2f} s in the ingest call, "
            f"{cli_wall:.2f} s for the whole `iatiportal ingest` command (the first command, "
            f"which also wrote the missing bulk snapshot: {first_wall:.2f} s)"
        )

    if peer_venv is not None:
        python = ensure_peer(peer_venv)
        if python is not None:
            _wall, peak, out = measured([str(python), "-c", PEER, str(path), str(SHARED)])
            result = json.loads(out)
            print(
                f"peer iatiflattener {_peer_version(python)} (activity, transaction and budget "
                f"passes to CSV, offline set-up): {result['seconds']:.2f} s = "
                f"{size_mb / result['seconds']:.1f} MB/s, peak memory {peak / 2**20:.0f} MiB; "
                f"{result['budget_failures']} activities failed its budget pass"
            )


def _peer_version(python: Path) -> str:
    done = subprocess.run(
        [str(python), "-m", "pip", "show", "iatiflattener"],
        check=False,
        capture_output=True,
        text=True,
    )
    for line in done.stdout.splitlines():
        if line.startswith("Version:"):
            return line.split()[1]
    return "?"


def bench_pg_large(n: int) -> None:
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"iatiportal_bench_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(dir=os.environ.get("IATIPORTAL_BENCH_TMP")) as tmp:
        xml = Path(tmp) / f"gen-{n}.xml"
        started = time.perf_counter()
        subprocess.run([sys.executable, str(GEN), str(n), str(xml)], check=True)
        size_gb = xml.stat().st_size / 1e9
        print(
            f"generated {n:,} activities, {size_gb:.2f} GB in {time.perf_counter() - started:.0f} s"
        )
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        try:
            _wall, peak, out = measured([sys.executable, "-c", INGEST_ONCE, url, str(xml)])
            result = json.loads(out)
            with admin.connect() as conn:
                db_bytes = conn.execute(text("select pg_database_size(:n)"), {"n": name}).scalar()
            seconds = result["seconds"]
            print(
                f"PostgreSQL ingest of {result['activities']:,} activities: {seconds:.0f} s "
                f"({size_gb * 1000 / seconds:.1f} MB/s, {result['activities'] / seconds:,.0f} "
                f"activities/s), then {result['refresh']:.0f} s for the money facts and search "
                f"text; peak memory {peak / 2**20:.0f} MiB (process tree), database "
                f"size {int(db_bytes or 0) / 1e9:.2f} GB"
            )
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--file", type=Path, default=BENCH_FILE)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--peer-venv",
        type=Path,
        default=None,
        help="virtualenv for the iatiflattener peer (created if missing)",
    )
    parser.add_argument(
        "--pg-large",
        type=int,
        metavar="N",
        help="generate N activities and ingest them into PostgreSQL",
    )
    args = parser.parse_args()
    if args.pg_large:
        bench_pg_large(args.pg_large)
    else:
        bench_file(args.file, args.repeat, args.peer_venv)


if __name__ == "__main__":
    main()
