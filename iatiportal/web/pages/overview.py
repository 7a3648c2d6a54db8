"""The overview ``/``: headline totals of a year, money by impact area, region, country and
SDG, and the top funding partners."""

from __future__ import annotations

from sqlalchemy import Connection

from iatiportal.datasets import figures as f
from iatiportal.datasets import organisation as org_files
from iatiportal.datasets.context import Context
from iatiportal.i18n import country_name
from iatiportal.i18n import gettext as _
from iatiportal.web import charts
from iatiportal.web.pages import table
from iatiportal.web.render import Page

TOP_PARTNERS = 10


def build(conn: Connection, ctx: Context) -> Page:
    years, year = f.years(conn, ctx, ctx.money())
    in_year = ctx.money(year=year)
    totals = f.totals(conn, ctx, in_year)
    partners = f.funding_partners(conn, ctx, in_year)
    counts = f.counts(conn, ctx, partners)
    areas = f.impact_areas(conn, ctx, in_year)
    regions = f.regions(conn, ctx, in_year, unspecified=True)
    top = [p for p in partners if p["incoming_funds"] is not None][:TOP_PARTNERS]
    by_year = f.by_year(conn, ctx, ctx.money())
    sdgs = f.sdgs(conn, ctx, in_year)
    country_money = f.country_money(conn, ctx, in_year)
    said = org_files.of_organisation(conn, ctx, ctx.home)
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
            "said": org_files.for_page(said),
            "map": charts.world_map("world-map", country_money, country_name, year),
            "charts": {
                "by_year": charts.budget_by_year("by-year", by_year),
                "areas": charts.budget_by_name("impact-areas", _("Impact areas"), areas),
                "sdgs": charts.budget_by_name("sdgs", _("Sustainable Development Goals"), sdgs),
            },
        },
        [
            table(f.TOTALS, totals),
            table(f.BY_YEAR, by_year),
            table(f.COUNTRY_MONEY, country_money),
            table(f.SDGS, sdgs),
            table(f.COUNTS, counts),
            table(f.IMPACT_AREAS, areas),
            table(f.REGIONS, regions),
            table(f.PARTNERS, top),
            table(org_files.ORGANISATION_BUDGETS, said),
        ],
    )
