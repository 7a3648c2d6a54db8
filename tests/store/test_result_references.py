"""IATI 2.03 result/reference stored for every result, and read as the activity carrying a
result's money (tests/fixtures/results-linked-activity.xml states the cases); versions before
2.03 have none. A child activity is listed under its parent, not as an outcome of its own."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, select

from iatiportal.store import activity as stored
from iatiportal.store import queries
from iatiportal.store import schema as s
from iatiportal.store.load import ingest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def load(engine: Engine, name: str) -> None:
    assert [f.status for f in ingest(engine, [str(FIXTURES / name)]).files] == ["ingested"]


def test_result_references_are_stored_with_their_result(engine: Engine) -> None:
    load(engine, "results-linked-activity.xml")
    rr, n = s.result_reference, s.narrative
    query = (
        select(n.c.text, rr.c.vocabulary, rr.c.code, rr.c.vocabulary_uri)
        .join(n, (n.c.owner_id == rr.c.result_id) & (n.c.element == "result/title"))
        .order_by(rr.c.id)
    )
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(query)]
    assert rows == [
        ("Output one", "99", "XX-RESULTS-OUT-1", "https://example.org/outputs"),
        ("Output two", "99", "XX-RESULTS-OUT-2", None),
        ("Output elsewhere", "99", "XX-ELSEWHERE-OUT", None),
        ("Output three", "1", "XX-RESULTS-OUT-1", None),
    ]


def test_older_versions_have_no_result_references(engine: Engine) -> None:
    load(engine, "v105-result-type.xml")
    with engine.connect() as conn:
        results = conn.execute(select(func.count()).select_from(s.result)).scalar_one()
        refs = conn.execute(select(func.count()).select_from(s.result_reference)).scalar_one()
    assert results > 0 and refs == 0


def test_a_result_links_an_activity_of_the_same_publisher_in_the_vocabulary(
    engine: Engine,
) -> None:
    load(engine, "results-linked-activity.xml")
    with engine.connect() as conn:
        act = stored.current(conn, "XX-RESULTS-OUTCOME")
        assert act is not None
        titles = {r["id"]: r["title"][1] for r in stored.result_list(conn, act["id"], "en")}
        links = stored.result_links(conn, act["id"], "99")
        in_vocabulary_1 = stored.result_links(conn, act["id"], "1")
    assert {titles[k]: v for k, v in links.items()} == {
        "Output one": "XX-RESULTS-OUT-1",
        "Output two": "XX-RESULTS-OUT-2",
    }
    assert {titles[k]: v for k, v in in_vocabulary_1.items()} == {
        "Output three": "XX-RESULTS-OUT-1"
    }


def test_a_countrys_outcomes_leave_out_child_activities(engine: Engine) -> None:
    load(engine, "results-linked-activity.xml")
    with engine.connect() as conn:
        total, page = queries.activity_page(
            conn, country="ML", reporting_orgs=("XX-RESULTS",), outcomes_only=True
        )
        every, _all = queries.activity_page(conn, country="ML", reporting_orgs=("XX-RESULTS",))
        counted = queries.countries(conn, ("XX-RESULTS",))
    assert (total, [a["iati_identifier"] for a in page]) == (
        2,
        ["XX-RESULTS-OTHER", "XX-RESULTS-OUTCOME"],
    )
    assert every == 4
    assert counted == {"ML": 2}


def test_a_countrys_activities_are_only_the_portals_publishers(engine: Engine) -> None:
    # Both files name Mali; a portal of XX-RESULTS lists its own activities there only.
    load(engine, "results-linked-activity.xml")
    load(engine, "money-percentage-split.xml")
    with engine.connect() as conn:
        total, page = queries.activity_page(conn, country="ML", reporting_orgs=("XX-RESULTS",))
        everyone, pages = queries.activity_page(conn, country="ml", limit=None)
    assert total == 4
    assert {a["reporting_org_ref"] for a in page} == {"XX-RESULTS"}
    assert {a["reporting_org_ref"] for a in pages} == {"XX-RESULTS", "XX-SPLIT"}
    assert everyone > total
