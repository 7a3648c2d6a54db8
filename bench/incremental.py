"""Incremental refresh benchmark: one changed file re-ingested into a large store.

For each database (SQLite in a temporary folder, PostgreSQL in a fresh database), ingests N
generated activities (shared/tools/gen_iati.py, one file), then a 300-activity file of other
identifiers, then that file again with every amount doubled, and prints:
- the refresh after that changed file (incremental: the changed activities, their other
  copies and hierarchies; how many activities it worked on);
- a full rebuild of every derived table (``iatiportal rebuild``) of the same store;
- their ratio (both taken in the same run, one after the other: the machine is shared, so
  compare the ratio rather than the seconds across runs).

Validation is off (the ingest itself is not what is measured here). Figures, not pass/fail:
the target is in issue 14 (one changed 300-activity file into a 200,000-activity PostgreSQL
store in under 10 s). Usage: python bench/incremental.py [--activities N] [--db sqlite|pg|both]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from iatiportal.store import facts
from iatiportal.store.db import open_store, writing
from iatiportal.store.load import _refresh, ingest, rebuild_derived

SHARED = Path(os.environ.get("IATIPORTAL_SHARED_DATA", "../shared/data")).resolve()
GEN = SHARED.parent / "tools/gen_iati.py"
PG_URL = os.environ.get(
    "IATIPORTAL_TEST_PG_URL", "postgresql+psycopg://iatiportal:iatiportal@127.0.0.1:5432/iatiportal"
)


def generate(n: int, path: Path, seed: int) -> None:
    subprocess.run([sys.executable, str(GEN), str(n), str(path), str(seed)], check=True)


def changed_files(folder: Path, n: int) -> tuple[Path, Path]:
    """A file of ``n`` activities whose identifiers the large file does not use, and the same
    file with every amount doubled."""
    first = folder / "changed-a.xml"
    generate(n, first, 7)
    xml = first.read_text(encoding="utf-8").replace("XM-DAC-41146-", "XM-DAC-41146-X")
    first.write_text(xml, encoding="utf-8")
    doubled = re.sub(
        r"(<value[^>]*>)([0-9]+)(\.[0-9]+)?(</value>)",
        lambda m: f"{m.group(1)}{int(m.group(2)) * 2}{m.group(3) or ''}{m.group(4)}",
        xml,
    )
    second = folder / "changed-b.xml"
    second.write_text(doubled, encoding="utf-8")
    return first, second


def replace(path: Path, content: Path) -> Path:
    """``content`` at ``path`` (the same file as the store knows it, changed)."""
    path.write_bytes(content.read_bytes())
    return path


def run(url: str, big: Path, small: Path, changed: Path) -> None:
    engine = open_store(url)
    started = time.perf_counter()
    ingest(engine, [str(big)], validate=False)
    print(f"  store built: {time.perf_counter() - started:.1f} s (ingest and first refresh)")
    published = small.parent / "publisher.xml"
    ingest(engine, [str(replace(published, small))], validate=False)
    # The changed file's rows, stored without the refresh, then the refresh alone, timed.
    ingest(engine, [str(replace(published, changed))], validate=False, refresh=False)
    with engine.connect() as conn:  # what the refresh will work on (not timed, rolled back)
        scoped = facts.scope(conn)
        counted = f"SELECT count(*) FROM {facts.SCOPE}"  # noqa: S608 (a constant name)
        size = conn.exec_driver_sql(counted).scalar() if scoped else 0
        total = conn.exec_driver_sql("SELECT count(*) FROM activity").scalar()
        facts.drop_scope(conn)
        conn.rollback()
    started = time.perf_counter()
    with writing(engine) as conn:
        _refresh(conn)
    incremental = time.perf_counter() - started
    started = time.perf_counter()
    rebuild_derived(engine)
    full = time.perf_counter() - started
    print(f"  activities in the store: {total}; the refresh worked on {size} (scoped: {scoped})")
    print(f"  refresh after the changed file: {incremental:.2f} s")
    print(f"  full rebuild (iatiportal rebuild): {full:.2f} s")
    print(f"  full / incremental: {full / incremental:.1f}x")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=20_000)
    parser.add_argument("--changed", type=int, default=300)
    parser.add_argument("--db", choices=("sqlite", "pg", "both"), default="both")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        big = folder / "large.xml"
        generate(args.activities, big, 42)
        small, changed = changed_files(folder, args.changed)
        print(
            f"{args.activities} generated activities ({big.stat().st_size / 1e6:.0f} MB), "
            f"then {args.changed} more, then those {args.changed} changed"
        )
        if args.db in ("sqlite", "both"):
            print("SQLite:")
            run(f"sqlite:///{folder / 'store.db'}", big, small, changed)
        if args.db in ("pg", "both"):
            name = f"bench_incremental_{uuid.uuid4().hex[:8]}"
            admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                print("PostgreSQL:")
                run(
                    make_url(PG_URL).set(database=name).render_as_string(False), big, small, changed
                )
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
