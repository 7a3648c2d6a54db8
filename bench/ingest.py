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

Then the whole `iatiportal ingest` command, timed from outside (issue 14):
- (a) on the file into a fresh SQLite store, as a ratio to the floor measured in the same run,
  with the same command under --no-snapshot beside it (what the bulk snapshot costs), and with
  --process-peaks each process's own peak (the writer, each parsing worker) beside the tree's;
- (b) the unchanged re-ingest (above);
- (c) one changed 300-activity file re-ingested into a store of --changed-store N generated
  activities (default 20,000; --changed-on sqlite or postgresql; 0 skips it).

With --pg-large N it instead ingests N generated activities into a fresh PostgreSQL database
in files of 300 to 3,000 activities (as publishers publish them), one `iatiportal ingest`
command per file, each file generated just before its command and deleted after (the disk
holds the database and one file): total time, per-file time as the store grows, peak memory,
database size; then the changed 300-activity file on that store, and with --pages the pages
and API benchmarks (bench/pages.py, bench/api.py --db) on it.

Figures, not pass/fail: targets are in the ingest issue.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
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
from collections.abc import Iterator
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


def _tree_rss(pid: int, peaks: dict[int, tuple[str, int]] | None = None) -> int:
    """Resident memory of a process and all its descendants, in bytes; with ``peaks``, also
    each process's own peak so far (VmHWM, bytes) by pid, with its role (see ``_role``)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                elif line.startswith("VmHWM:") and peaks is not None:
                    # The role of each poll: a worker just forked still has its parent's
                    # command line.
                    peaks[p] = (_role(p, p == pid), int(line.split()[1]) * 1024)
        except OSError:
            continue
        todo.extend(_children(p))
    return total


def _role(pid: int, root: bool) -> str:
    """ "writer" for the measured command itself, "worker" for a parsing worker
    (store/produce.py), else the program's name (the background snapshot, say)."""
    if root:
        return "writer"
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    if b"iatiportal.store.worker" in argv:
        return "worker"
    return Path(argv[0].decode(errors="replace")).name


PROCESS_PEAKS: list[dict[int, tuple[str, int]]] = []
"""Each process's peak resident memory (role, bytes by pid) of each ``measured`` command, in
order: the writer and each worker apart, beside the tree's sum (--process-peaks)."""


def measured(cmd: list[str]) -> tuple[float, int, str]:
    """Run cmd; return wall seconds, peak tree RSS and stdout (each process's peak goes to
    PROCESS_PEAKS)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)
        peak = 0
        peaks: dict[int, tuple[str, int]] = {}
        while proc.poll() is None:
            peak = max(peak, _tree_rss(proc.pid, peaks))
            time.sleep(0.05)
        PROCESS_PEAKS.append(peaks)
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
        # call) does not have yet, and waits for it (in the background, the next command would
        # find it still being built); from then on an unchanged file leaves it as it is.
        first_wall, _p, _o = measured([*command, "--wait-snapshot"])
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


_GEN_ID = re.compile(rb"<iati-identifier>XM-DAC-41146-[A-Z]{2}-(\d{6})</iati-identifier>")


def generate(n: int, out: Path, seed: int, tag: str) -> float:
    """Write n generated activities to ``out``; return the seconds it took.

    gen_iati.py numbers its activities from 0 in every file (with a random country in the
    identifier), so the identifiers are renamed ``XM-DAC-41146-<tag>-<number>``: files of
    different tags never share an identifier, and two files of one tag (other seeds: other
    content) hold the same activities, as a publisher's file does from one day to the next.
    """
    started = time.perf_counter()
    subprocess.run([sys.executable, str(GEN), str(n), str(out), str(seed)], check=True)
    data = _GEN_ID.sub(
        rb"<iati-identifier>XM-DAC-41146-" + tag.encode() + rb"-\1</iati-identifier>",
        out.read_bytes(),
    )
    out.write_bytes(data)
    return time.perf_counter() - started


def cli_ingest(db: str, paths: list[Path], *options: str) -> tuple[float, int]:
    """The whole `iatiportal ingest` command, timed from outside: wall seconds, peak memory.
    Its processor time (the command's and its workers', user and system) is added to CPU."""
    command = [sys.executable, "-m", "iatiportal.cli", "ingest", "-q", "--db", db, *options]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, peak, _out = measured([*command, *map(str, paths)])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return wall, peak


# An installed package has its bytecode (pip compiles it); where the environment forbids
# writing it (PYTHONDONTWRITEBYTECODE, as on our development machine) every command would
# compile the package again, about 0.5 s: not what a user's command costs.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

CPU: list[float] = []
"""Processor seconds of each `cli_ingest` command, in order (a shared machine stretches wall
time; processor time much less)."""


def process_peaks(runs: list[dict[int, tuple[str, int]]]) -> str:
    """The largest peak of each process over ``runs`` (the n-th worker of each run with
    the n-th of the others), in MiB."""
    largest: dict[str, int] = {}
    for run in runs:
        seen: dict[str, int] = {}
        for _pid, (role, peak) in sorted(run.items()):
            seen[role] = seen.get(role, 0) + 1
            name = f"{role} {seen[role]}" if role == "worker" else role
            largest[name] = max(largest.get(name, 0), peak)
    return ", ".join(f"{name} {peak / 2**20:.0f}" for name, peak in largest.items()) + " MiB"


def bench_command(path: Path, repeat: int, show_processes: bool = False) -> None:
    """(a) The whole command on ``path`` into a fresh SQLite store, as a ratio to a bare
    parse taken just before each run (the machine is shared: pairs, not separate runs)."""
    ratios, walls, no_snap, peaks, cpu, no_snap_cpu = [], [], [], [], [], []
    whole_runs, no_snap_runs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            started = time.perf_counter()
            for _event, el in etree.iterparse(str(path), events=("end",), tag="iati-activity"):
                el.clear()
                while el.getprevious() is not None:
                    del el.getparent()[0]
            floor = time.perf_counter() - started
            wall, peak = cli_ingest(f"sqlite:///{tmp}/whole{i}.db", [path])
            cpu.append(CPU[-1])
            whole_runs.append(PROCESS_PEAKS[-1])
            bare, _peak = cli_ingest(f"sqlite:///{tmp}/nosnap{i}.db", [path], "--no-snapshot")
            no_snap_cpu.append(CPU[-1])
            no_snap_runs.append(PROCESS_PEAKS[-1])
            ratios.append(wall / floor)
            walls.append(wall)
            no_snap.append(bare)
            peaks.append(peak)
    print(
        f"(a) the whole `iatiportal ingest` command, fresh SQLite store (median of {repeat}): "
        f"{statistics.median(walls):.2f} s = {statistics.median(ratios):.1f}x the bare parse "
        f"taken just before each run (ratios {', '.join(f'{x:.1f}' for x in ratios)}); "
        f"with --no-snapshot {statistics.median(no_snap):.2f} s; processor time "
        f"{statistics.median(cpu):.2f} s ({statistics.median(no_snap_cpu):.2f} s with "
        f"--no-snapshot); peak memory {max(peaks) / 2**20:.0f} MiB (process tree)"
    )
    if show_processes:
        print(f"    peak of each process (VmHWM, largest of {repeat}): {process_peaks(whole_runs)}")
        print(f"    with --no-snapshot: {process_peaks(no_snap_runs)}")


def bench_changed(db: str, tmp: Path, label: str) -> None:
    """(c) One changed 300-activity file re-ingested into the store ``db`` (already filled):
    the file is ingested once, then replaced by other content for the same 300 activities
    and ingested again, with --no-snapshot and as the whole command."""
    small = tmp / "changed-300.xml"
    try:
        generate(300, small, 1001, "CHG")
        first, _peak = cli_ingest(db, [small], "--no-snapshot")
        generate(300, small, 1002, "CHG")
        again, peak = cli_ingest(db, [small], "--no-snapshot")
        again_cpu = CPU[-1]
        generate(300, small, 1003, "CHG")
        whole, whole_peak = cli_ingest(db, [small], "--snapshot-dir", str(tmp / "snapshot"))
        whole_cpu = CPU[-1]
    finally:
        small.unlink(missing_ok=True)
    print(
        f"(c) one changed 300-activity file re-ingested into {label}: {again:.2f} s with "
        f"--no-snapshot ({again_cpu:.2f} s processor time, peak {peak / 2**20:.0f} MiB), "
        f"{whole:.2f} s for the whole command with its bulk snapshot ({whole_cpu:.2f} s "
        f"processor time, peak {whole_peak / 2**20:.0f} MiB); its first ingest took "
        f"{first:.2f} s"
    )


def fill_store(db: str, n: int, tmp: Path, *options: str) -> list[tuple[int, int, float, int]]:
    """Ingest n generated activities into ``db`` in files of 300 to 3,000 activities, one
    command per file, each file generated just before and deleted after. Returns, per file:
    activities in the store before it, activities in it, seconds, peak memory."""
    sizes = random.Random(14)  # noqa: S311 - file sizes, not secrets
    done: list[tuple[int, int, float, int]] = []
    stored = 0
    while stored < n:
        size = min(sizes.randint(300, 3000), n - stored)
        path = tmp / f"publisher-{len(done):05d}.xml"
        try:
            generate(size, path, len(done), f"F{len(done):05d}")
            wall, peak = cli_ingest(db, [path], *options)
        finally:
            path.unlink(missing_ok=True)
        done.append((stored, size, wall, peak))
        stored += size
        print(
            f"    file {len(done)}: {size:,} activities into a store of {stored - size:,}: "
            f"{wall:.2f} s ({CPU[-1]:.2f} s processor time), peak {peak / 2**20:.0f} MiB",
            file=sys.stderr,
            flush=True,
        )
    return done


def bench_changed_store(n: int, on: str) -> None:
    """(c) on a store of n generated activities, SQLite or PostgreSQL."""
    with tempfile.TemporaryDirectory(dir=os.environ.get("IATIPORTAL_BENCH_TMP")) as tmp_name:
        tmp = Path(tmp_name)
        with _database(on, tmp) as db:
            started = time.perf_counter()
            fill_store(db, n, tmp, "--no-snapshot")
            print(
                f"    (a store of {n:,} generated activities on {on}, filled in "
                f"{time.perf_counter() - started:.0f} s)"
            )
            bench_changed(db, tmp, f"a {on} store of {n:,} generated activities")


@contextlib.contextmanager
def _database(on: str, tmp: Path, keep: str | None = None) -> Iterator[str]:
    """The URL of a fresh, empty store: a SQLite file in tmp, or a PostgreSQL database that
    is dropped afterwards (``keep``: created under that name and left for later runs)."""
    if on == "sqlite":
        yield f"sqlite:///{tmp}/store.db"
        return
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = keep or f"iatiportal_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        if keep is None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            print(f"    (database {name} kept: drop it with DROP DATABASE {name})")
        admin.dispose()


def _pg_size(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("select pg_database_size(current_database())")).scalar())
    finally:
        engine.dispose()


def bench_pg_large(n: int, pages: bool, snapshot: bool, keep: str | None = None) -> None:
    """(d) n generated activities into PostgreSQL, one `iatiportal ingest` per file."""
    with tempfile.TemporaryDirectory(dir=os.environ.get("IATIPORTAL_BENCH_TMP")) as tmp_name:
        tmp = Path(tmp_name)
        options = ("--snapshot-dir", str(tmp / "snapshot")) if snapshot else ("--no-snapshot",)
        with _database("postgresql", tmp, keep) as url:
            started, first = time.perf_counter(), len(CPU)
            files = fill_store(url, n, tmp, *options)
            total = time.perf_counter() - started
            cpu = sum(CPU[first:])
            ingest_seconds = sum(f[2] for f in files)
            db_bytes = _pg_size(url)
            print(
                f"(d) {n:,} generated activities into PostgreSQL in {len(files)} files of "
                f"300-3,000 activities, one `iatiportal ingest{' --no-snapshot' * (not snapshot)}`"
                f" per file: {total:.0f} s in all ({ingest_seconds:.0f} s in the commands, "
                f"the rest generating the files; {cpu:.0f} s of processor time in the "
                f"commands), {n / ingest_seconds:,.0f} activities/s; "
                f"peak memory {max(f[3] for f in files) / 2**20:.0f} MiB (one command's process "
                f"tree); database size {db_bytes / 1e9:.2f} GB"
            )
            print(
                "    per-file time as the store grows (seconds per 1,000 activities of the file):"
            )
            tenth = max(1, len(files) // 10)
            for start in range(0, len(files), tenth):
                part = files[start : start + tenth]
                rate = sum(f[2] for f in part) / sum(f[1] for f in part) * 1000
                print(
                    f"      store {part[0][0]:>9,} to {part[-1][0] + part[-1][1]:>9,} activities: "
                    f"{rate:6.2f} s (files {start + 1}-{start + len(part)}, "
                    f"{statistics.median(f[2] for f in part):.1f} s median per file)"
                )
            bench_changed(url, tmp, f"this {n:,}-activity PostgreSQL store")
            if pages:
                here = Path(__file__).parent
                for script in ("pages.py", "api.py"):
                    print(f"    bench/{script} --db <this store>:", flush=True)
                    subprocess.run([sys.executable, str(here / script), "--db", url], check=True)


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
        "--changed-store",
        type=int,
        default=20_000,
        metavar="N",
        help="(c): generated activities in the store the changed file goes into (0: skip)",
    )
    parser.add_argument("--changed-on", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--process-peaks",
        action="store_true",
        help="(a): also print the peak memory of each process (the writer, each worker)",
    )
    parser.add_argument(
        "--pg-large",
        type=int,
        metavar="N",
        help="generate N activities and ingest them into PostgreSQL, file by file",
    )
    parser.add_argument(
        "--pages",
        action="store_true",
        help="with --pg-large: run bench/pages.py and bench/api.py on that store",
    )
    parser.add_argument(
        "--with-snapshot",
        action="store_true",
        help="with --pg-large: let each command write the bulk snapshot (default --no-snapshot)",
    )
    parser.add_argument(
        "--keep-db",
        metavar="NAME",
        help="with --pg-large: create the database under this name and keep it afterwards",
    )
    args = parser.parse_args()
    if args.pg_large:
        bench_pg_large(args.pg_large, args.pages, args.with_snapshot, args.keep_db)
    else:
        bench_file(args.file, args.repeat, args.peer_venv)
        bench_command(args.file, args.repeat, args.process_peaks)
        if args.changed_store:
            bench_changed_store(args.changed_store, args.changed_on)


if __name__ == "__main__":
    main()
