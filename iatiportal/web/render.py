"""One resource, many renderings: the renderer registry.

A page function returns a :class:`Page`: the template and context for HTML, and the same data
as named tables for the other formats. ``/countries/ML`` is HTML; ``/countries/ML.json``,
``.csv`` and ``.xlsx`` are renderings of the same Page, chosen here (STYLE.md). The data
renderings are written by ``iatiportal.exports`` (the encoders, writers and file names the API's
downloads use too): this module only hands them a page's tables.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from iatiportal import i18n
from iatiportal.exports import encode, names, writers
from iatiportal.web.stream import Stream

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


def _disposition(request: Request, fmt: str, how: str = "attachment") -> dict[str, str]:
    """``iatiportal-countries-ML-2022.csv``: the page, then the query values that narrow it."""
    name = names.page_filename(request.url.path, request.query_params, fmt)
    return {"Content-Disposition": f'{how}; filename="{name}"'}


@renderer("html")
def render_html(request: Request, page: Page, html: HtmlRenderer) -> Response:
    headers = {"Content-Language": i18n.current_language.get()}
    return HTMLResponse(html.render(request, page), status_code=page.status_code, headers=headers)


def _streamed(page: Page) -> bool:
    return any(t.stream is not None for t in page.tables)


def _keys(table: DataTable) -> list[str]:
    return [c.key for c in table.columns]


def _labels(table: DataTable) -> list[str]:
    return [c.label for c in table.columns]


def _json_chunks(page: Page) -> Iterator[bytes]:
    """The JSON rendering, a row a line, written a chunk of rows at a time."""
    dump = encode.dumps
    yield f'{{"title": {dump(page.title)}, "tables": {{'.encode()
    for n, t in enumerate(page.tables):
        columns = dump([{"key": c.key, "label": c.label} for c in t.columns])
        yield f'{", " if n else ""}{dump(t.name)}: {{"columns": {columns}, "rows": ['.encode()
        keys = _keys(t)
        lines: list[str] = []
        for i, r in enumerate(t.every_row()):
            row = dump({k: r.get(k) for k in keys})
            lines.append(row if i == 0 else "," + row)
            if len(lines) == STREAM_CHUNK:
                yield "\n".join(lines).encode()
                lines = []
        yield ("\n".join(lines) + "]}").encode()
    yield b"}}\n"


def _respond(page: Page, chunks: Iterator[bytes], fmt: str, headers: dict[str, str]) -> Response:
    """Streamed when the page streams a table, else one body."""
    media_type = writers.MEDIA_TYPES[fmt]
    if _streamed(page):
        return Stream(chunks, status_code=page.status_code, media_type=media_type, headers=headers)
    return Response(
        b"".join(chunks), status_code=page.status_code, media_type=media_type, headers=headers
    )


@renderer("json")
def render_json(request: Request, page: Page, html: HtmlRenderer) -> Response:
    return _respond(page, _json_chunks(page), "json", _disposition(request, "json", "inline"))


def _chosen_table(request: Request, page: Page) -> DataTable | None:
    wanted = request.query_params.get("table")
    for table in page.tables:
        if wanted in (None, table.name):
            return table
    return None


@renderer("csv")
def render_csv(request: Request, page: Page, html: HtmlRenderer) -> Response:
    """One table (``?table=``, default the first) as CSV, written as the API's CSV is."""
    table = _chosen_table(request, page)
    chunks: Iterator[bytes] = iter(())
    if table is not None:
        chunks = writers.csv_chunks(_keys(table), table.every_row(), header=_labels(table))
    return _respond(page, chunks, "csv", _disposition(request, "csv"))


@renderer("xlsx")
def render_xlsx(request: Request, page: Page, html: HtmlRenderer) -> Response:
    """Every table, a worksheet each."""
    spool = writers.xlsx_file(
        writers.Sheet(t.name, _keys(t), t.every_row(), _labels(t)) for t in page.tables
    )
    # A workbook is a zip whose directory comes last: it is written to a temporary file
    # (openpyxl's write-only mode keeps the rows in one of its own), then sent from it.
    return _respond(page, writers.file_chunks(spool), "xlsx", _disposition(request, "xlsx"))
