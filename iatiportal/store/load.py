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
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Table, and_, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from iatiportal.ingest.parse import FileError
from iatiportal.ingest.sources import expand, local_copy, sha256_of
from iatiportal.store import facts, search
from iatiportal.store import schema as s
from iatiportal.store.produce import Job, Produced, messages
from iatiportal.store.write import BulkInserter, conversions, start_ids

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


def ingest(
    engine: Engine,
    sources: Sequence[str],
    *,
    validate: bool = True,
    force: bool = False,
    progress: Progress | None = None,
    refresh: bool = True,
) -> IngestSummary:
    """Ingest every file that ``sources`` names (raises SourceError for a missing path), then
    rebuild what the pages read (``refresh_derived``) unless ``refresh`` is False."""
    summary = IngestSummary()
    for source in expand(list(sources)):
        started = time.perf_counter()
        failure: FileError | None = None
        try:
            with local_copy(source) as path:
                outcome = _ingest_file(
                    engine, source, path, validate=validate, force=force, progress=progress
                )
        except FileError as e:
            failure = e
        except OSError as e:
            failure = FileError("io", f"could not read the file: {e}")
        except (SQLAlchemyError, RuntimeError) as e:
            # The store refused the file's rows (or a parsing worker died): its transaction
            # was rolled back, so the file's previous state stays; the other files go on.
            failure = FileError("store", f"could not store the file: {type(e).__name__}: {e}")
        if failure is not None:
            outcome = FileOutcome(source, "failed", error=failure.message)
            outcome.problems["error"] += 1
            outcome.rules[failure.rule] += 1
            _record_failure(engine, source, failure)
        outcome.seconds = time.perf_counter() - started
        if progress is not None:
            progress.file_finished(outcome)
        summary.files.append(outcome)
    if refresh:
        refresh_derived(engine)
    return summary


def refresh_derived(engine: Engine) -> None:
    """Rebuild what pages read (money facts, search text) when files were stored since."""
    with engine.connect() as conn:
        stale = facts.is_stale(conn)
    if stale:
        with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
            search.rebuild(conn)
            facts.refresh(conn)


def _file_row(conn: Connection, source: str) -> Any:
    return conn.execute(select(s.source_file).where(s.source_file.c.path == source)).first()


def _ensure_file_row(conn: Connection, source: str) -> int:
    row = _file_row(conn, source)
    if row is not None:
        return int(row.id)
    return int(
        conn.execute(
            insert(s.source_file)
            .values(
                path=source,
                status="new",
                activity_count=0,
                organisation_count=0,
            )
            .returning(s.source_file.c.id)
        ).scalar_one()
    )


def _record_failure(engine: Engine, source: str, error: FileError) -> None:
    """Keep what the file had stored before; note that reading it failed."""
    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        file_id = _ensure_file_row(conn, source)
        conn.execute(
            delete(s.problem).where(
                and_(s.problem.c.source_file_id == file_id, s.problem.c.rule.in_(FILE_RULES))
            )
        )
        conn.execute(
            insert(s.problem).values(
                source_file_id=file_id,
                file_path=source,
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


def _ingest_file(
    engine: Engine,
    source: str,
    path: Any,
    *,
    validate: bool,
    force: bool,
    progress: Progress | None,
) -> FileOutcome:
    size = path.stat().st_size
    digest = sha256_of(path)
    with engine.connect() as conn:
        row = _file_row(conn, source)
    if (
        row is not None
        and not force
        and row.sha256 == digest
        and row.ingested_at is not None
        and row.error_rule is None
    ):
        with engine.begin() as conn:
            conn.execute(
                update(s.source_file).where(s.source_file.c.id == row.id).values(checked_at=_now())
            )
        return FileOutcome(
            source, "unchanged", activities=row.activity_count, organisations=row.organisation_count
        )
    if progress is not None:
        progress.file_started(source, size)

    outcome = FileOutcome(source, "ingested")
    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        file_id = _ensure_file_row(conn, source)
        old_activity_ids = _identifiers(conn, s.activity, "iati_identifier", file_id)
        old_org_ids = _identifiers(conn, s.organisation, "organisation_identifier", file_id)
        _delete_file_records(conn, file_id)
        recorded_at = _now()
        job = Job(
            path,
            source,
            file_id,
            start_ids(conn),
            validate,
            recorded_at,
            conversions=conversions(conn.dialect.name),
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
        header = done.header
        conn.execute(
            update(s.source_file)
            .where(s.source_file.c.id == file_id)
            .values(
                sha256=digest,
                size_bytes=size,
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
