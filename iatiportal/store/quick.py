"""A quiet ingest that finds nothing to do, with the standard library alone (issue 14).

Cron and ``iatiportal refresh`` run ``iatiportal ingest -q`` over files that mostly have not
changed. Importing SQLAlchemy and the store's 89 tables took most of that run (0.25 s of
0.55 s here), for a few reads and two updates. ``unchanged_ingest`` does those with Python's
``sqlite3``, under the store's write lock, when every condition for "nothing to do"
holds: an SQLite store at the latest migration, local files only, each stored from its last
read and unchanged since by size and modification time, no derived table waiting for a
refresh, and (unless the caller skips it) a bulk snapshot of the store as it is. It then
leaves the store as ``load.ingest`` does for unchanged files: each file's ``checked_at``, path,
size and time, and the store's version raised without its content version. Any other case
returns None, and the command takes the usual path, which also explains what it finds
(a lock held by another writer, a file that changed, a store to migrate).

Both paths decide "unchanged" with ``was_read`` and ``same_stat``; ``db`` takes the names of
the store's files (``lock_path``), its migrations (``head_revision``) and its wait for a lock
(``BUSY_TIMEOUT_MS``) from here, so there is one rule for each.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from iatiportal.exports.manifest import beside_sqlite, configured_dir, key_of, read_manifest
from iatiportal.ingest.sources import Source, SourceError, expand, is_url, location_key

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

DEFAULT_URL = "sqlite:///iatiportal.db"
ENV_VAR = "IATIPORTAL_DATABASE_URL"


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


BUSY_TIMEOUT_MS = 60_000
"""How long an SQLite statement waits for another connection's lock before it fails."""

SQLITE_PREFIX = "sqlite:///"


def head_revision() -> str:
    """The latest migration: migrations are named by their revision, ``NNNN_what.py``, in
    the order they apply (a test checks that this is Alembic's head)."""
    return max(p.name.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def lock_path(database: str) -> Path:
    """The file whose ``flock`` orders the writers of the SQLite store ``database``."""
    return Path(f"{database}.lock")


def was_read(row: Any) -> bool:
    """Whether a ``source_file`` row holds what its file held when last read (not a failure)."""
    return row.ingested_at is not None and row.error_rule is None


def same_stat(row: Any, size: int, mtime_ns: int | None) -> bool:
    """Whether the file (a local one: ``mtime_ns`` None for a download) still has the size and
    modification time of the row, so it need not be hashed again (as make and rsync decide)."""
    return mtime_ns is not None and (row.size_bytes, row.mtime_ns) == (size, mtime_ns)


def stored_time(when: dt.datetime) -> str:
    """A naive UTC time as SQLAlchemy's ``DateTime`` stores it in SQLite."""
    return when.strftime("%Y-%m-%d %H:%M:%S.%f")


class _Row:
    def __init__(self, cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> None:
        for (name, *_rest), value in zip(cursor.description, values, strict=True):
            setattr(self, name, value)


def unchanged_ingest(
    url: str, arguments: Sequence[str], *, snapshot_dir: Path | None, snapshot: bool
) -> list[Source] | None:
    """Record that the files ``arguments`` name are unchanged, when nothing else is to be done
    for them in the store at ``url`` (the module docstring); the files so recorded, or None
    with nothing written. ``snapshot``: the bulk snapshot (``snapshot_dir``, else the store's
    default folder) must be current too."""
    if not url.startswith(SQLITE_PREFIX) or "?" in url or any(map(is_url, arguments)):
        return None
    database = url.removeprefix(SQLITE_PREFIX)
    # (A name SQLAlchemy might read otherwise, with %-escapes, takes the usual path.)
    if database in ("", ":memory:") or "%" in database or not Path(database).is_file():
        return None
    try:
        sources = expand(list(arguments))
    except SourceError:
        return None  # the usual path says what is wrong
    try:
        with _writer(database) as conn:
            found = None if conn is None else _unchanged_files(conn, sources)
            if conn is None or found is None:
                return None
            if snapshot:
                folder = snapshot_dir or configured_dir() or beside_sqlite(database)
                manifest = read_manifest(folder)
                held = conn.execute(
                    "SELECT content_version FROM store_version WHERE id = 1"
                ).fetchone()
                if held is None or manifest is None or manifest.data_version != key_of(held[0]):
                    return None
            _record_checked(conn, sources, found)
    except (sqlite3.Error, OSError):
        return None
    return sources


@contextlib.contextmanager
def _writer(database: str) -> Iterator[sqlite3.Connection | None]:
    """A write transaction under the store's write lock (as ``db.writing``), committed when
    the block ends and rolled back when it raises; None when another writer holds the lock
    (the usual path waits for it, and says so)."""
    with lock_path(database).open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        conn = sqlite3.connect(
            f"file:{quote(database)}?mode=rw",
            uri=True,
            isolation_level=None,
            timeout=BUSY_TIMEOUT_MS / 1000,
        )
        try:
            conn.execute("BEGIN IMMEDIATE")
            committed = False
            try:
                yield conn
                if conn.in_transaction:
                    conn.execute("COMMIT")
                    committed = True
            finally:
                if not committed and conn.in_transaction:
                    conn.execute("ROLLBACK")
        finally:
            conn.close()


def _unchanged_files(
    conn: sqlite3.Connection, sources: list[Source]
) -> list[os.stat_result] | None:
    """Each file's size and time, when nothing is to be done for any of them (else None)."""
    revision = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    if revision != [(head_revision(),)]:
        return None
    if conn.execute("SELECT 1 FROM derive_pending LIMIT 1").fetchone() is not None:
        return None
    # facts.is_stale: a file stored after the last refresh of the derived tables.
    refreshed, stored = conn.execute(
        "SELECT (SELECT max(refreshed_at) FROM money_refresh), "
        "(SELECT max(ingested_at) FROM source_file)"
    ).fetchone()
    if refreshed is None or (stored is not None and stored >= refreshed):
        return None
    found: list[os.stat_result] = []
    for source in sources:
        cursor = conn.execute(
            "SELECT ingested_at, error_rule, size_bytes, mtime_ns FROM source_file "
            "WHERE location_key = ?",
            (location_key(source),),
        )
        values = cursor.fetchone()
        if values is None:
            return None
        found.append(Path(source.location).stat())
        row = _Row(cursor, values)
        if not (was_read(row) and same_stat(row, found[-1].st_size, found[-1].st_mtime_ns)):
            return None
    return found


def _record_checked(
    conn: sqlite3.Connection, sources: list[Source], found: list[os.stat_result]
) -> None:
    """What ``load.ingest`` stores for unchanged files: when each was checked, and the store's
    version raised (``version.bump(content=False)``: the snapshot stays current)."""
    now = stored_time(dt.datetime.now(dt.UTC).replace(tzinfo=None))
    for source, stat in zip(sources, found, strict=True):
        conn.execute(
            "UPDATE source_file SET checked_at = ?, path = ?, size_bytes = ?, mtime_ns = ? "
            "WHERE location_key = ?",
            (now, source.name, stat.st_size, stat.st_mtime_ns, location_key(source)),
        )
    raised = conn.execute(
        "UPDATE store_version SET version = version + 1, changed_at = ? WHERE id = 1", (now,)
    )
    if raised.rowcount != 1:
        raise sqlite3.DatabaseError("the store has no version yet")
