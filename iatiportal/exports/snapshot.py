"""The bulk snapshot: the whole store as a compressed SQLite file and as a zip of CSVs.

``build`` writes, into a snapshot folder, ``iatiportal.sqlite.gz`` (a complete iatiportal
store: ``iatiportal serve --db`` opens it once unpacked) and ``iatiportal-csv.zip`` (one CSV per
list of the API, every row, codes with their names, and ``data-dictionary.csv`` describing each
column), then ``manifest.json`` saying when and from which data version they were built. Files
are written under temporary names and renamed, so a reader never sees half a snapshot.
``iatiportal ingest`` rebuilds the snapshot after every ingest that changed the store.

The folder is ``--snapshot-dir``, else ``$IATIPORTAL_SNAPSHOT_DIR``, else ``<db file>.snapshot``
beside a SQLite store, else ``iatiportal-snapshot-<host>-<database>-<digest>`` in the working
folder (one per database, so no server serves another store's snapshot).
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
import re
import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, text
from sqlalchemy.engine import make_url

from iatiportal import __version__
from iatiportal.exports import encode, writers
from iatiportal.store import listing
from iatiportal.store import schema as s
from iatiportal.store import version as store_version
from iatiportal.store.db import make_engine, migrate
from iatiportal.store.filters import Filters

SQLITE_NAME = "iatiportal.sqlite.gz"
CSV_NAME = "iatiportal-csv.zip"
MANIFEST_NAME = "manifest.json"
COPY_BATCH = 5000
DICTIONARY_COLUMNS = ("file", "column", "type", "description", "codelist")


@dataclass
class SnapshotFile:
    name: str
    bytes: int
    sha256: str


@dataclass
class Manifest:
    built_at: str  # ISO 8601, UTC
    data_version: str  # queries.data_version of the store when built
    iatiportal_version: str
    files: list[SnapshotFile]
    rows: dict[str, int]  # rows per CSV


def default_dir(url: str) -> Path:
    """Where a store's snapshot lives unless told otherwise."""
    configured = os.environ.get("IATIPORTAL_SNAPSHOT_DIR")
    if configured:
        return Path(configured)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return Path(f"{parsed.database}.snapshot")
    # One folder per database server and database, so that a server for one store never
    # serves another's snapshot; the name says which (no password), the digest keeps apart
    # what the name cannot (users, ports, sockets).
    who = parsed._replace(password=None).render_as_string(hide_password=False)
    digest = hashlib.sha256(who.encode()).hexdigest()[:8]
    label = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{parsed.host or 'local'}-{parsed.database or ''}")
    return Path(f"iatiportal-snapshot-{label.strip('-.')}-{digest}")


def version_key(conn: Connection) -> str:
    """What the store holds, as the manifest records it: the store's content version (raised
    by every writer, but not when unchanged files were only checked again)."""
    return json.dumps(["store", store_version.current(conn).content_version])


def data_version(engine: Engine) -> str:
    with engine.connect() as conn:
        return version_key(conn)


def read_manifest(folder: Path) -> Manifest | None:
    try:
        raw = json.loads((folder / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return None
    raw["files"] = [SnapshotFile(**f) for f in raw["files"]]
    return Manifest(**raw)


def is_current(engine: Engine, folder: Path) -> bool:
    """Whether the folder holds a snapshot of the store as it is now."""
    manifest = read_manifest(folder)
    return manifest is not None and manifest.data_version == data_version(engine)


def build(engine: Engine, folder: Path) -> Manifest:
    """Write both snapshot files and the manifest (replacing any earlier snapshot)."""
    folder.mkdir(parents=True, exist_ok=True)
    version = data_version(engine)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".building-") as work:
        workdir = Path(work)
        database = workdir / "iatiportal.sqlite"
        _copy_to_sqlite(engine, database)
        _gzip(database, workdir / SQLITE_NAME)
        database.unlink()
        rows = _csv_zip(engine, workdir / CSV_NAME)
        files = []
        for name in (SQLITE_NAME, CSV_NAME):
            path = workdir / name
            files.append(SnapshotFile(name, path.stat().st_size, _sha256(path)))
            path.replace(folder / name)
    manifest = Manifest(
        encode.timestamp(dt.datetime.now(dt.UTC).replace(microsecond=0)),
        version,
        __version__,
        files,
        rows,
    )
    partial = folder / f".{MANIFEST_NAME}.tmp"
    partial.write_text(encode.dumps(asdict(manifest), indent=1))
    partial.replace(folder / MANIFEST_NAME)
    return manifest


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _gzip(source: Path, target: Path) -> None:
    with source.open("rb") as raw, gzip.open(target, "wb", compresslevel=6) as packed:
        shutil.copyfileobj(raw, packed, 1 << 20)


def _copy_to_sqlite(engine: Engine, target: Path) -> None:
    """A SQLite copy of the store: the backup API from SQLite, a table-by-table copy from
    PostgreSQL (into a freshly migrated store, search index rebuilt)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            source = conn.connection.driver_connection
            if not isinstance(source, sqlite3.Connection):
                raise TypeError(f"not a sqlite3 connection: {type(source).__name__}")
            copy = sqlite3.connect(target)
            try:
                source.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")
                copy.execute("VACUUM")
            finally:
                copy.close()
        return
    destination = make_engine(f"sqlite:///{target}")
    try:
        migrate(destination)
        with engine.connect() as src, destination.begin() as dst:
            dst.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
            for table in s.metadata.sorted_tables:
                batch: list[dict[str, Any]] = []
                result = src.execution_options(stream_results=True, yield_per=COPY_BATCH)
                for row in result.execute(select(table)):
                    batch.append(dict(row._mapping))
                    if len(batch) == COPY_BATCH:
                        dst.execute(insert(table), batch)
                        batch = []
                if batch:
                    dst.execute(insert(table), batch)
            dst.execute(text("INSERT INTO search_fts(search_fts) VALUES ('rebuild')"))
    finally:
        destination.dispose()
    single = sqlite3.connect(target)  # one file, no write-ahead log beside it
    try:
        single.execute("PRAGMA journal_mode=DELETE")
    finally:
        single.close()


def _csv_zip(engine: Engine, target: Path) -> dict[str, int]:
    """One CSV per API list with every row, and the data dictionary; rows per file."""
    resources = listing.resources(engine.dialect.name)
    counts: dict[str, int] = {}
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, resource in resources.items():
            keys, label = writers.columns(resource.fields), writers.Labeller(resource.fields)
            n = 0
            with engine.connect() as conn, archive.open(f"{name}.csv", "w") as out:
                rows = listing.stream(conn, resource.select(Filters()))

                def counted(rows: Any = rows, label: writers.Labeller = label) -> Any:
                    nonlocal n
                    for row in rows:
                        n += 1
                        yield label(row)

                for chunk in writers.csv_chunks(keys, counted()):
                    out.write(chunk)
            counts[f"{name}.csv"] = n
        archive.writestr("data-dictionary.csv", b"".join(_dictionary(resources)))
    return counts


def _dictionary(resources: dict[str, listing.Resource]) -> Iterator[bytes]:
    """The data dictionary: a line per file, then one per column."""

    def lines() -> Iterator[dict[str, str]]:
        for name, resource in resources.items():
            yield {"file": f"{name}.csv", "description": resource.description}
            for f in resource.fields:
                yield {
                    "file": f"{name}.csv",
                    "column": f.name,
                    "type": f.type,
                    "description": f.description,
                    "codelist": f.codelist or "",
                }
                if f.codelist:
                    yield {
                        "file": f"{name}.csv",
                        "column": f"{f.name}_name",
                        "type": "string",
                        "description": f"Name of {f.name} in the IATI {f.codelist} codelist "
                        "(English).",
                        "codelist": f.codelist,
                    }

    return writers.csv_chunks(DICTIONARY_COLUMNS, lines())
