"""Connecting to the store: URL resolution, engine set-up and automatic migration."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.exc import SQLAlchemyError

from iatiportal.store.quick import (
    BUSY_TIMEOUT_MS,
    MIGRATIONS,
    head_revision,
    lock_path,
    resolve_url,
)

if TYPE_CHECKING:
    from alembic.config import Config


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (SQLAlchemy's
    # documented recipe), and make concurrent readers see the last committed state (WAL).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    _switch_to_wal(cur)
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()
    dbapi_conn.create_function("regexp_group", 3, regexp_group, deterministic=True)


def _switch_to_wal(cur: Any) -> None:
    """Put the store in write-ahead-log mode (a no-op when it is already).

    Two commands that open a store that did not exist yet both switch the new file, and SQLite
    answers one of them "database is locked" at once: the switch would deadlock on the file's
    locks, so SQLite's busy timeout does not apply to it. The switch takes milliseconds, so it is
    retried until the other command's switch is done (up to the busy timeout).
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.01
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


@functools.lru_cache(maxsize=64)
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def regexp_group(pattern: str, value: str | None, group: int) -> str | None:
    """SQLite's ``regexp_group(pattern, value, n)``: group ``n`` of the first match of the
    Python regular expression in ``value``, else NULL (PostgreSQL has ``regexp_match``)."""
    if value is None:
        return None
    found = _pattern(pattern).search(value)
    return found.group(group) if found is not None else None


def _sqlite_begin(conn: Connection) -> None:
    # Writers take the write lock up front (BEGIN IMMEDIATE) so two ingests queue instead of
    # failing half-way; readers begin a plain deferred transaction.
    immediate = conn.get_execution_options().get("sqlite_immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine whose readers each see one consistent state of the store.

    SQLite (WAL) gives every read transaction one snapshot. PostgreSQL's default, READ
    COMMITTED, would let one page's queries straddle a commit (a transaction's rows new, its
    country's total old), so readers run REPEATABLE READ, which never fails for a read-only
    transaction; writers (``writing``) go back to READ COMMITTED, so that after waiting for the
    write lock they see what the writer before them committed.
    """
    if url.startswith("postgresql"):
        kwargs.setdefault("isolation_level", "REPEATABLE READ")
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


WRITE_LOCK_KEY = 0x1A71_9047
"""The PostgreSQL advisory lock that every writer of a store holds for its transaction."""

_memory_lock = threading.Lock()


def lock_file(engine: Engine) -> Path | None:
    """The file whose lock orders the writers of an SQLite store (None: in memory)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or database in (None, "", ":memory:"):
        return None
    return lock_path(database)


@contextlib.contextmanager
def _sqlite_lock(engine: Engine, on_wait: Callable[[], None] | None) -> Iterator[None]:
    path = lock_file(engine)
    if path is None:
        with _memory_lock:
            yield
        return
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield  # closing the file releases the lock


@contextlib.contextmanager
def writing(engine: Engine, on_wait: Callable[[], None] | None = None) -> Iterator[Connection]:
    """A write transaction, one writer of the store at a time.

    Every writer (ingest, derived refresh, ``rates load``, ``reference load``) takes the same
    lock for its transaction: ids from ``max(id) + 1`` and "is this file unchanged?" are then
    decided by one writer only, so concurrent commands queue instead of colliding. The lock
    is a PostgreSQL advisory lock held until commit, or on SQLite an ``flock`` on
    ``<store>.lock`` (SQLite's own lock would give up after its busy timeout, while an ingest
    may rightly hold it for minutes). ``on_wait`` is called once if another writer holds it.
    """
    if engine.dialect.name == "sqlite":
        with (
            _sqlite_lock(engine, on_wait),
            engine.connect().execution_options(sqlite_immediate=True) as conn,
            conn.begin(),
        ):
            yield conn
        return
    with (
        engine.connect().execution_options(isolation_level="READ COMMITTED") as conn,
        conn.begin(),
    ):
        got = conn.exec_driver_sql(f"SELECT pg_try_advisory_xact_lock({WRITE_LOCK_KEY})")
        if not got.scalar():
            if on_wait is not None:
                on_wait()
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")
        yield conn


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config  # noqa: PLC0415 - only when migrating (0.2 s to import)

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def current_revision(engine: Engine) -> str | None:
    """The store's migration, read from Alembic's table without loading Alembic (a command
    that only finds an unchanged file should not spend most of its time importing it)."""
    with engine.connect() as conn:
        try:
            rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        except SQLAlchemyError:  # a new store: no table yet
            conn.rollback()
            return None
    return str(rows[0][0]) if len(rows) == 1 else None


def migrate(engine: Engine) -> None:
    """Create the schema or bring it to the latest migration.

    Under the write lock, so two commands starting on a new store do not both create it; a
    store already at the latest migration is not locked (``serve`` starts during an ingest).
    """
    if current_revision(engine) == head_revision():
        return
    from alembic import command  # noqa: PLC0415 - only when migrating

    if engine.dialect.name != "sqlite":
        with writing(engine) as conn:
            if not _create_new(conn):
                command.upgrade(alembic_config(conn), "head")
        return
    with _sqlite_lock(engine, None), engine.connect() as conn:
        with conn.execution_options(sqlite_immediate=True).begin():
            created = _create_new(conn)
        if created:
            return
        # SQLite alters a table by copying it, which its foreign keys forbid while they are
        # on (and they cannot be switched inside a transaction): off for the migration, then
        # every reference checked before it commits.
        raw: Any = conn.connection.dbapi_connection
        raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.execution_options(sqlite_immediate=True).begin():
                command.upgrade(alembic_config(conn), "head")
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"the migration left broken references: {broken[:5]}")
        finally:
            raw.execute("PRAGMA foreign_keys=ON")


def _create_new(conn: Connection) -> bool:
    """Make a store that has no tables yet from the schema as it is now, and mark it at the
    latest migration; False (nothing done) when the store has tables. The same schema as
    running every migration (a test compares the two), in a fraction of the time: 0.5 s on
    SQLite and 1.5 s on PostgreSQL for the 29 migrations, which every new store, and every
    test's store, paid."""
    from alembic import command  # noqa: PLC0415 - only when migrating

    from iatiportal.store import schema, search  # noqa: PLC0415 - see above

    if inspect(conn).get_table_names():
        return False
    schema.metadata.create_all(conn)
    search.create_full_text(conn)
    command.stamp(alembic_config(conn), "head")
    return True


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
