"""The list of countries ``/countries``: each with its activities and money of the year."""

from __future__ import annotations

from sqlalchemy import Connection

from iatiportal.datasets import figures as f
from iatiportal.datasets.context import Context
from iatiportal.i18n import gettext as _
from iatiportal.web.pages import requested_page, table
from iatiportal.web.render import Page


def build(conn: Connection, ctx: Context) -> Page:
    years, year = f.years(conn, ctx, ctx.money())
    items = f.countries(conn, ctx, year)
    page = requested_page(ctx).fit(len(items))
    return Page(
        "countries.html",
        _("Countries"),
        {
            "items": items[page.offset : page.offset + page.per_page],
            "pager": page,
            "years": years,
            "year": year,
        },
        [table(f.COUNTRIES, f.flat(items))],
    )
