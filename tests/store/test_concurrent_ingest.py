"""Concurrent ingests queue; a store that refuses rows or a full disk ends no run (issue 10).

Two ingests into one PostgreSQL store gave duplicate ids (``max(id) + 1`` read by both) and
a spurious failure for the same file; a full disk raised an unhandled error, recorded
nothing, and the files after it were never read.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serving import IATIPORTAL, without_proxies
from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.engine import make_url

from iatiportal.store import schema as s
from iatiportal.store.db import make_engine, migrate, writing
from iatiportal.store.load import ingest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _generate(shared: Path, n: int, out: Path, seed: int) -> Path:
    tool = shared.parent / "tools" / "gen_iati.py"
    subprocess.run([sys.executable, str(tool), str(n), str(out), str(seed)], check=True)
    return out


def _start(db: str, *paths: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(IATIPORTAL), "ingest", "--quiet", "--no-snapshot", "--db", db, *map(str, paths)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=without_proxies(),
    )  # fmt: skip


def _stats(db: str) -> dict[str, Any]:
    done = subprocess.run(
        [str(IATIPORTAL), "stats", "--json", "--db", db],
        capture_output=True, text=True, env=without_proxies(), check=True,
    )  # fmt: skip
    found: dict[str, Any] = json.loads(done.stdout)
    return found


@contextlib.contextmanager
def _another_store(db_url: str, tmp_path: Path) -> Iterator[str]:
    """The URL of another empty store on the database of ``db_url``, dropped afterwards."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'another.db'}"
        return
    url = make_url(db_url)
    name = f"{url.database}_another"
    admin = create_engine(db_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.slow
def test_concurrent_ingests_queue(db_url: str, shared: Path, tmp_path: Path) -> None:
    one = _generate(shared, 250, tmp_path / "one.xml", 1)
    two = _generate(shared, 250, tmp_path / "two.xml", 2)

    # Two ingests of the same file, then two of different files, at the same moment.
    same = [_start(db_url, one), _start(db_url, one)]
    outputs = [p.communicate(timeout=600) for p in same]
    assert [p.returncode for p in same] == [0, 0], outputs
    after_same = _stats(db_url)
    assert after_same["files_failed"] == 0
    different = [_start(db_url, two), _start(db_url, one, two)]
    outputs = [p.communicate(timeout=600) for p in different]
    assert [p.returncode for p in different] == [0, 0], outputs
    assert not any("Traceback" in err for _out, err in outputs)
    together = _stats(db_url)

    # One clean ingest of both files gives the same counts.
    with _another_store(db_url, tmp_path) as clean_url:
        clean = subprocess.run(
            [str(IATIPORTAL), "ingest", "--quiet", "--no-snapshot", "--db", clean_url,
             str(one), str(two)],
            capture_output=True, text=True, env=without_proxies(), check=False,
        )  # fmt: skip
        assert clean.returncode == 0, clean.stderr
        expected = _stats(clean_url)
    keys = ("files", "files_failed", "activities", "transactions", "budgets", "results")
    assert {k: together[k] for k in keys} == {k: expected[k] for k in keys}
    assert together["transaction_sums"] == expected["transaction_sums"]
    assert together["problems"] == expected["problems"]


def test_a_second_writer_waits_and_says_so(db_url: str, tmp_path: Path) -> None:
    """While one writer holds the store, ``iatiportal ingest`` says it waits, then goes on."""
    engine = make_engine(db_url)
    migrate(engine)
    fixture = FIXTURES / "money-exact-sums.xml"
    with writing(engine):
        waiting = _start(db_url, fixture)
        line = waiting.stderr.readline() if waiting.stderr else ""
        assert "waiting" in line, line
        assert waiting.poll() is None  # still queued behind this transaction
    _out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    with engine.connect() as conn:
        assert conn.execute(select(s.source_file.c.status)).scalars().all() == ["ok"]
    engine.dispose()


def _limit_pages(engine: Engine, pages: int) -> None:
    """Make the SQLite store 'full' at ``pages`` pages, as a full disk would (SQLITE_FULL)."""

    @event.listens_for(engine, "connect")
    def limit(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA max_page_count = {pages}")
        cur.close()


def test_full_disk_fails_one_file_and_the_run_goes_on(shared: Path, tmp_path: Path) -> None:
    small = FIXTURES / "money-exact-sums.xml"
    other = FIXTURES / "money-currencies.xml"
    big = _generate(shared, 400, tmp_path / "big.xml", 5)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    migrate(engine)
    with engine.connect() as conn:
        used = int(conn.execute(text("PRAGMA page_count")).scalar() or 0)
    engine.dispose()

    engine = make_engine(url)
    _limit_pages(engine, used + 300)  # room for the small files, not for 400 activities
    summary = ingest(engine, [str(small), str(big), str(other)])
    statuses = {f.source: f.status for f in summary.files}
    assert statuses == {"money-exact-sums.xml": "ingested", "big.xml": "failed",
                        "money-currencies.xml": "ingested"}  # fmt: skip
    failure = next(f for f in summary.files if f.status == "failed")
    assert failure.error and "full" in failure.error
    assert "INSERT" not in failure.error and "SELECT" not in failure.error
    with engine.connect() as conn:
        files = dict(conn.execute(select(s.source_file.c.path, s.source_file.c.status)).all())
        stored = conn.execute(
            select(s.activity.c.iati_identifier).where(s.activity.c.is_current)
        ).scalars().all()  # fmt: skip
        problems = conn.execute(
            select(s.problem.c.file_path, s.problem.c.rule, s.problem.c.message).where(
                s.problem.c.rule == "store"
            )
        ).all()
    engine.dispose()
    assert files["money-exact-sums.xml"] == "ok" and files["money-currencies.xml"] == "ok"
    assert files["big.xml"] == "failed"
    assert stored and not any(i.startswith("XM-DAC-41146-") for i in stored)
    assert [(p.file_path, p.rule) for p in problems] == [("big.xml", "store")]
    assert "INSERT" not in problems[0].message


@pytest.mark.postgres
def _refusing(postgresql_url: str, table: str, when: str) -> Engine:
    """A migrated store whose ``table`` refuses the rows for which ``when`` (SQL over NEW,
    a constant of this file) holds, with "refused by the test"."""
    engine = make_engine(postgresql_url)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(
            text(f"""
            CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN
              IF {when} THEN RAISE EXCEPTION 'refused by the test'; END IF;
              RETURN NEW; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER refuse BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION refuse();
        """)
        )
    return engine


def test_refused_rows_fail_one_file_without_sql_in_the_message(
    postgresql_url: str, tmp_path: Path
) -> None:
    """A store error's problem names the file and what the database said, not the statement."""
    engine = _refusing(postgresql_url, "activity", "NEW.iati_identifier LIKE 'XX-CUR-%'")
    small = FIXTURES / "money-exact-sums.xml"
    other = FIXTURES / "money-currencies.xml"
    summary = ingest(engine, [str(other), str(small)])
    statuses = {f.source: f.status for f in summary.files}
    assert statuses == {"money-currencies.xml": "failed", "money-exact-sums.xml": "ingested"}
    with engine.connect() as conn:
        (message,) = conn.execute(
            select(s.problem.c.message).where(s.problem.c.rule == "store")
        ).scalars().all()  # fmt: skip
    engine.dispose()
    assert message == "could not store the file: refused by the test"


def test_a_refresh_the_store_refuses_fails_its_files_once(
    postgresql_url: str, tmp_path: Path
) -> None:
    """A batch whose refresh fails is recorded as failed, and the run goes on to its end: the
    batch was tried again for ever (the files' position was not moved past it)."""
    engine = _refusing(postgresql_url, "money_fact", "true")
    refreshes = 0

    @event.listens_for(engine, "before_cursor_execute")
    def count(*args: Any) -> None:
        nonlocal refreshes
        if "LOCK TABLE money_refresh" in args[2]:
            refreshes += 1
            assert refreshes <= 3, "the batch's refresh was tried again and again"

    files = [FIXTURES / "money-exact-sums.xml", FIXTURES / "money-currencies.xml"]
    summary = ingest(engine, [str(f) for f in files], batch_seconds=60.0)
    with engine.connect() as conn:
        recorded = conn.execute(
            select(s.problem.c.file_path, s.problem.c.message).where(s.problem.c.rule == "store")
        ).all()
        activities = conn.execute(select(s.activity.c.id)).all()
    engine.dispose()
    assert [(f.source, f.status) for f in summary.files] == [
        ("money-exact-sums.xml", "failed"),
        ("money-currencies.xml", "failed"),
    ]
    assert sorted(recorded) == [
        ("money-currencies.xml", "could not store the file: refused by the test"),
        ("money-exact-sums.xml", "could not store the file: refused by the test"),
    ]
    assert activities == []  # none of the batch was kept
