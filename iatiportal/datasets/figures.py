"""The money datasets: what the overview, country, region, partner and strategic-plan pages
and the API's aggregate lists show. Every figure comes from ``store.money``; this module only
arranges its rows, one line per currency, under the dataset's keys.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from iatiportal import standard
from iatiportal.datasets import Dataset, Field
from iatiportal.datasets.context import Context
from iatiportal.i18n import country_name
from iatiportal.i18n import gettext as _
from iatiportal.profile import StrategicPlan
from iatiportal.store import money, queries
from iatiportal.store import plan as contributions
from iatiportal.store.filters import Filters
from iatiportal.store.money import MoneyRow

Row = dict[str, Any]

MONEY = (
    Field("currency", "string", "Currency of the amounts (ISO 4217); empty where the "
          "published amounts name none."),
    Field("budget", "number", "Budget, by the money rules of the methodology."),
    Field("expenditure", "number", "Expenditure, by the money rules of the methodology."),
    Field("utilisation_percent", "number", "Expenditure as a percentage of budget, to 0.1."),
)  # fmt: skip
"""The money of one line in one currency."""

INCOMING = (
    Field("currency", "string", "Currency of the incoming funds (ISO 4217)."),
    Field("incoming_funds", "number", "Incoming funds (transactions of type 1)."),
)
KINDS = (
    Field("development", "number", "Of the incoming funds, those marked development: the "
          "transaction's humanitarian flag is false, or it has none and its activity's is "
          "false. Empty: none."),
    Field("humanitarian", "number", "Of the incoming funds, those marked humanitarian: the "
          "transaction's humanitarian flag is true, or it has none and its activity's is "
          "true. Empty: none. Incoming funds less development and humanitarian are the funds "
          "whose kind neither the transaction nor its activity states."),
)  # fmt: skip
"""Incoming funds split by the humanitarian flag (the money rules of store/money.py)."""
INDICATORS = (
    Field("indicators", "integer", "Indicators of the outcomes, whatever the year."),
    Field("indicators_with_target", "integer", "Of those, with a target in the year."),
    Field("indicators_with_actual", "integer", "Of those, with an actual in the year."),
    Field("indicators_comparable", "integer", "With a numeric target and actual in one period."),
    Field("indicators_met", "integer", "Of the comparable ones, those that met their target."),
)
_YEAR = Field("year", "integer", "Calendar year (empty: undated amounts).")
_COUNTRY = (
    Field("country_code", "string", "Recipient country, ISO 3166-1 alpha-2."),
    Field("country_name", "string", "The country's name in the page's language."),
)
_IDENT = Field("iati_identifier", "string", "The activity's IATI identifier.")
_TITLE = Field("title", "string", "The activity's title in the page's language if published "
               "in it, else the first published.")  # fmt: skip
_AREA = (
    Field("impact_area", "string", "Impact area code of the strategic plan (empty: none)."),
    Field("name", "string", "The impact area's name."),
)

TOTALS = Dataset("totals", "Budget and expenditure of the year, per currency.", MONEY)
BY_YEAR = Dataset(
    "budget_and_expenditure_by_year", "Budget and expenditure per year.", (_YEAR, *MONEY)
)
COUNTRIES = Dataset(
    "countries",
    "Recipient countries of the home publisher's activities, with money of the year.",
    (*_COUNTRY, Field("activities", "integer", "Activities in the country."), _YEAR, *MONEY),
)
COUNTRY_MONEY = Dataset(
    "countries", "Budget and expenditure of the year per recipient country.", (*_COUNTRY, *MONEY)
)
REGIONS = Dataset(
    "regions",
    "Budget and expenditure of the year per recipient region.",
    (
        Field("region_vocabulary", "string", "Region vocabulary (1 OECD DAC, 2 UN, 99 own)."),
        Field("region", "string", "Region code (empty: by country or not specified)."),
        Field("name", "string", "The region's name."),
        *MONEY,
    ),
)
PARTNERS = Dataset(
    "funding_partners",
    "Funding partners of the year with their incoming funds, largest first, then those "
    "named only as funding participating organisations (without amounts).",
    (
        Field("provider_org_ref", "string", "The partner's organisation identifier."),
        Field("provider_org_name", "string", "The partner's name as published."),
        *INCOMING,
    ),
)
PARTNERS_BY_YEAR = Dataset(
    "funding_partners_by_year",
    "Incoming funds per funding partner (the largest, then the others together) and year.",
    (
        Field("provider_org", "string", "The partner's identifier, else its name."),
        Field("provider_org_name", "string", "The partner's name."),
        _YEAR,
        *INCOMING,
        *KINDS,
    ),
)
IMPACT_AREAS = Dataset(
    "impact_areas", "Budget and expenditure of the year per impact area.", (*_AREA, *MONEY)
)
SDGS = Dataset(
    "sdgs",
    "Budget and expenditure of the year per Sustainable Development Goal (sector vocabulary 7).",
    (
        Field("sdg", "string", "Goal number (empty: not specified)."),
        Field("name", "string", "The goal's name."),
        *MONEY,
    ),
)
COUNTS = Dataset(
    "counts",
    "How many activities, countries and funding partners.",
    (
        Field("measure", "string", "What is counted: activities, countries, funding_partners."),
        Field("value", "integer", "How many."),
    ),
)
OUTCOMES = Dataset(
    "outcomes",
    "The activities (outcomes) of a country, with their money of the year.",
    (
        _IDENT,
        _TITLE,
        Field("outcome_code", "string", "Outcome code, from the identifier."),
        Field("impact_area_code", "string", "The impact area it contributes to."),
        *MONEY,
    ),
)
PLAN = Dataset(
    "impact_areas",
    "The strategic plan's impact areas: outcomes, offices, indicators and money of the year.",
    (
        *_AREA,
        Field("outcomes", "integer", "Outcomes (activities) contributing to it."),
        Field("offices", "integer", "Offices with such outcomes."),
        *INDICATORS,
        *MONEY,
    ),
)
PLAN_OUTCOMES = Dataset(
    "outcomes",
    "The outcomes that contribute to an impact area, with indicators and money of the year.",
    (
        _IDENT,
        _TITLE,
        Field("office", "string", "Office, from the identifier."),
        Field("outcome_code", "string", "Outcome code, from the identifier."),
        *INDICATORS,
        *MONEY,
    ),
)
REGION_ACTIVITIES = Dataset(
    "activities", "A region's activities, with their money of the year.", (_IDENT, _TITLE, *MONEY)
)
CONTRIBUTIONS = Dataset(
    "contributions_by_year",
    "A funding partner's incoming funds per year.",
    (_YEAR, *INCOMING, *KINDS),
)
PARTNER_COUNTRIES = Dataset(
    "by_country",
    "A funding partner's incoming funds of the year per recipient country.",
    (*_COUNTRY, *INCOMING),
)
CORE = Dataset(
    "core_and_non_core",
    "Incoming funds from core (regular) resources, as the profile names their providers, and "
    "from every other funding partner.",
    (
        Field("currency", "string", "Currency of the incoming funds (ISO 4217)."),
        Field("core", "number", "Incoming funds from the core providers."),
        Field("non_core", "number", "Incoming funds from every other provider."),
        Field("incoming_funds", "number", "All incoming funds: core and non-core."),
    ),
)
PARTNER_ACTIVITIES = Dataset(
    "activities", "The activities a funding partner funded in the year.", (_IDENT, *INCOMING)
)


FLOWS = Dataset(
    "flows",
    "The money of the year from the funding partners to the home publisher (incoming funds) "
    "and what it passed on (disbursements and expenditure) to each implementing partner (the "
    "transactions' receiver organisation).",
    (
        Field("stage", "string", "funding: a funding partner's incoming funds to the home "
              "publisher; spending: the home publisher's disbursements and expenditure to an "
              "implementing partner."),
        Field("source", "string", "Where the money comes from: an organisation identifier, "
              "else its name; home: the home publisher."),
        Field("source_name", "string", "Its name."),
        Field("target", "string", "Where the money goes: home (the home publisher), an "
              "implementing partner's identifier, else its name; not-named: disbursements "
              "and expenditure whose transactions name no receiver."),
        Field("target_name", "string", "Its name."),
        Field("currency", "string", "Currency of the amount (ISO 4217)."),
        Field("amount", "number", "The amount (incoming funds, or disbursements and "
              "expenditure: each transaction once, whatever the profile counts as "
              "expenditure). Empty: an "
              "organisation named as funder or implementing partner (participating-org) "
              "without an amount."),
    ),
)  # fmt: skip
"""One dataset for the flow diagram, the table beside it and the page's data renderings."""
HOME = "home"
"""The key of the home publisher in FLOWS."""
NOT_NAMED = "not-named"
"""The key, in FLOWS, of the home publisher's disbursements and expenditure whose transactions
name no receiver."""


OTHER = "other"
"""The key of the line that sums the smaller partners."""
MOST_SERIES = 6
"""Partners a chart of contributions tells apart (the others are one line)."""


# -- lines ------------------------------------------------------------------------------------


def per_currency(
    rows: Iterable[MoneyRow], key: Callable[[MoneyRow], Any] | None = None
) -> list[Row]:
    """Money rows as one line per currency (and ``key`` of a row), with budget, expenditure and
    utilisation; the key is under "key"."""
    lines: dict[tuple[Any, str | None], Row] = {}
    for row in rows:
        k = key(row) if key else None
        line = lines.setdefault((k, row.currency), {"key": k, "currency": row.currency})
        line[row.measure] = line.get(row.measure, Decimal(0)) + row.value
    out = []
    for line in lines.values():
        budget = line.setdefault("budget", None)
        spent = line.setdefault("expenditure", None)
        line["utilisation_percent"] = (
            (spent / budget * 100).quantize(Decimal("0.1"))
            if budget and spent is not None
            else None
        )
        out.append(line)
    return out


def grouped(lines: Iterable[Row], key: str) -> dict[Any, list[Row]]:
    """Lines per value of ``key`` (an activity's or area's lines, one per currency)."""
    out: dict[Any, list[Row]] = {}
    for line in lines:
        out.setdefault(line[key], []).append(line)
    return out


def flat(items: Iterable[Row], lines: str = "money") -> list[Row]:
    """One row per item and money line (an item without money: one row, currency empty)."""
    return [
        {**{k: v for k, v in item.items() if k != lines}, **m}
        for item in items
        for m in (item[lines] or [{"currency": None}])
    ]


def choose_year(wanted: int | None, years: Sequence[int]) -> int | None:
    """The year asked for, else the latest year with money up to this one, else the latest."""
    if wanted in years:
        return wanted
    this_year = dt.date.today().year
    past = [y for y in years if y <= this_year]
    return max(past) if past else (max(years) if years else None)


def years(
    conn: Connection, ctx: Context, filters: Filters, measures: Sequence[money.Measure] = ()
) -> tuple[list[int], int | None]:
    """The years with money of ``filters`` and the one the request shows."""
    found = money.years(conn, ctx.portal, filters, measures or ("budget", "expenditure"))
    return found, choose_year(ctx.filters.year, found)


def totals(conn: Connection, ctx: Context, filters: Filters) -> list[Row]:
    return per_currency(money.totals(conn, ctx.portal, filters, ("budget", "expenditure")))


def by_year(conn: Connection, ctx: Context, filters: Filters) -> list[Row]:
    return [
        {"year": line["key"], **line}
        for line in per_currency(money.by_year(conn, ctx.portal, filters), key=lambda r: r.year)
    ]


def country_money(conn: Connection, ctx: Context, filters: Filters) -> list[Row]:
    """Budget and expenditure per recipient country (what the world map shades), by name."""
    lines = [
        {"country_code": line["key"], "country_name": country_name(line["key"]), **line}
        for line in per_currency(
            money.by_country(conn, ctx.portal, filters), key=lambda r: r.recipient_country_code
        )
        if line["key"]
    ]
    return sorted(lines, key=lambda c: str(c["country_name"]))


def countries(conn: Connection, ctx: Context, year: int | None) -> list[Row]:
    """The home publisher's recipient countries by name: activities and money of the year."""
    counts = ctx.countries(conn)
    money_by_code = grouped(country_money(conn, ctx, ctx.money(year=year)), "country_code")
    return sorted(
        (
            {
                "country_code": code,
                "country_name": country_name(code),
                "activities": n,
                "year": year,
                "money": money_by_code.get(code, []),
            }
            for code, n in counts.items()
        ),
        key=lambda i: str(i["country_name"]),
    )


def _area_name(ctx: Context, plan: StrategicPlan | None, code: str | None) -> str | None:
    area = plan.impact_area(code) if plan is not None and code else None
    return area.name.get(ctx.language) if area is not None else None


def impact_areas(conn: Connection, ctx: Context, filters: Filters) -> list[Row]:
    plan = ctx.portal.home.strategic_plan
    if plan is None or not plan.sector_vocabulary:
        return []
    return [
        {
            "impact_area": line["key"],
            "name": _area_name(ctx, plan, line["key"]) or _("Not specified"),
            **line,
        }
        for line in per_currency(
            money.by_sector(conn, ctx.portal, plan.sector_vocabulary, filters),
            key=lambda r: r.sector_code,
        )
    ]


def sdgs(conn: Connection, ctx: Context, filters: Filters) -> list[Row]:
    """Budget and expenditure per Sustainable Development Goal (sector vocabulary 7)."""
    names = standard.code_names("UNSDG-Goals", ctx.language)
    return [
        {
            "sdg": line["key"],
            "name": names.get(line["key"], line["key"]) if line["key"] else _("Not specified"),
            **line,
        }
        for line in per_currency(
            money.by_sector(conn, ctx.portal, "7", filters), key=lambda r: r.sector_code
        )
    ]


def region_name(ctx: Context, vocabulary: str | None, code: str | None) -> str:
    if not code:
        return _("Not specified")
    named = ctx.portal.home.region_name(vocabulary or "", code, ctx.language)
    if named:
        return named
    if vocabulary in (None, "1"):
        return standard.code_names("Region", ctx.language).get(code, code)
    return code


def regions(conn: Connection, ctx: Context, filters: Filters, *, unspecified: bool) -> list[Row]:
    """Money per recipient region; ``unspecified``: with the line of money by country or of
    no region (the overview), else only named regions, by name (the regions page)."""
    lines = [
        {
            "region_vocabulary": line["key"][0] if line["key"] else None,
            "region": line["key"][1] if line["key"] else None,
            **line,
        }
        for line in per_currency(
            money.by_region(conn, ctx.portal, filters),
            key=lambda r: (
                (r.recipient_region_vocabulary, r.recipient_region_code)
                if r.recipient_region_code
                else None
            ),
        )
    ]
    for line in lines:
        line["name"] = (
            region_name(ctx, line["region_vocabulary"], line["region"])
            if line["region"]
            else _("Country programmes and not specified")
        )
    if unspecified:
        return lines
    return sorted((r for r in lines if r["region"]), key=lambda r: str(r["name"]))


def funding_partners(conn: Connection, ctx: Context, filters: Filters) -> list[Row]:
    return [
        {
            "provider_org_ref": p.provider_org_ref,
            "provider_org_name": p.provider_org_name,
            "currency": p.currency,
            "incoming_funds": p.value,
            "source": p.source,
        }
        for p in money.funding_partners(conn, ctx.portal, filters)
    ]


_KIND_KEYS = {False: "development", True: "humanitarian"}


def _add(total: Decimal | None, value: Decimal | None) -> Decimal | None:
    """A sum in which None is "none yet" (a kind of money with no amount stays empty)."""
    if value is None:
        return total
    return value if total is None else total + value


def partners_by_year(conn: Connection, ctx: Context, filters: Filters) -> list[Row]:
    """Incoming funds per funding partner, year and currency (``provider_org``: the
    partner's reference, else its name as published), with the part of them marked
    development and humanitarian (KINDS)."""
    lines: dict[tuple[Any, ...], Row] = {}
    for r in money.by_provider(conn, ctx.portal, filters, per_year=True, humanitarian=True):
        line = lines.setdefault(
            (r.provider_org_ref, r.provider_org_name, r.year, r.currency),
            {
                "provider_org": r.provider_org_ref or r.provider_org_name,
                "provider_org_name": r.provider_org_name or r.provider_org_ref or _("Not named"),
                "year": r.year,
                "currency": r.currency,
                "incoming_funds": Decimal(0),
                "development": None,
                "humanitarian": None,
            },
        )
        line["incoming_funds"] += r.value
        if r.humanitarian is not None:
            kind = _KIND_KEYS[r.humanitarian]
            line[kind] = _add(line[kind], r.value)
    return list(lines.values())


def contributions_by_year(conn: Connection, ctx: Context, filters: Filters) -> list[Row]:
    """One partner's incoming funds per year and currency (CONTRIBUTIONS): its
    partners_by_year lines (one per name it is published under) added up, by year."""
    lines: dict[tuple[int | None, str | None], Row] = {}
    for r in partners_by_year(conn, ctx, filters):
        line = lines.setdefault(
            (r["year"], r["currency"]),
            {
                "year": r["year"],
                "currency": r["currency"],
                "incoming_funds": None,
                "development": None,
                "humanitarian": None,
            },
        )
        for key in ("incoming_funds", *_KIND_KEYS.values()):
            line[key] = _add(line[key], r[key])
    return sorted(lines.values(), key=lambda r: (r["year"] or 0, r["currency"] or ""))


def stated_kinds(rows: Iterable[Row]) -> bool:
    """Whether any of the rows has incoming funds marked development or humanitarian."""
    return any(r.get(k) is not None for r in rows for k in _KIND_KEYS.values())


def unconverted(conn: Connection, ctx: Context, filters: Filters) -> list[Row]:
    """Amounts left out of converted totals for want of a rate, per measure and currency."""
    names = {"budget": _("Budget"), "expenditure": _("Expenditure")}
    return [
        {"measure": names.get(r.measure, r.measure), "currency": r.currency, "value": r.value}
        for r in money.unconverted(conn, ctx.portal, filters)
    ]


def money_of(
    conn: Connection, ctx: Context, filters: Filters, identifiers: Sequence[str]
) -> dict[str, list[Row]]:
    """Budget and expenditure lines of the listed activities only (a page of a list: asking
    for every activity of a country costs 80 ms at 200,000 activities)."""
    if not identifiers:
        return {}
    rows = money.by_activity(conn, ctx.portal, replace(filters, activities=tuple(identifiers)))
    return grouped(per_currency(rows, key=lambda r: r.iati_identifier), "key")


def by_year_of(
    conn: Connection, ctx: Context, filters: Filters, identifiers: Sequence[str]
) -> dict[str, list[Row]]:
    """BY_YEAR lines of each listed activity (its own money and its descendants', as
    ``Filters(activity=...)`` gives it), in one question: what a result linked to an activity
    shows."""
    if not identifiers:
        return {}
    rows = money.breakdown(
        conn, ctx.portal, ("activity", "year"), replace(filters, activities=tuple(identifiers))
    )
    out: dict[str, list[Row]] = {}
    for line in per_currency(rows, key=lambda r: (r.iati_identifier, r.year)):
        identifier, year = line["key"]
        out.setdefault(identifier, []).append({**line, "year": year})
    return out


def counts(conn: Connection, ctx: Context, partners: Sequence[Row]) -> list[Row]:
    """How many activities, countries and funding partners the home publisher has."""
    total_activities, _page = queries.activity_page(
        conn, reporting_orgs=ctx.home, limit=0, outcomes_only=True
    )
    return [
        {
            "measure": "activities",
            "label": ctx.portal.home.activity_label_plural.get(ctx.language),
            "value": total_activities,
        },
        {
            "measure": "countries",
            "label": _("Countries"),
            "value": len(ctx.countries(conn)),
        },
        {
            "measure": "funding_partners",
            "label": _("Funding partners"),
            "value": len({p["provider_org_ref"] or p["provider_org_name"] for p in partners}),
        },
    ]


def largest_and_other(
    rows: Sequence[dict[str, Any]], most: int = MOST_SERIES
) -> list[dict[str, Any]]:
    """Partner-by-year rows (figures.PARTNERS_BY_YEAR) keeping the
    ``most - 1`` largest partners of each currency and summing the others per year and currency
    into "Other partners" (so that a chart can tell every series apart by colour). The table
    beside the chart shows these same rows."""
    totals: dict[tuple[str | None, Any], Decimal] = {}
    for r in rows:
        k = (r["currency"], r["provider_org"])
        totals[k] = totals.get(k, Decimal(0)) + (r["incoming_funds"] or Decimal(0))
    partners_per_currency: dict[str | None, list[Any]] = {}
    for currency, key in sorted(totals, key=lambda k: -totals[k]):
        partners_per_currency.setdefault(currency, []).append(key)
    kept = {
        (c, k)
        for c, keys in partners_per_currency.items()
        for k in (keys if len(keys) <= most else keys[: most - 1])
    }
    out: list[dict[str, Any]] = []
    other: dict[tuple[str | None, Any], dict[str, Any]] = {}
    for r in rows:
        if (r["currency"], r["provider_org"]) in kept:
            out.append(dict(r))
            continue
        line = other.setdefault(
            (r["currency"], r["year"]),
            {
                "provider_org": OTHER,
                "provider_org_name": _("Other partners"),
                "year": r["year"],
                "currency": r["currency"],
                "incoming_funds": Decimal(0),
                "development": None,
                "humanitarian": None,
            },
        )
        line["incoming_funds"] += r["incoming_funds"] or Decimal(0)
        for key in _KIND_KEYS.values():
            line[key] = _add(line[key], r.get(key))
    order = {k: i for i, k in enumerate(sorted(totals, key=lambda k: -totals[k]))}
    out.sort(
        key=lambda r: (
            r["currency"] or "",
            order[(r["currency"], r["provider_org"])],
            r["year"] or 0,
        )
    )
    return out + sorted(other.values(), key=lambda r: (r["currency"] or "", r["year"] or 0))


COUNTRY_TABLES = (BY_YEAR, PARTNERS, IMPACT_AREAS, PARTNERS_BY_YEAR, SDGS, FLOWS)
"""What a country's overview shows (and the API's country item holds), in order."""


def country_overview(
    conn: Connection, ctx: Context, code: str, year: int | None
) -> dict[str, list[Row]]:
    """The tables of a country's overview, by dataset name (COUNTRY_TABLES)."""
    base, in_year = ctx.money(country=code), ctx.money(country=code, year=year)
    return {
        BY_YEAR.name: by_year(conn, ctx, base),
        PARTNERS.name: funding_partners(conn, ctx, in_year),
        IMPACT_AREAS.name: impact_areas(conn, ctx, in_year),
        PARTNERS_BY_YEAR.name: largest_and_other(partners_by_year(conn, ctx, base)),
        SDGS.name: sdgs(conn, ctx, in_year),
        FLOWS.name: flows(conn, ctx, in_year, in_year),
    }


def progress_per_area(
    conn: Connection, ctx: Context, plan: StrategicPlan, year: int | None
) -> dict[str, queries.IndicatorProgress]:
    progress = queries.indicator_progress(conn, ctx.home, year)
    c = contributions.contributions(plan, conn.dialect.name, ctx.home).subquery()
    out: dict[str, queries.IndicatorProgress] = {}
    for activity_id, area in conn.execute(
        select(c.c.activity_id, c.c.impact_area).where(c.c.impact_area.is_not(None))
    ):
        own = progress.get(activity_id)
        if own is not None:
            out.setdefault(area, queries.IndicatorProgress()).add(own)
    return out


def indicator_fields(progress: queries.IndicatorProgress) -> dict[str, int]:
    """The INDICATORS fields (figures) of one IndicatorProgress."""
    return {k if k == "indicators" else f"indicators_{k}": v for k, v in vars(progress).items()}


def plan_areas(
    conn: Connection, ctx: Context, plan: StrategicPlan, year: int | None
) -> tuple[list[Row], list[Row]]:
    """The plan's impact areas (each with its money lines under "money"), and the money of
    the year not linked to any impact area; outcomes and offices counted in SQL."""
    money_by_area = grouped(
        per_currency(
            money.by_sector(conn, ctx.portal, plan.sector_vocabulary or "", ctx.money(year=year)),
            key=lambda r: r.sector_code,
        ),
        "key",
    )
    counted = contributions.per_area(conn, plan, ctx.home)
    progress = progress_per_area(conn, ctx, plan, year)
    areas: list[Row] = []
    for area in plan.impact_areas:
        outcomes, offices = counted.get(area.code, (0, 0))
        own = progress.get(area.code, queries.IndicatorProgress())
        areas.append(
            {
                "impact_area": area.code,
                "code": area.code,
                "name": area.name.get(ctx.language),
                "outcomes": outcomes,
                "offices": offices,
                "progress": vars(own),
                **indicator_fields(own),
                "money": money_by_area.get(area.code, []),
            }
        )
    return areas, money_by_area.get(None, [])


def core_and_non_core(conn: Connection, ctx: Context, filters: Filters) -> list[Row]:
    """Incoming funds per currency, split into core (from ``Profile.core_providers``) and
    non-core (from every other provider, named or not): the two add up to the whole."""
    core = set(ctx.portal.home.core_providers)
    lines: dict[str | None, Row] = {}
    for r in money.by_provider(conn, ctx.portal, filters):
        line = lines.setdefault(
            r.currency,
            {"currency": r.currency, "core": Decimal(0), "non_core": Decimal(0)},
        )
        line["core" if r.provider_org_ref in core else "non_core"] += r.value
    for line in lines.values():
        line["incoming_funds"] = line["core"] + line["non_core"]
    return sorted(lines.values(), key=lambda line: str(line["currency"] or ""))


def flows(conn: Connection, ctx: Context, funding: Filters, spending: Filters) -> list[Row]:
    """FLOWS rows: the funding partners of ``funding`` (``funding_partners``: the same figures
    as the page's funding partners table, partners named without amounts last) to the home
    publisher, then what it passed on of ``spending`` per receiver and currency: its
    disbursements and expenditure, each transaction once whatever the profile counts as
    expenditure (``money.receivers`` of the measure "outgoing": largest first, the money that
    names no receiver as one NOT_NAMED flow, so that per currency they add up to the page's
    disbursements and expenditure), then the implementing partners the activities name
    (participating-org role 4) that received none of it, without amounts."""
    home_name = ctx.portal.home.name.get(ctx.language) or _("Home publisher")
    rows: list[Row] = [
        {
            "stage": "funding",
            "source": p["provider_org_ref"] or p["provider_org_name"],
            "source_name": p["provider_org_name"] or p["provider_org_ref"] or _("Not named"),
            "target": HOME,
            "target_name": home_name,
            "currency": p["currency"],
            "amount": p["incoming_funds"],
        }
        for p in funding_partners(conn, ctx, funding)
    ]
    paid = money.receivers(conn, ctx.portal, spending, "outgoing")
    rows += [
        {
            "stage": "spending",
            "source": HOME,
            "source_name": home_name,
            "target": r.receiver_org_ref or r.receiver_org_name or NOT_NAMED,
            "target_name": r.receiver_org_name or r.receiver_org_ref or _("Not named"),
            "currency": r.currency,
            "amount": r.value,
        }
        for r in paid
    ]
    known = {r.receiver_org_ref or r.receiver_org_name for r in paid}
    rows += [
        {
            "stage": "spending",
            "source": HOME,
            "source_name": home_name,
            "target": p["ref"] or p["name"],
            "target_name": p["name"] or p["ref"],
            "currency": None,
            "amount": None,
        }
        for p in queries.implementing_partners(conn, spending, exclude=ctx.home)
        if (p["ref"] or p["name"]) not in known
    ]
    return rows
