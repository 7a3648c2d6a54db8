"""What the activity page adds for its charts: budget and expenditure by year (from
store.money, with the same status and hierarchy rules as every other total) and the progress of
each indicator (from the results the page already shows)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from iatiportal.profile import Portal
from iatiportal.store import money
from iatiportal.store.money import Filters
from iatiportal.web import charts
from iatiportal.web.countries import MONEY_COLUMNS, per_currency
from iatiportal.web.render import Column, DataTable, Page


def with_charts(conn: Connection, page: Page | None, portal: Portal) -> Page | None:
    """The activity ``page`` (views.activity) with its by-year table and the charts' data."""
    if page is None:
        return None
    identifier = page.context["act"]["iati_identifier"]
    by_year = [
        {**line, "year": line["key"]}
        for line in per_currency(
            money.by_year(conn, portal, Filters(activity=identifier)), key=lambda r: r.year
        )
    ]
    progress: dict[int, dict[str, Any]] = {}
    for result in page.context.get("results", []):
        for indicator in result["indicators"]:
            spec = charts.indicator_progress(f"indicator-{indicator['id']}", indicator)
            if spec is not None:
                progress[indicator["id"]] = spec
    page.context.update(
        by_year=by_year,
        charts={"by_year": charts.budget_by_year("by-year", by_year)},
        indicator_charts=progress,
    )
    page.tables.insert(
        0,
        DataTable(
            "budget_and_expenditure_by_year", [Column("year", "year"), *MONEY_COLUMNS], by_year
        ),
    )
    return page
