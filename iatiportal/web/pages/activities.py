"""The list of activities ``/activities`` (``?country=`` narrows it)."""

from __future__ import annotations

from sqlalchemy import Connection

from iatiportal.datasets import Dataset, Field
from iatiportal.datasets.context import Context
from iatiportal.i18n import gettext as _
from iatiportal.store import queries
from iatiportal.web.pages import label, pick, requested_page, table, titled
from iatiportal.web.render import Page

ACTIVITIES = Dataset(
    "activities",
    "Current activities by identifier, with their title, status and dates.",
    (
        Field("iati_identifier", "string", "The activity's IATI identifier."),
        Field("title", "string", "The title in the page's language, else the first published."),
        Field("reporting_org_ref", "string", "The reporting organisation's identifier."),
        Field("activity_status", "string", "Activity status code.", "ActivityStatus"),
        Field("activity_status_name", "string", "The status's name."),
        Field("start", "date", "Actual start date, else planned."),
        Field("end", "date", "Actual end date, else planned."),
    ),
)


def build(conn: Connection, ctx: Context) -> Page:
    country = ctx.filters.country
    page = requested_page(ctx)
    rows = page.fetch(
        lambda offset, limit: queries.activity_page(
            conn, country=country, offset=offset, limit=limit
        )
    )
    items = [
        {
            "iati_identifier": r["iati_identifier"],
            "title": pick(ctx, r["titles"]),
            "reporting_org_ref": r["reporting_org_ref"],
            "activity_status": r["activity_status"],
            "activity_status_name": label(ctx, "ActivityStatus", r["activity_status"]),
            "start": r["start_actual"] or r["start_planned"],
            "end": r["end_actual"] or r["end_planned"],
        }
        for r in rows
    ]
    return Page(
        "activities.html",
        _("Activities"),
        {"items": items, "pager": page, "country": country},
        [table(ACTIVITIES, titled(items))],
    )
