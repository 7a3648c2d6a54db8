"""Stores for tests that build one per module: an empty, migrated store on each database."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from iatiportal.demo.load import load_demo
from iatiportal.profile import bundled, load_portal
from iatiportal.store.db import make_engine, migrate
from iatiportal.web.app import create_app

PG_URL = os.environ.get("IATIPORTAL_TEST_PG_URL")
SQLITE_ONLY = os.environ.get("IATIPORTAL_TEST_SQLITE_ONLY") == "1"
KINDS = ["sqlite"] if SQLITE_ONLY else ["sqlite", "postgresql"]
"""The databases the suite runs on (tests/conftest.py says why PostgreSQL is not optional)."""


@contextlib.contextmanager
def postgresql_database() -> Iterator[str]:
    """The URL of a fresh PostgreSQL database, dropped afterwards."""
    assert PG_URL, "IATIPORTAL_TEST_PG_URL is not set"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"iatiportal_t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()


@contextlib.contextmanager
def migrated_store(kind: str, folder: Path) -> Iterator[Engine]:
    """An empty, migrated store on ``kind`` ("sqlite", its file in ``folder``, or
    "postgresql"), disposed (and its database dropped) afterwards."""
    with contextlib.ExitStack() as stack:
        if kind == "sqlite":
            url = f"sqlite:///{folder / 'store.db'}"
        else:
            url = stack.enter_context(postgresql_database())
        engine = make_engine(url)
        stack.callback(engine.dispose)
        migrate(engine)
        yield engine


@contextlib.contextmanager
def demo_client(folder: Path) -> Iterator[TestClient]:
    """A test client of the portal over the demo store as ``iatiportal demo`` builds it (the
    sample files and the reference extract, SQLite in ``folder``), with the UN Women profile."""
    engine = make_engine(f"sqlite:///{folder / 'demo.db'}")
    try:
        migrate(engine)
        assert not load_demo(engine).ingest.failed
        with TestClient(create_app(engine, load_portal([bundled("unwomen")]))) as client:
            yield client
    finally:
        engine.dispose()
