"""Stores for tests that build one per module: an empty, migrated store on each database."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from iatiportal.demo.load import load_demo
from iatiportal.profile import bundled, load_portal
from iatiportal.store.db import make_engine, migrate
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

PG_URL = os.environ.get("IATIPORTAL_TEST_PG_URL")
SQLITE_ONLY = os.environ.get("IATIPORTAL_TEST_SQLITE_ONLY") == "1"
KINDS = ["sqlite"] if SQLITE_ONLY else ["sqlite", "postgresql"]
"""The databases the suite runs on (tests/conftest.py says why PostgreSQL is not optional)."""


def _create_database(prefix: str) -> tuple[str, str]:
    """(name, URL) of a new PostgreSQL database on the test server."""
    assert PG_URL, "IATIPORTAL_TEST_PG_URL is not set"
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    _on_server(f'CREATE DATABASE "{name}"')
    return name, make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def _drop_database(name: str) -> None:
    _on_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _on_server(statement: str) -> None:
    assert PG_URL, "IATIPORTAL_TEST_PG_URL is not set"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(statement))
    finally:
        admin.dispose()


@contextlib.contextmanager
def postgresql_database() -> Iterator[str]:
    """The URL of a fresh PostgreSQL database, dropped afterwards."""
    name, url = _create_database("iatiportal_t_")
    try:
        yield url
    finally:
        _drop_database(name)


ALL_SHARED_FILES = "all-shared-files"
"""The folder, in the run's tmp folder, of the stores of all shared files (one per database)."""
DATABASES = "postgresql.databases"
"""The file, in that folder, naming each PostgreSQL database built for it, one per line."""


def _run_folder(tmp_path_factory: pytest.TempPathFactory, config: pytest.Config) -> Path:
    """The tmp folder of this run, the same for every worker of ``pytest -n``: a worker's own
    tmp folder is a folder in the run's."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if hasattr(config, "workerinput") else base


@contextlib.contextmanager
def all_shared_files(
    kind: str, shared: Path, tmp_path_factory: pytest.TempPathFactory, config: pytest.Config
) -> Iterator[tuple[Engine, list[str]]]:
    """A store holding every shared IATI file on ``kind``, and each file's ingest status.

    Ingesting the shared files takes a minute per database, and several test files only
    read the result, so the first worker that asks builds it (the others wait on a lock) and
    every test file of the run reads that one store. Its PostgreSQL database is dropped when
    the run ends (``drop_all_shared_files``)."""
    folder = _run_folder(tmp_path_factory, config) / ALL_SHARED_FILES
    folder.mkdir(exist_ok=True)
    built = folder / f"{kind}.json"
    with (folder / f"{kind}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not built.exists():
            _build_all_shared_files(kind, shared, folder, built)
    record = json.loads(built.read_text(encoding="utf-8"))
    engine = make_engine(record["url"])
    try:
        yield engine, record["statuses"]
    finally:
        engine.dispose()


def _build_all_shared_files(kind: str, shared: Path, folder: Path, built: Path) -> None:
    if kind == "sqlite":
        url = f"sqlite:///{folder / 'store.db'}"
    else:
        database, url = _create_database("iatiportal_t_all_")
        # Recorded before the ingest, so that it is dropped even if the ingest fails (and a
        # later worker builds another).
        with (folder / DATABASES).open("a", encoding="utf-8") as names:
            names.write(database + "\n")
    engine = make_engine(url)
    try:
        migrate(engine)
        summary = ingest(engine, [str(shared / "iati")])
    finally:
        engine.dispose()
    statuses = [f.status for f in summary.files]
    built.write_text(json.dumps({"url": url, "statuses": statuses}), encoding="utf-8")


def drop_all_shared_files(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Drop the PostgreSQL databases of the stores of all shared files that this run built
    (called once, by the process that runs the session, after every worker is done)."""
    recorded = tmp_path_factory.getbasetemp() / ALL_SHARED_FILES / DATABASES
    if recorded.exists():
        for database in recorded.read_text(encoding="utf-8").split():
            _drop_database(database)


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
