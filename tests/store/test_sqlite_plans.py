"""SQLite's plans of the money questions that pages ask most, read with EXPLAIN QUERY PLAN.

SQLite keeps no statistics here (an ANALYZE of the whole store costs as much as a fifth of an
ingest, and a sampled one misled the planner worse: it took one narrative index for unique),
so its planner guesses. It guessed wrong for the money of one activity by sector: it walked
every sector fact of the vocabulary in the store (by the index on the vocabulary and code) to
keep those of the activity (issue 14: 13 ms instead of 0.3 on the store of all shared files, for
every activity page's SDG table).
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, event

from iatiportal.profile import Portal
from iatiportal.store import money, search
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


def _plan_of_one_activity_by_sector(engine: Engine) -> list[str]:
    """The steps of SQLite's plan for the money of one activity by SDG (as an activity page
    asks it)."""
    seen: list[tuple[str, object]] = []

    def keep(_conn: object, _cur: object, statement: str, params: object, *_: object) -> None:
        seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        with engine.connect() as conn:
            rows = money.by_sector(conn, Portal(), "7", Filters(activities=("XX-STAT-7",)))
            statement, params = seen[-1]
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert [(r.sector_code, r.value) for r in rows if r.measure == "budget"] == [("8", 321)]
    return [step[-1] for step in plan]


def test_the_money_of_one_activity_by_sector_is_found_by_the_activity(
    sqlite_store: Engine,
) -> None:
    plan = _plan_of_one_activity_by_sector(sqlite_store)
    # The activity's facts by their activity, their sectors by their fact; never every sector
    # fact of the vocabulary.
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
    seen: list[tuple[str, object]] = []

    def keep(_conn: object, _cur: object, statement: str, params: object, *_: object) -> None:
        seen.append((statement, params))

    event.listen(sqlite_store, "before_cursor_execute", keep)
    try:
        with sqlite_store.connect() as conn:
            found = search.search(conn, "activity", facet_vocabularies=[("sdg", "7")])
            statement, params = next(x for x in seen if "matched" in x[0])
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
    finally:
        event.remove(sqlite_store, "before_cursor_execute", keep)
    steps = [step[-1] for step in plan]
    assert found.total == ACTIVITIES
    assert dict(found.facets["country"]) == {"KE": ACTIVITIES}
    assert sum(n for _code, n in found.facets["sdg"]) == ACTIVITIES  # one SDG each
    walked = [s for s in steps if s.startswith("SCAN ") and "matched" not in s]
    assert not [s for s in walked if "recipient_country" in s or "activity_year" in s], steps
    assert not any("ix_transaction_type_date" in s for s in steps), steps
    assert not any("ix_sector_vocabulary_code" in s for s in steps), steps
    for table in ("recipient_country", "activity_year", "sector", "transaction"):
        assert any(s.startswith(f"SEARCH {table} ") and "activity_id" in s for s in steps), table
