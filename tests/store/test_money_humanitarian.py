"""The humanitarian dimension of the money facts: a transaction's own flag, else its activity's
(budgets: the activity's), NULL where neither says. Expected sums are worked out by hand from
``tests/fixtures/money-humanitarian.xml`` (its comment lists them)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, func, select

from iatiportal.store import money
from iatiportal.store import schema as s
from iatiportal.store.filters import Filters
from iatiportal.store.load import ingest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "money-humanitarian.xml"
D = Decimal


def load(engine: Engine) -> None:
    summary = ingest(engine, [str(FIXTURE)])
    # No problem but the rule set's: the 3 activities have no sector, on the activity or on
    # its transactions (6.2.2 and 6.7.2 on each); the reporting-org XX-HUM of all 4 has no
    # agency prefix (1.14.8).
    assert [(f.status, sum(f.problems.values())) for f in summary.files] == [
        ("ingested", 3 * 2 + 4)
    ]


def test_a_transactions_flag_wins_over_its_activitys_and_none_is_not_stated(
    engine: Engine,
) -> None:
    load(engine)
    with engine.connect() as conn:
        partners = money.by_provider(conn, None, None, per_year=True, humanitarian=True)
        activities = money.breakdown(conn, None, ("activity", "humanitarian"), None, ("incoming",))
    assert {(r.provider_org_ref, r.year, r.humanitarian): r.value for r in partners} == {
        ("XX-DONOR-A", 2021, False): D("40"),
        ("XX-DONOR-A", 2021, True): D("40"),  # 25 flagged on XX-HUM-1, 15 of XX-HUM-2
        ("XX-DONOR-A", 2022, False): D("10"),  # humanitarian="false"
        ("XX-DONOR-A", 2022, None): D("3"),
        ("XX-DONOR-B", 2021, False): D("20"),  # "0" on a transaction of XX-HUM-2 ("1")
        ("XX-DONOR-B", 2021, True): D("8"),  # "1" on a transaction of XX-HUM-3 (no flag)
        ("XX-DONOR-B", 2021, None): D("5"),
        ("XX-DONOR-B", 2023, None): D("12"),
    }
    assert {(r.iati_identifier, r.humanitarian): r.value for r in activities} == {
        ("XX-HUM-1", False): D("50"),
        ("XX-HUM-1", True): D("25"),
        ("XX-HUM-2", False): D("20"),
        ("XX-HUM-2", True): D("15"),
        ("XX-HUM-3", True): D("8"),
        ("XX-HUM-3", None): D("8"),
        ("XX-HUM-4", None): D("12"),
    }


def test_budgets_take_their_activitys_flag_and_totals_keep_every_kind(engine: Engine) -> None:
    load(engine)
    measures: tuple[money.Measure, ...] = ("budget", "expenditure", "incoming")
    with engine.connect() as conn:
        split = money.breakdown(conn, None, ("humanitarian",), Filters(year=2021), measures)
        whole = money.totals(conn, None, Filters(year=2021), measures)
        # Chosen activities are read from the facts per activity, the rest from their sums.
        one = money.breakdown(conn, None, ("humanitarian",), Filters(activity="XX-HUM-1"), measures)
    assert {(r.measure, r.humanitarian): r.value for r in split} == {
        ("budget", False): D("100"),
        ("budget", True): D("50"),
        ("budget", None): D("7"),
        ("expenditure", True): D("30"),  # humanitarian="true" on XX-HUM-1 ("0")
        ("incoming", False): D("60"),  # 40 + 20
        ("incoming", True): D("48"),  # 25 + 15 + 8
        ("incoming", None): D("5"),
    }
    assert {r.measure: r.value for r in whole} == {
        "budget": D("157"),
        "expenditure": D("30"),
        "incoming": D("113"),
    }
    assert {(r.measure, r.humanitarian): r.value for r in one} == {
        ("budget", False): D("100"),
        ("expenditure", True): D("30"),
        ("incoming", False): D("50"),
        ("incoming", True): D("25"),
    }


def test_every_fact_table_carries_the_flag(engine: Engine) -> None:
    load(engine)
    with engine.connect() as conn:
        stored = {
            table.name: dict(
                conn.execute(
                    select(table.c.humanitarian, func.sum(table.c.value))
                    .where(table.c.measure == "incoming", table.c.converted_to.is_(None))
                    .group_by(table.c.humanitarian)
                ).all()
            )
            for table in (s.money_fact, s.money_total, s.money_total_sector)
        }
        sectors = money.breakdown(
            conn, None, ("sector", "humanitarian"), None, ("incoming",), sector_vocabulary="1"
        )
    every = {False: D("70"), True: D("48"), None: D("20")}
    assert stored == {
        "money_fact": every,
        "money_total": every,
        "money_total_sector": {False: D("50"), True: D("25")},  # XX-HUM-1's sector only
    }
    assert {(r.sector_code, r.humanitarian): r.value for r in sectors} == {
        ("72010", False): D("50"),
        ("72010", True): D("25"),
        (None, False): D("20"),
        (None, True): D("23"),
        (None, None): D("20"),
    }
