"""Ingest: read IATI files into the store, one transaction per file.

Nothing lost, nothing doubled: a file's new records replace its previous ones in one
transaction (killing the process leaves the previous state); an unchanged file (same sha256)
is skipped; an identifier published in several files (or twice in one) is current in one place
only: the later ``last-updated-datetime`` wins, a tie goes to the copy ingested last, and each
losing copy is recorded as a ``duplicate-identifier`` problem.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Table, and_, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from iatiportal import standard
from iatiportal.ingest.errors import FileError
from iatiportal.ingest.sources import Source, expand, local_copy, location_key, sha256_of
from iatiportal.store import facts, registry, search, version
from iatiportal.store import schema as s
from iatiportal.store.db import writing
from iatiportal.store.quick import same_stat, was_read

FILE_RULES = ("not-xml", "not-iati", "xml-doctype", "xml-syntax", "download", "io", "store")
DUPLICATE_RULE = "duplicate-identifier"
_CHUNK = 500


@dataclass
class FileOutcome:
    source: str
    status: str  # ingested | unchanged | failed
    activities: int = 0
    organisations: int = 0
    problems: Counter[str] = field(default_factory=Counter)  # by severity
    rules: Counter[str] = field(default_factory=Counter)
    error: str | None = None
    seconds: float = 0.0


@dataclass
class IngestSummary:
    files: list[FileOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "failed"]

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    def problems(self) -> Counter[str]:
        """Problems found in this run, by severity."""
        total: Counter[str] = Counter()
        for f in self.files:
            total.update(f.problems)
        return total

    def rules(self) -> Counter[str]:
        """Problems found in this run, by rule."""
        total: Counter[str] = Counter()
        for f in self.files:
            total.update(f.rules)
        return total


class Progress(Protocol):
    def file_started(self, source: str, size: int) -> None: ...
    def advanced(self, bytes_done: int, records: int) -> None: ...
    def file_finished(self, outcome: FileOutcome) -> None: ...


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


BATCH_MIN_SECONDS = 30.0
BATCH_REFRESH_FACTOR = 10.0
"""A batch of files is committed once it has taken this many times as long as the last
refresh of the derived tables (and at least BATCH_MIN_SECONDS): the refresh then costs at
most a tenth of the run, and a kill loses at most one batch."""


class _BatchLostError(Exception):
    """The database ended the batch's transaction itself (SQLite does so on a full disk)."""

    def __init__(self, index: int, failure: FileError) -> None:
        super().__init__(failure.message)
        self.index = index
        self.failure = failure


def ingest(
    engine: Engine,
    sources: Sequence[str | Source],
    *,
    validate: bool = True,
    force: bool = False,
    progress: Progress | None = None,
    refresh: bool = True,
    batch_seconds: float | None = None,
    on_wait: Callable[[], None] | None = None,
) -> IngestSummary:
    """Ingest every file that ``sources`` names (raises SourceError for a missing path); a
    ``Source`` is read as it is (see ``sources.expand``).

    Readers see the store as it was before a batch of files or as it is after, never a mix:
    the files' rows, the derived tables that pages read (money facts, search text) and the
    data version change in one transaction, which a kill at any moment leaves undone (one
    transaction rather than a versioned swap: both databases give it for free, and every
    reader query stays as it is). Files of a batch are isolated by savepoints, so one that
    cannot be read or stored leaves its previous state and the others go on. A batch is
    committed when it took ``batch_seconds`` (default: see BATCH_REFRESH_FACTOR). With
    ``refresh`` False the derived tables are left stale (``refresh_derived`` later).
    ``on_wait`` is called when another writer holds the store (see ``db.writing``).
    With ``validate``, raises standard.StandardError when a schema is missing (at once) or
    does not compile (before the first file that changed is read: files found unchanged need
    no schema, and compiling them all is most of what an unchanged re-ingest costs); nothing
    of the batch is then stored.
    """
    if validate:
        standard.present()
    summary = IngestSummary()
    queue = expand(sources)
    retried: set[Source] = set()
    position = 0
    while position < len(queue):
        batch: list[tuple[Source, FileOutcome]] = []
        try:
            position = _batch(
                engine,
                queue,
                position,
                batch,
                validate=validate,
                force=force,
                progress=progress,
                refresh=refresh,
                batch_seconds=batch_seconds,
                on_wait=on_wait,
            )
        except _BatchLostError as lost:
            # Nothing of this batch was kept: read its earlier files again (once), and record
            # the file that failed in a transaction of its own.
            again = [s for s in queue[position : lost.index] if s not in retried]
            retried.update(again)
            queue[lost.index + 1 : lost.index + 1] = again
            failed = _failed(queue[lost.index].name, lost.failure, 0.0)
            _record_failure_alone(engine, queue[lost.index], failed, lost.failure, on_wait)
            _finished(summary, progress, failed)
            position = lost.index + 1
            continue
        except SQLAlchemyError as e:
            # The refresh or the commit failed: none of the batch was stored. Its files are
            # recorded as failed and the run goes on after them (they were read again, and
            # failed again, for ever). Nothing read yet: the store itself is not there.
            if not batch:
                raise
            failure = FileError("store", _store_message(e))
            for source, outcome in batch:
                failed = _failed(outcome.source, failure, outcome.seconds)
                _record_failure_alone(engine, source, failed, failure, on_wait)
                _finished(summary, progress, failed)
            position += len(batch)
            continue
        summary.files.extend(outcome for _source, outcome in batch)
    if refresh:
        refresh_derived(engine, on_wait=on_wait)
    return summary


def _batch(
    engine: Engine,
    queue: list[Source],
    position: int,
    batch: list[tuple[Source, FileOutcome]],
    *,
    validate: bool,
    force: bool,
    progress: Progress | None,
    refresh: bool,
    batch_seconds: float | None,
    on_wait: Callable[[], None] | None,
) -> int:
    """Ingest files from ``position`` in one transaction; returns the position after them."""
    with writing(engine, on_wait) as conn:
        started = time.perf_counter()
        budget = batch_seconds if batch_seconds is not None else _batch_budget(conn)
        while position < len(queue):
            source = queue[position]
            outcome = _one_file(conn, position, source, validate, force, progress)
            if progress is not None:
                progress.file_finished(outcome)
            batch.append((source, outcome))
            position += 1
            if time.perf_counter() - started >= budget:
                break
        if refresh and any(f.status == "ingested" for _s, f in batch):
            _refresh(conn)
        # A batch of unchanged files still changes what /-/data-health says (when each file
        # was last checked), but not what the store holds (the bulk snapshot stays current).
        version.bump(conn, content=any(f.status != "unchanged" for _s, f in batch))
    return position


def _batch_budget(conn: Connection) -> float:
    last: float | None = conn.execute(
        select(s.money_refresh.c.seconds).order_by(s.money_refresh.c.refreshed_at.desc())
    ).scalar()
    return max(BATCH_MIN_SECONDS, BATCH_REFRESH_FACTOR * (last or 0.0))


def _one_file(
    conn: Connection,
    index: int,
    source: Source,
    validate: bool,
    force: bool,
    progress: Progress | None,
) -> FileOutcome:
    started = time.perf_counter()
    savepoint = conn.begin_nested()
    try:
        with local_copy(source) as path:
            outcome = _ingest_file(
                conn, source, path, validate=validate, force=force, progress=progress
            )
    except (FileError, OSError, SQLAlchemyError, RuntimeError) as e:
        failure = _as_file_error(e)
        if not _transaction_alive(conn):
            raise _BatchLostError(index, failure) from e
        savepoint.rollback()
        outcome = _failed(source.name, failure, time.perf_counter() - started)
        _record_failure(conn, source, failure)
        return outcome
    savepoint.commit()
    outcome.seconds = time.perf_counter() - started
    return outcome


def _as_file_error(e: Exception) -> FileError:
    if isinstance(e, FileError):
        return e
    if isinstance(e, OSError):
        return FileError("io", f"could not read the file: {e.strerror or e}")
    if isinstance(e, SQLAlchemyError):
        # The store refused the file's rows: its savepoint is rolled back, so the file's
        # previous state stays; the other files go on.
        return FileError("store", _store_message(e))
    return FileError("store", f"could not store the file: {e}")  # a parsing worker died


def _store_message(e: SQLAlchemyError) -> str:
    """What the database said, without the SQL text and its parameters (published on
    /-/data-health and in the API: a statement can carry publishers' values and our schema)."""
    orig = getattr(e, "orig", None)
    diag = getattr(orig, "diag", None)
    said = getattr(diag, "message_primary", None) or str(orig if orig is not None else e)
    first = said.strip().splitlines()[0] if said.strip() else type(e).__name__
    return f"could not store the file: {first}"


def _transaction_alive(conn: Connection) -> bool:
    """False when SQLite rolled the whole transaction back by itself (full disk, I/O error)."""
    if conn.dialect.name != "sqlite":
        return True  # PostgreSQL keeps a failed transaction until rolled back to a savepoint
    raw: Any = conn.connection.dbapi_connection
    return bool(raw is not None and raw.in_transaction)


def _failed(name: str, failure: FileError, seconds: float) -> FileOutcome:
    outcome = FileOutcome(name, "failed", error=failure.message, seconds=seconds)
    outcome.problems["error"] += 1
    outcome.rules[failure.rule] += 1
    return outcome


def _finished(summary: IngestSummary, progress: Progress | None, outcome: FileOutcome) -> None:
    if progress is not None:
        progress.file_finished(outcome)
    summary.files.append(outcome)


def refresh_derived(engine: Engine, on_wait: Callable[[], None] | None = None) -> None:
    """Bring what pages read (money facts, search text) up to date when files were stored
    since: for the activities that changed and their hierarchies (see ``_refresh``)."""
    with engine.connect() as conn:
        stale = facts.is_stale(conn) or facts.has_pending(conn)
    if stale:
        with writing(engine, on_wait) as conn:
            _refresh(conn)
            version.bump(conn)


def rebuild_derived(engine: Engine, on_wait: Callable[[], None] | None = None) -> None:
    """Rebuild every derived table from scratch (``iatiportal rebuild``)."""
    with writing(engine, on_wait) as conn:
        _refresh(conn, full=True)
        version.bump(conn)


def _refresh(conn: Connection, *, full: bool = False) -> None:
    """Update the derived tables for the changes recorded in ``derive_pending`` (each file's
    ingest records its activity rows there, in its own transaction, so a kill between the
    store and the refresh loses nothing), or rebuild them all when ``full`` or when
    ``facts.scope`` says so. Both are the same statements (``facts._Scope``)."""
    scoped = not full and facts.scope(conn)
    search.rebuild(conn, scoped=scoped)
    facts.refresh(conn, scoped=scoped)
    facts.drop_scope(conn)
    facts.clear_pending(conn)


@dataclass
class Removed:
    source: str
    activities: int  # how many the file had stored (0: the store did not hold it)
    organisations: int


def remove(
    engine: Engine,
    sources: Sequence[Source],
    *,
    refresh: bool = True,
    on_wait: Callable[[], None] | None = None,
) -> list[Removed]:
    """Remove files from the store, in one transaction: their activities, organisations,
    problems and the file's row; an identifier they shared with another file becomes current
    there. The derived tables follow (for what the removed activities touched), unless not
    ``refresh``: the removal stays recorded for the next refresh (``derive_pending``).
    ``iatiportal refresh`` removes so a file whose dataset the IATI Registry no longer lists."""
    removed: list[Removed] = []
    with writing(engine, on_wait) as conn:
        recorded_at = _now()
        for source in sources:
            row = _file_row(conn, source)
            if row is None:
                removed.append(Removed(source.name, 0, 0))
                continue
            activity_ids = _identifiers(conn, s.activity, "iati_identifier", row.id)
            org_ids = _identifiers(conn, s.organisation, "organisation_identifier", row.id)
            facts.note_file(conn, row.id)  # the next refresh updates what they touched
            _delete_file_records(conn, row.id)
            conn.execute(delete(s.source_file).where(s.source_file.c.id == row.id))
            _recompute_current(conn, s.activity, "iati_identifier", activity_ids, recorded_at)
            _recompute_current(
                conn, s.organisation, "organisation_identifier", org_ids, recorded_at
            )
            removed.append(Removed(source.name, row.activity_count, row.organisation_count))
        if refresh and any(r.activities or r.organisations for r in removed):
            _refresh(conn)
        version.bump(conn)
    return removed


def _file_row(conn: Connection, source: Source) -> Any:
    return conn.execute(
        select(s.source_file).where(s.source_file.c.location_key == location_key(source))
    ).first()


def _ensure_file_row(conn: Connection, source: Source) -> int:
    row = _file_row(conn, source)
    if row is not None:
        if row.path != source.name:  # the same file reached through another folder name
            conn.execute(
                update(s.source_file).where(s.source_file.c.id == row.id).values(path=source.name)
            )
        return int(row.id)
    return int(
        conn.execute(
            insert(s.source_file)
            .values(
                path=source.name,
                location_key=location_key(source),
                status="new",
                activity_count=0,
                organisation_count=0,
            )
            .returning(s.source_file.c.id)
        ).scalar_one()
    )


def _record_failure(conn: Connection, source: Source, error: FileError) -> None:
    """Keep what the file had stored before; note that reading it failed."""
    file_id = _ensure_file_row(conn, source)
    conn.execute(
        delete(s.problem).where(
            and_(s.problem.c.source_file_id == file_id, s.problem.c.rule.in_(FILE_RULES))
        )
    )
    conn.execute(
        insert(s.problem).values(
            source_file_id=file_id,
            file_path=source.name,
            line=error.line,
            iati_identifier=None,
            severity="error",
            rule=error.rule,
            message=error.message,
            recorded_at=_now(),
        )
    )
    row = _file_row(conn, source)
    conn.execute(
        update(s.source_file)
        .where(s.source_file.c.id == file_id)
        .values(
            status="ok" if row.ingested_at is not None else "failed",
            checked_at=_now(),
            error_rule=error.rule,
            error_message=error.message,
        )
    )


def _record_failure_alone(
    engine: Engine,
    source: Source,
    outcome: FileOutcome,
    error: FileError,
    on_wait: Callable[[], None] | None,
) -> None:
    """``_record_failure`` in a transaction of its own; when the store cannot take even that
    (the disk is still full), the failure is only reported, and the command's exit says so."""
    try:
        with writing(engine, on_wait) as conn:
            _record_failure(conn, source, error)
            version.bump(conn)
    except SQLAlchemyError as e:
        outcome.error = f"{error.message} (not recorded in the store: {_store_message(e)})"


def _ingest_file(
    conn: Connection,
    source: Source,
    path: Any,
    *,
    validate: bool,
    force: bool,
    progress: Progress | None,
) -> FileOutcome:
    found = path.stat()
    size = found.st_size
    # A local file (not a URL's download) as it was when last read, by size and modification
    # time, is not hashed again (as make and rsync decide; --force reads it).
    mtime_ns = found.st_mtime_ns if str(path) == source.location else None
    row = _file_row(conn, source)
    stored = row is not None and not force and was_read(row)
    digest = row.sha256 if stored and same_stat(row, size, mtime_ns) else sha256_of(path)
    if stored and row.sha256 == digest:
        conn.execute(
            update(s.source_file)
            .where(s.source_file.c.id == row.id)
            .values(checked_at=_now(), path=source.name, size_bytes=size, mtime_ns=mtime_ns)
        )
        return FileOutcome(
            source.name,
            "unchanged",
            activities=row.activity_count,
            organisations=row.organisation_count,
        )
    # What reads a file (lxml, the rulesets, the parsing workers) is imported only now: an
    # unchanged re-ingest is mostly start-up, and these were a sixth of it.
    from iatiportal.ingest.rulesets import RULES  # noqa: PLC0415 - see above
    from iatiportal.store.produce import Job, Produced, messages  # noqa: PLC0415 - see above
    from iatiportal.store.write import (  # noqa: PLC0415 - see above
        INSERT_ORDER,
        BulkInserter,
        conversions,
        start_ids,
    )

    if validate:
        standard.check()  # once per process (see ingest)
    if progress is not None:
        progress.file_started(source.name, size)

    outcome = FileOutcome(source.name, "ingested")
    file_id = _ensure_file_row(conn, source)
    old_activity_ids = _identifiers(conn, s.activity, "iati_identifier", file_id)
    old_org_ids = _identifiers(conn, s.organisation, "organisation_identifier", file_id)
    facts.note_file(conn, file_id)
    search.forget(conn, file_id)
    _delete_file_records(conn, file_id)
    recorded_at = _now()
    job = Job(
        path,
        source.name,
        file_id,
        start_ids(conn),
        validate,
        recorded_at,
        conversions=conversions(conn.dialect.name),
        tables=tuple(t.name for t in INSERT_ORDER),
    )
    inserter = BulkInserter(conn)
    done = Produced()
    for kind, payload in messages(job):
        if kind == "rows":
            inserter.insert(payload)
        elif kind == "progress" and progress is not None:
            progress.advanced(*payload)
        elif kind == "done":
            done = payload
    for rule, n in registry.spare(conn, file_id).items():  # registered publishers (1.14.8)
        done.rules[rule] -= n
        done.problems[RULES[rule].severity] -= n
    _recompute_current(
        conn, s.activity, "iati_identifier", old_activity_ids | done.activity_ids, recorded_at
    )
    _recompute_current(
        conn,
        s.organisation,
        "organisation_identifier",
        old_org_ids | done.organisation_ids,
        recorded_at,
    )
    facts.note_file(conn, file_id)
    header = done.header
    conn.execute(
        update(s.source_file)
        .where(s.source_file.c.id == file_id)
        .values(
            sha256=digest,
            size_bytes=size,
            mtime_ns=mtime_ns,
            status="ok",
            kind=header.kind if header else None,
            iati_version=header.iati_version if header else None,
            generated_datetime=header.generated_datetime if header else None,
            activity_count=done.activities,
            organisation_count=done.organisations,
            ingested_at=recorded_at,
            checked_at=recorded_at,
            error_rule=None,
            error_message=None,
        )
    )
    outcome.activities = done.activities
    outcome.organisations = done.organisations
    outcome.problems = done.problems
    outcome.rules = done.rules
    if progress is not None:
        progress.advanced(size, done.activities + done.organisations)
    return outcome


def _identifiers(conn: Connection, table: Table, column: str, file_id: int) -> set[str]:
    return set(
        conn.execute(select(table.c[column]).where(table.c.source_file_id == file_id)).scalars()
    )


def _delete_file_records(conn: Connection, file_id: int) -> None:
    ids = select(s.activity.c.id).where(s.activity.c.source_file_id == file_id)
    for table in s.ACTIVITY_CHILD_TABLES:
        conn.execute(delete(table).where(table.c.activity_id.in_(ids)))
    conn.execute(delete(s.activity).where(s.activity.c.source_file_id == file_id))
    org_ids = select(s.organisation.c.id).where(s.organisation.c.source_file_id == file_id)
    conn.execute(delete(s.narrative).where(s.narrative.c.organisation_id.in_(org_ids)))
    conn.execute(
        delete(s.organisation_budget).where(s.organisation_budget.c.organisation_id.in_(org_ids))
    )
    conn.execute(delete(s.organisation).where(s.organisation.c.source_file_id == file_id))
    conn.execute(delete(s.problem).where(s.problem.c.source_file_id == file_id))


def _recompute_current(
    conn: Connection, table: Table, column: str, identifiers: set[str], recorded_at: dt.datetime
) -> None:
    """Mark one copy of each identifier current and record the others as duplicates."""
    ident_col = table.c[column]
    ordered = sorted(identifiers)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        rows = conn.execute(
            select(
                table.c.id,
                ident_col,
                table.c.last_updated_datetime,
                table.c.source_line,
                table.c.is_current,
                s.source_file.c.id.label("file_id"),
                s.source_file.c.path,
            )
            .join(s.source_file, s.source_file.c.id == table.c.source_file_id)
            .where(ident_col.in_(chunk))
        ).all()
        copies: dict[str, list[Any]] = {}
        for row in rows:
            copies.setdefault(row[1], []).append(row)
        conn.execute(
            delete(s.problem).where(
                and_(s.problem.c.rule == DUPLICATE_RULE, s.problem.c.iati_identifier.in_(chunk))
            )
        )
        make_current: list[int] = []
        make_stale: list[int] = []
        problems: list[dict[str, Any]] = []
        for ident, group in copies.items():
            # Later last-updated-datetime wins; ties go to the copy stored last: the file
            # ingested last (its rows have the higher ids), and within a file the later line.
            file_rank: dict[int, int] = {}
            for row in group:
                file_rank[row.file_id] = min(file_rank.get(row.file_id, row.id), row.id)
            group.sort(
                key=lambda x: (
                    x.last_updated_datetime or dt.datetime.min,
                    file_rank[x.file_id],
                    x.source_line or 0,
                    x.id,
                )
            )
            winner = group[-1]
            if not winner.is_current:
                make_current.append(winner.id)
            for loser in group[:-1]:
                if loser.is_current:
                    make_stale.append(loser.id)
                later = (loser.last_updated_datetime or dt.datetime.min) < (
                    winner.last_updated_datetime or dt.datetime.min
                )
                reason = "its last-updated-datetime is later" if later else "it was ingested later"
                problems.append(
                    {
                        "source_file_id": loser.file_id,
                        "file_path": loser.path,
                        "line": loser.source_line,
                        "iati_identifier": ident,
                        "severity": "warning",
                        "rule": DUPLICATE_RULE,
                        "message": f"{ident} is also published in {winner.path} "
                        f"(line {winner.source_line}), which is used: {reason}",
                        "recorded_at": recorded_at,
                    }
                )
        if make_current:
            conn.execute(update(table).where(table.c.id.in_(make_current)).values(is_current=True))
        if make_stale:
            conn.execute(update(table).where(table.c.id.in_(make_stale)).values(is_current=False))
        if problems:
            conn.execute(insert(s.problem), problems)
