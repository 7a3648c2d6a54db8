"""Money statements are built once per shape of question and bound to its values (issue 14:
building them per page cost more CPU than the queries): a kept statement must answer each
question with its own values, never those of the question it was first built for.

Expected figures are written by hand from the comment at the top of
tests/fixtures/money-percentage-split.xml, never computed by the code under test.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine

from iatiportal.store import money, statements
from iatiportal.store.filters import Filters
from iatiportal.store.load import ingest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

D = Decimal


def load(engine: Engine) -> None:
    summary = ingest(engine, [str(FIXTURES / "money-percentage-split.xml")])
    assert [f.status for f in summary.files] == ["ingested"]


def test_one_statement_per_shape_answers_each_country_with_its_own_values(
    engine: Engine,
) -> None:
    load(engine)
    statements.clear()
    with engine.connect() as conn:
        found = {
            code: money.totals(conn, None, Filters(country=code), ("expenditure",))
            for code in ("ML", "SN", "KE", "UG", "TZ", "NE")
        }
        kept = statements.count()
        again = money.totals(conn, None, Filters(country="ML"), ("expenditure",))
    assert {code: [r.value for r in rows] for code, rows in found.items()} == {
        "ML": [D("615")],
        "SN": [D("25")],
        "KE": [D("52")],
        "UG": [D("45")],
        "TZ": [D("3")],
        "NE": [],  # a budget only
    }
    assert kept == 1  # six countries, one shape of question
    assert [r.value for r in again] == [D("615")]


def test_named_activities_and_sector_shares_are_bound_too(engine: Engine) -> None:
    load(engine)
    statements.clear()
    with engine.connect() as conn:
        mixed = money.by_country(conn, None, Filters(activity="XX-SPLIT-MIXED"), ("expenditure",))
        tx = money.by_country(conn, None, Filters(activity="XX-SPLIT-TX"), ("expenditure",))
        both = money.totals(
            conn, None, Filters(activities=("XX-SPLIT-FILL", "XX-SPLIT-NONE")), ("expenditure",)
        )
        one_sector = money.totals(conn, None, Filters(sectors=(("1", "11110"),)), ("expenditure",))
        other_sector = money.totals(
            conn, None, Filters(sectors=(("1", "11120"),)), ("expenditure",)
        )
        kept = statements.count()
    assert {r.recipient_country_code: r.value for r in mixed} == {"ML": D("600"), None: D("400")}
    assert {r.recipient_country_code: r.value for r in tx} == {"ML": D("15"), "SN": D("25")}
    assert [r.value for r in both] == [D("15")]  # 10 and 5
    assert [r.value for r in one_sector] == [D("250")]
    assert [r.value for r in other_sector] == [D("750")]
    # by country of one activity, totals of named activities, totals of one sector
    assert kept == 3


def test_funding_partners_of_two_countries_from_one_statement(engine: Engine) -> None:
    load(engine)
    statements.clear()
    with engine.connect() as conn:
        mali = money.funding_partners(conn, None, Filters(country="ML"))
        kenya = money.funding_partners(conn, None, Filters(country="KE"))
        kept = statements.count()
    # The fixture publishes no incoming funds and no funding participants.
    assert mali == kenya == []
    assert kept == 2  # the incoming funds and the participating funders
