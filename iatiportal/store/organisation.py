"""What organisation files say: the budget and expenditure lines of current organisations.

Read here as published; ``iatiportal.datasets.organisation`` sets them beside the money of the
organisation's activities (the rules are in ``store.money``'s docstring, "Organisation files").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, and_, func, select

from iatiportal.store import schema as s
from iatiportal.store.filters import Filters

ELEMENTS = (
    "total-budget",
    "recipient-org-budget",
    "recipient-country-budget",
    "recipient-region-budget",
    "total-expenditure",
)
"""The organisation-file elements read, in the order pages list them."""


@dataclass(frozen=True)
class OrgLine:
    """One published line: ``currency`` is the value's, else the organisation's default;
    ``recipient_vocabulary`` of a region is "1" (OECD DAC) when not published."""

    organisation_identifier: str
    element: str
    budget_status: str | None
    period_start: dt.date | None
    period_end: dt.date | None
    value: Decimal | None
    currency: str | None
    value_date: dt.date | None
    recipient_ref: str | None
    recipient_vocabulary: str | None
    line_id: int


def budget_lines(conn: Connection, filters: Filters) -> list[OrgLine]:
    """The lines of the current organisations ``filters.reporting_org`` names (none: every
    organisation); with ``filters.year``, the lines whose period touches that year; with
    ``filters.country``, the recipient-country budgets of that country; with
    ``filters.region``, the recipient-region budgets of that region. In publishing order."""
    o, b = s.organisation, s.organisation_budget
    query = (
        select(
            o.c.organisation_identifier,
            b.c.element,
            b.c.budget_status,
            b.c.period_start,
            b.c.period_end,
            b.c.value,
            func.coalesce(b.c.currency, o.c.default_currency).label("currency"),
            b.c.value_date,
            b.c.recipient_ref,
            b.c.recipient_vocabulary,
            b.c.id,
        )
        .join(o, o.c.id == b.c.organisation_id)
        .where(o.c.is_current.is_(True), b.c.element.in_(ELEMENTS))
        .order_by(o.c.organisation_identifier, b.c.id)
    )
    if filters.reporting_org:
        query = query.where(o.c.organisation_identifier.in_(filters.reporting_org))
    if filters.year is not None:
        first, last = dt.date(filters.year, 1, 1), dt.date(filters.year, 12, 31)
        start = func.coalesce(b.c.period_start, b.c.period_end)
        end = func.coalesce(b.c.period_end, b.c.period_start)
        query = query.where(start <= last, end >= first)
    if filters.country is not None:
        query = query.where(
            b.c.element == "recipient-country-budget", b.c.recipient_ref == filters.country
        )
    if filters.region is not None:
        query = query.where(
            b.c.element == "recipient-region-budget", b.c.recipient_ref == filters.region
        )
        if filters.region_vocabulary is not None:
            vocabulary = func.coalesce(b.c.recipient_vocabulary, "1")
            query = query.where(vocabulary == filters.region_vocabulary)
    out = []
    for row in conn.execute(query):
        region = row.element == "recipient-region-budget"
        out.append(
            OrgLine(
                row.organisation_identifier,
                row.element,
                row.budget_status,
                row.period_start,
                row.period_end,
                row.value,
                row.currency,
                row.value_date,
                row.recipient_ref,
                (row.recipient_vocabulary or "1") if region else row.recipient_vocabulary,
                row.id,
            )
        )
    return out


def names(
    conn: Connection, identifiers: tuple[str, ...]
) -> dict[str, list[tuple[str | None, str]]]:
    """The names (language, text) the current organisations publish, by identifier."""
    o, n = s.organisation, s.narrative
    query = (
        select(o.c.organisation_identifier, n.c.lang, n.c.text)
        .join(n, and_(n.c.organisation_id == o.c.id, n.c.element == "organisation/name"))
        .where(o.c.is_current.is_(True))
        .order_by(n.c.id)
    )
    if identifiers:
        query = query.where(o.c.organisation_identifier.in_(identifiers))
    out: dict[str, list[tuple[str | None, str]]] = {}
    for row in conn.execute(query):
        out.setdefault(row.organisation_identifier, []).append((row.lang, row.text))
    return out


def has_file(conn: Connection, identifier: str) -> bool:
    """Whether a current organisation file of ``identifier`` is stored."""
    o = s.organisation
    found = conn.execute(
        select(o.c.id)
        .where(o.c.organisation_identifier == identifier, o.c.is_current.is_(True))
        .limit(1)
    ).first()
    return found is not None
