"""How exact decimals (money, percentages) are stored where the database has no decimal type.

Kept free of database imports: the parsing workers convert values with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

EXACT_SCALE = Decimal(10000)
EXACT_QUANTUM = Decimal("0.0001")


def exact_to_int(value: Decimal) -> int:
    """SQLite's form of an exact value: a whole number of 1/10,000 units, rounded half away
    from zero as PostgreSQL's NUMERIC(24, 4) rounds, so both stores hold the same figures."""
    return int((value * EXACT_SCALE).to_integral_value(ROUND_HALF_UP))


def int_to_exact(value: int) -> Decimal:
    return (Decimal(value) / EXACT_SCALE).quantize(EXACT_QUANTUM)


def _datetime(value: dt.datetime) -> str:
    return value.isoformat(sep=" ")


SQLITE_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "exact": exact_to_int,
    "date": dt.date.isoformat,
    "datetime": _datetime,
}
"""Python values to SQLite storage, by column kind (the formats of the SQLAlchemy types)."""
