"""Shared fixtures: stores on SQLite and on PostgreSQL, and the shared data folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from stores import PG_URL, SQLITE_ONLY, postgresql_database

from iatiportal.store.db import make_engine, migrate

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED = Path(os.environ.get("IATIPORTAL_SHARED_DATA", "../shared/data")).resolve()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a PostgreSQL server the suite is incomplete: say so instead of skipping."""
    if PG_URL or SQLITE_ONLY:
        if SQLITE_ONLY:
            keep = [
                i
                for i in items
                if "postgresql" not in i.name and i.get_closest_marker("postgres") is None
            ]
            config.hook.pytest_deselected(items=[i for i in items if i not in keep])
            items[:] = keep
        return
    raise pytest.UsageError(
        "IATIPORTAL_TEST_PG_URL is not set: run `make test` (which starts PostgreSQL), or set "
        "IATIPORTAL_TEST_SQLITE_ONLY=1 to run the SQLite half only."
    )


@pytest.fixture(scope="session")
def shared() -> Path:
    """The read-only shared data folder."""
    assert (SHARED / "iati").is_dir(), f"shared data not found at {SHARED}"
    return SHARED


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def postgresql_url() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    with postgresql_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """The URL of an empty store on each database in turn."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated, empty store on each database in turn."""
    eng = make_engine(db_url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    eng = make_engine(sqlite_url)
    migrate(eng)
    yield eng
    eng.dispose()
