"""Money on every real shared file, on SQLite and PostgreSQL: breakdowns add up, and totals
match an independent computation.

1. Reconciliation: for each measure, each breakdown (country, region, every sector
   vocabulary, funding partner, activity, reporting org) summed over its parts, per year and
   currency, equals the total by year; the years add up to the all-years total.
2. Independence: expenditure and budget per year and currency are recomputed here, in
   Python, straight from the stored transactions and budgets (the rules as money.py states
   them), and compared exactly.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, select
from stores import KINDS, all_shared_files

from iatiportal.profile import MoneyRules, Profile
from iatiportal.store import money
from iatiportal.store import schema as s
from iatiportal.store.filters import Filters
from iatiportal.store.money import Dimension, Measure, MoneyRow

pytestmark = pytest.mark.slow  # reads the store of all shared files, built once per run

UNIT = Decimal("0.0001")
Key = tuple[int | None, str | None]  # (year, currency)


@pytest.fixture(scope="module", params=KINDS)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, shared: Path
) -> Iterator[Engine]:
    """The store of every shared IATI file on each database (built once for the run)."""
    with all_shared_files(request.param, shared, tmp_path_factory, request.config) as (
        engine,
        statuses,
    ):
        assert statuses.count("ingested") >= 50
        yield engine


def per_year(rows: list[MoneyRow]) -> dict[tuple[str, int | None, str | None], Decimal]:
    """Rows summed over every dimension but measure, year and currency."""
    out: dict[tuple[str, int | None, str | None], Decimal] = defaultdict(Decimal)
    for r in rows:
        out[(r.measure, r.year, r.currency)] += r.value
    return dict(out)


def per_sector(
    rows: list[MoneyRow],
) -> dict[tuple[str, int | None, str | None, str | None], Decimal]:
    """Rows summed per measure, year, currency and sector, leaving out sums of 0 (a group of
    activities may show a "not specified" 0 that one of its activities shows alone)."""
    out: dict[tuple[str, int | None, str | None, str | None], Decimal] = defaultdict(Decimal)
    for r in rows:
        out[(r.measure, r.year, r.currency, r.sector_code)] += r.value
    return {k: v for k, v in out.items() if v}


MEASURES: tuple[Measure, ...] = money.MEASURES
BREAKDOWNS: list[tuple[Dimension, ...]] = [
    ("country", "year"),
    ("region", "year"),
    ("activity", "year"),
    ("reporting_org", "year"),
]


def sector_vocabularies(conn: Connection) -> list[str]:
    return sorted(set(conn.execute(select(s.sector.c.vocabulary).distinct()).scalars()))


def test_every_breakdown_adds_up_to_the_total(store: Engine) -> None:
    with store.connect() as conn:
        totals = per_year(money.by_year(conn, None, None, MEASURES))
        assert len(totals) > 100
        for by in BREAKDOWNS:
            parts = per_year(money.breakdown(conn, None, by, None, MEASURES))
            assert parts == totals, by
        vocabularies = sector_vocabularies(conn)
        assert {"1", "7", "99"} <= set(vocabularies)
        for vocabulary in vocabularies:
            rows = money.breakdown(
                conn, None, ("sector", "year"), None, MEASURES, sector_vocabulary=vocabulary
            )
            assert per_year(rows) == totals, vocabulary
            # The same per activity (facts, not their sums), then summed here: equal per sector.
            per_activity = money.breakdown(
                conn,
                None,
                ("activity", "sector", "year"),
                None,
                MEASURES,
                sector_vocabulary=vocabulary,
            )
            assert per_sector(per_activity) == per_sector(rows), vocabulary
        incoming = {k: v for k, v in totals.items() if k[0] == "incoming"}
        assert per_year(money.by_provider(conn, None, per_year=True)) == incoming
        all_years: dict[tuple[str, str | None], Decimal] = defaultdict(Decimal)
        for (measure, _year, currency), value in totals.items():
            all_years[(measure, currency)] += value
        overall = money.totals(conn, None, None, MEASURES)
        assert {(r.measure, r.currency): r.value for r in overall} == all_years


def test_partners_add_up_to_incoming_funds(store: Engine) -> None:
    with store.connect() as conn:
        incoming = money.totals(conn, None, None, ("incoming",))
        partners = money.funding_partners(conn, None)
    sums: dict[str | None, Decimal] = defaultdict(Decimal)
    for p in partners:
        if p.source == "incoming-funds":
            assert p.value is not None
            sums[p.currency] += p.value
        else:
            assert p.value is None
    assert dict(sums) == {r.currency: r.value for r in incoming}
    assert any(p.source == "participating-org" for p in partners)


def test_filtered_breakdowns_add_up_to_the_filtered_total(store: Engine) -> None:
    """Country pages: a country's money by sector (impact area) and by year adds up."""
    with store.connect() as conn:
        countries = money.by_country(conn, None, None, ("budget", "expenditure"))
        top = sorted(
            {r.recipient_country_code for r in countries if r.recipient_country_code},
            key=lambda c: -max(r.value for r in countries if r.recipient_country_code == c),
        )[:8]
        assert len(top) == 8
        for country in top:
            filters = Filters(country=country)
            total = per_year(money.by_year(conn, None, filters))
            for vocabulary in ("1", "99"):
                rows = money.breakdown(
                    conn, None, ("sector", "year"), filters, sector_vocabulary=vocabulary
                )
                assert per_year(rows) == total, (country, vocabulary)
            for year in {y for (_m, y, _c) in total if y is not None}:
                one_year = money.totals(
                    conn, None, Filters(country=country, year=year), ("budget", "expenditure")
                )
                assert {(r.measure, r.currency): r.value for r in one_year} == {
                    (m, c): v for (m, y, c), v in total.items() if y == year
                }


def test_unwomen_money_reconciles_by_impact_area(store: Engine) -> None:
    unwomen = Filters(reporting_org=("XM-DAC-41146",))
    with store.connect() as conn:
        total = per_year(money.by_year(conn, None, unwomen))
        areas = money.breakdown(conn, None, ("sector", "year"), unwomen, sector_vocabulary="99")
        regions = money.breakdown(conn, None, ("region", "year"), unwomen)
    assert per_year(areas) == total
    assert per_year(regions) == total
    assert {r.sector_code for r in areas} == {"D1", "D2", "D3", "D4", "O1", "O2", "O3"}
    assert {r.recipient_region_code for r in regions} == {None, "2", "4", "10"}


# -- an independent computation -------------------------------------------------------------


def current_activities(conn: Connection) -> dict[int, str | None]:
    """Current activity id -> reporting org ref."""
    a = s.activity
    rows = conn.execute(select(a.c.id, a.c.reporting_org_ref).where(a.c.is_current.is_(True)))
    return {row.id: row.reporting_org_ref for row in rows}


def descendants(conn: Connection, orgs: dict[int, str | None]) -> dict[int, set[int]]:
    """Activity id -> ids of its descendants (links of type 1/2 within one reporting org),
    without pairs that are each other's descendants (cycles)."""
    ids: dict[str, int] = {}
    for row in conn.execute(
        select(s.activity.c.id, s.activity.c.iati_identifier).where(
            s.activity.c.is_current.is_(True)
        )
    ):
        ids[row.iati_identifier] = row.id
    children: dict[int, set[int]] = defaultdict(set)
    ra = s.related_activity
    for row in conn.execute(select(ra.c.activity_id, ra.c.ref, ra.c.related_activity_type)):
        other = ids.get(row.ref)
        if row.activity_id not in orgs or other is None or other == row.activity_id:
            continue
        if orgs[row.activity_id] != orgs[other]:
            continue
        if row.related_activity_type == "2":
            children[row.activity_id].add(other)
        elif row.related_activity_type == "1":
            children[other].add(row.activity_id)
    below: dict[int, set[int]] = {}
    for start, first in children.items():
        seen: set[int] = set()
        todo = list(first)
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo.extend(children.get(node, ()))
        below[start] = seen
    return {
        a: {d for d in ds if a not in below.get(d, set()) and d != a} for a, ds in below.items()
    }


def without_double_counting(
    sums: dict[tuple[int, int | None, str | None], Decimal], below: dict[int, set[int]]
) -> dict[Key, Decimal]:
    """Per (year, currency), leaving out an activity's year when a descendant reports it."""
    reporting: dict[int, set[int | None]] = defaultdict(set)
    for activity_id, year, _currency in sums:
        reporting[activity_id].add(year)
    out: dict[Key, Decimal] = defaultdict(Decimal)
    for (activity_id, year, currency), value in sums.items():
        if any(year in reporting.get(d, set()) for d in below.get(activity_id, ())):
            continue
        out[(year, currency)] += value
    return dict(out)


def to_units(value: Decimal) -> int:
    return int(value / UNIT)


def test_expenditure_matches_the_transactions(store: Engine) -> None:
    with store.connect() as conn:
        orgs = current_activities(conn)
        defaults = dict(
            conn.execute(
                select(s.activity.c.id, s.activity.c.default_currency).where(
                    s.activity.c.is_current.is_(True)
                )
            ).all()
        )
        below = descendants(conn, orgs)
        t = s.transaction
        rows = conn.execute(
            select(
                t.c.activity_id, t.c.transaction_date, t.c.value_date, t.c.currency, t.c.value
            ).where(t.c.transaction_type == "4", t.c.value.is_not(None))
        ).all()
        got = money.by_year(conn, None, None, ("expenditure",))
    sums: dict[tuple[int, int | None, str | None], Decimal] = defaultdict(Decimal)
    for row in rows:
        if row.activity_id not in orgs:
            continue
        when = row.transaction_date or row.value_date
        currency = row.currency or defaults[row.activity_id]
        sums[(row.activity_id, when.year if when else None, currency)] += row.value
    expected = without_double_counting(sums, below)
    assert len(expected) > 20
    assert {(r.year, r.currency): r.value for r in got} == expected


def split_by_days(value: Decimal, first: dt.date, last: dt.date) -> dict[int, Decimal]:
    """The budget rule: per calendar year, by days, as differences of truncated cumulative
    shares in 1/10,000 units."""
    units = to_units(value)
    total = (last - first).days + 1

    def upto(day: dt.date) -> int:
        days = (day - first).days + 1
        share = abs(units) * days // total
        return share if units >= 0 else -share

    out: dict[int, Decimal] = {}
    for year in range(first.year, last.year + 1):
        through = upto(min(last, dt.date(year, 12, 31)))
        before = 0 if year == first.year else upto(dt.date(year - 1, 12, 31))
        out[year] = Decimal(through - before) * UNIT
    return out


def test_budgets_match_the_budget_elements(store: Engine) -> None:
    with store.connect() as conn:
        orgs = current_activities(conn)
        defaults = dict(
            conn.execute(
                select(s.activity.c.id, s.activity.c.default_currency).where(
                    s.activity.c.is_current.is_(True)
                )
            ).all()
        )
        below = descendants(conn, orgs)
        b = s.budget
        rows = conn.execute(
            select(
                b.c.activity_id,
                b.c.budget_status,
                b.c.budget_type,
                b.c.period_start,
                b.c.period_end,
                b.c.currency,
                b.c.value,
            ).where(b.c.value.is_not(None))
        ).all()
        got = money.by_year(conn, None, None, ("budget",))
        committed = money.by_year(
            conn, Profile(money=MoneyRules(budget_status="committed")), None, ("budget",)
        )

    budgets: dict[tuple[int, str, Any, Any], list[Any]] = defaultdict(list)
    for row in rows:
        if row.activity_id in orgs:
            status = "2" if row.budget_status == "2" else "1"
            budgets[(row.activity_id, status, row.period_start, row.period_end)].append(row)
    counted: list[tuple[Any, str, bool]] = []  # (row, status, superseded)
    for (activity_id, status, start, end), group in budgets.items():
        best = max(2 if r.budget_type == "2" else 1 for r in group)
        superseded = status == "1" and (activity_id, "2", start, end) in budgets
        counted += [
            (r, status, superseded) for r in group if (2 if r.budget_type == "2" else 1) == best
        ]

    parts: list[tuple[int, int | None, str | None, str, bool, Decimal]] = []
    for row, status, superseded in counted:
        currency = row.currency or defaults[row.activity_id]
        first = row.period_start or row.period_end
        if first is None:
            parts.append((row.activity_id, None, currency, status, superseded, row.value))
            continue
        last = row.period_end if row.period_start and row.period_end else first
        for year, part in split_by_days(row.value, first, max(last, first)).items():
            parts.append((row.activity_id, year, currency, status, superseded, part))
    # A descendant reports a year when it has any budget in it (counted or not).
    reporting: dict[int, set[int | None]] = defaultdict(set)
    for activity_id, year, *_rest in parts:
        reporting[activity_id].add(year)

    def expected(keep: Any) -> dict[Key, Decimal]:
        out: dict[Key, Decimal] = defaultdict(Decimal)
        for activity_id, year, currency, status, superseded, part in parts:
            if not keep(status, superseded):
                continue
            if any(year in reporting.get(d, set()) for d in below.get(activity_id, ())):
                continue
            out[(year, currency)] += part
        return dict(out)

    prefer = expected(lambda status, superseded: not superseded)
    only_committed = expected(lambda status, superseded: status == "2")
    assert len(prefer) > 20
    assert {(r.year, r.currency): r.value for r in got} == prefer
    assert {(r.year, r.currency): r.value for r in committed} == only_committed
