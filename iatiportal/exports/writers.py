"""One writer per format: rows (dicts) under column keys, out as chunks of bytes.

CSV, JSON Lines and IATI XML are written a chunk of rows at a time as the rows come (from a
server-side cursor, say), so memory stays flat and the first bytes can leave at once. XLSX is
written row by row to a temporary file (openpyxl's write-only mode), then read back in chunks:
a workbook is a zip whose directory comes last. Values are written by ``encode``.

CSV is UTF-8 (``bom=True`` adds the byte-order mark that Excel wants). ``columns`` and
``Labeller`` give each coded field its name beside its code (``transaction_type``,
``transaction_type_name``). ``xml_chunks`` wraps stored raw activities in an
``iati-activities`` root.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, Protocol

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from iatiportal import standard
from iatiportal.exports import encode

FORMATS = ("csv", "xlsx", "jsonl", "xml")
"""The formats a whole list downloads in."""

MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "jsonl": "application/jsonl; charset=utf-8",
    "xml": "application/xml",
}
CHUNK = 500
"""Rows per chunk of a streamed download."""

BOM = "\ufeff"
SHEET_TITLE_MAX = 31  # characters in a worksheet's name (Excel's limit)

Row = Mapping[str, Any]


class CodedField(Protocol):
    """A list's field (``store.listing.Field``): its name, and the codelist naming its codes."""

    @property
    def name(self) -> str: ...

    @property
    def codelist(self) -> str | None: ...


def columns(fields: Iterable[CodedField]) -> list[str]:
    """A download's columns: each field, and after each coded field its name."""
    out = []
    for f in fields:
        out.append(f.name)
        if f.codelist is not None:
            out.append(f"{f.name}_name")
    return out


class Labeller:
    """Adds the ``<field>_name`` columns to rows (codelists read once per download)."""

    def __init__(self, fields: Iterable[CodedField], language: str = "en") -> None:
        self.fields = tuple(fields)
        self.names = {
            f.name: standard.code_names(f.codelist, language)
            for f in self.fields
            if f.codelist is not None
        }

    def __call__(self, row: Row) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.fields:
            value = row.get(f.name)
            out[f.name] = value
            names = self.names.get(f.name)
            if names is not None:
                out[f"{f.name}_name"] = names.get(value, value) if value is not None else None
        return out


def csv_chunks(
    keys: Sequence[str],
    rows: Iterable[Row],
    *,
    header: Sequence[str] | None = None,
    bom: bool = False,
) -> Iterator[bytes]:
    """CSV of the rows' ``keys`` (a missing key is an empty cell), under ``header`` (default:
    the keys); lines end in CRLF (RFC 4180)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if bom:
        out.write(BOM)
    writer.writerow(keys if header is None else header)
    for n, row in enumerate(rows, 1):
        writer.writerow([encode.csv_cell(row.get(k)) for k in keys])
        if n % CHUNK == 0:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")


def jsonl_chunks(keys: Sequence[str], rows: Iterable[Row]) -> Iterator[bytes]:
    """JSON Lines: one object per row, of its ``keys`` in that order."""
    lines: list[str] = []
    for row in rows:
        lines.append(encode.dumps({k: row.get(k) for k in keys}))
        if len(lines) == CHUNK:
            yield ("\n".join(lines) + "\n").encode("utf-8")
            lines = []
    if lines:
        yield ("\n".join(lines) + "\n").encode("utf-8")


@dataclass
class Sheet:
    """One worksheet of a workbook: its name, the rows' keys, their header (default: the keys)."""

    name: str
    keys: Sequence[str]
    rows: Iterable[Row]
    header: Sequence[str] | None = None


def xlsx_file(sheets: Iterable[Sheet]) -> IO[bytes]:
    """A temporary file holding the workbook, at its start (close it when done: file_chunks
    does). A workbook needs a sheet: without any it has one empty sheet."""
    book = Workbook(write_only=True)
    written = 0
    for sheet in sheets:
        _append_sheet(book, sheet)
        written += 1
    if not written:
        book.create_sheet(title="empty")
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, which closes it
    book.save(spool)
    spool.seek(0)
    return spool


def _append_sheet(book: Workbook, sheet: Sheet) -> None:
    ws = book.create_sheet(title=sheet.name[:SHEET_TITLE_MAX])
    ws.append(list(sheet.keys if sheet.header is None else sheet.header))
    for row in sheet.rows:
        ws.append([_xlsx_cell(ws, row.get(k)) for k in sheet.keys])


def _xlsx_cell(ws: WriteOnlyWorksheet, value: Any) -> Any:
    cell = encode.xlsx_cell(value)
    if isinstance(cell, str) and cell.startswith("="):
        # openpyxl takes a string starting with "=" for a formula: publisher text must stay
        # text (a title "=HYPERLINK(...)" is not to run in the reader's spreadsheet).
        text = WriteOnlyCell(ws, cell)
        text.data_type = "s"
        return text
    return cell


def file_chunks(spool: IO[bytes], size: int = 1 << 16) -> Iterator[bytes]:
    """A file's bytes, a block at a time; the file is closed at the end (or when the
    generator is closed)."""
    try:
        while block := spool.read(size):
            yield block
    finally:
        spool.close()


def xml_chunks(
    raw_activities: Iterable[bytes], version: str, generated: dt.datetime
) -> Iterator[bytes]:
    """An ``iati-activities`` document of the stored activities, as published."""
    stamp = encode.timestamp(generated.replace(microsecond=0))
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
