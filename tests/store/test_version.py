"""The store's version, on both databases: every writer raises it once, in its own
transaction (a writer that rolls back leaves it as it was); re-checking unchanged files raises
the version pages follow but not the content version the bulk snapshot follows."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select

from iatiportal import rates, reference
from iatiportal.exports import snapshot
from iatiportal.store import facts, queries, version
from iatiportal.store import schema as s
from iatiportal.store.load import ingest, refresh_derived
from iatiportal.store.version import StoreVersion

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def current(engine: Engine) -> StoreVersion:
    with engine.connect() as conn:
        return version.current(conn)


def test_every_writer_raises_the_version_once(engine: Engine, shared: Path, tmp_path: Path) -> None:
    assert current(engine) == version.NEVER_WRITTEN
    steps: list[tuple[str, Callable[[], Any], bool]] = [
        ("ingest", lambda: ingest(engine, [str(FIXTURES / "money-conversion.xml")]), True),
        ("unchanged", lambda: ingest(engine, [str(FIXTURES / "money-conversion.xml")]), False),
        ("failed", lambda: ingest(engine, [str(FIXTURES / "malformed.xml")]), True),
        ("stale", lambda: ingest(engine, [str(copied)], refresh=False), True),
        ("refresh", lambda: refresh_derived(engine), True),
        ("refresh store", lambda: facts.refresh_store(engine), True),
        ("rates", lambda: rates.load(engine, FIXTURES / "rates.csv"), True),
        ("reference", lambda: reference.load(engine, shared / "reference/undp-hdr"), True),
    ]
    copied = tmp_path / "another.xml"
    shutil.copy(FIXTURES / "money-hierarchy.xml", copied)
    for name, write, content in steps:
        before = current(engine)
        with engine.connect() as conn:
            key = snapshot.version_key(conn)
        write()
        after = current(engine)
        assert after.version == before.version + 1, name
        assert after.changed_at is not None
        assert before.changed_at is None or after.changed_at >= before.changed_at, name
        if content:
            assert after.content_version == after.version, name
        else:  # pages change (when the file was last checked); the snapshot stays current
            assert after.content_version == before.content_version, name
            with engine.connect() as conn:
                assert snapshot.version_key(conn) == key
        with engine.connect() as conn:
            assert queries.data_version(conn) == (after.version, after.changed_at)


class CommitRefusedError(Exception):
    pass


@pytest.mark.parametrize("writer", ["ingest", "rates", "reference"])
def test_a_writer_that_rolls_back_leaves_the_version(
    engine: Engine, shared: Path, writer: str
) -> None:
    """The version is raised in the writer's transaction, not beside it: when the commit
    fails, neither the change nor the new version is kept."""
    assert not ingest(engine, [str(FIXTURES / "money-conversion.xml")]).failed
    before = current(engine)
    with engine.connect() as conn:
        rows = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (s.source_file, s.exchange_rate, s.reference_value)
        }
    write: dict[str, Callable[[], Any]] = {
        "ingest": lambda: ingest(engine, [str(FIXTURES / "money-hierarchy.xml")]),
        "rates": lambda: rates.load(engine, FIXTURES / "rates.csv"),
        "reference": lambda: reference.load(engine, shared / "reference/undp-hdr"),
    }

    def refuse(_conn: Any) -> None:
        raise CommitRefusedError

    event.listen(engine, "commit", refuse)
    try:
        with pytest.raises(CommitRefusedError):
            write[writer]()
    finally:
        event.remove(engine, "commit", refuse)
    assert current(engine) == before
    with engine.connect() as conn:
        for t in (s.source_file, s.exchange_rate, s.reference_value):
            assert conn.execute(select(func.count()).select_from(t)).scalar_one() == rows[t.name]
