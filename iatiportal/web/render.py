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
import tempfile
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse

from iatiportal.web.downloads import file_chunks

FORMATS = ("json", "csv", "xlsx")
"""Renderings every page offers besides HTML."""


@dataclass
class Column:
    key: str
    label: str


def columns(*keys: str) -> list[Column]:
    """Columns whose labels in the data renderings are their keys."""
    return [Column(key, key) for key in keys]


RowStream = Callable[[], Iterator[dict[str, Any]]]
"""Every row of a table, fetched as it is iterated (on the page's own connection, held by
the app until the last row is sent: the rows come from the data the page was built from)."""

STREAM_CHUNK = 500
"""Rows per chunk of a streamed rendering."""


@dataclass
class DataTable:
    """The data behind a page section, for the non-HTML renderings.

    A list that can be long gives ``stream`` instead of ``rows`` (then empty): its renderings
    are streamed as the rows come, so that no response holds the whole list (issue 10).
    """

    name: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    stream: RowStream | None = None
    total: int | None = None  # of a streamed table, when the page counted its rows

    def every_row(self) -> Generator[dict[str, Any], None, None]:
        """The rows, streamed or not (close the generator to give back a stream's connection
        when stopping early)."""
        yield from self.stream() if self.stream is not None else self.rows


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


def _streamed(page: Page) -> bool:
    return any(t.stream is not None for t in page.tables)


def _json_chunks(page: Page) -> Iterator[bytes]:
    """The JSON rendering, written a chunk of rows at a time."""

    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    yield f'{{"title": {dump(page.title)}, "tables": {{'.encode()
    for n, t in enumerate(page.tables):
        columns = dump([{"key": c.key, "label": c.label} for c in t.columns])
        yield f'{", " if n else ""}{dump(t.name)}: {{"columns": {columns}, "rows": ['.encode()
        lines: list[str] = []
        for i, r in enumerate(t.every_row()):
            row = dump({c.key: _plain(r.get(c.key)) for c in t.columns})
            lines.append(row if i == 0 else "," + row)
            if len(lines) == STREAM_CHUNK:
                yield "\n".join(lines).encode()
                lines = []
        yield ("\n".join(lines) + "]}").encode()
    yield b"}}\n"


@renderer("json")
def render_json(request: Request, page: Page, html: HtmlRenderer) -> Response:
    if _streamed(page):
        return StreamingResponse(
            _json_chunks(page), status_code=page.status_code, media_type="application/json"
        )
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


def _csv_chunks(table: DataTable) -> Iterator[bytes]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.label for c in table.columns])
    for n, row in enumerate(table.every_row(), 1):
        writer.writerow([_plain(row.get(c.key)) for c in table.columns])
        if n % STREAM_CHUNK == 0:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")


@renderer("csv")
def render_csv(request: Request, page: Page, html: HtmlRenderer) -> Response:
    table = _chosen_table(request, page)
    headers = {"Content-Disposition": f'attachment; filename="{_filename(request, "csv")}"'}
    if table is not None and table.stream is not None:
        return StreamingResponse(
            _csv_chunks(table),
            status_code=page.status_code,
            media_type="text/csv; charset=utf-8",
            headers=headers,
        )
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
        headers=headers,
    )


@renderer("xlsx")
def render_xlsx(request: Request, page: Page, html: HtmlRenderer) -> Response:
    book = Workbook(write_only=True)
    for table in page.tables or [DataTable("empty", [], [])]:
        sheet = book.create_sheet(title=table.name[:31])
        sheet.append([c.label for c in table.columns])
        for row in table.every_row():
            sheet.append([_plain(row.get(c.key)) for c in table.columns])
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    headers = {"Content-Disposition": f'attachment; filename="{_filename(request, "xlsx")}"'}
    if _streamed(page):
        # A workbook is a zip whose directory comes last: it is written to a temporary file
        # (openpyxl's write-only mode keeps the rows in one of its own), then sent from it.
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - file_chunks closes it
        book.save(spool)
        spool.seek(0)
        return StreamingResponse(
            file_chunks(spool), status_code=page.status_code, media_type=media_type, headers=headers
        )
    out = io.BytesIO()
    book.save(out)
    return Response(
        out.getvalue(), status_code=page.status_code, media_type=media_type, headers=headers
    )
