"""Named queries over the store that the command line (and later the web) reads through."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from iatiportal.store import schema as s

_current = s.activity.c.is_current.is_(True)


def _count_children(conn: Connection, table: Any) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(table)
            .join(s.activity, s.activity.c.id == table.c.activity_id)
            .where(_current)
        ).scalar_one()
    )


def transaction_sums(conn: Connection) -> list[dict[str, Any]]:
    """Sum and count of transactions by 2.0x type and currency (the transaction's, else the
    activity's default), over current activities."""
    currency = func.coalesce(s.transaction.c.currency, s.activity.c.default_currency)
    rows = conn.execute(
        select(
            s.transaction.c.transaction_type,
            currency.label("currency"),
            func.sum(s.transaction.c.value).label("value"),
            func.count().label("n"),
        )
        .join(s.activity, s.activity.c.id == s.transaction.c.activity_id)
        .where(_current)
        .group_by(s.transaction.c.transaction_type, currency)
        .order_by(s.transaction.c.transaction_type, currency)
    ).all()
    return [
        {
            "transaction_type": row.transaction_type,
            "currency": row.currency,
            "value": row.value if row.value is not None else Decimal(0),
            "count": int(row.n),
        }
        for row in rows
    ]


def stats(conn: Connection) -> dict[str, Any]:
    """Counts and sums of what the store holds (current activities only)."""
    files: dict[str, int] = dict(
        conn.execute(
            select(s.source_file.c.status, func.count()).group_by(s.source_file.c.status)
        ).all()
    )
    problems: dict[str, int] = dict(
        conn.execute(
            select(s.problem.c.severity, func.count()).group_by(s.problem.c.severity)
        ).all()
    )
    return {
        "files": int(files.get("ok", 0)),
        "files_failed": int(files.get("failed", 0)),
        "activities": int(
            conn.execute(select(func.count()).select_from(s.activity).where(_current)).scalar_one()
        ),
        "activities_stored": int(
            conn.execute(select(func.count()).select_from(s.activity)).scalar_one()
        ),
        "organisations": int(
            conn.execute(
                select(func.count())
                .select_from(s.organisation)
                .where(s.organisation.c.is_current.is_(True))
            ).scalar_one()
        ),
        "transactions": _count_children(conn, s.transaction),
        "budgets": _count_children(conn, s.budget),
        "results": _count_children(conn, s.result),
        "indicators": _count_children(conn, s.indicator),
        "problems": {sev: int(problems.get(sev, 0)) for sev in ("error", "warning", "info")},
        "transaction_sums": transaction_sums(conn),
    }


def problems(
    conn: Connection,
    *,
    file: str | None = None,
    activity: str | None = None,
    severity: Sequence[str] = (),
    rule: str | None = None,
    limit: int | None = None,
) -> list[Any]:
    """Problems, filtered; ``file`` matches the end of the path (a file name will do)."""
    query = select(
        s.problem.c.file_path,
        s.problem.c.line,
        s.problem.c.iati_identifier,
        s.problem.c.severity,
        s.problem.c.rule,
        s.problem.c.message,
    )
    if file:
        query = query.where(s.problem.c.file_path.endswith(file, autoescape=True))
    if activity:
        query = query.where(s.problem.c.iati_identifier == activity)
    if severity:
        query = query.where(s.problem.c.severity.in_(list(severity)))
    if rule:
        query = query.where(s.problem.c.rule == rule)
    query = query.order_by(s.problem.c.file_path, s.problem.c.line, s.problem.c.id)
    if limit:
        query = query.limit(limit)
    return list(conn.execute(query).all())
