"""Whole numbers from the query string: one parser for the pages and the API (issue 10).

``int()`` takes more than a URL should give it: other scripts' digits (``int("٣") == 3``,
and ``"²".isdigit()`` is true although ``int("²")`` fails), signs, spaces, underscores, and
numbers beyond what a database integer holds (``page=2**64`` overflowed SQLite and PostgreSQL
``bigint``). Here a number is ASCII digits only, read within bounds.
"""

from __future__ import annotations

MAX_PAGE = 1_000_000
"""The last page number a list is asked for (pages show their last page beyond it, the API
answers 400)."""


def whole_number(value: str | None, low: int, high: int, *, clamp: bool = False) -> int | None:
    """``value`` as a number from ``low`` to ``high``, else None: when it is missing, is not
    ASCII digits only, or (unless ``clamp``, which gives the nearer bound) lies out of bounds."""
    if not value or not (value.isascii() and value.isdigit()):
        return None
    digits = value.lstrip("0") or "0"
    # A number longer than the bound is beyond it: never convert thousands of digits.
    number = high + 1 if len(digits) > len(str(high)) else int(digits)
    if low <= number <= high:
        return number
    return min(max(number, low), high) if clamp else None
