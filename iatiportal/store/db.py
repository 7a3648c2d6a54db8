"""Connecting to the store: URL resolution, engine set-up and automatic migration."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, create_engine, event

DEFAULT_URL = "sqlite:///iatiportal.db"
ENV_VAR = "IATIPORTAL_DATABASE_URL"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def resolve_url(option: str | None) -> str:
    """``--db`` if given, else ``$IATIPORTAL_DATABASE_URL``, else ./iatiportal.db.

    A value without ``://`` is a path to an SQLite file; ``postgresql://`` URLs use psycopg 3.
    """
    url = option or os.environ.get(ENV_VAR) or DEFAULT_URL
    if "://" not in url:
        url = f"sqlite:///{url}"
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (SQLAlchemy's
    # documented recipe), and make concurrent readers see the last committed state (WAL).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=60000")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    # Writers take the write lock up front (BEGIN IMMEDIATE) so two ingests queue instead of
    # failing half-way; readers begin a plain deferred transaction.
    immediate = conn.get_execution_options().get("sqlite_immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, **kwargs: Any) -> Engine:
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        rev: str | None = MigrationContext.configure(conn).get_current_revision()
        return rev


def migrate(engine: Engine) -> None:
    """Create the schema or bring it to the latest migration."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")


def open_store(option: str | None) -> Engine:
    """The engine for ``--db`` (see resolve_url), migrated to the latest schema."""
    engine = make_engine(resolve_url(option))
    migrate(engine)
    return engine


@contextlib.contextmanager
def store(option: str | None) -> Iterator[Engine]:
    """``open_store`` for the length of a command; its connections are closed after."""
    engine = open_store(option)
    try:
        yield engine
    finally:
        engine.dispose()
