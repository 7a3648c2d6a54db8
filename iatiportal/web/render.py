"""One resource, many renderings: the renderer registry.

A page function returns a :class:`Page`: the template and context for HTML, and the same data
as named tables for the other formats. ``/countries/ML`` is HTML; ``/countries/ML.json``,
``.csv`` and ``.xlsx`` are renderings of the same Page, chosen here (STYLE.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

FORMATS = ("json", "csv", "xlsx")
"""Renderings every page offers besides HTML."""


@dataclass
class Column:
    key: str
    label: str


@dataclass
class DataTable:
    """The data behind a page section, for the non-HTML renderings."""

    name: str
    columns: list[Column]
    rows: list[dict[str, Any]]


@dataclass
class Page:
    template: str
    title: str
    context: dict[str, Any] = field(default_factory=dict)
    tables: list[DataTable] = field(default_factory=list)
    status_code: int = 200


Renderer = Callable[[Request, Page, "HtmlRenderer"], Response]
RENDERERS: dict[str, Renderer] = {}


class HtmlRenderer:
    """Renders a Page's template; set by the app (it owns the Jinja environment)."""

    def __init__(self, render: Callable[[Request, Page], str]) -> None:
        self.render = render


def renderer(fmt: str) -> Callable[[Renderer], Renderer]:
    def register(fn: Renderer) -> Renderer:
        RENDERERS[fmt] = fn
        return fn

    return register


def split_format(value: str) -> tuple[str, str]:
    """``"ML.json"`` -> ``("ML", "json")``; values without a known suffix are HTML."""
    stem, dot, suffix = value.rpartition(".")
    if dot and suffix in FORMATS:
        return stem, suffix
    return value, "html"


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


_NAMED_PARAMETERS = ("country", "region", "year", "partner", "impact_area", "sdg", "q", "table")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _filename(request: Request, fmt: str) -> str:
    """``iatiportal-countries-ML-2022.csv``: the page, then the query values that narrow it."""
    path = request.url.path.strip("/").replace("/", "-") or "index"
    stem = path.rsplit(".", 1)[0] if path.endswith(f".{fmt}") else path
    values = [request.query_params.get(name) for name in _NAMED_PARAMETERS]
    parts = [stem, *(v for v in values if v)]
    name = "-".join(_UNSAFE.sub("_", p).strip("_") for p in parts)
    return f"iatiportal-{name[:150]}.{fmt}"


@renderer("html")
def render_html(request: Request, page: Page, html: HtmlRenderer) -> Response:
    return HTMLResponse(html.render(request, page), status_code=page.status_code)


@renderer("json")
def render_json(request: Request, page: Page, html: HtmlRenderer) -> Response:
    body = {
        "title": page.title,
        "tables": {
            t.name: {
                "columns": [{"key": c.key, "label": c.label} for c in t.columns],
                "rows": [{c.key: _plain(r.get(c.key)) for c in t.columns} for r in t.rows],
            }
            for t in page.tables
        },
    }
    return Response(
        json.dumps(body, ensure_ascii=False, indent=1),
        status_code=page.status_code,
        media_type="application/json",
        headers={"Content-Disposition": f'inline; filename="{_filename(request, "json")}"'},
    )


def _chosen_table(request: Request, page: Page) -> DataTable | None:
    wanted = request.query_params.get("table")
    for table in page.tables:
        if wanted in (None, table.name):
            return table
    return None


@renderer("csv")
def render_csv(request: Request, page: Page, html: HtmlRenderer) -> Response:
    table = _chosen_table(request, page)
    out = io.StringIO()
    writer = csv.writer(out)
    if table is not None:
        writer.writerow([c.label for c in table.columns])
        for row in table.rows:
            writer.writerow([_plain(row.get(c.key)) for c in table.columns])
    return Response(
        out.getvalue(),
        status_code=page.status_code,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_filename(request, "csv")}"'},
    )


@renderer("xlsx")
def render_xlsx(request: Request, page: Page, html: HtmlRenderer) -> Response:
    book = Workbook(write_only=True)
    for table in page.tables or [DataTable("empty", [], [])]:
        sheet = book.create_sheet(title=table.name[:31])
        sheet.append([c.label for c in table.columns])
        for row in table.rows:
            sheet.append([_plain(row.get(c.key)) for c in table.columns])
    out = io.BytesIO()
    book.save(out)
    return Response(
        out.getvalue(),
        status_code=page.status_code,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{_filename(request, "xlsx")}"'},
    )
