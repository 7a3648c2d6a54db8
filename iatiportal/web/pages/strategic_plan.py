"""The strategic plan ``/strategic-plan`` and one impact area ``/strategic-plan/{code}``."""

from __future__ import annotations

from sqlalchemy import Connection, select

from iatiportal.datasets import figures as f
from iatiportal.datasets.context import Context
from iatiportal.i18n import gettext as _
from iatiportal.profile import Portal, StrategicPlan
from iatiportal.store import plan as contributions
from iatiportal.store import queries
from iatiportal.web.pages import pick, table, titled
from iatiportal.web.render import Page


def plan_of(portal: Portal) -> StrategicPlan | None:
    """The home publisher's strategic plan, if its profile names one (with its vocabulary)."""
    plan = portal.home.strategic_plan
    return plan if plan is not None and plan.sector_vocabulary else None


def build(conn: Connection, ctx: Context) -> Page:
    """The home publisher's strategic plan: impact areas with money and outcome counts; a
    portal whose profile names no plan says so."""
    plan = plan_of(ctx.portal)
    if plan is None:
        return Page(
            "strategic_plan.html",
            _("Strategic plan"),
            {"no_plan": True, "areas": [], "years": [], "year": None, "unlinked": []},
            [table(f.PLAN, [])],
        )
    years, year = f.years(conn, ctx, ctx.money())
    areas, unlinked = f.plan_areas(conn, ctx, plan, year)
    return Page(
        "strategic_plan.html",
        plan.name.get(ctx.language) or _("Strategic plan"),
        {"areas": areas, "years": years, "year": year, "unlinked": unlinked},
        [table(f.PLAN, f.flat(areas))],
    )


def area(conn: Connection, ctx: Context, code: str) -> Page | None:
    """One impact area: the offices' outcomes that contribute to it, with their money."""
    plan = plan_of(ctx.portal)
    found = plan.impact_area(code) if plan is not None else None
    if plan is None or found is None:
        return None
    base = ctx.money(sectors=((plan.sector_vocabulary or "", code),))
    years, year = f.years(conn, ctx, base)
    in_year = ctx.money(sectors=((plan.sector_vocabulary or "", code),), year=year)
    c = contributions.contributions(plan, conn.dialect.name, ctx.home).subquery()
    rows = conn.execute(
        select(c.c.activity_id, c.c.iati_identifier, c.c.office, c.c.outcome_code)
        .where(c.c.impact_area == code)
        .order_by(c.c.iati_identifier, c.c.activity_id)
    ).all()
    titles = queries.titles_of(conn, [r.activity_id for r in rows])
    money_by_activity = f.money_of(conn, ctx, in_year, [r.iati_identifier for r in rows])
    progress = queries.indicator_progress(conn, ctx.home, year)
    items = []
    total = queries.IndicatorProgress()
    for r in rows:
        own = progress.get(r.activity_id, queries.IndicatorProgress())
        total.add(own)
        items.append(
            {
                "iati_identifier": r.iati_identifier,
                "title": pick(ctx, titles.get(r.activity_id)),
                "outcome_code": r.outcome_code,
                "office": r.office,
                "progress": vars(own),
                **f.indicator_fields(own),
                "money": money_by_activity.get(r.iati_identifier, []),
            }
        )
    by_year = f.by_year(conn, ctx, base)
    name = found.name.get(ctx.language)
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
        [table(f.BY_YEAR, by_year), table(f.PLAN_OUTCOMES, titled(f.flat(items)))],
    )
