"""A country ``/countries/{ISO2}`` and its tabs: overview, results & resources, our progress,
strategic plan contributions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from iatiportal import i18n, reference
from iatiportal.datasets import figures as f
from iatiportal.datasets import organisation as org_files
from iatiportal.datasets.context import Context
from iatiportal.i18n import country_name
from iatiportal.i18n import gettext as _
from iatiportal.profile import PlanPeriod, Profile, StrategicPlan
from iatiportal.store import progress, queries
from iatiportal.store.filters import Filters
from iatiportal.web import charts
from iatiportal.web.pages import Pager, pick, plan_indicator, requested_page, table, titled
from iatiportal.web.render import DataTable, Page

TABS = ("overview", "results", "progress", "strategic-plan")

OUTCOMES_PER_PAGE = 100
"""Outcomes per page on the country's Results and Strategic plan tabs."""


def tab_names() -> dict[str, str]:
    return {
        "overview": _("Overview"),
        "results": _("Results & resources"),
        "progress": _("Our progress"),
        "strategic-plan": _("Strategic plan contributions"),
    }


def definitions() -> dict[str, str]:
    """What each header indicator measures, in the page's language (the "i" disclosures)."""
    return {
        "un_region": _("The region and sub-region of the United Nations' M49 standard."),
        "income_group": _(
            "The World Bank's income group for the fiscal year, from gross national income "
            "per person (Atlas method): low, lower middle, upper middle or high income. "
            "Fiscal year FY2024 runs from July 2023 to June 2024."
        ),
        "ldc": _(
            "Whether the country is on the United Nations' list of Least Developed Countries, "
            "set by income, human assets and economic and environmental vulnerability."
        ),
        "gii": _(
            "UNDP's Gender Inequality Index: the loss in achievement from inequality between "
            "women and men in reproductive health, empowerment and the labour market, from 0 "
            "(equality) to 1."
        ),
        "gdi": _(
            "UNDP's Gender Development Index: women's Human Development Index over men's; "
            "1 is parity, below 1 women are behind."
        ),
        "population": _(
            "People living in the country at mid-year, in millions (UN World Population Prospects)."
        ),
        "women_and_men": _(
            "Women and men living in the country at mid-year, in millions, and their shares "
            "of the population, of the same year and edition as the population."
        ),
    }


def reference_panel(conn: Connection, code: str, year: int | None) -> dict[str, Any]:
    """The country header's indicators: each with its year, source and definition; refused
    values are not shown, and their notices say why; a population unusual but possible
    (``reference`` module docstring) has a ``note`` ({"rule", "text"}) on its women and men
    card (or on the population card when no sex count is shown). The population item also holds
    ``female`` and ``male``: the counts (millions, Decimal) of the same year and edition, or
    None. Those counts make a card of their own, ``women_and_men``, whose ``sexes`` are
    ``[{"key": "male", "label": "Male", "value": "12.35 million", "share": "50.4 %"}, ...]``
    for those published (their shares of the total)."""
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
    meaning = definitions()
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
        elif key == "un_region":
            text = reference.region_name(value.text or "", i18n.current_language.get())
        else:
            text = value.text or ""
        item: dict[str, Any] = {
            "key": key,
            "label": label,
            "value": text,
            "year": value.year,
            "edition": value.edition,
            "source": value.source,
            "definition": meaning.get(key, reference.INDICATORS.get(key, "")),
        }
        items.append(item)
        if key == "population":
            # Female and male counts of the total's year and edition (millions), for the
            # card "Male: … (…%) Female: … (…%)"; None where not published.
            sexes: list[dict[str, str]] = []
            for sex, sex_label in (("male", _("Male")), ("female", _("Female"))):
                part = shown.get(f"population_{sex}")
                same = part is not None and (part.year, part.edition) == (
                    value.year,
                    value.edition,
                )
                count = part.number if same and part is not None else None
                item[sex] = count
                if count is not None and value.number:
                    sexes.append(
                        {
                            "key": sex,
                            "label": sex_label,
                            "value": _("%(millions)s million")
                            % {"millions": i18n.number(count, 2)},
                            "share": i18n.percent(100 * count / value.number, 1),
                        }
                    )
            note = _population_note(value, item.get("female"))
            if sexes:
                items.append(
                    {
                        **item,
                        "key": "women_and_men",
                        "label": _("Women and men"),
                        "value": None,
                        "sexes": sexes,
                        "definition": meaning["women_and_men"],
                        "note": note,
                    }
                )
            else:
                item["note"] = note
    return {"reference": items, "reference_loaded": found.loaded, "refused": found.refused}


def _population_note(value: reference.Shown, female: Any) -> dict[str, str] | None:
    """The note of a population that is unusual but shown as published (``note_rule``), in
    the page's language: ``{"rule": ..., "text": ...}``; None without one."""
    if value.note_rule is None:
        return None
    text = value.note_message or ""
    if value.note_rule == "population-female-share" and female is not None and value.number:
        text = _(
            "Unusual, but this is what the source publishes: women are %(share)s of the "
            "population, outside the usual 40 to 60 %%."
        ) % {"share": i18n.percent(100 * female / value.number, 1)}
    return {"rule": value.note_rule, "text": text}


def _area_name(ctx: Context, plan: StrategicPlan | None, code: str | None) -> str | None:
    area = plan.impact_area(code) if plan is not None and code else None
    return area.name.get(ctx.language) if area is not None else None


def _result(ctx: Context, plan: StrategicPlan | None, r: dict[str, Any]) -> dict[str, Any]:
    """One result of an outcome on Our progress (``plan``: its publisher's strategic plan)."""
    return {
        "type": r["result_type"],
        "title": pick(ctx, r["title"]),
        "indicators": [
            {
                "title": pick(ctx, i["title"]),
                "plan_indicator": plan_indicator(ctx, plan, i["references"]),
                "baselines": [{"year": b["year"], "value": b["value"]} for b in i["baselines"]],
                "periods": [
                    {
                        "start": p["period_start"],
                        "end": p["period_end"],
                        "target": "; ".join(t["value"] or "" for t in p["targets"]),
                        "actual": "; ".join(a["value"] or "" for a in p["actuals"]),
                        "comment": next(
                            (pick(ctx, a["comment"]) for a in p["actuals"] if a["comment"]), None
                        ),
                    }
                    for p in i["periods"]
                ],
            }
            for i in r["indicators"]
        ],
    }


def _plan_period(
    conn: Connection, ctx: Context, code: str, year: int | None
) -> dict[str, Any] | None:
    """The current plan period in ``year`` of the country's office (read from its activity
    identifiers): the first office with its own period, else the period of every office."""
    plan = ctx.portal.home.strategic_plan
    if plan is None:
        return None

    def offices_of_country() -> list[str]:
        identifiers = progress.country_identifiers(conn, code, ctx.home)
        parsed = map(plan.parse_identifier, identifiers)
        return list(dict.fromkeys(p.office for p in parsed if p and p.office))

    # The offices depend on the store only: kept per data version (a country of a large store
    # has thousands of identifiers to read and parse).
    offices: list[str] = ctx.kept(("country_offices", code, ctx.home), offices_of_country)
    found: PlanPeriod | None = None
    for office in offices:
        period = plan.period_for(office, year)
        if period is not None and period.office is not None:
            found = period
            break
    if found is None:
        found = plan.period_for(None, year)
    if found is None:
        return None
    return {"start": found.start, "end": found.end, "office": found.office, "label": found.label}


def _progress(
    conn: Connection,
    ctx: Context,
    profile: Profile,
    acts: list[dict[str, Any]],
    items: list[dict[str, Any]],
    year: int | None,
) -> dict[str, Any]:
    """``context["progress"]`` of the Our progress tab (see ``build``)."""
    plan, source = profile.strategic_plan, profile.progress
    narratives = (
        progress.progress_narratives(
            conn,
            [a["id"] for a in acts],
            year,
            ctx.language,
            source=source.source,
            result_type=source.result_type,
            description_type=source.description_type,
        )
        if source is not None
        else {}
    )
    outcomes = []
    for a, item in zip(acts, items, strict=True):
        code = plan.plan_outcome_of(a["iati_identifier"], a["sectors"]) if plan else None
        found = plan.outcome(code) if plan is not None else None
        narrative = narratives.get(a["id"])
        outcomes.append(
            {
                "iati_identifier": a["iati_identifier"],
                "outcome_code": item["outcome_code"],
                "statement": item["title"],
                "plan_outcome": {
                    "code": code,
                    "statement": found.statement.pick(ctx.language) if found else None,
                }
                if code
                else None,
                "narrative": {
                    "lang": narrative.lang,
                    "text": narrative.text,
                    "requested": narrative.requested,
                    "languages": list(narrative.languages),
                }
                if narrative
                else None,
            }
        )
    return {
        "source": source.source if source else None,
        "year": year,
        "outcomes": outcomes,
    }


def _overview(
    conn: Connection, ctx: Context, code: str, year: int | None
) -> tuple[dict[str, Any], list[DataTable]]:
    found = f.country_overview(conn, ctx, code, year)
    by_year, areas, sdgs = (
        found["budget_and_expenditure_by_year"],
        found["impact_areas"],
        found["sdgs"],
    )
    partner_years = found["funding_partners_by_year"]
    # The home publisher's own budgets for this country, from its organisation file.
    said = (
        org_files.organisation_budgets(
            conn, ctx, Filters(reporting_org=ctx.home, country=code, currency=ctx.currency)
        )
        if ctx.home
        else []
    )
    flows = found["flows"]
    context = {
        "said": org_files.for_page(said),
        "by_year": by_year,
        "partners": found["funding_partners"],
        "areas": areas,
        "sdgs": sdgs,
        "partner_years": charts.pivot_by_year(partner_years),
        "flows": flows,
        "flow_table": charts.flow_table(flows),
        "home_name": ctx.portal.home.name.get(ctx.language),
        "charts": {
            "by_year": charts.budget_by_year("by-year", by_year),
            "partners": charts.contributions(
                "partners-by-year",
                _("Funding partners' contributions by year"),
                partner_years,
                stacked=True,
            ),
            "areas": charts.budget_by_name("impact-areas", _("Impact areas"), areas),
            "sdgs": charts.budget_by_name("sdgs", _("Sustainable Development Goals"), sdgs),
            "flows": charts.flow_diagram("flows", _("Flow of funds"), flows),
        },
    }
    tables = [table(d, found[d.name]) for d in f.COUNTRY_TABLES]
    return context, [*tables, table(org_files.ORGANISATION_BUDGETS, said)]


def _outcomes(
    conn: Connection, ctx: Context, code: str, tab: str, year: int | None
) -> tuple[dict[str, Any], list[DataTable]]:
    plan = ctx.portal.home.strategic_plan
    pager = requested_page(ctx)
    if tab != "progress" and not ctx.whole_lists:
        # A country's outcomes fit one page as on the model (UN Women has a few dozen at
        # most); longer lists are paged, 100 at a time.
        pager = Pager(pager.page, OUTCOMES_PER_PAGE, 0)
    acts = pager.fetch(
        lambda offset, limit: queries.activity_page(
            conn,
            country=code,
            reporting_orgs=ctx.home,
            offset=offset,
            limit=limit,
            outcomes_only=True,
        )
    )
    money_by_activity = f.money_of(
        conn, ctx, ctx.money(country=code, year=year), [a["iati_identifier"] for a in acts]
    )
    results = queries.results_for(conn, [a["id"] for a in acts]) if tab == "progress" else {}
    items = []
    for a in acts:
        parts = plan.parse_identifier(a["iati_identifier"]) if plan else None
        area_code = parts.impact_area_code if parts else None
        if plan and area_code is None:
            area_code = next((c for v, c in a["sectors"] if v == plan.sector_vocabulary), None)
        items.append(
            {
                "iati_identifier": a["iati_identifier"],
                "title": pick(ctx, a["titles"]),
                "outcome_code": parts.outcome_code if parts else None,
                "impact_area_code": area_code,
                "impact_area": _area_name(ctx, plan, area_code),
                "money": money_by_activity.get(a["iati_identifier"], []),
                "results": [
                    _result(ctx, ctx.portal.for_org(a["reporting_org_ref"]).strategic_plan, r)
                    for r in results.get(a["id"], [])
                ],
            }
        )
    context: dict[str, Any] = {"items": items, "pager": pager}
    if tab == "progress":
        context["progress"] = _progress(conn, ctx, ctx.portal.home, acts, items, year)
    if tab == "strategic-plan":
        groups: dict[str | None, list[dict[str, Any]]] = {}
        for item in items:
            groups.setdefault(item["impact_area_code"], []).append(item)
        context["groups"] = [
            {"code": c, "name": _area_name(ctx, plan, c), "outcomes": groups[c]}
            for c in sorted(groups, key=lambda c: (c is None, c or ""))
        ]
    return context, [table(f.OUTCOMES, titled(f.flat(items)))]


def build(conn: Connection, ctx: Context, code: str, tab: str = "overview") -> Page | None:
    """The country page of ``code`` on ``tab``; None for an unknown country or tab.

    Besides the header (``reference``: the indicators, see ``reference_panel``) every tab has
    ``plan_period``: the current plan period in the selected year of the country's office
    (from the home profile's ``[[strategic_plan.periods]]``; the office is read from the
    country's activity identifiers), ``{"start": 2022, "end": 2025, "office": "MLI" or None
    (the period of every office), "label": "2022–2025"}``, or None.

    The Our progress tab also has ``progress``, for the page of outcomes in ``items`` (same
    order, paged by ``pager``)::

        {
          "source": "actual-comment",   # the profile's [progress] source; None: not located
          "year": 2022,                 # the selected year
          "outcomes": [
            {
              "iati_identifier": "XM-DAC-41146-MLI_D_1.1",
              "outcome_code": "D_1.1",  # or None
              "statement": ("en", "More women in Mali lead ..."),  # (lang, text) or None
              "plan_outcome": {         # None: the activity relates to no plan outcome
                "code": "SP_D_1.1",
                "statement": ("en", "..."),  # (lang, text); None: code not in the profile
              },
              "narrative": {            # the year's progress narrative; None: none published
                "lang": "en",           # its language (render with lang= when it differs)
                "text": "...",
                "requested": True,      # False: not published in the page's language
                "languages": ["en", "fr"],  # every language it is published in
              },
            },
          ],
        }

    The model shows each as: statement "(Related to {code}: {statement})", then the narrative.

    Every tab also has ``located_places``, how many distinct located places the country's
    activities publish, and ``locations_map``, their map: the map summary at the page's foot.
    """
    code = code.upper()
    counts = ctx.countries(conn)
    if code not in counts or tab not in TABS:
        return None
    years, year = f.years(conn, ctx, ctx.money(country=code))
    in_year = ctx.money(country=code, year=year)
    context: dict[str, Any] = {
        "code": code,
        "name": country_name(code),
        "tab": tab,
        "tabs": tab_names(),
        "years": years,
        "year": year,
        "choices": sorted(((c, country_name(c)) for c in counts), key=lambda c: c[1]),
        "activities_count": counts[code],
        "activity_label": ctx.portal.home.activity_label_plural.get(ctx.language),
        "totals": f.totals(conn, ctx, in_year),
        **reference_panel(conn, code, year),
        "plan_period": _plan_period(conn, ctx, code, year),
        "unconverted": f.unconverted(conn, ctx, in_year),
    }
    # The map summary at the foot of every tab: the map of the located places and their count.
    places = queries.locations(conn, country=code, reporting_orgs=ctx.home)
    context["located_places"] = len({(p["latitude"], p["longitude"]) for p in places})
    context["locations_map"] = charts.location_map("locations", places, code, _("Locations"))
    if tab == "overview":
        more, tables = _overview(conn, ctx, code, year)
    else:
        more, tables = _outcomes(conn, ctx, code, tab, year)
    context.update(more)
    return Page("country.html", f"{context['name']}: {context['tabs'][tab]}", context, tables)
