"""SQLite's plans of the questions that pages ask most, read with EXPLAIN QUERY PLAN.

SQLite keeps no statistics here (an ANALYZE of the whole store costs as much as a fifth of an
ingest, and a sampled one misled the planner worse: it took one narrative index for unique),
so its planner guesses, and it guessed wrong where an index on a common value or the order of
a key looked cheaper than the few rows asked for (issue 14): the money of one activity by
sector walked every sector fact of the vocabulary (13 ms instead of 0.2 for every activity
page), a partner's activities every incoming transaction, a search's facets every recipient
country and year of the store. Each test names the index it must not walk.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Connection, Engine, event

from iatiportal.profile import Portal
from iatiportal.store import money, queries, search
from iatiportal.store.db import make_engine, migrate
from iatiportal.store.filters import Filters, selected_ids
from iatiportal.store.load import ingest

ACTIVITIES = 400


def _activity(n: int) -> str:
    sdg = n % 17 + 1
    budgets = "".join(
        f'<budget type="1" status="2"><period-start iso-date="{year}-01-01"/>'
        f'<period-end iso-date="{year}-12-31"/><value value-date="{year}-01-01">{n + 100}</value>'
        "</budget>"
        for year in (2021, 2022, 2023)
    )
    return (
        f'<iati-activity xml:lang="en" default-currency="USD">'
        f"<iati-identifier>XX-STAT-{n}</iati-identifier>"
        '<reporting-org ref="XX-STAT" type="10"><narrative>Org</narrative></reporting-org>'
        f"<title><narrative>Activity {n}</narrative></title>"
        '<recipient-country code="KE"/>'
        f'<sector vocabulary="7" code="{sdg}" percentage="100"/>'
        f'<sector vocabulary="1" code="1{n % 9 + 1}110" percentage="100"/>'
        f"{budgets}</iati-activity>"
    )


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    folder = tmp_path_factory.mktemp("statistics")
    path = folder / "many.xml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<iati-activities version="2.03">'
        + "".join(_activity(n) for n in range(ACTIVITIES))
        + "</iati-activities>",
        encoding="utf-8",
    )
    engine = make_engine(f"sqlite:///{folder / 'store.db'}")
    migrate(engine)
    assert not ingest(engine, [str(path)], validate=False).failed
    return engine


def _plan_of(
    engine: Engine,
    ask: Callable[[Connection], object],
    which: Callable[[str], bool] = lambda _statement: True,
) -> list[str]:
    """The steps of SQLite's plan for the last statement that ``ask`` runs (of those that
    ``which`` accepts)."""
    seen: list[tuple[str, object]] = []

    def keep(_conn: object, _cur: object, statement: str, params: object, *_: object) -> None:
        seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        with engine.connect() as conn:
            ask(conn)
            statement, params = [x for x in seen if which(x[0])][-1]
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    return [step[-1] for step in plan]


def test_the_money_of_one_activity_by_sector_is_found_by_the_activity(
    sqlite_store: Engine,
) -> None:
    """An activity page's SDG table: the activity's facts by their activity, their sectors by
    their fact; never every sector fact of the vocabulary."""
    rows: list[money.MoneyRow] = []

    def ask(conn: Connection) -> None:
        rows.extend(money.by_sector(conn, Portal(), "7", Filters(activities=("XX-STAT-7",))))

    plan = _plan_of(sqlite_store, ask)
    assert [(r.sector_code, r.value) for r in rows if r.measure == "budget"] == [("8", 321)]
    assert not any("ix_money_fact_sector_code" in step for step in plan), plan
    assert any("ix_money_fact_activity" in step for step in plan), plan
    assert any("ix_money_fact_sector_fact" in step for step in plan), plan


def test_a_funding_partners_activities_are_found_from_its_funds(sqlite_store: Engine) -> None:
    """A partner's page selects the activities it funds in a year: SQLite starts from the
    partner's incoming funds (by the provider index) and participating-org entries, not from
    every current activity nor from every incoming transaction of the store."""
    ids = selected_ids(Filters(partner="XX-FUNDER", year=2022), "sqlite")
    with sqlite_store.connect() as conn:
        sql = str(ids.compile(conn, compile_kwargs={"literal_binds": True}))
        plan = [step[-1] for step in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()]
    assert any("ix_transaction_provider_org_ref" in step for step in plan), plan
    assert not any("ix_transaction_type_date" in step for step in plan), plan
    assert not any("ix_activity_current_identifier" in step for step in plan), plan


def test_search_facets_go_from_the_matches_to_their_rows(sqlite_store: Engine) -> None:
    """Each facet of a search reads the rows of the matching activities, found by activity;
    never a whole table walked in the order of its key (which saves a sort) and probed
    against the matches, nor every incoming transaction or sector of a vocabulary."""
    found: list[search.Results] = []

    def ask(conn: Connection) -> None:
        found.append(search.search(conn, "activity", facet_vocabularies=[("sdg", "7")]))

    steps = _plan_of(sqlite_store, ask, which=lambda statement: "matched" in statement)
    assert found[0].total == ACTIVITIES
    assert dict(found[0].facets["country"]) == {"KE": ACTIVITIES}
    assert sum(n for _code, n in found[0].facets["sdg"]) == ACTIVITIES  # one SDG each
    walked = [s for s in steps if s.startswith("SCAN ") and "matched" not in s]
    assert not [s for s in walked if "recipient_country" in s or "activity_year" in s], steps
    assert not any("ix_transaction_type_date" in s for s in steps), steps
    assert not any("ix_sector_vocabulary_code" in s for s in steps), steps
    for table in ("recipient_country", "activity_year", "sector", "transaction"):
        assert any(s.startswith(f"SEARCH {table} ") and "activity_id" in s for s in steps), table


def test_the_money_of_a_country_tabs_outcomes_is_found_by_activity(sqlite_store: Engine) -> None:
    """A country tab asks the money of its page of outcomes in the country and year: their
    facts by activity, not every fact of the country in the year searched for theirs."""
    named = Filters(country="KE", year=2022, activities=("XX-STAT-1", "XX-STAT-2"))
    plan = _plan_of(sqlite_store, lambda conn: money.by_activity(conn, Portal(), named))
    assert not any("ix_money_fact_country" in step for step in plan), plan
    assert any("ix_money_fact_activity" in step for step in plan), plan


def test_a_countrys_places_are_found_from_its_activities(sqlite_store: Engine) -> None:
    """The map at the foot of every country tab: the country's activities from its recipient
    countries, not every current activity probed against them."""
    plan = _plan_of(sqlite_store, lambda conn: queries.locations(conn, country="KE"))
    assert not any("ix_activity_current_identifier" in step for step in plan), plan
    assert any("ix_recipient_country_recipient_country_code" in step for step in plan), plan


def test_expenditure_by_year_is_read_by_the_measure_index(sqlite_store: Engine) -> None:
    """The list of countries asks every country's expenditure in a year: read by the index on
    measure and year, not the whole summary table (when no publisher counts disbursements as
    expenditure, the condition was "measure = ? OR 0 = 1", which no index serves)."""
    asked = Filters(year=2022)
    plan = _plan_of(
        sqlite_store, lambda conn: money.by_country(conn, Portal(), asked, ("expenditure",))
    )
    assert not any(step.startswith("SCAN money_summary") for step in plan), plan
    assert any("ix_money_summary_measure_year" in step for step in plan), plan
