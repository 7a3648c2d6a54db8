"""The activity page ``/activities/{iati-identifier}`` (and its .json, .csv and .xlsx).

Every list of the page is paged like the portal's other lists, each with its own query
parameter (``?transactions_page=2``, kept in the page's links so paging works without
JavaScript), one page fetched with LIMIT/OFFSET (store.activity). The data renderings hold
every row of the budgets, transactions and indicator periods, streamed from the database as the
response is written, so neither an HTML page nor a download holds a whole long list (issue 10:
an activity with 100,000 transactions took 10 s and 10.7 MB of HTML, and four views took the
server from 80 MB to 1.58 GB).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from iatiportal import rates, standard
from iatiportal.datasets import Dataset, Field, of_resource
from iatiportal.datasets import figures as f
from iatiportal.datasets.context import Context
from iatiportal.i18n import gettext as _
from iatiportal.profile import PlanPeriod, StrategicPlan
from iatiportal.store import activity as stored
from iatiportal.store import listing
from iatiportal.store import schema as s
from iatiportal.store.filters import Filters
from iatiportal.web import charts
from iatiportal.web.pages import Pager, label, plan_indicator, table
from iatiportal.web.params import MAX_PAGE, whole_number
from iatiportal.web.render import DataTable, Page


@dataclass(frozen=True)
class ListSpec:
    """How one list of the page is paged: its query parameter and rows per page."""

    param: str
    per_page: int


LIST_PAGES: dict[str, ListSpec] = {
    "descriptions": ListSpec("descriptions_page", 10),
    "recipient_countries": ListSpec("countries_page", 50),
    "recipient_regions": ListSpec("regions_page", 50),
    "sectors": ListSpec("sectors_page", 50),
    "policy_markers": ListSpec("policy_markers_page", 50),
    "participating_orgs": ListSpec("partners_page", 50),
    "budgets": ListSpec("budgets_page", 50),
    "transactions": ListSpec("transactions_page", 100),
    "locations": ListSpec("locations_page", 100),
    "document_links": ListSpec("documents_page", 50),
    "related_activities": ListSpec("related_page", 50),
}
RESULTS = ListSpec("results_page", 10)
"""Results are paged by indicator (a result without indicators counts as one)."""
PROBLEMS = ListSpec("problems_page", 50)


def requested_pager(ctx: Context, spec: ListSpec, total: int) -> Pager:
    """The page of a list that ``?{spec.param}=n`` asks for, kept within the list (anything
    but a whole number asks for the first page)."""
    number = whole_number(ctx.params.get(spec.param), 1, MAX_PAGE, clamp=True) or 1
    return Pager(number, spec.per_page, 0).fit(total)


def _text(narrative: tuple[str | None, str] | None) -> str | None:
    return narrative[1] if narrative else None


class Names:
    """Code names in one language, for rows that are formatted after the request's context
    is gone (a streamed download)."""

    def __init__(self, language: str) -> None:
        self.language = language

    def __call__(self, codelist: str, code: str | None) -> str:
        if code is None:
            return "–"
        return standard.code_names(codelist, self.language).get(code, code)


def _budget(names: Names, default_currency: str | None) -> Callable[[dict[str, Any]], Any]:
    def shaped(b: dict[str, Any]) -> dict[str, Any]:
        return {
            **b,
            "budget_type_name": names("BudgetType", b["budget_type"]),
            "budget_status_name": names("BudgetStatus", b["budget_status"]),
            "currency": b["currency"] or default_currency,
        }

    return shaped


def _transaction(names: Names, default_currency: str | None) -> Callable[[dict[str, Any]], Any]:
    def shaped(t: dict[str, Any]) -> dict[str, Any]:
        n = t["narratives"]
        return {
            **t,
            "transaction_type_name": names("TransactionType", t["transaction_type"]),
            "currency": t["currency"] or default_currency,
            "provider_org_name": _text(n["transaction/provider-org"]),
            "receiver_org_name": _text(n["transaction/receiver-org"]),
            "description": n["transaction/description"],
        }

    return shaped


SECTOR_CODELISTS = {"1": "Sector", "2": "SectorCategory", "7": "UNSDG-Goals", "8": "UNSDG-Targets"}
"""The IATI codelist that names the sector codes of each sector vocabulary."""


def _coded_sector_name(
    language: str, vocabulary: str | None, code: str | None, plan: StrategicPlan | None
) -> tuple[str, str] | None:
    """(language, name) of a sector code, from its IATI codelist or, for the vocabulary of the
    publisher's strategic plan, the profile's impact areas; in the page's language where there
    is one, and marked English where the name falls back to it."""
    if code is None:
        return None
    if plan is not None and vocabulary == plan.sector_vocabulary:
        area = plan.impact_area(code)
        return area.name.pick(language) if area is not None else None
    codelist = SECTOR_CODELISTS.get(vocabulary or "")
    if codelist is None:
        return None
    name = standard.code_names(codelist, language).get(code)
    if name is None:
        return None
    if language != "en" and name == standard.code_names(codelist, "en").get(code):
        return "en", name
    return language, name


def _formatters(
    names: Names, act: dict[str, Any], plan: StrategicPlan | None = None
) -> dict[str, Callable[[dict[str, Any]], Any]]:
    """How each list's rows are shown."""
    language = names.language

    def sector_name(sct: dict[str, Any]) -> tuple[str | None, str] | None:
        """The publisher's name when it is in the page's language, else the code's name in
        it, else the publisher's name in its own language, else the code's English name."""
        published: tuple[str | None, str] | None = sct["narratives"]["sector"]
        if published is not None and (published[0] or "en") == language:
            return published
        coded = _coded_sector_name(language, sct["vocabulary"], sct["sector_code"], plan)
        if coded is not None and (coded[0] == language or published is None):
            return coded
        return published

    return {
        "descriptions": lambda d: {
            "type_name": names("DescriptionType", d["description_type"]),
            "text": d["narratives"]["description"],
        },
        "recipient_countries": dict,
        "recipient_regions": dict,
        "sectors": lambda sct: {
            **sct,
            "vocabulary_name": names("SectorVocabulary", sct["vocabulary"]),
            "name": sector_name(sct),
        },
        "policy_markers": lambda pm: {
            **pm,
            "name": names("PolicyMarker", pm["policy_marker_code"])
            if pm["vocabulary"] == "1"
            else pm["policy_marker_code"],
            "significance_name": names("PolicySignificance", pm["significance"]),
        },
        "participating_orgs": lambda p: {
            **p,
            "role_name": names("OrganisationRole", p["role"]),
            "name": p["narratives"]["participating-org"],
        },
        "budgets": _budget(names, act["default_currency"]),
        "transactions": _transaction(names, act["default_currency"]),
        "locations": lambda loc: {**loc, "name": loc["narratives"]["location/name"]},
        "document_links": lambda d: {**d, "title": d["narratives"]["document-link/title"]},
        "related_activities": lambda rel: {
            **rel,
            "type_name": names("RelatedActivityType", rel["related_activity_type"]),
        },
    }


SECTIONS = (
    "summary",
    "resources",
    "results",
    "sdgs",
    "funding-partners",
    "strategic-plan",
    "more",
)
"""The page's sections (the model's outcome tabs), each an anchor of the page: ``#resources``."""


def section_labels() -> dict[str, str]:
    """Each section's name, in the request's language."""
    names = (
        _("Summary"),
        _("Resources"),
        _("Results"),
        _("SDGs"),
        _("Funding partners"),
        _("Strategic plan"),
        _("More"),
    )
    return dict(zip(SECTIONS, names, strict=True))


def result_money(
    conn: Connection, ctx: Context, aid: int, identifier: str, result_ids: list[int] | None
) -> dict[int, dict[str, Any]]:
    """Per result (row id) that the profile links to an activity (``[results]
    activity_vocabulary``): ``{"activity": its identifier, "lines": [{"currency", "budget",
    "expenditure", "utilisation_percent"}, ...]}``, that activity's money (with its
    descendants', as ``Filters(activity=...)``) over the years the page shows: the plan
    period's with ``?plan_period=``, as under Resources. ``result_ids`` None: every result."""
    vocabulary = ctx.portal.home.results.activity_vocabulary
    if vocabulary is None:
        return {}
    links = stored.result_links(conn, aid, vocabulary, result_ids)
    period = plan_period(ctx, identifier)
    shown = Filters(
        currency=ctx.currency,
        years=(period.start, period.end) if period is not None else None,
    )
    years = f.by_year_of(conn, ctx, shown, sorted(set(links.values())))
    return {
        result_id: {
            "activity": linked,
            "lines": resource_totals(years.get(linked, [])),
        }
        for result_id, linked in links.items()
    }


def _results(
    conn: Connection,
    ctx: Context,
    act: dict[str, Any],
    pager: Pager,
    plan: StrategicPlan | None,
    linked: dict[int, dict[str, Any]],
) -> list[dict[str, Any]]:
    """One page of the results; ``linked``: result_money of every result."""
    aid = act["id"]
    results = stored.results_page(conn, aid, pager.offset, pager.per_page, ctx.language)
    # Numbered in publication order over every page (pages are counted in indicators, not
    # results, so the number comes from the results stored before this page's first).
    before = (
        conn.execute(
            select(func.count())
            .select_from(s.result)
            .where(s.result.c.activity_id == aid, s.result.c.id < results[0]["id"])
        ).scalar_one()
        if results
        else 0
    )
    for number, r in enumerate(results, start=before + 1):
        r["number"] = number
        r["type_name"] = label(ctx, "ResultType", r["result_type"])
        r["title"] = r["narratives"]["result/title"]
        r["description"] = r["narratives"]["result/description"]
        r["progress"] = _progress(r["indicators"])
        r["money"] = linked.get(r["id"])
        for i in r["indicators"]:
            i["title"] = i["narratives"]["indicator/title"]
            i["plan_indicator"] = plan_indicator(ctx, plan, i["references"])
    return results


def _progress(indicators: list[dict[str, Any]]) -> tuple[str | None, str] | None:
    """A result's progress as its publisher tells it: the comment on the latest actual value
    of its indicators (UN Women writes its progress narratives there)."""
    commented = [
        (str(p["period_end"] or p["period_start"] or ""), a["comment"])
        for i in indicators
        for p in i["periods"]
        for a in p["actuals"]
        if a["comment"]
    ]
    latest = max(commented, key=lambda c: c[0], default=None)
    return latest[1] if latest else None


def resource_totals(by_year: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Budget, expenditure and utilisation of every year shown, per currency."""
    lines: dict[str | None, dict[str, Any]] = {}
    for row in by_year:
        line = lines.setdefault(
            row["currency"], {"currency": row["currency"], "budget": None, "expenditure": None}
        )
        for measure in ("budget", "expenditure"):
            if row[measure] is not None:
                line[measure] = (line[measure] or Decimal(0)) + row[measure]
    for line in lines.values():
        budget, spent = line["budget"], line["expenditure"]
        line["utilisation_percent"] = (
            (spent / budget * 100).quantize(Decimal("0.1"))
            if budget and spent is not None
            else None
        )
    return list(lines.values())


def _stream(
    rows: Callable[[], Generator[dict[str, Any], None, None]],
    shape: Callable[[dict[str, Any]], Any],
) -> Callable[[], Iterator[dict[str, Any]]]:
    def stream() -> Iterator[dict[str, Any]]:
        with contextlib.closing(rows()) as found:  # closed when the reader stops early
            for row in found:
                yield shape(row)

    return stream


def build(conn: Connection, ctx: Context, identifier: str) -> Page | None:
    """The activity page: one page of each of its lists, and every row in its data tables."""
    act = stored.current(conn, identifier)
    if act is None:
        return None
    aid = act["id"]
    language = ctx.language
    names = Names(language)
    own = stored.picked_narratives(conn, aid, ("title", "reporting-org"), None, language)
    formatters = _formatters(names, act, publisher_plan(ctx, act))
    lists: dict[str, dict[str, Any]] = {}
    totals = stored.counts(conn, aid)
    for name, spec in LIST_PAGES.items():
        pager = requested_pager(ctx, spec, totals[name])
        # An empty list asks nothing more of the database (most activities have a few).
        limit = pager.per_page if pager.total else 0
        rows = stored.list_page(conn, aid, name, pager.offset, limit, language)
        lists[name] = {
            "pager": pager,
            "param": spec.param,
            "rows": [formatters[name](r) for r in rows],
        }
    target = ctx.currency
    if target is not None:
        # Each amount in the page's currency, with the rate, its date and source (rates.py).
        converter = rates.Converter(conn, target)
        for t in lists["transactions"]["rows"]:
            t["converted"] = converter(
                t["value"], t["currency"], t["value_date"] or t["transaction_date"]
            )
    results_pager = requested_pager(ctx, RESULTS, stored.result_items(conn, aid))
    # Each result's money, once: the results shown and the page's results table both use it.
    linked = result_money(conn, ctx, aid, identifier, None)
    problems_pager = requested_pager(ctx, PROBLEMS, stored.problem_count(conn, act))
    title = own.get(("title", None))
    located = [
        {
            "latitude": loc["latitude"],
            "longitude": loc["longitude"],
            "name": _text(loc["name"]),
            "iati_identifier": identifier,
        }
        for loc in lists["locations"]["rows"]
        if loc["latitude"] is not None and loc["longitude"] is not None
    ]
    context = {
        "act": act,
        "source_file": act["source_path"],
        "target_currency": target,
        "title": title,
        "reporting_org_name": own.get(("reporting-org", None)),
        "status_name": label(ctx, "ActivityStatus", act["activity_status"]),
        "lists": lists,
        "results": _results(conn, ctx, act, results_pager, publisher_plan(ctx, act), linked),
        "results_linkable": ctx.portal.home.results.activity_vocabulary is not None,
        "results_pager": results_pager,
        "results_param": RESULTS.param,
        "periods_shown": stored.PERIODS_SHOWN,
        "problems": {
            "pager": problems_pager,
            "param": PROBLEMS.param,
            "rows": stored.problem_page(conn, act, problems_pager.offset, problems_pager.per_page),
        },
        "locations_map": charts.location_map("locations", located, None, _("Locations")),
    }
    # Budget and expenditure by year (store.money, with the same status and hierarchy rules as
    # every other total) and the progress of each indicator shown.
    tables = data_tables(conn, ctx, act, totals, linked)
    named = {t.name: t.rows for t in tables}
    by_year = named[f.BY_YEAR.name]
    context["transaction_totals"] = named[TRANSACTION_TOTALS.name]
    partner_years = named[f.PARTNERS_BY_YEAR.name]
    context.update(
        core=named[f.CORE.name],
        sdgs=named[f.SDGS.name],
        partner_years=charts.pivot_by_year(partner_years),
        # Development and humanitarian columns only where the data says which (issue 12).
        partner_kinds=f.stated_kinds(partner_years),
        partner_years_by_year=by_year_then_partner(partner_years),
        plan=_plan_context(ctx, act, sectors=stored_sectors(conn, aid)),
    )
    progress: dict[int, dict[str, Any]] = {}
    for result in context["results"]:
        for indicator in result["indicators"]:
            shown = charts.indicator_progress(f"indicator-{indicator['id']}", indicator)
            if shown is not None:
                progress[indicator["id"]] = shown
    context.update(
        by_year=by_year,
        resource_totals=resource_totals(by_year),
        sections=section_labels(),
        charts={
            "by_year": charts.budget_by_year("by-year", by_year),
            "sdgs": charts.budget_by_name(
                "sdgs", _("Sustainable Development Goals"), named[f.SDGS.name]
            ),
            "partners": charts.contributions(
                "partners-by-year",
                _("Funding partners' contributions by year"),
                partner_years,
                stacked=True,
            ),
        },
        indicator_charts=progress,
    )
    context["funding_chain"] = funding_chain(conn, identifier)
    return Page("activity.html", title[1] if title else identifier, context, tables)


def _rows_of(conn: Connection, query: Any) -> Generator[dict[str, Any], None, None]:
    """Every row of ``query`` from a server-side cursor, closed when the reader stops."""
    result = conn.execute(query.execution_options(stream_results=True, yield_per=1000))
    try:
        for row in result:
            yield dict(row._mapping)
    finally:
        result.close()


def funding_chain(conn: Connection, identifier: str) -> dict[str, Any]:
    """The activity's links, as the Funding chain section shows them: ``upstream`` (who
    funded it, from which activity) and ``downstream`` (whom it funded), each at most
    CHAIN_SHOWN, with how many there are; each link names the other activity, whether we hold
    it, and both sides' amounts (store.chains)."""
    resource = listing.links_resource()
    out: dict[str, Any] = {}
    for direction, mine, other in (
        ("upstream", "funded", "funder"),
        ("downstream", "funder", "funded"),
    ):
        query = resource.select(Filters()).where(
            s.funding_link.c[f"{mine}_identifier"] == identifier
        )
        rows = listing.fetch(conn, query, 0, CHAIN_SHOWN)
        out[direction] = {
            "total": listing.count(conn, query) if len(rows) == CHAIN_SHOWN else len(rows),
            "rows": [
                {
                    **r,
                    "other": r[f"{other}_identifier"],
                    "other_held": r[f"{other}_held"],
                    "other_org": r[f"{other}_reporting_org_ref"],
                }
                for r in rows
            ],
        }
    return out


def publisher_plan(ctx: Context, act: dict[str, Any]) -> StrategicPlan | None:
    """The strategic plan of the activity's publisher (its reporting org's profile): the one
    its own vocabulary 99 codes belong to."""
    return ctx.portal.for_org(act["reporting_org_ref"]).strategic_plan


def by_year_then_partner(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Partner-by-year rows ordered by year (undated last), each year's partners in the
    dataset's order."""
    return sorted(rows, key=lambda r: (r["year"] is None, r["year"] or 0))


def stored_sectors(conn: Connection, aid: int) -> list[tuple[str | None, str | None]]:
    """The activity's (vocabulary, code) sectors, as published."""
    se = s.sector
    return [
        (r.vocabulary, r.sector_code)
        for r in conn.execute(
            select(se.c.vocabulary, se.c.sector_code)
            .where(se.c.activity_id == aid)
            .order_by(se.c.id)
        )
    ]


def _plan_context(
    ctx: Context, act: dict[str, Any], sectors: list[tuple[str | None, str | None]]
) -> dict[str, Any] | None:
    """What the strategic plan says of the activity: its impact area, its plan outcome, the
    plan periods of its office and the one asked for (``?plan_period=``)."""
    plan = ctx.portal.home.strategic_plan
    if plan is None:
        return None
    identifier = act["iati_identifier"]
    parts = plan.parse_identifier(identifier)
    area_code = parts.impact_area_code if parts else None
    if area_code is None:
        area_code = next((c for v, c in sectors if v == plan.sector_vocabulary), None)
    area = plan.impact_area(area_code) if area_code else None
    code = plan.plan_outcome_of(identifier, sectors)
    outcome = plan.outcome(code)
    office = parts.office if parts else None
    chosen = plan_period(ctx, identifier)
    return {
        "name": plan.name.get(ctx.language),
        "impact_area": {"code": area_code, "name": area.name.get(ctx.language) if area else None}
        if area_code
        else None,
        "outcome": {
            "code": code,
            "statement": outcome.statement.pick(ctx.language) if outcome else None,
        }
        if code
        else None,
        "office": office,
        "periods": [
            {"value": f"{p.start}-{p.end}", "label": p.label}
            for p in plan.periods
            if p.office in (None, office)
        ],
        "period": chosen.label if chosen else None,
    }


def _fields(*keys: str) -> tuple[Field, ...]:
    return tuple(FIELDS[k] for k in keys)


FIELDS = {
    f.name: f
    for f in (
        Field("budget_type", "string", "Budget type code.", "BudgetType"),
        Field("budget_type_name", "string", "The budget type's name."),
        Field("budget_status", "string", "Budget status code.", "BudgetStatus"),
        Field("budget_status_name", "string", "The budget status's name."),
        Field("period_start", "date", "Start of the period."),
        Field("period_end", "date", "End of the period."),
        Field("value", "number", "The value as published."),
        Field("currency", "string", "Its currency (ISO 4217), else the activity's default."),
        Field("value_date", "date", "The value date."),
        Field("transaction_type", "string", "Transaction type code.", "TransactionType"),
        Field("transaction_type_name", "string", "The transaction type's name."),
        Field("transaction_date", "date", "The transaction date."),
        Field("provider_org_ref", "string", "The provider organisation's identifier."),
        Field("provider_org_name", "string", "The provider organisation's name."),
        Field("receiver_org_ref", "string", "The receiver organisation's identifier."),
        Field("receiver_org_name", "string", "The receiver organisation's name."),
        Field("indicator", "string", "The indicator's title."),
        Field("target", "string", "The period's target value(s)."),
        Field("actual", "string", "The period's actual value(s)."),
        Field(
            "plan_indicator_code",
            "string",
            "The strategic plan indicator the indicator reports on: its reference code "
            "(indicator/reference) in the vocabulary the publisher's profile names "
            "(indicator_vocabulary); empty without one.",
        ),
        Field("transactions", "integer", "How many transactions."),
    )
}
BUDGETS = Dataset(
    "budgets",
    "The activity's budgets, as published.",
    _fields(
        "budget_type", "budget_type_name", "budget_status", "budget_status_name",
        "period_start", "period_end", "value", "currency", "value_date",
    ),
)  # fmt: skip
TRANSACTIONS = Dataset(
    "transactions",
    "The activity's transactions, as published.",
    _fields(
        "transaction_type", "transaction_type_name", "transaction_date", "value", "currency",
        "value_date", "provider_org_ref", "provider_org_name", "receiver_org_ref",
        "receiver_org_name",
    ),
)  # fmt: skip
INDICATOR_PERIODS = Dataset(
    "indicator_periods",
    "The periods of the activity's indicators.",
    _fields("indicator", "plan_indicator_code", "period_start", "period_end", "target", "actual"),
)
RESULT_MONEY = Dataset(
    "results",
    "The activity's results, each with the budget, expenditure and utilisation of the activity "
    "that carries its money where the result names one (one row per currency).",
    (
        Field("number", "integer", "The result's number on the page (document order)."),
        Field("result_type", "string", "Result type code.", "ResultType"),
        Field("result_type_name", "string", "The result type's name."),
        Field(
            "title",
            "string",
            "The result's title in the page's language if published "
            "in it, else the first published.",
        ),
        Field(
            "linked_activity",
            "string",
            "The activity carrying the result's money: the "
            "IATI identifier its result/reference of the profile's vocabulary "
            "([results] activity_vocabulary) names, an activity of the same reporting "
            "organisation; empty: none (IATI has no budget per result).",
        ),
        Field("currency", "string", "Currency of the linked activity's amounts (ISO 4217)."),
        Field(
            "budget",
            "number",
            "The linked activity's budget (with its descendants', by "
            "the money rules) over the years shown: the plan period's with ?plan_period=.",
        ),
        Field(
            "expenditure",
            "number",
            "The linked activity's expenditure (with its descendants') over the same years.",
        ),
        Field(
            "utilisation_percent",
            "number",
            "Budget utilisation: expenditure as a percentage of budget, to 0.1.",
        ),
    ),
)
TRANSACTION_TOTALS = Dataset(
    "transaction_totals",
    "The activity's transactions summed per type and currency.",
    _fields("transaction_type", "transaction_type_name", "currency", "transactions", "value"),
)
LINKS = of_resource(listing.links_resource())
"""The activity's funding links, upstream and downstream: the API's ``links`` list."""
CHAIN_SHOWN = 100
"""Links shown per direction in the page's Funding chain section (every one in its data)."""
TABLES = (
    f.BY_YEAR, BUDGETS, TRANSACTIONS, INDICATOR_PERIODS, TRANSACTION_TOTALS, f.CORE, f.SDGS,
    f.PARTNERS_BY_YEAR, RESULT_MONEY, LINKS,
)  # fmt: skip
"""The activity's data tables, in order (its page renderings and its API item)."""


def data_tables(
    conn: Connection,
    ctx: Context,
    act: dict[str, Any],
    totals: dict[str, int],
    linked: dict[int, dict[str, Any]] | None = None,
) -> list[DataTable]:
    """The activity's TABLES: long lists streamed (``totals``: store.activity.counts;
    ``linked``: result_money of every result, when the caller has it already)."""
    aid, identifier, language = act["id"], act["iati_identifier"], ctx.language
    names = Names(language)
    # The money of the plan period asked for (?plan_period=), else of every year.
    period = plan_period(ctx, identifier)
    own = Filters(
        activity=identifier,
        currency=ctx.currency,
        years=(period.start, period.end) if period is not None else None,
    )
    by_year = f.by_year(conn, ctx, own)
    by_type = [
        {**line, "transaction_type_name": label(ctx, "TransactionType", line["transaction_type"])}
        for line in stored.transaction_totals(conn, aid, act["default_currency"])
    ]
    budget_rows = _stream(
        lambda: stored.list_stream(conn, aid, "budgets", language),
        _budget(names, act["default_currency"]),
    )
    transaction_rows = _stream(
        lambda: stored.list_stream(conn, aid, "transactions", language),
        _transaction(names, act["default_currency"]),
    )
    plan = publisher_plan(ctx, act)

    def with_plan_indicator(row: dict[str, Any]) -> dict[str, Any]:
        code = plan.plan_indicator_of(row["references"]) if plan is not None else None
        return {**row, "plan_indicator_code": code}

    period_rows = _stream(
        lambda: stored.indicator_period_stream(conn, aid, language), with_plan_indicator
    )
    links_query = listing.links_resource().select(Filters(activity=identifier))
    link_rows = _stream(lambda: _rows_of(conn, links_query), dict)
    return [
        table(f.BY_YEAR, by_year),
        table(BUDGETS, stream=budget_rows, total=totals["budgets"]),
        table(TRANSACTIONS, stream=transaction_rows, total=totals["transactions"]),
        table(INDICATOR_PERIODS, stream=period_rows),
        table(TRANSACTION_TOTALS, by_type),
        table(f.CORE, f.core_and_non_core(conn, ctx, own)),
        table(f.SDGS, f.sdgs(conn, ctx, own)),
        table(f.PARTNERS_BY_YEAR, f.partners_by_year(conn, ctx, own)),
        table(RESULT_MONEY, result_rows(conn, ctx, act, linked)),
        table(LINKS, stream=link_rows, total=listing.count(conn, links_query)),
    ]


def result_rows(
    conn: Connection,
    ctx: Context,
    act: dict[str, Any],
    linked: dict[int, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The RESULT_MONEY rows: every result, one row per currency of its linked activity's money (a
    result without one: one row, money empty)."""
    if linked is None:
        linked = result_money(conn, ctx, act["id"], act["iati_identifier"], None)
    rows = []
    for r in stored.result_list(conn, act["id"], ctx.language):
        found = linked.get(r["id"])
        base = {
            "number": r["number"],
            "result_type": r["result_type"],
            "result_type_name": label(ctx, "ResultType", r["result_type"]),
            "title": _text(r["title"]),
            "linked_activity": found["activity"] if found else None,
        }
        lines = found["lines"] if found else []
        for line in lines or [{}]:
            rows.append(
                {
                    **base,
                    "currency": line.get("currency"),
                    **{k: line.get(k) for k in ("budget", "expenditure", "utilisation_percent")},
                }
            )
    return rows


def plan_period(ctx: Context, identifier: str) -> PlanPeriod | None:
    """The plan period ``?plan_period=2022-2025`` asks for, if the profile defines it for the
    activity's office (or for every office); None shows every year."""
    plan = ctx.portal.home.strategic_plan
    wanted = (ctx.params.get("plan_period") or "").replace("–", "-")
    if plan is None or not wanted:
        return None
    parts = plan.parse_identifier(identifier)
    office = parts.office if parts else None
    for period in plan.periods:
        if f"{period.start}-{period.end}" == wanted and period.office in (None, office):
            return period
    return None
