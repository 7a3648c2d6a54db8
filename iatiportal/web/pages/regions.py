"""The regions ``/regions`` and one region ``/regions/{code}``."""

from __future__ import annotations

from sqlalchemy import Connection

from iatiportal.datasets import figures as f
from iatiportal.datasets.context import Context
from iatiportal.i18n import country_name
from iatiportal.i18n import gettext as _
from iatiportal.store import money, queries
from iatiportal.web import charts
from iatiportal.web.pages import pick, requested_page, table, titled
from iatiportal.web.render import Page


def build(conn: Connection, ctx: Context) -> Page:
    years, year = f.years(conn, ctx, ctx.money())
    items = f.regions(conn, ctx, ctx.money(year=year), unspecified=False)
    return Page(
        "regions.html",
        _("Regions"),
        {"items": items, "years": years, "year": year},
        [table(f.REGIONS, items)],
    )


def region(conn: Connection, ctx: Context, code: str) -> Page | None:
    pager = requested_page(ctx)
    acts = pager.fetch(
        lambda offset, limit: queries.activity_page(
            conn, region=code, reporting_orgs=ctx.home, offset=offset, limit=limit
        )
    )
    if pager.total == 0:
        return None
    base = ctx.money(region=code)
    years, year = f.years(conn, ctx, base)
    in_year = ctx.money(region=code, year=year)
    by_year = f.by_year(conn, ctx, base)
    vocabulary = next(
        (
            r.recipient_region_vocabulary
            for r in money.by_region(conn, ctx.portal, base)
            if r.recipient_region_code == code
        ),
        None,
    )
    money_by_activity = f.money_of(conn, ctx, in_year, [a["iati_identifier"] for a in acts])
    items = [
        {
            "iati_identifier": a["iati_identifier"],
            "title": pick(ctx, a["titles"]),
            "money": money_by_activity.get(a["iati_identifier"], []),
        }
        for a in acts
    ]
    name = f.region_name(ctx, vocabulary, code)
    country_money = f.country_money(conn, ctx, in_year)
    return Page(
        "region.html",
        name,
        {
            "code": code,
            "name": name,
            "years": years,
            "year": year,
            "by_year": by_year,
            "country_money": country_money,
            "map": charts.world_map("world-map", country_money, country_name, year),
            "charts": {"by_year": charts.budget_by_year("by-year", by_year)},
            "items": items,
            "pager": pager,
            "partners": f.funding_partners(conn, ctx, in_year),
        },
        [
            table(f.BY_YEAR, by_year),
            table(f.COUNTRY_MONEY, country_money),
            table(f.REGION_ACTIVITIES, titled(f.flat(items))),
        ],
    )
