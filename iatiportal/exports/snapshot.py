"""The bulk snapshot: the whole store as a compressed SQLite file and as a zip of CSVs.

``build`` writes ``iatiportal.sqlite.gz`` (a complete iatiportal store: ``iatiportal serve
--db`` opens it once unpacked) and ``iatiportal-csv.zip`` (one CSV per list of the API, every
row, codes with their English names, ``code-names.csv`` naming every code of those codelists in
each language of the portal, and ``data-dictionary.csv`` describing each column), then
``manifest.json`` saying when, from which data version and in which subfolder they were built.

Readers never see half a snapshot (issue 14): each build writes a new subfolder
(``files-<when>-<random>``), and the snapshot switches when ``manifest.json`` is replaced by a
rename, the one atomic step; only then are the files of the previous snapshot removed. A build
that fails (a full disk) or is killed leaves the previous manifest, so the previous files stay
served; what it left is removed by the next build.

One builder per folder: builds hold an exclusive ``flock`` on ``.lock`` in the folder.
``build_if_stale`` (``iatiportal snapshot --if-stale``, which ``iatiportal ingest`` starts in the
background) does not wait for a builder that is running: that builder checks the store's data
version once it is done and builds again if it changed meanwhile, so a request made during a
build is not lost, and a burst of ingests costs one more build, not one each. We chose a
background process over building inside the ingest because the snapshot costs more than the
ingest of a changed file and grows with the store (12 s for 5,300 activities), and over a timer
alone because a timer leaves the download stale for up to its period; both can run together,
the lock keeping them to one build at a time.

Memory stays flat at any store size: rows are streamed (server-side cursors on PostgreSQL) into
the SQLite copy and the zip a batch at a time, and the zip's members are written as they come
(ZIP64, so a CSV may pass 4 GB).

The folder is ``--snapshot-dir``, else ``$IATIPORTAL_SNAPSHOT_DIR``, else ``<db file>.snapshot``
beside a SQLite store, else ``iatiportal-snapshot-<host>-<database>-<digest>`` in the working
folder (one per database, so no server serves another store's snapshot).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import gzip
import hashlib
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from babel import Locale
from sqlalchemy import Connection, Engine, insert, select, text
from sqlalchemy.engine import make_url

from iatiportal import __version__, i18n, standard
from iatiportal.datasets import organisation as org_files
from iatiportal.datasets.context import Context
from iatiportal.exports import encode, writers
from iatiportal.exports.manifest import (
    MANIFEST_NAME,
    Manifest,
    SnapshotFile,
    beside_sqlite,
    configured_dir,
    key_of,
    read_manifest,
)
from iatiportal.store import listing
from iatiportal.store import schema as s
from iatiportal.store import version as store_version
from iatiportal.store.db import make_engine, migrate
from iatiportal.store.filters import Filters

SQLITE_NAME = "iatiportal.sqlite.gz"
CSV_NAME = "iatiportal-csv.zip"
CODE_NAMES_NAME = "code-names.csv"
DICTIONARY_NAME = "data-dictionary.csv"
ORGANISATION_BUDGETS_NAME = "organisation-budgets.csv"
LOCK_NAME = ".lock"
LOG_NAME = "build.log"
GENERATION_PREFIX = "files-"
LEFTOVER_PREFIXES = (GENERATION_PREFIX, ".building-")  # .building-: folders of older versions
COPY_BATCH = 1000  # rows per insert into the copy: its memory, whatever the store
DICTIONARY_COLUMNS = ("file", "column", "type", "description", "codelist")
NAME_LANGUAGES = (
    i18n.DEFAULT_LANGUAGE,
    *(code for code in i18n.LANGUAGES if code != i18n.DEFAULT_LANGUAGE),
)
"""The languages of code-names.csv, English first (the language of the ``_name`` columns)."""


def default_dir(url: str) -> Path:
    """Where a store's snapshot lives unless told otherwise."""
    configured = configured_dir()
    if configured is not None:
        return configured
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return beside_sqlite(parsed.database)
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
    return key_of(store_version.current(conn).content_version)


def data_version(engine: Engine) -> str:
    with engine.connect() as conn:
        return version_key(conn)


def file_path(folder: Path, manifest: Manifest, name: str) -> Path:
    """Where the snapshot of ``manifest`` keeps its file ``name``."""
    return folder / manifest.folder / name


def is_current(engine: Engine, folder: Path) -> bool:
    """Whether the folder holds a snapshot of the store as it is now."""
    manifest = read_manifest(folder)
    return manifest is not None and manifest.data_version == data_version(engine)


def building(folder: Path) -> bool:
    """Whether a build holds the folder's lock now (read-only: creates nothing)."""
    try:
        handle = (folder / LOCK_NAME).open("rb")
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


@contextlib.contextmanager
def _lock(folder: Path, *, wait: bool) -> Iterator[bool]:
    """The folder's builder lock: True when held (released on exit), False when another
    process holds it and ``wait`` is False. The kernel releases it when a builder dies."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / LOCK_NAME).open("ab") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build(engine: Engine, folder: Path) -> Manifest:
    """Build a snapshot now (after any build already running) and switch to it."""
    with _lock(folder, wait=True):
        return _build(engine, folder)


def build_if_stale(engine: Engine, folder: Path, *, wait: bool = False) -> Manifest | None:
    """Build until the snapshot holds the store as it is; None when it already did, or when
    another builder is running (it checks the store again when done, see the module's notes)
    unless ``wait``: then after that builder ends, the snapshot is current."""
    built = None
    while not is_current(engine, folder):
        with _lock(folder, wait=wait) as mine:
            if not mine:
                return built
            while not is_current(engine, folder):
                built = _build(engine, folder)
        # The store may have changed after the last check and before the lock was released,
        # while a request gave up on the lock: the loop's check catches it.
    return built


def _build(engine: Engine, folder: Path) -> Manifest:
    """Write a new snapshot beside the current one and switch to it (the lock held)."""
    _remove_leftovers(folder, read_manifest(folder))  # of builds killed or failed
    version = data_version(engine)
    built_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    stamp = built_at.strftime("%Y%m%dT%H%M%SZ")
    generation = folder / f"{GENERATION_PREFIX}{stamp}-{secrets.token_hex(3)}"
    generation.mkdir()
    try:
        database = generation / "iatiportal.sqlite"
        _copy_to_sqlite(engine, database)
        _gzip(database, generation / SQLITE_NAME)
        database.unlink()
        rows = _csv_zip(engine, generation / CSV_NAME)
        files = []
        for name in (SQLITE_NAME, CSV_NAME):
            path = generation / name
            files.append(SnapshotFile(name, path.stat().st_size, _sha256(path)))
        manifest = Manifest(
            encode.timestamp(built_at), version, __version__, files, rows, generation.name
        )
        partial = generation / f".{MANIFEST_NAME}"
        with partial.open("w") as out:
            out.write(encode.dumps(asdict(manifest), indent=1))
            out.flush()
            os.fsync(out.fileno())
        partial.replace(folder / MANIFEST_NAME)  # the switch
    except BaseException:
        shutil.rmtree(generation, ignore_errors=True)
        raise
    _remove_leftovers(folder, manifest)
    return manifest


def _remove_leftovers(folder: Path, current: Manifest | None) -> None:
    """Remove every snapshot's files but ``current``'s (a file being downloaded stays
    readable to its reader until closed)."""
    keep = current.folder if current else None
    for entry in folder.iterdir():
        if entry.name.startswith(LEFTOVER_PREFIXES) and entry.is_dir() and entry.name != keep:
            shutil.rmtree(entry, ignore_errors=True)
    if current is not None and current.folder:  # the files of a snapshot built before folders
        for name in (SQLITE_NAME, CSV_NAME, f".{MANIFEST_NAME}.tmp"):
            (folder / name).unlink(missing_ok=True)


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
    """One CSV per API list with every row, the code names and the data dictionary; rows per
    file."""
    resources = listing.resources(engine.dialect.name)
    counts: dict[str, int] = {}
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, resource in resources.items():
            keys, label = writers.columns(resource.fields), writers.Labeller(resource.fields)
            n = 0
            with (
                engine.connect() as conn,
                archive.open(f"{name}.csv", "w", force_zip64=True) as out,
            ):
                rows = listing.stream(conn, resource.select(Filters()))

                def counted(rows: Any = rows, label: writers.Labeller = label) -> Any:
                    nonlocal n
                    for row in rows:
                        n += 1
                        yield label(row)

                for chunk in writers.csv_chunks(keys, counted()):
                    out.write(chunk)
            counts[f"{name}.csv"] = n
        counts[ORGANISATION_BUDGETS_NAME] = _organisation_budgets(engine, archive)
        codelists = sorted({f.codelist for r in resources.values() for f in r.fields if f.codelist})
        with archive.open(CODE_NAMES_NAME, "w") as out:
            names = list(_code_names(codelists))
            for chunk in writers.csv_chunks(_code_name_columns(), names):
                out.write(chunk)
        counts[CODE_NAMES_NAME] = len(names)
        archive.writestr(DICTIONARY_NAME, b"".join(_dictionary(resources)))
    return counts


def _organisation_budgets(engine: Engine, archive: zipfile.ZipFile) -> int:
    """organisation-budgets.csv: every organisation file's lines beside its activities' money
    (datasets.organisation), as published, by the default money rules (a snapshot knows no
    profile); rows written."""
    dataset = org_files.ORGANISATION_BUDGETS
    keys, label = writers.columns(dataset.fields), writers.Labeller(dataset.fields)
    with engine.connect() as conn:
        rows = [label(r) for r in org_files.organisation_budgets(conn, Context(), Filters())]
    with archive.open(ORGANISATION_BUDGETS_NAME, "w") as out:
        for chunk in writers.csv_chunks(keys, iter(rows)):
            out.write(chunk)
    return len(rows)


def _code_name_columns() -> list[str]:
    return ["codelist", "code", *(f"name_{language}" for language in NAME_LANGUAGES)]


def _code_names(codelists: list[str]) -> Iterator[dict[str, str]]:
    """A row per code of each codelist: its name in each language of the portal (issue 13).
    Whole codelists, not only the codes the data uses: their size is the lists', whatever
    the store holds."""
    for codelist in codelists:
        by_language = {lang: standard.code_names(codelist, lang) for lang in NAME_LANGUAGES}
        codes = sorted({c for names in by_language.values() for c in names})
        for code in codes:
            row = {"codelist": codelist, "code": code}
            for language, names in by_language.items():
                row[f"name_{language}"] = names.get(code, "")
            yield row


def _dictionary(resources: dict[str, listing.Resource]) -> Iterator[bytes]:
    """The data dictionary: a line per file, then one per column."""

    described = [
        (f"{name}.csv", resource.description, resource.fields)
        for name, resource in resources.items()
    ]
    dataset = org_files.ORGANISATION_BUDGETS
    described.append((ORGANISATION_BUDGETS_NAME, dataset.description, dataset.fields))

    def lines() -> Iterator[dict[str, str]]:
        for file, description, fields in described:
            yield {"file": file, "description": description}
            for f in fields:
                yield {
                    "file": file,
                    "column": f.name,
                    "type": f.type,
                    "description": f.description,
                    "codelist": f.codelist or "",
                }
                if f.codelist:
                    yield {
                        "file": file,
                        "column": f"{f.name}_name",
                        "type": "string",
                        "description": f"Name of {f.name} in the IATI {f.codelist} codelist "
                        f"(English; {CODE_NAMES_NAME} names each code in every language of "
                        "the portal).",
                        "codelist": f.codelist,
                    }
        yield {
            "file": CODE_NAMES_NAME,
            "description": "The name of every code of the codelists the other files use, in "
            "each language of the portal (Arabic, Chinese, English, French, Russian, Spanish): "
            "join on codelist and code. Column keys are the same whatever the language.",
        }
        yield {
            "file": CODE_NAMES_NAME,
            "column": "codelist",
            "type": "string",
            "description": "The IATI codelist (the codelist column of this dictionary).",
        }
        yield {
            "file": CODE_NAMES_NAME,
            "column": "code",
            "type": "string",
            "description": "The code, as in the other files.",
        }
        english = Locale.parse("en")
        for language in NAME_LANGUAGES:
            yield {
                "file": CODE_NAMES_NAME,
                "column": f"name_{language}",
                "type": "string",
                "description": f"The code's name in {english.languages.get(language, language)} "
                f"(language code {language}); the codelist's own, else the portal's "
                "translation, else English.",
            }

    return writers.csv_chunks(DICTIONARY_COLUMNS, lines())


LOG_LIMIT = 1 << 20  # bytes of build.log kept (it is started afresh past this)


def start_in_background(url: str, folder: Path) -> Path:
    """Start ``iatiportal snapshot --if-stale`` for the store at ``url`` as a process of its
    own, detached from this one (its own session, reparented to init: it outlives the ingest
    that started it and leaves no zombie); its output goes to ``build.log`` in the folder,
    which is returned. The URL goes through the environment, not the command line that any
    user can list."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / LOG_NAME
    with contextlib.suppress(FileNotFoundError):
        if log.stat().st_size > LOG_LIMIT:
            log.unlink()
    command = [sys.executable, "-m", "iatiportal.cli", "snapshot", "--if-stale"]
    command += ["--snapshot-dir", str(folder)]
    environment = {**os.environ, "IATIPORTAL_DATABASE_URL": url}
    with log.open("ab") as out:
        # sh starts the builder in the background and ends at once; waiting for sh leaves no
        # child of ours running (a Popen of the builder itself would be one).
        subprocess.run(
            ["/bin/sh", "-c", '"$@" </dev/null &', "sh", *command],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
            check=True,
        )
    return log
