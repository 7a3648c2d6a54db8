"""The overview and the country pages (the list of countries and each country's four tabs).

Every money figure comes from ``store.money`` (the one module that computes totals); this
module only arranges its rows for the templates and the data renderings.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from iatiportal import reference
from iatiportal.profile import Portal, StrategicPlan
from iatiportal.store import money, queries
from iatiportal.store.money import Filters, MoneyRow
from iatiportal.web import charts, i18n
from iatiportal.web.i18n import country_name, current_language
from iatiportal.web.i18n import gettext as _
from iatiportal.web.params import whole_number
from iatiportal.web.render import Column, DataTable, Page
from iatiportal.web.views import WHOLE_LISTS, Pager, pick, requested_page
from iatiportal.web.views import label as code_label

TABS = ("overview", "results", "progress", "strategic-plan")


def tab_names() -> dict[str, str]:
    return {
        "overview": _("Overview"),
        "results": _("Results & resources"),
        "progress": _("Our progress"),
        "strategic-plan": _("Strategic plan contributions"),
    }


def choose_year(params: Any, years: Sequence[int]) -> int | None:
    """The year asked for, else the latest year with money up to this one, else the latest."""
    wanted = whole_number(params.get("year"), 0, 9999)
    if wanted in years:
        return wanted
    this_year = dt.date.today().year
    past = [y for y in years if y <= this_year]
    return max(past) if past else (max(years) if years else None)


def per_currency(rows: Iterable[MoneyRow], key: Any = None) -> list[dict[str, Any]]:
    """Money rows as one line per currency (and key), with budget, expenditure and utilisation.

    ``key`` picks the grouping attribute(s) of a row (a function); None groups by currency only.
    """
    lines: dict[tuple[Any, str | None], dict[str, Any]] = {}
    for row in rows:
        k = key(row) if key else None
        line = lines.setdefault((k, row.currency), {"key": k, "currency": row.currency})
        line[row.measure] = line.get(row.measure, Decimal(0)) + row.value
    out = []
    for line in lines.values():
        budget = line.setdefault("budget", None)
        spent = line.setdefault("expenditure", None)
        line["utilisation"] = (
            (spent / budget * 100).quantize(Decimal("0.1"))
            if budget and spent is not None
            else None
        )
        out.append(line)
    return out


MONEY_COLUMNS = [
    Column("currency", "currency"),
    Column("budget", "budget"),
    Column("expenditure", "expenditure"),
    Column("utilisation", "utilisation_percent"),
]

OUTCOMES_PER_PAGE = 100
"""Outcomes per page on the country's Results and Strategic plan tabs."""

INDICATOR_COLUMNS = [
    Column("indicators", "indicators"),
    Column("indicators_with_target", "indicators_with_target"),
    Column("indicators_with_actual", "indicators_with_actual"),
    Column("indicators_comparable", "indicators_comparable"),
    Column("indicators_met", "indicators_met"),
]


def indicator_fields(progress: dict[str, int]) -> dict[str, int]:
    """The columns of INDICATOR_COLUMNS from the fields of a queries.IndicatorProgress."""
    return {k if k == "indicators" else f"indicators_{k}": v for k, v in progress.items()}


PARTNER_YEAR_COLUMNS = [
    Column("key", "provider_org"),
    Column("name", "provider_org_name"),
    Column("year", "year"),
    Column("currency", "currency"),
    Column("value", "incoming_funds"),
]
SDG_COLUMNS = [Column("sdg", "sdg"), Column("name", "name"), *MONEY_COLUMNS]
COUNTRY_MONEY_COLUMNS = [
    Column("country", "country_code"),
    Column("name", "country_name"),
    *MONEY_COLUMNS,
]


def partners_by_year(conn: Connection, portal: Portal, filters: Filters) -> list[dict[str, Any]]:
    """Incoming funds per funding partner, year and currency (``key``: the partner's
    reference, else its name as published)."""
    return [
        {
            "key": r.provider_org_ref or r.provider_org_name,
            "name": r.provider_org_name or r.provider_org_ref or _("Not named"),
            "year": r.year,
            "currency": r.currency,
            "value": r.value,
        }
        for r in money.by_provider(conn, portal, filters, per_year=True)
    ]


def sdg_lines(conn: Connection, portal: Portal, filters: Filters) -> list[dict[str, Any]]:
    """Budget and expenditure per Sustainable Development Goal (sector vocabulary 7)."""
    return [
        {
            **line,
            "sdg": line["key"],
            "name": code_label("UNSDG-Goals", line["key"]) if line["key"] else _("Not specified"),
        }
        for line in per_currency(
            money.by_sector(conn, portal, "7", filters), key=lambda r: r.sector_code
        )
    ]


def country_lines(conn: Connection, portal: Portal, filters: Filters) -> list[dict[str, Any]]:
    """Budget and expenditure per recipient country (what the world map shades)."""
    return [
        {**line, "country": line["key"], "name": country_name(line["key"])}
        for line in per_currency(
            money.by_country(conn, portal, filters), key=lambda r: r.recipient_country_code
        )
        if line["key"]
    ]


def countries(conn: Connection, params: Any, portal: Portal) -> Page:
    home = portal.home_org_refs
    years = money.years(conn, portal, Filters(reporting_org=home))
    year = choose_year(params, years)
    counts = queries.countries(conn, home)
    rows = money.by_country(conn, portal, Filters(reporting_org=home, year=year))
    lines = per_currency(rows, key=lambda r: r.recipient_country_code)
    by_code: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        if line["key"]:
            by_code.setdefault(line["key"], []).append(line)
    items: list[dict[str, Any]] = [
        {
            "code": code,
            "name": country_name(code),
            "activities": n,
            "money": by_code.get(code, []),
        }
        for code, n in counts.items()
    ]
    items.sort(key=lambda i: str(i["name"]))
    page = requested_page(params)
    page.fit(len(items))
    shown = items[page.offset : page.offset + page.per_page]
    table_rows = [
        {
            "country_code": i["code"],
            "country_name": i["name"],
            "activities": i["activities"],
            "year": year,
            **m,
        }
        for i in items
        for m in (i["money"] or [{"currency": None}])
    ]
    return Page(
        "countries.html",
        _("Countries"),
        {"items": shown, "pager": page, "years": years, "year": year},
        [
            DataTable(
                "countries",
                [
                    Column("country_code", "country_code"),
                    Column("country_name", "country_name"),
                    Column("activities", "activities"),
                    Column("year", "year"),
                    *MONEY_COLUMNS,
                ],
                table_rows,
            )
        ],
    )


def unconverted_lines(conn: Connection, portal: Portal, filters: Filters) -> list[dict[str, Any]]:
    """Amounts left out of converted totals for want of a rate, per measure and currency."""
    names = {"budget": _("Budget"), "expenditure": _("Expenditure")}
    return [
        {"measure": names.get(r.measure, r.measure), "currency": r.currency, "value": r.value}
        for r in money.unconverted(conn, portal, filters)
    ]


def reference_panel(conn: Connection, code: str, year: int | None) -> dict[str, Any]:
    """The country header's indicators: each with its year, source and definition; refused
    values are not shown, and their notices say why."""
    found = reference.for_country(conn, code, year)
    labels = {
        "un_region": _("Region"),
        "income_group": _("Income group"),
        "ldc": _("Least developed country"),
        "gii": _("Gender Inequality Index"),
        "gdi": _("Gender Development Index"),
        "population": _("Population"),
    }
    groups = {
        "Low income": _("Low income"),
        "Lower middle income": _("Lower middle income"),
        "Upper middle income": _("Upper middle income"),
        "High income": _("High income"),
    }
    shown = found.shown
    items = []
    for key, label in labels.items():
        value = shown.get(key)
        if value is None:
            continue
        if key == "income_group":
            text = groups.get(value.text or "", value.text or "")
        elif key == "ldc":
            text = _("yes") if value.number else _("no")
        elif key in ("gii", "gdi"):
            text = i18n.number(value.number, 3)
        elif key == "population":
            text = _("%(millions)s million") % {"millions": i18n.number(value.number, 2)}
            female = shown.get("population_female")
            if female is not None and female.year == value.year and value.number:
                share = i18n.number(100 * (female.number or 0) / value.number, 1)
                text += " · " + _("%(share)s %% female") % {"share": share}
        else:
            text = value.text or ""
        items.append(
            {
                "key": key,
                "label": label,
                "value": text,
                "year": value.year,
                "edition": value.edition,
                "source": value.source,
                "definition": reference.INDICATORS.get(key, ""),
            }
        )
    return {"reference": items, "reference_loaded": found.loaded, "refused": found.refused}


def country(conn: Connection, code: str, tab: str, params: Any, portal: Portal) -> Page | None:
    code = code.upper()
    home = portal.home_org_refs
    counts = queries.countries(conn, home)
    if code not in counts or tab not in TABS:
        return None
    base = Filters(reporting_org=home, country=code)
    years = money.years(conn, portal, base)
    year = choose_year(params, years)
    in_year = Filters(reporting_org=home, country=code, year=year)
    plan = portal.home.strategic_plan
    context: dict[str, Any] = {
        "code": code,
        "name": country_name(code),
        "tab": tab,
        "tabs": tab_names(),
        "years": years,
        "year": year,
        "choices": sorted(((c, country_name(c)) for c in counts), key=lambda c: c[1]),
        "activities_count": counts[code],
        "activity_label": portal.home.activity_label_plural.get(current_language.get()),
        "totals": per_currency(money.totals(conn, portal, in_year, ("budget", "expenditure"))),
        **reference_panel(conn, code, year),
        "unconverted": unconverted_lines(conn, portal, in_year),
    }
    tables: list[DataTable] = []
    if tab == "overview":
        by_year = [
            {**line, "year": line["key"]}
            for line in per_currency(money.by_year(conn, portal, base), key=lambda r: r.year)
        ]
        partners = money.funding_partners(conn, portal, in_year)
        areas: list[dict[str, Any]] = []
        if plan is not None and plan.sector_vocabulary:
            for line in per_currency(
                money.by_sector(conn, portal, plan.sector_vocabulary, in_year),
                key=lambda r: r.sector_code,
            ):
                area = plan.impact_area(line["key"]) if line["key"] else None
                line["name"] = area.name.get(current_language.get()) if area else _("Not specified")
                areas.append({**line, "impact_area": line["key"]})
        partner_years = charts.largest_and_other(partners_by_year(conn, portal, base))
        sdgs = sdg_lines(conn, portal, in_year)
        context.update(
            by_year=by_year,
            partners=partners,
            areas=areas,
            sdgs=sdgs,
            partner_years=charts.pivot_by_year(partner_years),
            charts={
                "by_year": charts.budget_by_year("by-year", by_year),
                "partners": charts.contributions(
                    "partners-by-year",
                    _("Funding partners' contributions by year"),
                    partner_years,
                    stacked=True,
                ),
                "areas": charts.budget_by_name("impact-areas", _("Impact areas"), areas),
                "sdgs": charts.budget_by_name("sdgs", _("Sustainable Development Goals"), sdgs),
            },
            locations_map=charts.location_map(
                "locations",
                queries.locations(conn, country=code, reporting_orgs=home),
                code,
                _("Locations"),
            ),
        )
        tables = [
            DataTable(
                "budget_and_expenditure_by_year", [Column("year", "year"), *MONEY_COLUMNS], by_year
            ),
            DataTable(
                "funding_partners",
                [
                    Column("provider_org_ref", "provider_org_ref"),
                    Column("provider_org_name", "provider_org_name"),
                    Column("currency", "currency"),
                    Column("value", "incoming_funds"),
                ],
                [vars(p) for p in partners],
            ),
            DataTable(
                "impact_areas",
                [Column("impact_area", "impact_area"), Column("name", "name"), *MONEY_COLUMNS],
                areas,
            ),
            DataTable("funding_partners_by_year", PARTNER_YEAR_COLUMNS, partner_years),
            DataTable("sdgs", SDG_COLUMNS, sdgs),
        ]
    else:
        per_page = requested_page(params)
        if tab != "progress" and not WHOLE_LISTS.get():
            # A country's outcomes fit one page as on the model (UN Women has a few dozen at
            # most); longer lists are paged, 100 at a time.
            per_page = Pager(per_page.page, OUTCOMES_PER_PAGE, 0)
        acts = per_page.fetch(
            lambda offset, limit: queries.activity_page(
                conn, country=code, reporting_orgs=home, offset=offset, limit=limit
            )
        )
        money_by_activity = money_of(conn, portal, in_year, [a["iati_identifier"] for a in acts])
        results = queries.results_for(conn, [a["id"] for a in acts]) if tab == "progress" else {}
        items = []
        for a in acts:
            parts = plan.parse_identifier(a["iati_identifier"]) if plan else None
            area_code = parts.impact_area_code if parts else None
            if plan and area_code is None:
                area_code = next((c for v, c in a["sectors"] if v == plan.sector_vocabulary), None)
            area = plan.impact_area(area_code) if plan and area_code else None
            items.append(
                {
                    "iati_identifier": a["iati_identifier"],
                    "title": pick(a["titles"]),
                    "outcome_code": parts.outcome_code if parts else None,
                    "impact_area_code": area_code,
                    "impact_area": area.name.get(current_language.get()) if area else None,
                    "money": money_by_activity.get(a["iati_identifier"], []),
                    "results": [_result(r) for r in results.get(a["id"], [])],
                }
            )
        context.update(items=items, pager=per_page)
        if tab == "strategic-plan":
            groups: dict[str | None, list[dict[str, Any]]] = {}
            for item in items:
                groups.setdefault(item["impact_area_code"], []).append(item)
            context["groups"] = [
                {
                    "code": c,
                    "name": _area_name(plan, c),
                    "outcomes": groups[c],
                }
                for c in sorted(groups, key=lambda c: (c is None, c or ""))
            ]
        tables = [
            DataTable(
                "outcomes",
                [
                    Column("iati_identifier", "iati_identifier"),
                    Column("title", "title"),
                    Column("outcome_code", "outcome_code"),
                    Column("impact_area_code", "impact_area_code"),
                    *MONEY_COLUMNS,
                ],
                [
                    {
                        **{k: v for k, v in i.items() if k not in ("money", "results")},
                        "title": i["title"][1] if i["title"] else None,
                        **m,
                    }
                    for i in items
                    for m in (i["money"] or [{"currency": None}])
                ],
            )
        ]
    title = f"{context['name']}: {context['tabs'][tab]}"
    return Page("country.html", title, context, tables)


def money_of(
    conn: Connection, portal: Portal, filters: Filters, identifiers: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """Budget and expenditure lines of the listed activities only (a page of a list: asking
    for every activity of a country costs 80 ms at 200,000 activities)."""
    out: dict[str, list[dict[str, Any]]] = {}
    if not identifiers:
        return out
    rows = money.by_activity(
        conn, portal, dataclasses.replace(filters, activities=tuple(identifiers))
    )
    for line in per_currency(rows, key=lambda r: r.iati_identifier):
        out.setdefault(line["key"], []).append(line)
    return out


def _area_name(plan: StrategicPlan | None, code: str | None) -> str | None:
    area = plan.impact_area(code) if plan is not None and code else None
    return area.name.get(current_language.get()) if area is not None else None


def _result(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": r["result_type"],
        "title": pick(r["title"]),
        "indicators": [
            {
                "title": pick(i["title"]),
                "baselines": [{"year": b["year"], "value": b["value"]} for b in i["baselines"]],
                "periods": [
                    {
                        "start": p["period_start"],
                        "end": p["period_end"],
                        "target": "; ".join(t["value"] or "" for t in p["targets"]),
                        "actual": "; ".join(a["value"] or "" for a in p["actuals"]),
                        "comment": next(
                            (pick(a["comment"]) for a in p["actuals"] if a["comment"]), None
                        ),
                    }
                    for p in i["periods"]
                ],
            }
            for i in r["indicators"]
        ],
    }


def overview(conn: Connection, params: Any, portal: Portal) -> Page:
    """Headline totals of a year, money by impact area and region, top funding partners."""
    home = portal.home_org_refs
    years = money.years(conn, portal, Filters(reporting_org=home))
    year = choose_year(params, years)
    in_year = Filters(reporting_org=home, year=year)
    totals = per_currency(money.totals(conn, portal, in_year, ("budget", "expenditure")))
    partners = money.funding_partners(conn, portal, in_year)
    counts_by_country = queries.countries(conn, home)
    total_activities, _page = queries.activity_page(conn, reporting_orgs=home, limit=0)
    counts = [
        {
            "measure": "activities",
            "label": portal.home.activity_label_plural.get(current_language.get()),
            "value": total_activities,
        },
        {"measure": "countries", "label": _("Countries"), "value": len(counts_by_country)},
        {
            "measure": "funding_partners",
            "label": _("Funding partners"),
            "value": len({p.provider_org_ref or p.provider_org_name for p in partners}),
        },
    ]
    plan = portal.home.strategic_plan
    areas: list[dict[str, Any]] = []
    if plan is not None and plan.sector_vocabulary:
        for line in per_currency(
            money.by_sector(conn, portal, plan.sector_vocabulary, in_year),
            key=lambda r: r.sector_code,
        ):
            areas.append(
                {
                    **line,
                    "impact_area": line["key"],
                    "name": _area_name(plan, line["key"]) or _("Not specified"),
                }
            )
    regions = [
        {
            **line,
            "region": line["key"][1] if line["key"] else None,
            "region_vocabulary": line["key"][0] if line["key"] else None,
        }
        for line in per_currency(
            money.by_region(conn, portal, in_year),
            key=lambda r: (
                (r.recipient_region_vocabulary, r.recipient_region_code)
                if r.recipient_region_code
                else None
            ),
        )
    ]
    for line in regions:
        line["name"] = (
            (
                portal.home.region_name(
                    line["region_vocabulary"], line["region"], current_language.get()
                )
                if line["region"]
                else None
            )
            or line["region"]
            or _("Country programmes and not specified")
        )
    top = [p for p in partners if p.value is not None][:10]
    by_year = [
        {**line, "year": line["key"]}
        for line in per_currency(
            money.by_year(conn, portal, Filters(reporting_org=home)), key=lambda r: r.year
        )
    ]
    sdgs = sdg_lines(conn, portal, in_year)
    country_money = sorted(country_lines(conn, portal, in_year), key=lambda c: str(c["name"]))
    return Page(
        "overview.html",
        _("Overview"),
        {
            "counts": counts,
            "totals": totals,
            "years": years,
            "year": year,
            "areas": areas,
            "regions": regions,
            "partners": top,
            "by_year": by_year,
            "sdgs": sdgs,
            "country_money": country_money,
            "map": charts.world_map("world-map", country_money, country_name, year),
            "charts": {
                "by_year": charts.budget_by_year("by-year", by_year),
                "areas": charts.budget_by_name("impact-areas", _("Impact areas"), areas),
                "sdgs": charts.budget_by_name("sdgs", _("Sustainable Development Goals"), sdgs),
            },
        },
        [
            DataTable("totals", MONEY_COLUMNS, totals),
            DataTable(
                "budget_and_expenditure_by_year", [Column("year", "year"), *MONEY_COLUMNS], by_year
            ),
            DataTable("countries", COUNTRY_MONEY_COLUMNS, country_money),
            DataTable("sdgs", SDG_COLUMNS, sdgs),
            DataTable("counts", [Column("measure", "measure"), Column("value", "value")], counts),
            DataTable(
                "impact_areas",
                [Column("impact_area", "impact_area"), Column("name", "name"), *MONEY_COLUMNS],
                areas,
            ),
            DataTable(
                "regions",
                [
                    Column("region_vocabulary", "region_vocabulary"),
                    Column("region", "region"),
                    Column("name", "name"),
                    *MONEY_COLUMNS,
                ],
                regions,
            ),
            DataTable(
                "funding_partners",
                [
                    Column("provider_org_ref", "provider_org_ref"),
                    Column("provider_org_name", "provider_org_name"),
                    Column("currency", "currency"),
                    Column("value", "incoming_funds"),
                ],
                [vars(p) for p in top],
            ),
        ],
    )


def strategic_plan(conn: Connection, params: Any, portal: Portal) -> Page | None:
    """The home publisher's strategic plan: impact areas with money and outcome counts."""
    plan = portal.home.strategic_plan
    if plan is None or not plan.sector_vocabulary:
        return None
    home = portal.home_org_refs
    years = money.years(conn, portal, Filters(reporting_org=home))
    year = choose_year(params, years)
    lines = per_currency(
        money.by_sector(
            conn, portal, plan.sector_vocabulary, Filters(reporting_org=home, year=year)
        ),
        key=lambda r: r.sector_code,
    )
    _total, acts = queries.activity_page(conn, reporting_orgs=home, limit=None)
    progress = queries.indicator_progress(conn, home, year)
    outcomes: dict[str, int] = {}
    offices: dict[str, set[str]] = {}
    indicators: dict[str, queries.IndicatorProgress] = {}
    for a in acts:
        code = _impact_area_of(plan, a)
        if code:
            outcomes[code] = outcomes.get(code, 0) + 1
            parts = plan.parse_identifier(a["iati_identifier"])
            if parts is not None and parts.office:
                offices.setdefault(code, set()).add(parts.office)
            indicators.setdefault(code, queries.IndicatorProgress()).add(
                progress.get(a["id"], queries.IndicatorProgress())
            )
    money_by_area: dict[str | None, list[dict[str, Any]]] = {}
    for line in lines:
        money_by_area.setdefault(line["key"], []).append(line)
    areas: list[dict[str, Any]] = [
        {
            "code": area.code,
            "name": area.name.get(current_language.get()),
            "outcomes": outcomes.get(area.code, 0),
            "offices": len(offices.get(area.code, ())),
            "indicators": vars(indicators.get(area.code, queries.IndicatorProgress())),
            "money": money_by_area.get(area.code, []),
        }
        for area in plan.impact_areas
    ]
    rows = [
        {
            "impact_area": a["code"],
            "name": a["name"],
            "outcomes": a["outcomes"],
            "offices": a["offices"],
            **indicator_fields(a["indicators"]),
            **m,
        }
        for a in areas
        for m in (a["money"] or [{"currency": None}])
    ]
    return Page(
        "strategic_plan.html",
        plan.name.get(current_language.get()) or _("Strategic plan"),
        {"areas": areas, "years": years, "year": year, "unlinked": money_by_area.get(None, [])},
        [
            DataTable(
                "impact_areas",
                [
                    Column("impact_area", "impact_area"),
                    Column("name", "name"),
                    Column("outcomes", "outcomes"),
                    Column("offices", "offices"),
                    *INDICATOR_COLUMNS,
                    *MONEY_COLUMNS,
                ],
                rows,
            )
        ],
    )


def strategic_plan_area(conn: Connection, code: str, params: Any, portal: Portal) -> Page | None:
    """One impact area: the offices' outcomes that contribute to it, with their money."""
    plan = portal.home.strategic_plan
    area = plan.impact_area(code) if plan is not None else None
    if plan is None or area is None or not plan.sector_vocabulary:
        return None
    home = portal.home_org_refs
    base = Filters(reporting_org=home, sector_vocabulary=plan.sector_vocabulary, sector=code)
    years = money.years(conn, portal, base)
    year = choose_year(params, years)
    in_year = Filters(
        reporting_org=home, sector_vocabulary=plan.sector_vocabulary, sector=code, year=year
    )
    _total, acts = queries.activity_page(conn, reporting_orgs=home, limit=None)
    acts = [a for a in acts if _impact_area_of(plan, a) == code]
    money_by_activity = money_of(conn, portal, in_year, [a["iati_identifier"] for a in acts])
    progress = queries.indicator_progress(conn, home, year)
    items = []
    total = queries.IndicatorProgress()
    for a in acts:
        parts = plan.parse_identifier(a["iati_identifier"])
        own = progress.get(a["id"], queries.IndicatorProgress())
        total.add(own)
        items.append(
            {
                "iati_identifier": a["iati_identifier"],
                "title": pick(a["titles"]),
                "outcome_code": parts.outcome_code if parts else None,
                "office": parts.office if parts else None,
                "indicators": vars(own),
                "money": money_by_activity.get(a["iati_identifier"], []),
            }
        )
    by_year = [
        {**line, "year": line["key"]}
        for line in per_currency(money.by_year(conn, portal, base), key=lambda r: r.year)
    ]
    name = area.name.get(current_language.get())
    return Page(
        "strategic_plan_area.html",
        name,
        {
            "code": code,
            "name": name,
            "items": items,
            "indicators": vars(total),
            "offices": len({i["office"] for i in items if i["office"]}),
            "by_year": by_year,
            "years": years,
            "year": year,
        },
        [
            DataTable(
                "budget_and_expenditure_by_year", [Column("year", "year"), *MONEY_COLUMNS], by_year
            ),
            DataTable(
                "outcomes",
                [
                    Column("iati_identifier", "iati_identifier"),
                    Column("title", "title"),
                    Column("office", "office"),
                    Column("outcome_code", "outcome_code"),
                    *INDICATOR_COLUMNS,
                    *MONEY_COLUMNS,
                ],
                [
                    {
                        **{k: v for k, v in i.items() if k not in ("money", "indicators")},
                        "title": i["title"][1] if i["title"] else None,
                        **indicator_fields(i["indicators"]),
                        **m,
                    }
                    for i in items
                    for m in (i["money"] or [{"currency": None}])
                ],
            ),
        ],
    )


def _impact_area_of(plan: StrategicPlan, activity: dict[str, Any]) -> str | None:
    """The impact area an activity contributes to: from its identifier, else its sectors."""
    parts = plan.parse_identifier(activity["iati_identifier"])
    if parts is not None and parts.impact_area_code:
        return parts.impact_area_code
    return next((c for v, c in activity["sectors"] if v == plan.sector_vocabulary), None)
