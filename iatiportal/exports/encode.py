"""One encoder for stored values: JSON text, CSV cells and XLSX cells.

Money and percentages come back from both stores as ``Decimal`` (PostgreSQL ``NUMERIC``, and
SQLite's scaled integers converted back by ``store.exact``), so a Decimal is never turned into
a float on its way out:

- JSON: a Decimal is a JSON number written with exactly its digits (``12345678901234.56``,
  ``0.1``). The standard library's encoder can only write numbers through ``float``, so
  ``dumps`` is a small encoder of its own for the values rows hold (dicts, lists, strings,
  numbers, booleans, None, dates). Zeros after the decimal point are left out (the stores
  keep four decimals for every figure: ``100.0000`` is written ``100``, ``0.1000`` ``0.1``),
  the value is unchanged. Readers that parse numbers as doubles (JavaScript, Python's
  ``json`` by default) see the nearest double, as before; readers that parse them as
  decimals (``json.loads(text, parse_float=Decimal)``) get the exact figure.
- CSV: a Decimal is its digits exactly as stored (``12345678901234.5600``), booleans are
  ``true``/``false``, None is an empty cell.
- XLSX: numbers stay numbers (so that a spreadsheet can add them up), dates are date cells.
  A worksheet holds doubles: openpyxl writes up to 16 significant digits, which keeps every
  amount below 10^12 with four decimals (and 12345678901234.56) exact; longer figures are
  rounded to 16 digits, the most a spreadsheet number can hold.

Dates are ISO 8601 (``2022-01-31``); times, stored as UTC without a zone, are RFC 3339 in UTC
(``2022-01-31T10:00:00Z``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

_string = json.JSONEncoder(ensure_ascii=False).encode
"""A JSON string literal (the standard library's, which escapes quotes and control chars)."""


def decimal_text(value: Decimal) -> str:
    """A Decimal's digits, in positional notation (never ``1E+3``), as stored."""
    return format(value, "f")


def json_number(value: Decimal) -> str:
    """A finite Decimal as a JSON number with exactly its digits, less trailing zeros after the
    point (``Decimal("12345678901234.5600")`` -> ``12345678901234.56``)."""
    text = decimal_text(value)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def date_text(value: dt.date) -> str:
    """ISO 8601: ``2022-01-31``."""
    return value.isoformat()


def timestamp(value: dt.datetime) -> str:
    """RFC 3339 in UTC: ``2022-01-31T10:00:00Z``. A time without a zone is UTC (as the store
    keeps times); one with a zone is converted."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.replace(tzinfo=None).isoformat() + "Z"


def _number(value: float | Decimal) -> str:
    """JSON has no NaN or infinity: those become null (as JavaScript's JSON.stringify does)."""
    if isinstance(value, Decimal):
        return json_number(value) if value.is_finite() else "null"
    return float.__repr__(value) if math.isfinite(value) else "null"


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float | Decimal):
        return _number(value)
    if isinstance(value, dt.datetime):  # before date: a datetime is a date
        return _string(timestamp(value))
    if isinstance(value, dt.date):
        return _string(date_text(value))
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


_MARK = "\x00"
_MARKED = re.compile(r'"\\u0000(-?[0-9]+(?:\.[0-9]+)?|null)\\u0000"')
"""A number written by ``_marked``, as the standard library escapes it: NUL never stands in
stored text (XML forbids it), so no string of the data can look like it."""


def _marked(value: Any) -> str:
    """``default`` of the standard library's encoder: a Decimal as its digits between NULs
    (replaced by the bare number afterwards), dates and times as ISO text."""
    if isinstance(value, Decimal):
        return _MARK + (json_number(value) if value.is_finite() else "null") + _MARK
    if isinstance(value, dt.datetime):
        return timestamp(value)
    if isinstance(value, dt.date):
        return date_text(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def dumps(value: Any, *, indent: int | None = None) -> str:
    """JSON text of a value: compact, or indented by ``indent`` spaces. Dicts (with string
    keys), lists and tuples hold any of: str, int, float, Decimal, bool, None, date, datetime.
    The one JSON encoder of the API, the page renderings, JSON Lines and the command line.

    The standard library's C encoder writes the text, each Decimal marked, then the marks
    become the numbers (four times the speed of the writer below, which a float that is not
    finite still takes: JSON has no NaN)."""
    separators = (",", ":") if indent is None else (",", ": ")
    try:
        text = json.dumps(
            value,
            ensure_ascii=False,
            default=_marked,
            allow_nan=False,
            indent=indent,
            separators=separators,
        )
    except ValueError:
        parts: list[str] = []
        _write(value, parts.append, indent, 0)
        return "".join(parts)
    return _MARKED.sub(r"\1", text) if "\\u0000" in text else text


def _write(value: Any, out: Callable[[str], object], indent: int | None, level: int) -> None:
    if isinstance(value, Mapping):
        if not value:
            out("{}")
            return
        between, colon, inner, outer = _layout(indent, level)
        out("{" + inner)
        for n, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys are strings, not {type(key).__name__}")
            out((between if n else "") + _string(key) + colon)
            _write(item, out, indent, level + 1)
        out(outer + "}")
    elif isinstance(value, list | tuple):
        if not value:
            out("[]")
            return
        between, _colon, inner, outer = _layout(indent, level)
        out("[" + inner)
        for n, item in enumerate(value):
            if n:
                out(between)
            _write(item, out, indent, level + 1)
        out(outer + "]")
    else:
        out(_scalar(value))


def _layout(indent: int | None, level: int) -> tuple[str, str, str, str]:
    """(between items, after a key, after the opening bracket, before the closing one), laid
    out as the standard library's ``json.dumps`` lays them out."""
    if indent is None:
        return ",", ":", "", ""
    inner = "\n" + " " * (indent * (level + 1))
    return "," + inner, ": ", inner, "\n" + " " * (indent * level)


def csv_cell(value: Any) -> str:
    """A CSV cell: decimals exactly as stored, ``true``/``false``, dates and times as in JSON,
    None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, float):
        return float.__repr__(value) if math.isfinite(value) else ""
    if isinstance(value, dt.datetime):
        return timestamp(value)
    if isinstance(value, dt.date):
        return date_text(value)
    return str(value)


XlsxValue = str | int | float | Decimal | bool | dt.date | dt.datetime | None


def xlsx_cell(value: Any) -> XlsxValue:
    """An XLSX cell value: numbers (Decimals too) as numbers, dates and times as dates (times
    in UTC: a worksheet has no time zones), booleans as booleans, None empty, any other value
    as its text. A string is text even when it starts with ``=`` (see writers.xlsx_file)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int):  # a bool is an int: kept as it is
        return value
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime):
        moment: dt.datetime = value
        return moment if moment.tzinfo is None else moment.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, dt.date):
        day: dt.date = value
        return day
    return str(value)
