"""A quiet ingest that finds nothing to do takes ``store.quick`` (no SQLAlchemy): it must
leave the store as the usual path does, and write nothing whenever something is to be done."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update

from iatiportal.exports import snapshot
from iatiportal.store import schema as s
from iatiportal.store import version
from iatiportal.store.db import make_engine, migrate
from iatiportal.store.load import ingest
from iatiportal.store.quick import lock_path, unchanged_ingest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FILE_TIME = 1_700_000_000_123_456_789
FILES = ("v201-hierarchy-parent-child.xml", "organisation-203.xml")


def stored(engine: Engine) -> dict[str, Any]:
    """What an unchanged re-ingest may change: the files' rows and the store's version."""
    with engine.connect() as conn:
        files = [dict(r._mapping) for r in conn.execute(select(s.source_file).order_by("id"))]
        version = conn.execute(select(s.store_version)).one()
    return {"files": files, "version": version.version, "content": version.content_version}


def without_times(state: dict[str, Any]) -> dict[str, Any]:
    return {
        **state,
        "files": [{k: v for k, v in f.items() if k != "checked_at"} for f in state["files"]],
    }


def a_store(folder: Path) -> tuple[str, Engine, list[str]]:
    """A store of FILES (copied into ``folder``, so their times are this test's own)."""
    folder.mkdir()
    files = []
    for name in FILES:
        shutil.copy(FIXTURES / name, folder / name)
        os.utime(folder / name, ns=(FILE_TIME, FILE_TIME))  # the same in every store
        files.append(str(folder / name))
    url = f"sqlite:///{folder / 'store.db'}"
    engine = make_engine(url)
    migrate(engine)
    ingest(engine, files)
    return url, engine, files


@pytest.fixture
def store(tmp_path: Path) -> Any:
    url, engine, files = a_store(tmp_path / "a")
    yield url, engine, files
    engine.dispose()


def test_it_leaves_the_store_as_the_usual_path_does(tmp_path: Path) -> None:
    quick_url, quick, quick_files = a_store(tmp_path / "quick")
    _usual_url, usual, usual_files = a_store(tmp_path / "usual")
    before = stored(quick)

    assert unchanged_ingest(quick_url, quick_files, snapshot_dir=None, snapshot=False)
    summary = ingest(usual, usual_files)

    assert [f.status for f in summary.files] == ["unchanged", "unchanged"]
    after_quick, after_usual = stored(quick), stored(usual)
    # The version is raised, not the content version (the snapshot stays current)...
    assert (after_quick["version"], after_quick["content"]) == (
        before["version"] + 1,
        before["content"],
    )
    # ... and every file was checked now, as the usual path records it.
    for old, new in zip(before["files"], after_quick["files"], strict=True):
        assert new["checked_at"] > old["checked_at"]

    def comparable(state: dict[str, Any]) -> dict[str, Any]:
        # The two stores differ only where they must: their files' folders (the location key)
        # and when they were stored.
        plain = without_times(state)
        for f in plain["files"]:
            del f["location_key"], f["ingested_at"]
        return plain

    assert comparable(after_quick) == comparable(after_usual)
    # The times are read back as the usual path's are (SQLAlchemy's DateTime).
    checked = {type(f["checked_at"]) for f in after_quick["files"] + after_usual["files"]}
    assert checked == {dt.datetime}
    quick.dispose()
    usual.dispose()


def test_it_needs_a_current_snapshot_when_asked(store: Any, tmp_path: Path) -> None:
    url, engine, files = store
    folder = tmp_path / "snapshot"
    assert unchanged_ingest(url, files, snapshot_dir=folder, snapshot=True) is None  # none yet

    snapshot.build(engine, folder)
    assert unchanged_ingest(url, files, snapshot_dir=folder, snapshot=True)

    with engine.begin() as conn:  # the store changed since
        version.bump(conn)
    assert unchanged_ingest(url, files, snapshot_dir=folder, snapshot=True) is None


def touch(path: str) -> None:
    os.utime(path, ns=(1, 1))


def pending(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(s.derive_pending).values(activity_id=None, iati_identifier=None))


def older_migration(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")


def failed_last_time(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(update(s.source_file).values(error_rule="xml-syntax"))


def stored_after_the_refresh(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(update(s.source_file).values(ingested_at=dt.datetime(2999, 1, 1)))


def never_refreshed(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(s.money_refresh.delete())


@pytest.mark.parametrize(
    "change",
    [
        touch,
        pending,
        older_migration,
        failed_last_time,
        stored_after_the_refresh,
        never_refreshed,
    ],
    ids=lambda f: f.__name__,
)
def test_it_writes_nothing_when_something_is_to_be_done(store: Any, change: Any) -> None:
    url, engine, files = store
    change(files[0]) if change is touch else change(engine)
    before = stored(engine)

    assert unchanged_ingest(url, files, snapshot_dir=None, snapshot=False) is None

    assert stored(engine) == before


def test_it_writes_nothing_for_a_file_it_does_not_hold(store: Any, tmp_path: Path) -> None:
    url, engine, files = store
    other = tmp_path / "money.xml"
    shutil.copy(FIXTURES / "money-exact-sums.xml", other)
    before = stored(engine)

    assert unchanged_ingest(url, [*files, str(other)], snapshot_dir=None, snapshot=False) is None
    assert (
        unchanged_ingest(url, [str(tmp_path / "gone.xml")], snapshot_dir=None, snapshot=False)
        is None
    )
    assert (
        unchanged_ingest(url, ["https://example.org/a.xml"], snapshot_dir=None, snapshot=False)
        is None
    )
    assert stored(engine) == before


def test_it_leaves_a_store_another_writer_holds_to_the_usual_path(store: Any) -> None:
    url, engine, files = store
    before = stored(engine)
    database = url.removeprefix("sqlite:///")
    with lock_path(database).open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert unchanged_ingest(url, files, snapshot_dir=None, snapshot=False) is None
    assert stored(engine) == before
    assert unchanged_ingest(url, files, snapshot_dir=None, snapshot=False)


def test_it_is_only_for_a_store_that_is_there(tmp_path: Path) -> None:
    files = [str(FIXTURES / FILES[0])]
    missing = tmp_path / "none.db"
    assert (
        unchanged_ingest(f"sqlite:///{missing}", files, snapshot_dir=None, snapshot=False) is None
    )
    assert not missing.exists()  # not created
    assert unchanged_ingest("sqlite://", files, snapshot_dir=None, snapshot=False) is None
