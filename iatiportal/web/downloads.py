"""Downloads of whole lists: every row that matches the filters, streamed, in any format.

``?format=csv|xlsx|jsonl|xml`` on an API list gives all of its rows, not one page, from the
same query as the paged JSON. CSV, JSON Lines and IATI XML stream a chunk of rows at a time
from a server-side cursor, so memory stays flat and the first bytes leave at once; XLSX is
written row by row to a temporary file (openpyxl's write-only mode) and then sent, since a
workbook is a zip whose directory comes last.

CSV is UTF-8 (``bom=1`` adds the byte-order mark that Excel wants) and gives each code and its
name as separate columns (``transaction_type``, ``transaction_type_name``). IATI XML wraps the
stored raw activities behind the list in an ``iati-activities`` root.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import tempfile
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from openpyxl import Workbook

from iatiportal import standard
from iatiportal.store import listing
from iatiportal.store.filters import Filters

FORMATS = ("csv", "xlsx", "jsonl", "xml")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "jsonl": "application/jsonl; charset=utf-8",
    "xml": "application/xml",
}
CHUNK = 500
BOM = "\ufeff"


def columns(resource: listing.Resource) -> list[str]:
    """The download's columns: each field, and after each coded field its name."""
    out = []
    for f in resource.fields:
        out.append(f.name)
        if f.codelist is not None:
            out.append(f"{f.name}_name")
    return out


class Labeller:
    """Adds the ``<field>_name`` columns to rows (codelists read once per download)."""

    def __init__(self, resource: listing.Resource, language: str = "en") -> None:
        self.fields = resource.fields
        self.names = {
            f.name: standard.code_names(f.codelist, language)
            for f in resource.fields
            if f.codelist is not None
        }

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.fields:
            value = row.get(f.name)
            out[f.name] = value
            names = self.names.get(f.name)
            if names is not None:
                out[f"{f.name}_name"] = names.get(value, value) if value is not None else None
        return out


def json_value(value: Any) -> Any:
    """JSON for a stored value: exact decimals as numbers (up to 15 significant digits, as
    stored amounts are), dates as ISO 8601, times (stored as UTC) as RFC 3339."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _cell(value: Any) -> Any:
    """A CSV cell: decimals exactly as stored, dates and times as in JSON."""
    if isinstance(value, dt.date):
        return json_value(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def csv_chunks(
    resource: listing.Resource, rows: Iterable[dict[str, Any]], *, bom: bool = False
) -> Iterator[bytes]:
    names = columns(resource)
    label = Labeller(resource)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if bom:
        out.write(BOM)
    writer.writerow(names)
    for n, row in enumerate(rows, 1):
        labelled = label(row)
        writer.writerow([_cell(labelled[c]) for c in names])
        if n % CHUNK == 0:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")


def jsonl_chunks(resource: listing.Resource, rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    label = Labeller(resource)
    lines: list[str] = []
    for row in rows:
        lines.append(json.dumps(label(row), ensure_ascii=False, default=json_value))
        if len(lines) == CHUNK:
            yield ("\n".join(lines) + "\n").encode("utf-8")
            lines = []
    if lines:
        yield ("\n".join(lines) + "\n").encode("utf-8")


def xlsx_file(resource: listing.Resource, rows: Iterable[dict[str, Any]]) -> Any:
    """A temporary file holding the workbook (one sheet, named after the list), at its start."""
    names = columns(resource)
    label = Labeller(resource)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=resource.name[:31])
    sheet.append(names)
    for row in rows:
        labelled = label(row)
        sheet.append([_xlsx_cell(labelled[c]) for c in names])
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    book.save(spool)
    spool.seek(0)
    return spool


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def file_chunks(spool: Any, size: int = 1 << 16) -> Iterator[bytes]:
    try:
        while block := spool.read(size):
            yield block
    finally:
        spool.close()


def xml_chunks(
    raw_activities: Iterable[bytes], version: str, generated: dt.datetime
) -> Iterator[bytes]:
    """An ``iati-activities`` document of the stored activities, as published."""
    stamp = generated.replace(tzinfo=dt.UTC, microsecond=0).isoformat().replace("+00:00", "Z")
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<iati-activities version="{version}" generated-datetime="{stamp}">\n'
    )
    yield head.encode("utf-8")
    batch: list[bytes] = []
    for raw in raw_activities:
        batch.append(bytes(raw))
        if len(batch) == CHUNK:
            yield b"\n".join(batch) + b"\n"
            batch = []
    if batch:
        yield b"\n".join(batch) + b"\n"
    yield b"</iati-activities>\n"


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def filename(what: str, filters: Filters, ext: str) -> str:
    """``iatiportal-activities-ML-2022.csv``: the list, then the filters that narrow it."""
    parts = [what]
    parts += [v for v in (filters.country, filters.region) if v]
    if filters.year is not None:
        parts.append(str(filters.year))
    parts += list(filters.reporting_org)
    if filters.partner:
        parts.append(filters.partner)
    parts += [code or vocabulary for vocabulary, code in filters.sectors]
    if filters.humanitarian is not None:
        parts.append("humanitarian" if filters.humanitarian else "not-humanitarian")
    if filters.q:
        parts.append(filters.q)
    if filters.activity:
        parts.append(filters.activity)
    stem = "-".join(_UNSAFE.sub("_", p).strip("_") for p in parts if p)
    return f"iatiportal-{stem[:150]}.{ext}"
