"""Row lists for the public API and downloads: one set of filters, one query per resource.

Every list is a SQLAlchemy Core ``Select`` built here from ``store.filters.Filters``; the web layer
pages it (``count`` and ``fetch``) or streams all of it (``stream``) with the same query, so a
download holds exactly the rows that the paged API lists. Fields are described by ``Field``
(their type and, for codes, the IATI codelist that names them), which the API uses for its
OpenAPI description and for the label columns of its downloads.

The filters select activities (current copies only): recipient country or region, reporting
organisation, funding partner (participating-org role 1 or provider of incoming funds),
sectors of a vocabulary, humanitarian flag, full-text query and year. The year selects
activities with budgets or transactions in that year, and within a transaction or budget list
the rows of that year (a transaction by its date, else its value date; a budget whose period
touches the year).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    Connection,
    func,
    or_,
    select,
)
from sqlalchemy.sql import Select

from iatiportal.store import schema as s
from iatiportal.store.filters import Filters, activity_condition

FieldType = Literal["string", "integer", "number", "boolean", "date", "datetime"]


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    description: str
    codelist: str | None = None  # IATI codelist naming the code (adds "<name>_name")


@dataclass(frozen=True)
class Resource:
    """A list: its fields, the orders it can be sorted by, and how to query it."""

    name: str
    description: str
    fields: tuple[Field, ...]
    sorts: dict[str, Any]  # sort key -> column expression
    default_sort: tuple[str, ...]
    build: Any  # (Filters) -> Select

    def select(self, filters: Filters, sort: Sequence[str] = ()) -> Select[Any]:
        query: Select[Any] = self.build(filters)
        order = []
        for key in [*sort, *self.default_sort]:
            column = self.sorts[key.lstrip("-")]
            order.append(column.desc() if key.startswith("-") else column.asc())
        return query.order_by(*order)


def _year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def first_period_value(table: Any) -> Any:
    """The first value (target or actual, ``table``) of the indicator period in the query."""
    period = s.indicator_period
    return (
        select(table.c.value)
        .where(table.c.period_id == period.c.id)
        .order_by(table.c.id)
        .limit(1)
        .scalar_subquery()
    )


def first_narrative(element: str, owner: Any) -> Any:
    """The first published narrative of an element (a name or title as published)."""
    n = s.narrative
    return (
        select(n.c.text)
        .where(n.c.element == element, n.c.owner_id == owner)
        .order_by(n.c.id)
        .limit(1)
        .scalar_subquery()
    )


def _activity_title() -> Any:
    n = s.narrative
    return (
        select(n.c.text)
        .where(n.c.activity_id == s.activity.c.id, n.c.element == "title")
        .order_by(n.c.id)
        .limit(1)
        .scalar_subquery()
    )


# -- resources --------------------------------------------------------------------------------

CONVERTED_FIELDS = (
    Field("value_converted", "number", "The value converted to the currency asked for "
          "(currency=USD or EUR) at its value date; empty without a rate."),
    Field("converted_currency", "string", "The currency asked for."),
    Field("rate", "number", "Units of the currency asked for per unit of the value's currency."),
    Field("rate_date", "date", "The date of the rate used."),
    Field("rate_source", "string", "Where the rate comes from."),
)  # fmt: skip
"""Fields every transaction and budget carries; filled when a currency is asked for."""


_IDENT = Field("iati_identifier", "string", "The activity's IATI identifier.")
_ORG = Field("reporting_org_ref", "string", "The reporting organisation's identifier.")


def _activities(dialect: str) -> Resource:
    a = s.activity

    def build(filters: Filters) -> Select[Any]:
        return select(
            a.c.iati_identifier,
            a.c.reporting_org_ref,
            _activity_title().label("title"),
            a.c.activity_status,
            a.c.start_planned,
            a.c.start_actual,
            a.c.end_planned,
            a.c.end_actual,
            a.c.default_currency,
            a.c.humanitarian,
            a.c.last_updated_datetime,
            _codes(
                s.recipient_country, s.recipient_country.c.recipient_country_code, dialect
            ).label("recipient_countries"),
            _codes(s.recipient_region, s.recipient_region.c.recipient_region_code, dialect).label(
                "recipient_regions"
            ),
        ).where(activity_condition(filters, dialect))

    return Resource(
        "activities",
        "Current activities (one copy per identifier), with their title, status and dates.",
        (
            _IDENT,
            _ORG,
            Field("title", "string", "The first title narrative as published."),
            Field("activity_status", "string", "Activity status code.", "ActivityStatus"),
            Field("start_planned", "date", "Planned start date."),
            Field("start_actual", "date", "Actual start date."),
            Field("end_planned", "date", "Planned end date."),
            Field("end_actual", "date", "Actual end date."),
            Field("default_currency", "string", "Default currency (ISO 4217)."),
            Field("humanitarian", "boolean", "The humanitarian flag, when published."),
            Field("last_updated_datetime", "datetime", "When the publisher last updated it."),
            Field("recipient_countries", "string", "Recipient country codes, ';'-separated."),
            Field("recipient_regions", "string", "Recipient region codes, ';'-separated."),
        ),
        {
            "iati_identifier": a.c.iati_identifier,
            "start": func.coalesce(a.c.start_actual, a.c.start_planned),
            "end": func.coalesce(a.c.end_actual, a.c.end_planned),
            "last_updated": a.c.last_updated_datetime,
            "id": a.c.id,
        },
        ("iati_identifier", "id"),
        build,
    )


def _codes(table: Any, column: Any, dialect: str) -> Any:
    agg = func.group_concat(column, ";") if dialect == "sqlite" else func.string_agg(column, ";")
    return select(agg).where(table.c.activity_id == s.activity.c.id).scalar_subquery()


def _transactions(dialect: str) -> Resource:
    a, t = s.activity, s.transaction
    day = func.coalesce(t.c.transaction_date, t.c.value_date)

    def build(filters: Filters) -> Select[Any]:
        query = (
            select(
                a.c.iati_identifier,
                a.c.reporting_org_ref,
                t.c.transaction_ref,
                t.c.transaction_type,
                t.c.transaction_date,
                t.c.value,
                func.coalesce(t.c.currency, a.c.default_currency).label("currency"),
                t.c.value_date,
                t.c.provider_org_ref,
                first_narrative("transaction/provider-org", t.c.id).label("provider_org_name"),
                t.c.receiver_org_ref,
                first_narrative("transaction/receiver-org", t.c.id).label("receiver_org_name"),
                t.c.recipient_country_code,
                t.c.recipient_region_code,
                t.c.sector_vocabulary,
                t.c.sector_code,
                t.c.finance_type,
                t.c.aid_type,
                t.c.humanitarian,
                first_narrative("transaction/description", t.c.id).label("description"),
            )
            .select_from(t.join(a, a.c.id == t.c.activity_id))
            .where(activity_condition(filters, dialect))
        )
        if filters.year is not None:
            query = query.where(day.between(*_year_bounds(filters.year)))
        return query

    return Resource(
        "transactions",
        "Transactions of current activities, as published (value in its currency).",
        (
            _IDENT,
            _ORG,
            Field("transaction_ref", "string", "The publisher's reference of the transaction."),
            Field("transaction_type", "string", "Transaction type code.", "TransactionType"),
            Field("transaction_date", "date", "Transaction date."),
            Field("value", "number", "Amount, exact to 1/10,000 of the currency unit."),
            Field("currency", "string", "Currency: the value's, else the activity default."),
            Field("value_date", "date", "Value date (of the exchange rate)."),
            Field("provider_org_ref", "string", "Provider organisation identifier."),
            Field("provider_org_name", "string", "Provider organisation name."),
            Field("receiver_org_ref", "string", "Receiver organisation identifier."),
            Field("receiver_org_name", "string", "Receiver organisation name."),
            Field("recipient_country_code", "string", "The transaction's own recipient country."),
            Field("recipient_region_code", "string", "The transaction's own recipient region."),
            Field("sector_vocabulary", "string", "The transaction's own sector vocabulary."),
            Field("sector_code", "string", "The transaction's own sector code."),
            Field("finance_type", "string", "Finance type code.", "FinanceType"),
            Field("aid_type", "string", "Aid type code."),
            Field("humanitarian", "boolean", "The transaction's humanitarian flag."),
            Field("description", "string", "The first description narrative."),
            *CONVERTED_FIELDS,
        ),
        {
            "date": day,
            "value": t.c.value,
            "iati_identifier": a.c.iati_identifier,
            "id": t.c.id,
        },
        ("iati_identifier", "date", "id"),
        build,
    )


def _budgets(dialect: str) -> Resource:
    a, b = s.activity, s.budget

    def build(filters: Filters) -> Select[Any]:
        query = (
            select(
                a.c.iati_identifier,
                a.c.reporting_org_ref,
                b.c.budget_type,
                b.c.budget_status,
                b.c.period_start,
                b.c.period_end,
                b.c.value,
                func.coalesce(b.c.currency, a.c.default_currency).label("currency"),
                b.c.value_date,
            )
            .select_from(b.join(a, a.c.id == b.c.activity_id))
            .where(activity_condition(filters, dialect))
        )
        if filters.year is not None:
            first, last = _year_bounds(filters.year)
            start = func.coalesce(b.c.period_start, b.c.period_end)
            end = func.coalesce(b.c.period_end, b.c.period_start)
            query = query.where(start <= last, end >= first)
        return query

    return Resource(
        "budgets",
        "Budgets of current activities as published: every status and type (the pages' totals "
        "apply the rules of /about; this list does not).",
        (
            _IDENT,
            _ORG,
            Field("budget_type", "string", "1 original, 2 revised.", "BudgetType"),
            Field("budget_status", "string", "1 indicative, 2 committed.", "BudgetStatus"),
            Field("period_start", "date", "Start of the budget period."),
            Field("period_end", "date", "End of the budget period."),
            Field("value", "number", "Amount, exact to 1/10,000 of the currency unit."),
            Field("currency", "string", "Currency: the value's, else the activity default."),
            Field("value_date", "date", "Value date."),
            *CONVERTED_FIELDS,
        ),
        {
            "period_start": b.c.period_start,
            "value": b.c.value,
            "iati_identifier": a.c.iati_identifier,
            "id": b.c.id,
        },
        ("iati_identifier", "period_start", "id"),
        build,
    )


def _results(dialect: str) -> Resource:
    a, r, i, p = s.activity, s.result, s.indicator, s.indicator_period

    baseline = s.baseline

    def first_baseline(column: Any) -> Any:
        return (
            select(column)
            .where(baseline.c.indicator_id == i.c.id)
            .order_by(baseline.c.id)
            .limit(1)
            .scalar_subquery()
        )

    def build(filters: Filters) -> Select[Any]:
        return (
            select(
                a.c.iati_identifier,
                a.c.reporting_org_ref,
                r.c.id.label("result_id"),
                r.c.result_type,
                first_narrative("result/title", r.c.id).label("result_title"),
                i.c.id.label("indicator_id"),
                first_narrative("indicator/title", i.c.id).label("indicator_title"),
                i.c.measure,
                i.c.ascending,
                first_baseline(baseline.c.year).label("baseline_year"),
                first_baseline(baseline.c.value).label("baseline_value"),
                p.c.period_start,
                p.c.period_end,
                first_period_value(s.target).label("target"),
                first_period_value(s.actual).label("actual"),
            )
            .select_from(
                r.join(a, a.c.id == r.c.activity_id)
                .outerjoin(i, i.c.result_id == r.c.id)
                .outerjoin(p, p.c.indicator_id == i.c.id)
            )
            .where(activity_condition(filters, dialect))
        )

    return Resource(
        "results",
        "Results of current activities: one item per indicator period (a result without "
        "indicators, or an indicator without periods, is one item with those fields empty).",
        (
            _IDENT,
            _ORG,
            Field("result_id", "integer", "The result's row id (groups the items of one result)."),
            Field("result_type", "string", "1 output, 2 outcome, 3 impact.", "ResultType"),
            Field("result_title", "string", "The result's first title narrative."),
            Field("indicator_id", "integer", "The indicator's row id."),
            Field("indicator_title", "string", "The indicator's first title narrative."),
            Field("measure", "string", "Indicator measure code.", "IndicatorMeasure"),
            Field("ascending", "boolean", "Whether higher values are better."),
            Field("baseline_year", "integer", "Year of the first baseline."),
            Field("baseline_value", "string", "Value of the first baseline, as published."),
            Field("period_start", "date", "Start of the period."),
            Field("period_end", "date", "End of the period."),
            Field("target", "string", "The period's first target value, as published."),
            Field("actual", "string", "The period's first actual value, as published."),
        ),
        {
            "iati_identifier": a.c.iati_identifier,
            "period_end": p.c.period_end,
            "result_id": r.c.id,
            "indicator_id": i.c.id,
            "period_id": p.c.id,
        },
        ("iati_identifier", "result_id", "indicator_id", "period_id"),
        build,
    )


def _problems(dialect: str) -> Resource:
    pr = s.problem

    def build(filters: Filters) -> Select[Any]:
        query = select(
            pr.c.file_path,
            pr.c.line,
            pr.c.iati_identifier,
            pr.c.severity,
            pr.c.rule,
            pr.c.message,
            pr.c.recorded_at,
        )
        if filters.activity is not None:
            query = query.where(pr.c.iati_identifier == filters.activity)
        return query

    return Resource(
        "problems",
        "Problems found at ingest: schema and codelist errors, duplicates, unreadable files.",
        (
            Field("file_path", "string", "The file."),
            Field("line", "integer", "The line in the file."),
            Field("iati_identifier", "string", "The activity, when the problem is in one."),
            Field("severity", "string", "error, warning or info."),
            Field("rule", "string", "The rule that found it."),
            Field("message", "string", "What is wrong."),
            Field("recorded_at", "datetime", "When it was found (UTC)."),
        ),
        {
            "file_path": pr.c.file_path,
            "line": pr.c.line,
            "rule": pr.c.rule,
            "severity": pr.c.severity,
            "id": pr.c.id,
        },
        ("file_path", "line", "id"),
        build,
    )


LINK_FILTERS = ("activity", "reporting_org")
"""The filters the funding links take: an activity on either side, a publisher of either."""


def links_resource() -> Resource:
    """The funding links (the same on every database)."""
    fl = s.funding_link

    def build(filters: Filters) -> Select[Any]:
        query = select(
            *(c for c in fl.c if c.name not in ("id", "funder_activity_id", "funded_activity_id"))
        )
        query = query.add_columns(
            fl.c.funder_activity_id.is_not(None).label("funder_held"),
            fl.c.funded_activity_id.is_not(None).label("funded_held"),
        )
        if filters.identifiers:
            query = query.where(
                or_(
                    fl.c.funder_identifier.in_(filters.identifiers),
                    fl.c.funded_identifier.in_(filters.identifiers),
                )
            )
        if filters.reporting_org:
            query = query.where(
                or_(
                    fl.c.funder_reporting_org_ref.in_(filters.reporting_org),
                    fl.c.funded_reporting_org_ref.in_(filters.reporting_org),
                )
            )
        return query

    return Resource(
        "links",
        "Funding links between activities across publishers (issue 15): the funder activity, "
        "the funded activity, and what each side published about the money between them.",
        (
            Field("funder_identifier", "string", "The funder activity (A)."),
            Field("funded_identifier", "string", "The funded activity (B)."),
            Field("funder_reporting_org_ref", "string", "A's reporting organisation, when held."),
            Field("funded_reporting_org_ref", "string", "B's reporting organisation, when held."),
            Field(
                "evidence",
                "string",
                "both (A's commitments or disbursements to B and B's incoming funds from A), "
                "funder (A's only), funded (B's only), declared (only a participating-org "
                "activity-id or a related-activity).",
            ),
            Field(
                "funder_measure",
                "string",
                "A's side: disbursement (type 3), else commitment (type 2) when A published no "
                "disbursement to B.",
            ),
            Field(
                "funder_value",
                "number",
                "A's side: the sum, in funder_currency (empty: no amount, or several currencies).",
            ),
            Field("funder_currency", "string", "The currency of funder_value."),
            Field("funder_value_usd", "number", "A's side in US dollars at each value date."),
            Field("funder_transactions", "integer", "How many transactions A's side has."),
            Field("funded_value", "number", "B's side: its incoming funds from A."),
            Field("funded_currency", "string", "The currency of funded_value."),
            Field("funded_value_usd", "number", "B's side in US dollars at each value date."),
            Field("funded_transactions", "integer", "How many transactions B's side has."),
            Field(
                "amounts_agree",
                "boolean",
                "Both sides published money in the same currency, within 1 % of the larger "
                "amount (empty: one side has no amount).",
            ),
            Field("funder_held", "boolean", "Whether a file we hold defines A."),
            Field("funded_held", "boolean", "Whether a file we hold defines B."),
        ),
        {
            "funder_identifier": fl.c.funder_identifier,
            "funded_identifier": fl.c.funded_identifier,
            "evidence": fl.c.evidence,
            "id": fl.c.id,
        },
        ("funder_identifier", "funded_identifier", "id"),
        build,
    )


def activity_xml(filters: Filters, dialect: str) -> Select[Any]:
    """The stored raw XML of the activities the filters select, by identifier."""
    a, x = s.activity, s.activity_xml
    return (
        select(x.c.raw_xml)
        .select_from(x.join(a, a.c.id == x.c.activity_id))
        .where(activity_condition(filters, dialect))
        .order_by(a.c.iati_identifier, a.c.id)
    )


def activity_versions(conn: Connection, filters: Filters) -> list[str]:
    """The IATI versions of the activities the filters select."""
    a = s.activity
    query = (
        select(a.c.iati_version)
        .where(activity_condition(filters, conn.dialect.name))
        .group_by(a.c.iati_version)
    )
    return sorted(v for (v,) in conn.execute(query) if v)


def resources(dialect: str) -> dict[str, Resource]:
    """The row lists of a database of this dialect, by name."""
    made = [
        _activities(dialect),
        _transactions(dialect),
        _budgets(dialect),
        _results(dialect),
        _problems(dialect),
        links_resource(),
    ]
    return {r.name: r for r in made}


def count(conn: Connection, query: Select[Any]) -> int:
    return int(conn.execute(select(func.count()).select_from(query.subquery())).scalar_one())


def fetch(conn: Connection, query: Select[Any], offset: int, limit: int) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(query.offset(offset).limit(limit))]


def stream(conn: Connection, query: Select[Any], chunk: int = 1000) -> Iterator[dict[str, Any]]:
    """Every row of ``query``, fetched ``chunk`` at a time (server-side cursor on PostgreSQL,
    closed when the generator is, as when a client goes in the middle of a download)."""
    with conn.execution_options(stream_results=True, yield_per=chunk).execute(query) as result:
        for row in result:
            yield dict(row._mapping)
