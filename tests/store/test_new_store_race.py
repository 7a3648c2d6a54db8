"""Commands that open a new SQLite store at the same moment (as a clean-clone CI run found).

Two ``iatiportal ingest`` started together on a store that did not exist yet: both connections
switch the new file to write-ahead logging, and SQLite answers one of them "database is locked"
at once, without waiting (its busy timeout does not apply to a switch that would deadlock). The
ingest died with a traceback before it queued. Connecting now retries the switch.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from iatiportal.store import db
from iatiportal.store.db import make_engine


class _LockedTwice:
    """A cursor of a real connection whose first two switches to WAL answer as SQLite does
    when another connection switches the same new file at that moment."""

    def __init__(self, real: sqlite3.Cursor) -> None:
        self.real = real
        self.refused = 0

    def execute(self, sql: str) -> Any:
        if sql == "PRAGMA journal_mode=WAL" and self.refused < 2:
            self.refused += 1
            raise sqlite3.OperationalError("database is locked")
        return self.real.execute(sql)

    def close(self) -> None:
        self.real.close()


class _Connection:
    """A real SQLite connection as the engine's connect hook sees it, with that cursor."""

    def __init__(self, real: sqlite3.Connection) -> None:
        self.real = real
        self.isolation_level: str | None = ""
        self.cursors: list[_LockedTwice] = []

    def cursor(self) -> _LockedTwice:
        self.cursors.append(_LockedTwice(self.real.cursor()))
        return self.cursors[-1]

    def create_function(self, *args: Any, **kwargs: Any) -> None:
        self.real.create_function(*args, **kwargs)


def test_a_switch_to_wal_refused_by_another_opener_is_retried(tmp_path: Path) -> None:
    real = sqlite3.connect(tmp_path / "store.db", isolation_level=None)
    conn = _Connection(real)
    db._sqlite_connect(conn, None)
    assert [c.refused for c in conn.cursors] == [2]
    assert real.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert real.execute("PRAGMA busy_timeout").fetchone() == (db.BUSY_TIMEOUT_MS,)
    real.close()


def test_other_errors_of_the_switch_are_not_retried(tmp_path: Path) -> None:
    class Broken:
        calls = 0

        def execute(self, sql: str) -> Any:
            Broken.calls += 1
            raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        db._switch_to_wal(Broken())
    assert Broken.calls == 1


def _open(url: str, start: Any, results: Any) -> None:
    engine = make_engine(url)
    start.wait()
    try:
        with engine.connect() as conn:
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar_one()
            results.put(None if mode == "wal" else f"journal mode {mode}")
    except Exception as e:  # noqa: BLE001 - the failure looked for, reported to the parent
        results.put(repr(e))
    finally:
        engine.dispose()


@pytest.mark.slow
def test_commands_opening_a_new_store_together_all_connect(tmp_path: Path) -> None:
    """The real race, many times (on the old code about one round in a hundred failed)."""
    context = multiprocessing.get_context("fork")
    failures: list[str] = []
    for round_ in range(100):
        url = f"sqlite:///{tmp_path / f'store-{round_}.db'}"
        start = context.Barrier(3)
        results = context.Queue()
        openers = [context.Process(target=_open, args=(url, start, results)) for _ in range(3)]
        for p in openers:
            p.start()
        outcomes = [results.get(timeout=120) for _ in openers]
        for p in openers:
            p.join(timeout=120)
        failures += [f"round {round_}: {r}" for r in outcomes if r is not None]
    assert failures == []
