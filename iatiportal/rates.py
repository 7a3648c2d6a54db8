"""Exchange rates: ``iatiportal rates load FILE`` reads them into the store.

The portal's own format is a CSV file with a header line and one rate per line::

    date,currency,rate_to_usd,source
    2023-01-01,EUR,1.0705,ECB reference rate (monthly average)

``rate_to_usd`` is how many US dollars one unit of ``currency`` was worth on ``date``; a
monthly rate is dated on the first day of its month. An amount is converted with the latest
rate of its currency at most 45 days before its value date, so monthly rates cover their month.

The European Central Bank's file of all its euro reference rates is read as it comes
(``eurofxref-hist.csv`` inside https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip:
a ``Date`` column, then one column per currency, in units per euro): each day's USD column
turns every other column into dollars (``rate_to_usd = USD per EUR / currency per EUR``).
The IMF's monthly rates (International Financial Statistics, "national currency per US
dollar, period average") fit the portal's format as ``1 / rate``.

A rate must be a positive number and a currency three capital letters; a bad line is reported
with its file and line number and nothing of that file is stored.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import Connection, Engine, delete, insert, select

from iatiportal.store import facts, version
from iatiportal.store import schema as s
from iatiportal.store.db import writing

ECB_SOURCE = "European Central Bank euro reference rates (eurofxref-hist)"


class RatesError(Exception):
    """A rates file that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class Rate:
    currency: str
    day: dt.date
    usd_per_unit: Decimal
    source: str


def _positive(text: str, where: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise RatesError(f"{where}: {text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise RatesError(f"{where}: a rate must be a positive number, not {text!r}")
    return value


def _day(text: str, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise RatesError(f"{where}: {text!r} is not a date (YYYY-MM-DD)") from None


def read(path: Path) -> list[Rate]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise RatesError(f"{path}: the file is empty")
    header = [h.strip() for h in rows[0]]
    if header[:1] == ["Date"] and "USD" in header:
        return _ecb(path, header, rows[1:])
    if header[:4] != ["date", "currency", "rate_to_usd", "source"]:
        raise RatesError(
            f"{path}:1: the header must be date,currency,rate_to_usd,source "
            "(or the ECB's eurofxref-hist.csv)"
        )
    rates = []
    for n, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        where = f"{path}:{n}"
        if len(row) < 4:
            raise RatesError(f"{where}: expected 4 columns, found {len(row)}")
        currency = row[1].strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise RatesError(f"{where}: {row[1]!r} is not an ISO 4217 currency code")
        source = row[3].strip()
        if not source:
            raise RatesError(f"{where}: every rate needs its source")
        rates.append(Rate(currency, _day(row[0], where), _positive(row[2], where), source))
    return rates


def _ecb(path: Path, header: list[str], rows: list[list[str]]) -> list[Rate]:
    usd = header.index("USD")
    rates = []
    for n, row in enumerate(rows, 2):
        if not row or not row[0].strip():
            continue
        where = f"{path}:{n}"
        day = _day(row[0], where)
        usd_per_eur = row[usd].strip() if usd < len(row) else ""
        if usd_per_eur in ("", "N/A"):
            continue
        dollars = _positive(usd_per_eur, where)
        rates.append(Rate("EUR", day, dollars, ECB_SOURCE))
        for column, cell in zip(header[1:], row[1:], strict=False):
            if column in ("USD", "") or cell.strip() in ("", "N/A"):
                continue
            rates.append(Rate(column, day, dollars / _positive(cell, where), ECB_SOURCE))
    return rates


def load(engine: Engine, path: Path) -> int:
    """Store the rates of a file (replacing those of its currencies within its dates) and
    rebuild the money facts with them, in one transaction: readers see the old rates and
    figures or the new ones, never new rates beside old conversions."""
    rates = read(path)
    er = s.exchange_rate
    with writing(engine) as conn:
        for currency in sorted({r.currency for r in rates}):
            days = [r.day for r in rates if r.currency == currency]
            conn.execute(
                delete(er).where(
                    er.c.currency == currency, er.c.rate_date.between(min(days), max(days))
                )
            )
        batch = [
            {
                "currency": r.currency,
                "rate_date": r.day,
                "usd_per_unit": float(r.usd_per_unit),
                "source": r.source,
            }
            for r in rates
        ]
        for start in range(0, len(batch), 5000):
            conn.execute(insert(er), batch[start : start + 5000])
        facts.refresh(conn)
        version.bump(conn)
    return len(rates)


@dataclass(frozen=True)
class Converted:
    """An amount converted to a target currency, with the rate used, its date and source."""

    value: Decimal
    currency: str
    rate: Decimal  # target units per unit of the amount's currency
    rate_date: dt.date
    source: str


VALID_DAYS = 45
"""How old a rate may be at the value date (the same window as store.facts)."""


def convert(
    conn: Connection, value: Decimal, currency: str | None, day: dt.date | None, target: str
) -> Converted | None:
    """``value`` in ``currency`` on ``day`` converted to ``target`` through the US dollar, as
    the money facts do (the latest rate at most VALID_DAYS old); None without a rate (or
    without a currency or a date)."""
    return Converter(conn, target)(value, currency, day)


class Converter:
    """Converts many amounts to one target currency, reading each currency's rates once (for
    lists and downloads); the same rules as ``convert``."""

    def __init__(self, conn: Connection, target: str) -> None:
        self.conn = conn
        self.target = target
        self._rates: dict[str, tuple[list[dt.date], list[tuple[Decimal, str]]]] = {}

    def _table(self, currency: str) -> tuple[list[dt.date], list[tuple[Decimal, str]]]:
        if currency not in self._rates:
            er = s.exchange_rate
            rows = self.conn.execute(
                select(er.c.rate_date, er.c.usd_per_unit, er.c.source)
                .where(er.c.currency == currency)
                .order_by(er.c.rate_date)
            ).all()
            self._rates[currency] = (
                [r.rate_date for r in rows],
                [(Decimal(repr(r.usd_per_unit)), r.source) for r in rows],
            )
        return self._rates[currency]

    def _usd(self, currency: str, day: dt.date) -> tuple[Decimal, dt.date, str] | None:
        if currency == "USD":
            return Decimal(1), day, "US dollar"
        days, values = self._table(currency)
        i = bisect.bisect_right(days, day) - 1
        if i < 0 or (day - days[i]).days > VALID_DAYS:
            return None
        return values[i][0], days[i], values[i][1]

    def __call__(
        self, value: Decimal | None, currency: str | None, day: dt.date | None
    ) -> Converted | None:
        if value is None or currency is None or day is None:
            return None
        source = self._usd(currency, day)
        into = self._usd(self.target, day)
        if source is None or into is None:
            return None
        rate = source[0] / into[0]
        converted = (value * rate).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
        used = source if currency != "USD" else into
        return Converted(converted, self.target, rate, used[1], used[2])
