"""What an organisation says it will spend: the lines of its organisation file, each beside
the money of its own activities for the same period and recipient, and the difference.

The rules ("Organisation files", "Comparing with the activities") are in ``store.money``'s
docstring, which the methodology page quotes. The activities' sums come from ``store.money``
(one breakdown per organisation and scope), conversions from ``rates.Converter`` (the rules of
the money facts); the lines are never added to the activities' totals.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from iatiportal import rates
from iatiportal.datasets import Dataset, Field
from iatiportal.datasets.context import Context
from iatiportal.datasets.figures import region_name
from iatiportal.i18n import country_name
from iatiportal.i18n import gettext as _
from iatiportal.store import money
from iatiportal.store import organisation as stored
from iatiportal.store.filters import Filters
from iatiportal.store.organisation import OrgLine

Row = dict[str, Any]

COMPARED = "compared"
REASONS = (
    COMPARED,
    "period-not-calendar-years",
    "no-period",
    "recipient-org",
    "no-value",
    "no-rate",
    "activities-not-converted",
    "activities-in-other-currencies",
    "no-activities",
)
"""The values of ``comparison``: compared, else why not."""

ORGANISATION_BUDGETS = Dataset(
    "organisation_budgets",
    "What organisations say in their organisation files (total and recipient budgets, total "
    "expenditure), each line beside the sum of the organisation's own activities for the "
    "same period and recipient, and the difference; never added to the activities' totals.",
    (
        Field("organisation_identifier", "string", "The organisation's identifier."),
        Field("element", "string", "The organisation-file element: total-budget, "
              "recipient-org-budget, recipient-country-budget, recipient-region-budget or "
              "total-expenditure."),
        Field("budget_status", "string", "1 indicative, 2 committed (empty: not stated, or "
              "expenditure).", "BudgetStatus"),
        Field("period_start", "date", "First day of the period."),
        Field("period_end", "date", "Last day of the period."),
        Field("recipient_ref", "string", "The recipient: organisation identifier, country "
              "(ISO 3166-1 alpha-2) or region code; empty for totals."),
        Field("recipient_vocabulary", "string", "The region vocabulary of a region (1 OECD "
              "DAC when not published)."),
        Field("recipient_name", "string", "The recipient country's or region's name."),
        Field("currency", "string", "Currency of value, activities_value and difference."),
        Field("value", "number", "The amount the organisation published, in currency "
              "(converted when a currency was asked for and a rate was found)."),
        Field("published_value", "number", "The amount as published."),
        Field("published_currency", "string", "Its currency as published (else the "
              "organisation's default currency)."),
        Field("rate", "number", "Units of currency per unit of published_currency (empty: "
              "not converted)."),
        Field("rate_date", "date", "The date of the rate used."),
        Field("rate_source", "string", "Where the rate comes from."),
        Field("compared_measure", "string", "What of the activities it is compared with: "
              "budget or expenditure."),
        Field("activities_value", "number", "The sum of the organisation's activities of "
              "that measure over the same calendar years and recipient (empty: not "
              "comparable)."),
        Field("difference", "number", "value less activities_value (empty: not comparable)."),
        Field("comparison", "string", "compared, else why not: " + ", ".join(REASONS[1:]) + "."),
    ),
)  # fmt: skip


@dataclass(frozen=True)
class _Scope:
    """Which activity money a line is compared with: all, one country or one region."""

    country: str | None = None
    region: tuple[str, str] | None = None


def calendar_years(start: dt.date | None, end: dt.date | None) -> tuple[int, int] | None:
    """The (first, last) calendar years a period covers exactly, else None."""
    if start is None or end is None or end < start:
        return None
    if (start.month, start.day) != (1, 1) or (end.month, end.day) != (12, 31):
        return None
    return start.year, end.year


def _kept(ctx: Context, lines: Sequence[OrgLine]) -> list[OrgLine]:
    """The lines after the budget-status rule of each organisation's profile: within one
    element, period and recipient a committed budget replaces an indicative one (status 1 or
    not stated), or only one status counts where the profile says so."""
    committed = {_group(line) for line in lines if _status(line) == "2"}
    out = []
    for line in lines:
        if line.element == "total-expenditure":
            out.append(line)
            continue
        rule = ctx.portal.for_org(line.organisation_identifier).money.budget_status
        status = _status(line)
        if rule == "committed" and status != "2":
            continue
        if rule == "indicative" and status != "1":
            continue
        if rule == "prefer-committed" and status == "1" and _group(line) in committed:
            continue
        out.append(line)
    return out


def _status(line: OrgLine) -> str:
    return "2" if line.budget_status == "2" else "1"


def _group(line: OrgLine) -> tuple[Any, ...]:
    return (
        line.organisation_identifier,
        line.element,
        line.period_start,
        line.period_end,
        line.recipient_ref,
        line.recipient_vocabulary,
    )


def _scope(line: OrgLine) -> _Scope | None:
    """The activity money a line is compared with (None: none is, a recipient org)."""
    if line.element == "recipient-org-budget":
        return None
    if line.element == "recipient-country-budget":
        return _Scope(country=(line.recipient_ref or "").upper())
    if line.element == "recipient-region-budget":
        return _Scope(region=(line.recipient_vocabulary or "1", line.recipient_ref or ""))
    return _Scope()


Sums = dict[tuple[_Scope, int | None, str, str | None], Decimal]
"""Activity money by (scope, year, measure, currency)."""


def _activity_sums(
    conn: Connection,
    ctx: Context,
    org: str,
    scopes: Iterable[_Scope],
    currency: str | None,
    *,
    without_rate: bool = False,
) -> Sums:
    """The organisation's activity budget and expenditure per year and currency, for each
    scope kind wanted (one breakdown each)."""
    base = Filters(reporting_org=(org,), currency=currency, without_rate=without_rate)
    wanted = set(scopes)
    out: Sums = defaultdict(Decimal)
    if _Scope() in wanted:
        for r in money.by_year(conn, ctx.portal, base):
            out[(_Scope(), r.year, r.measure, r.currency)] += r.value
    if any(s.country for s in wanted):
        for r in money.breakdown(conn, ctx.portal, ("year", "country"), base):
            if r.recipient_country_code:
                key = _Scope(country=r.recipient_country_code)
                out[(key, r.year, r.measure, r.currency)] += r.value
    if any(s.region for s in wanted):
        for r in money.breakdown(conn, ctx.portal, ("year", "region"), base):
            if r.recipient_region_code:
                region = (r.recipient_region_vocabulary or "1", r.recipient_region_code)
                out[(_Scope(region=region), r.year, r.measure, r.currency)] += r.value
    return out


def _compare(
    line: OrgLine,
    row: Row,
    sums: Sums,
    missing: Sums,
    has_activities: bool,
    target: str | None,
) -> None:
    """Fill ``row``'s activities_value, difference and comparison (the methodology's rule)."""
    scope = _scope(line)
    measure: money.Measure = "expenditure" if line.element == "total-expenditure" else "budget"
    row["compared_measure"] = measure if scope is not None else None
    years = calendar_years(line.period_start, line.period_end)
    reason = None
    if scope is None:
        reason = "recipient-org"
    elif line.value is None:
        reason = "no-value"
    elif line.period_start is None or line.period_end is None:
        reason = "no-period"
    elif years is None:
        reason = "period-not-calendar-years"
    elif target is not None and row["currency"] != target:
        reason = "no-rate"
    elif not has_activities:
        reason = "no-activities"
    if reason is None and years is not None and scope is not None:
        first, last = years
        within = [
            (k, v)
            for k, v in sums.items()
            if k[0] == scope and k[2] == measure and k[1] is not None and first <= k[1] <= last
        ]
        if any(v for k, v in missing.items() if k[0] == scope and k[2] == measure
               and k[1] is not None and first <= k[1] <= last):  # fmt: skip
            reason = "activities-not-converted"
        elif any(v for k, v in within if k[3] != row["currency"]):
            reason = "activities-in-other-currencies"
        else:
            total = sum((v for k, v in within if k[3] == row["currency"]), Decimal(0))
            row["activities_value"] = total
            row["difference"] = row["value"] - total
    row["comparison"] = reason or COMPARED


def organisation_budgets(conn: Connection, ctx: Context, filters: Filters) -> list[Row]:
    """ORGANISATION_BUDGETS rows of the organisations ``filters.reporting_org`` names (none:
    every organisation that published a file), converted to ``filters.currency`` when set
    (``store.organisation.budget_lines`` says which lines the other filters keep)."""
    lines = _kept(ctx, stored.budget_lines(conn, filters))
    target = filters.currency
    convert = rates.Converter(conn, target) if target else None
    by_org: dict[str, list[OrgLine]] = {}
    for line in lines:
        by_org.setdefault(line.organisation_identifier, []).append(line)
    out: list[Row] = []
    for org, own in by_org.items():
        scopes = [sc for sc in map(_scope, own) if sc is not None]
        sums = _activity_sums(conn, ctx, org, scopes, target)
        missing = (
            _activity_sums(conn, ctx, org, scopes, target, without_rate=True) if target else {}
        )
        held = bool(money.years(conn, ctx.portal, Filters(reporting_org=(org,)), money.MEASURES))
        for line in own:
            row = _row(ctx, line, convert)
            _compare(line, row, sums, missing, held, target)
            out.append(row)
    return out


def _row(ctx: Context, line: OrgLine, convert: rates.Converter | None) -> Row:
    row: Row = {
        "organisation_identifier": line.organisation_identifier,
        "element": line.element,
        "budget_status": None if line.element == "total-expenditure" else line.budget_status,
        "period_start": line.period_start,
        "period_end": line.period_end,
        "recipient_ref": line.recipient_ref,
        "recipient_vocabulary": line.recipient_vocabulary,
        "recipient_name": _recipient_name(ctx, line),
        "currency": line.currency,
        "value": line.value,
        "published_value": line.value,
        "published_currency": line.currency,
        "rate": None,
        "rate_date": None,
        "rate_source": None,
        "activities_value": None,
        "difference": None,
    }
    if convert is not None and line.currency != convert.target:
        day = line.value_date or line.period_start or line.period_end
        done = convert(line.value, line.currency, day)
        if done is not None:
            row.update(
                currency=done.currency,
                value=done.value,
                rate=done.rate,
                rate_date=done.rate_date,
                rate_source=done.source,
            )
    return row


def _recipient_name(ctx: Context, line: OrgLine) -> str | None:
    if not line.recipient_ref:
        return None
    if line.element == "recipient-country-budget":
        return country_name(line.recipient_ref.upper())
    if line.element == "recipient-region-budget":
        return region_name(ctx, line.recipient_vocabulary, line.recipient_ref)
    return None


def element_names() -> dict[str, str]:
    """Each element's name in the page's language."""
    return {
        "total-budget": _("Total budget"),
        "recipient-org-budget": _("Budget for a recipient organisation"),
        "recipient-country-budget": _("Budget for a recipient country"),
        "recipient-region-budget": _("Budget for a recipient region"),
        "total-expenditure": _("Total expenditure"),
    }


def reason_names() -> dict[str, str]:
    """Why a line is not compared, in the page's language."""
    return {
        "period-not-calendar-years": _("Not comparable: the period is not whole calendar years."),
        "no-period": _("Not comparable: the period has no start or end."),
        "recipient-org": _("Not comparable: activity budgets do not say who receives them."),
        "no-value": _("Not comparable: no amount was published."),
        "no-rate": _("Not converted: no exchange rate at its value date."),
        "activities-not-converted": _(
            "Not comparable: some of the activities' money has no exchange rate."
        ),
        "activities-in-other-currencies": _(
            "Not comparable: the activities' money is in other currencies. Choose a currency."
        ),
        "no-activities": _("Not comparable: none of the organisation's activities are held."),
    }


def for_page(rows: Sequence[Row]) -> list[Row]:
    """The rows with their names for a page (element, status, why not compared)."""
    elements, reasons = element_names(), reason_names()
    statuses = {"1": _("Indicative"), "2": _("Committed")}
    return [
        {
            **r,
            "element_name": elements.get(r["element"], r["element"]),
            "status_name": statuses.get(r["budget_status"] or "")
            if r["element"] != "total-expenditure"
            else None,
            "reason": reasons.get(r["comparison"]),
        }
        for r in rows
    ]


def of_organisation(conn: Connection, ctx: Context, identifiers: Sequence[str]) -> list[Row]:
    """The rows of the named organisations in the request's currency (every period)."""
    if not identifiers:
        return []
    filters = replace(Filters(), reporting_org=tuple(identifiers), currency=ctx.currency)
    return organisation_budgets(conn, ctx, filters)
