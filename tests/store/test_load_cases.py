"""Ingest of small fixtures into the store, on SQLite and PostgreSQL: XML in, rows out.

Expected values are read off the fixture files by hand (see the comment at the top of each
fixture), never computed by the code under test. Where a case needs the same path to change
(replacement, a later broken version), fixtures are copied into ``tmp_path``.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from own_rules import own
from sqlalchemy import Connection, Engine, select

from iatiportal.store import load as load_module
from iatiportal.store import queries
from iatiportal.store import schema as s
from iatiportal.store.load import IngestSummary, ingest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def fixture(name: str) -> str:
    return str((FIXTURES / name).resolve())


def load(engine: Engine, *names: str, force: bool = False) -> IngestSummary:
    return ingest(engine, [fixture(n) for n in names], force=force)


def statuses(summary: IngestSummary) -> list[tuple[str, str]]:
    return [(Path(f.source).name, f.status) for f in summary.files]


def activity_row(conn: Connection, ident: str) -> Any:
    """The current copy of an activity."""
    rows = conn.execute(
        select(s.activity).where(
            s.activity.c.iati_identifier == ident, s.activity.c.is_current.is_(True)
        )
    ).all()
    assert len(rows) == 1, f"{len(rows)} current copies of {ident}"
    return rows[0]


def stored_identifiers(conn: Connection) -> list[str]:
    return sorted(conn.execute(select(s.activity.c.iati_identifier)).scalars())


def narratives(conn: Connection, activity_id: int) -> set[tuple[str, str | None, str]]:
    rows = conn.execute(
        select(s.narrative.c.element, s.narrative.c.lang, s.narrative.c.text).where(
            s.narrative.c.activity_id == activity_id
        )
    ).all()
    return {(row.element, row.lang, row.text) for row in rows}


def problem_rows(conn: Connection, **filters: Any) -> list[tuple[Any, ...]]:
    """The problems of the portal's own rules (the rule set's: tests/ingest/test_rulesets.py)."""
    return [
        (Path(p.file_path).name, p.line, p.iati_identifier, p.severity, p.rule)
        for p in own(queries.problems(conn, **filters))
    ]


def copy_to(src: str, dest: Path) -> str:
    shutil.copyfile(FIXTURES / src, dest)
    return str(dest.resolve())


# -- IATI 1.0x code mappings ---------------------------------------------------------------


def test_v105_transaction_types_stored_as_203_codes(engine: Engine) -> None:
    summary = load(engine, "v105-transaction-type-text-codes.xml")
    assert statuses(summary) == [("v105-transaction-type-text-codes.xml", "ingested")]

    with engine.connect() as conn:
        act = activity_row(conn, "XX-TEST-105-TT")
        rows = conn.execute(
            select(s.transaction.c.transaction_ref, s.transaction.c.transaction_type,
                   s.transaction.c.value)
            .where(s.transaction.c.activity_id == act.id)
        ).all()  # fmt: skip
        assert {ref: (ttype, value) for ref, ttype, value in rows} == {
            "C": ("2", Decimal(100)), "D": ("3", Decimal(200)), "E": ("4", Decimal(300)),
            "IF": ("1", Decimal(400)), "IR": ("5", Decimal(500)), "LR": ("6", Decimal(600)),
            "R": ("7", Decimal(700)), "QP": ("8", Decimal(800)), "QS": ("9", Decimal(900)),
            "CG": ("10", Decimal(1000)),
        }  # fmt: skip
        assert act.iati_version == "1.05"
        assert act.default_currency == "EUR"
        assert act.schema_valid is True
        sums = queries.stats(conn)["transaction_sums"]
    assert [(x["transaction_type"], x["currency"], x["value"], x["count"]) for x in sums] == [
        ("1", "EUR", Decimal(400), 1),
        ("10", "EUR", Decimal(1000), 1),
        ("2", "EUR", Decimal(100), 1),
        ("3", "EUR", Decimal(200), 1),
        ("4", "EUR", Decimal(300), 1),
        ("5", "EUR", Decimal(500), 1),
        ("6", "EUR", Decimal(600), 1),
        ("7", "EUR", Decimal(700), 1),
        ("8", "EUR", Decimal(800), 1),
        ("9", "EUR", Decimal(900), 1),
    ]


def test_v103_participating_org_roles_stored_as_codes(engine: Engine) -> None:
    load(engine, "v103-participating-org-roles.xml")

    with engine.connect() as conn:
        act = activity_row(conn, "XX-TEST-103-ROLES")
        rows = conn.execute(
            select(s.participating_org.c.ref, s.participating_org.c.role,
                   s.participating_org.c.type)
            .where(s.participating_org.c.activity_id == act.id)
        ).all()  # fmt: skip
        assert sorted(tuple(row) for row in rows) == [
            ("XX-ACCOUNTABLE", "2", "10"),
            ("XX-EXTENDING", "3", "21"),
            ("XX-FUNDER", "1", "10"),
            ("XX-IMPLEMENTING", "4", "22"),
        ]
        assert {
            (element, lang, text)
            for element, lang, text in narratives(conn, act.id)
            if element == "participating-org"
        } == {
            ("participating-org", "en", "Funding Ministry"),
            ("participating-org", "en", "Accountable Agency"),
            ("participating-org", "en", "Extending NGO"),
            ("participating-org", "en", "Implementing Partner"),
        }


def test_v104_activity_date_types_stored_as_codes(engine: Engine) -> None:
    load(engine, "v104-activity-date-types.xml")

    with engine.connect() as conn:
        act = activity_row(conn, "XX-TEST-104-DATES")
        rows = conn.execute(
            select(s.activity_date.c.activity_date_type, s.activity_date.c.iso_date)
            .where(s.activity_date.c.activity_id == act.id)
        ).all()  # fmt: skip
    assert sorted(tuple(row) for row in rows) == [
        ("1", dt.date(2011, 1, 15)),
        ("2", dt.date(2011, 2, 20)),
        ("3", dt.date(2012, 12, 31)),
        ("4", dt.date(2013, 3, 31)),
    ]
    assert (act.start_planned, act.start_actual, act.end_planned, act.end_actual) == (
        dt.date(2011, 1, 15),
        dt.date(2011, 2, 20),
        dt.date(2012, 12, 31),
        dt.date(2013, 3, 31),
    )


def test_v105_sector_vocabularies_stored_as_codes(engine: Engine) -> None:
    load(engine, "v105-sector-vocabulary.xml")

    with engine.connect() as conn:
        act = activity_row(conn, "XX-TEST-105-SECTORS")
        rows = conn.execute(
            select(s.sector.c.sector_code, s.sector.c.vocabulary, s.sector.c.percentage)
            .where(s.sector.c.activity_id == act.id)
        ).all()  # fmt: skip
        # DAC 11110 and DAC-3 111 are codes of their codelists: no codelist warnings (only
        # the sanity rule: each vocabulary's percentages should add up to 100).
        assert {p[4] for p in problem_rows(conn)} == {"percentages-sum"}
    assert sorted(tuple(row) for row in rows) == [
        ("111", "2", Decimal(40)),
        ("11110", "1", Decimal(60)),
    ]


def test_v105_result_types_stored_as_codes(engine: Engine) -> None:
    load(engine, "v105-result-type.xml")

    with engine.connect() as conn:
        act = activity_row(conn, "XX-TEST-105-RESULTS")
        results = conn.execute(
            select(s.result.c.id, s.result.c.result_type, s.result.c.aggregation_status)
            .where(s.result.c.activity_id == act.id)
        ).all()  # fmt: skip
        by_type = {row.result_type: row for row in results}
        assert sorted(by_type) == ["1", "2"]
        assert by_type["1"].aggregation_status is True
        indicators = conn.execute(
            select(s.indicator.c.result_id, s.indicator.c.measure, s.indicator.c.ascending)
            .where(s.indicator.c.activity_id == act.id)
        ).all()  # fmt: skip
        assert sorted((row.result_id, row.measure, row.ascending) for row in indicators) == sorted(
            [(by_type["1"].id, "1", True), (by_type["2"].id, "2", None)]
        )
        titles = {
            (element, text) for element, _lang, text in narratives(conn, act.id)
            if element in ("result/title", "indicator/title")
        }  # fmt: skip
        assert titles == {
            ("result/title", "Schools built"),
            ("result/title", "Children enrolled"),
            ("indicator/title", "Number of schools"),
            ("indicator/title", "Enrolment rate"),
        }
        targets = conn.execute(select(s.target.c.value)).scalars().all()
        actuals = conn.execute(select(s.actual.c.value)).scalars().all()
        baselines = conn.execute(select(s.baseline.c.year, s.baseline.c.value)).all()
        stats = queries.stats(conn)
    assert (targets, actuals, [tuple(b) for b in baselines]) == (["10"], ["8"], [(2012, "0")])
    assert (stats["results"], stats["indicators"]) == (2, 2)


def test_v102_narratives_from_element_text(engine: Engine) -> None:
    load(engine, "v102-narratives-element-text.xml")

    with engine.connect() as conn:
        act = activity_row(conn, "XX-TEST-102-TEXT")
        assert act.default_lang == "en"
        assert narratives(conn, act.id) == {
            ("title", "en", "Water for villages"),
            ("title", "fr", "De l'eau pour les villages"),
            ("description", "en", "Wells in twelve villages."),
            ("reporting-org", "en", "Test Ministry"),
        }
        types = conn.execute(
            select(s.description.c.description_type).where(s.description.c.activity_id == act.id)
        ).scalars().all()  # fmt: skip
    assert types == ["1"]


def test_v105_location_coordinates_stored(engine: Engine) -> None:
    load(engine, "v105-location-coordinates.xml")

    with engine.connect() as conn:
        act = activity_row(conn, "XX-TEST-105-LOCATION")
        (loc,) = conn.execute(select(s.location).where(s.location.c.activity_id == act.id)).all()
        assert narratives(conn, act.id) >= {("location/name", "en", "Bamako")}
    assert loc.latitude == pytest.approx(12.6392)
    assert loc.longitude == pytest.approx(-8.0029)


def test_pilot_2010_format_stored(engine: Engine) -> None:
    load(engine, "pilot-2010.xml")

    with engine.connect() as conn:
        act = activity_row(conn, "XXPILOT-00012345")
        assert act.iati_version == "1.0"
        assert act.activity_status == "2"
        assert (act.start_planned, act.end_planned) == (dt.date(2009, 10, 8), dt.date(2010, 12, 31))
        transactions = conn.execute(
            select(s.transaction.c.transaction_type, s.transaction.c.value)
            .where(s.transaction.c.activity_id == act.id)
        ).all()  # fmt: skip
        assert [tuple(t) for t in transactions] == [("4", Decimal(-37163))]
        roles = conn.execute(
            select(s.participating_org.c.ref, s.participating_org.c.role)
            .where(s.participating_org.c.activity_id == act.id)
        ).all()  # fmt: skip
        assert sorted(tuple(row) for row in roles) == [("'00099", "1"), ("'00100", "4")]
        budgets = conn.execute(
            select(s.budget.c.budget_type, s.budget.c.value)
            .where(s.budget.c.activity_id == act.id)
        ).all()  # fmt: skip
        assert [tuple(b) for b in budgets] == [("1", Decimal("258096.37"))]
        assert ("pilot-2010.xml", 10, "XXPILOT-00012345", "warning", "identifier-derived") in (
            problem_rows(conn, rule="identifier-derived")
        )
        sums = queries.stats(conn)["transaction_sums"]
    # The transaction has no currency: the activity's default-currency (USD) is used.
    assert [(x["transaction_type"], x["currency"], x["value"]) for x in sums] == [
        ("4", "USD", Decimal(-37163)),
    ]


# -- hierarchy and languages ---------------------------------------------------------------


def test_v201_hierarchy_stored(engine: Engine) -> None:
    load(engine, "v201-hierarchy-parent-child.xml")

    with engine.connect() as conn:
        parent = activity_row(conn, "XX-TEST-PARENT")
        child = activity_row(conn, "XX-TEST-CHILD")
        related = conn.execute(
            select(s.related_activity.c.activity_id, s.related_activity.c.ref,
                   s.related_activity.c.related_activity_type)
        ).all()  # fmt: skip
    assert (parent.hierarchy, child.hierarchy) == (1, 2)
    assert sorted(tuple(row) for row in related) == sorted([
        (parent.id, "XX-TEST-CHILD", "2"),
        (child.id, "XX-TEST-PARENT", "1"),
    ])  # fmt: skip


def test_narrative_table_keeps_every_language(engine: Engine) -> None:
    load(engine, "v203-narratives-multilingual.xml")

    with engine.connect() as conn:
        act = activity_row(conn, "XX-TEST-LANGS")
        (transaction_id,) = conn.execute(
            select(s.transaction.c.id).where(s.transaction.c.activity_id == act.id)
        ).scalars().all()  # fmt: skip
        rows = conn.execute(
            select(s.narrative.c.element, s.narrative.c.owner_id, s.narrative.c.lang,
                   s.narrative.c.text)
            .where(s.narrative.c.activity_id == act.id, s.narrative.c.element != "description")
        ).all()  # fmt: skip
        descriptions = conn.execute(
            select(s.narrative.c.lang, s.narrative.c.text)
            .where(s.narrative.c.activity_id == act.id, s.narrative.c.element == "description")
        ).all()  # fmt: skip
    assert sorted(tuple(row) for row in rows) == sorted([
        ("title", None, "en", "Gender equality"),
        ("title", None, "fr", "Égalité des genres"),
        ("title", None, "es", "Igualdad de género"),
        ("reporting-org", None, "en", "Test Ministry"),
        ("transaction/description", transaction_id, "en", "First instalment"),
        ("transaction/description", transaction_id, "ar", "الدفعة الأولى"),
    ])  # fmt: skip
    assert sorted(tuple(row) for row in descriptions) == [
        ("en", "Support to women's organisations."),
        ("fr", "Soutien aux organisations de femmes."),
    ]


def test_foreign_namespaces_tolerated(engine: Engine) -> None:
    summary = load(engine, "foreign-namespaces.xml")
    assert statuses(summary) == [("foreign-namespaces.xml", "ingested")]

    with engine.connect() as conn:
        act = activity_row(conn, "XX-TEST-FOREIGN-1")
        assert (act.iati_version, act.default_lang, act.default_currency) == ("2.02", "en", "USD")
        assert (act.reporting_org_ref, act.reporting_org_type) == ("XX-TEST", "10")
        assert (act.activity_status, act.start_planned) == ("2", dt.date(2020, 3, 1))
        assert act.schema_valid is True
        assert act.source_line == 11
        assert narratives(conn, act.id) == {
            ("title", "en", "Foreign namespaces"),
            ("title", "fr", "Espaces de noms"),
            ("description", "en", "Tolerated."),
            ("reporting-org", "en", "Test Ministry"),
            ("participating-org", "en", "Funder"),
        }
        orgs = conn.execute(
            select(s.participating_org.c.role, s.participating_org.c.ref,
                   s.participating_org.c.type)
            .where(s.participating_org.c.activity_id == act.id)
        ).all()  # fmt: skip
        assert [tuple(o) for o in orgs] == [("1", "XX-FUNDER", "10")]
        countries = conn.execute(
            select(s.recipient_country.c.recipient_country_code)
            .where(s.recipient_country.c.activity_id == act.id)
        ).scalars().all()  # fmt: skip
        assert countries == ["ML"]
        sectors = conn.execute(
            select(s.sector.c.sector_code, s.sector.c.vocabulary)
            .where(s.sector.c.activity_id == act.id)
        ).all()  # fmt: skip
        assert [tuple(x) for x in sectors] == [("12264", "1")]
        transactions = conn.execute(
            select(s.transaction.c.transaction_type, s.transaction.c.value,
                   s.transaction.c.currency)
            .where(s.transaction.c.activity_id == act.id)
        ).all()  # fmt: skip
        assert [tuple(t) for t in transactions] == [("3", Decimal("1000.50"), "USD")]
        assert problem_rows(conn) == [
            ("foreign-namespaces.xml", 11, "XX-TEST-FOREIGN-1", "warning",
             "identifier-whitespace"),
        ]  # fmt: skip


# -- duplicates ------------------------------------------------------------------------------


def current_copies(conn: Connection) -> dict[str, str]:
    """Identifier -> name of the file whose copy is current."""
    rows = conn.execute(
        select(s.activity.c.iati_identifier, s.source_file.c.path)
        .join(s.source_file, s.source_file.c.id == s.activity.c.source_file_id)
        .where(s.activity.c.is_current.is_(True))
    ).all()  # fmt: skip
    out: dict[str, str] = {}
    for ident, path in rows:
        assert ident not in out, f"{ident} is current twice"
        out[ident] = Path(path).name
    return out


@pytest.mark.parametrize(
    ("order", "tie_winner", "tie_loser", "tie_value"),
    [
        (("duplicates-a.xml", "duplicates-b.xml"), "duplicates-b.xml", "duplicates-a.xml", 20),
        (("duplicates-b.xml", "duplicates-a.xml"), "duplicates-a.xml", "duplicates-b.xml", 10),
    ],
    ids=["a-then-b", "b-then-a"],
)
def test_duplicates_later_last_updated_wins_tie_goes_to_last_ingested(
    engine: Engine, order: tuple[str, str], tie_winner: str, tie_loser: str, tie_value: int
) -> None:
    summary = load(engine, *order)
    assert [status for _name, status in statuses(summary)] == ["ingested", "ingested"]

    with engine.connect() as conn:
        # XX-TEST-DUP: b's copy (2021-01-01) beats a's (2020-01-01) in either order.
        assert current_copies(conn) == {
            "XX-TEST-DUP": "duplicates-b.xml",
            "XX-TEST-TIE": tie_winner,
            "XX-TEST-ONLY-A": "duplicates-a.xml",
        }
        title = conn.execute(
            select(s.narrative.c.text).where(
                s.narrative.c.activity_id == activity_row(conn, "XX-TEST-DUP").id,
                s.narrative.c.element == "title")
        ).scalar_one()  # fmt: skip
        assert title == "Duplicate, newer copy (b)"
        assert sorted(problem_rows(conn, rule="duplicate-identifier")) == sorted([
            ("duplicates-a.xml", 8, "XX-TEST-DUP", "warning", "duplicate-identifier"),
            (tie_loser, 22, "XX-TEST-TIE", "warning", "duplicate-identifier"),
        ])  # fmt: skip
        stats = queries.stats(conn)
    # Each identifier once; both copies stay stored.
    assert (stats["activities"], stats["activities_stored"]) == (3, 5)
    assert stats["transactions"] == 3
    assert stats["transaction_sums"] == [
        {"transaction_type": "3", "currency": "USD", "value": Decimal(250 + tie_value + 1),
         "count": 3},
    ]  # fmt: skip


def snapshot(conn: Connection) -> dict[str, Any]:
    """Everything ingest decides, without timestamps."""
    return {
        "activities": sorted(
            tuple(row) for row in conn.execute(
                select(s.activity.c.id, s.activity.c.iati_identifier, s.activity.c.is_current,
                       s.activity.c.source_file_id))
        ),
        "problems": sorted(
            tuple(row) for row in conn.execute(
                select(s.problem.c.file_path, s.problem.c.line, s.problem.c.iati_identifier,
                       s.problem.c.rule, s.problem.c.message))
        ),
        "current": current_copies(conn),
        "stats": queries.stats(conn),
    }  # fmt: skip


def test_reingesting_duplicates_changes_nothing(engine: Engine) -> None:
    load(engine, "duplicates-a.xml", "duplicates-b.xml")
    with engine.connect() as conn:
        before = snapshot(conn)

    again = load(engine, "duplicates-a.xml", "duplicates-b.xml")
    assert statuses(again) == [("duplicates-a.xml", "unchanged"),
                               ("duplicates-b.xml", "unchanged")]  # fmt: skip
    with engine.connect() as conn:
        assert snapshot(conn) == before

    forced = load(engine, "duplicates-a.xml", "duplicates-b.xml", force=True)
    assert [status for _name, status in statuses(forced)] == ["ingested", "ingested"]
    with engine.connect() as conn:
        after = snapshot(conn)
    # Re-read in the same order: new row ids, but the same decisions and the same problems.
    assert after["current"] == before["current"]
    assert after["problems"] == before["problems"]
    assert after["stats"] == before["stats"]
    assert len(after["activities"]) == len(before["activities"]) == 5


def test_duplicate_in_one_file_later_last_updated_wins(engine: Engine) -> None:
    load(engine, "duplicates-same-file.xml")

    with engine.connect() as conn:
        act = activity_row(conn, "XX-TEST-TWICE")
        assert act.source_line == 8
        assert act.last_updated_datetime == dt.datetime(2022, 3, 1)
        assert problem_rows(conn, rule="duplicate-identifier") == [
            ("duplicates-same-file.xml", 17, "XX-TEST-TWICE", "warning", "duplicate-identifier"),
        ]
        stats = queries.stats(conn)
    assert (stats["activities"], stats["activities_stored"]) == (1, 2)


# -- unchanged, modified, broken files --------------------------------------------------------


def test_unchanged_file_is_skipped(engine: Engine) -> None:
    first = load(engine, "v201-hierarchy-parent-child.xml")
    with engine.connect() as conn:
        before = snapshot(conn)
    second = load(engine, "v201-hierarchy-parent-child.xml")

    assert [(f.status, f.activities) for f in first.files] == [("ingested", 2)]
    assert [(f.status, f.activities) for f in second.files] == [("unchanged", 2)]
    with engine.connect() as conn:
        assert snapshot(conn) == before


def test_a_file_as_it_was_read_is_not_hashed_again(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same size and modification time as when last read: unchanged without reading it (an
    unchanged re-ingest spent most of its time hashing); a touch, or new content of the same
    size, is hashed and decided by its digest."""
    path = copy_to("duplicates-a.xml", tmp_path / "publisher.xml")
    assert [f.status for f in ingest(engine, [path]).files] == ["ingested"]
    hashed: list[Path] = []
    real = load_module.sha256_of

    def counting(p: Path) -> str:
        hashed.append(p)
        return real(p)

    monkeypatch.setattr(load_module, "sha256_of", counting)
    assert [f.status for f in ingest(engine, [path]).files] == ["unchanged"]
    assert hashed == []
    stat = Path(path).stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # touched: same content
    assert [f.status for f in ingest(engine, [path]).files] == ["unchanged"]
    assert len(hashed) == 1
    assert [f.status for f in ingest(engine, [path]).files] == ["unchanged"]  # its new time kept
    assert len(hashed) == 1
    # Other content of the same size, written later: read again.
    text = Path(path).read_text(encoding="utf-8")
    changed = text.replace("Test Ministry", "Test Minister")
    assert len(changed) == len(text) != 0 and changed != text
    Path(path).write_text(changed, encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2 * 10**9))
    assert [f.status for f in ingest(engine, [path]).files] == ["ingested"]
    assert len(hashed) == 2
    # --force reads it whatever its time says.
    assert [f.status for f in ingest(engine, [path], force=True).files] == ["ingested"]


def test_modified_file_replaces_its_previous_activities(engine: Engine, tmp_path: Path) -> None:
    path = copy_to("duplicates-a.xml", tmp_path / "publisher.xml")
    assert [f.status for f in ingest(engine, [path]).files] == ["ingested"]

    copy_to("duplicates-b.xml", tmp_path / "publisher.xml")
    assert [f.status for f in ingest(engine, [path]).files] == ["ingested"]

    with engine.connect() as conn:
        # Only b's content: XX-TEST-ONLY-A is gone, nothing is doubled.
        assert stored_identifiers(conn) == ["XX-TEST-DUP", "XX-TEST-TIE"]
        titles = conn.execute(
            select(s.narrative.c.text).where(s.narrative.c.element == "title")
        ).scalars().all()  # fmt: skip
        assert sorted(titles) == ["Duplicate, newer copy (b)", "Tie, copy b"]
        # One file replaced its own copies: no duplicate problems.
        assert problem_rows(conn) == []
        (file_row,) = conn.execute(select(s.source_file)).all()
        stats = queries.stats(conn)
    # Known by its public name (the file's name), never by the server's path to it.
    assert (file_row.path, file_row.activity_count, file_row.status) == ("publisher.xml", 2, "ok")
    assert (stats["activities"], stats["activities_stored"], stats["transactions"]) == (2, 2, 2)
    assert stats["transaction_sums"] == [
        {"transaction_type": "3", "currency": "USD", "value": Decimal(270), "count": 2},
    ]


def test_modified_file_that_drops_the_winning_copy_hands_it_back(
    engine: Engine, tmp_path: Path
) -> None:
    older = copy_to("duplicates-a.xml", tmp_path / "older.xml")
    newer = copy_to("duplicates-b.xml", tmp_path / "newer.xml")
    ingest(engine, [older, newer])
    with engine.connect() as conn:
        assert current_copies(conn)["XX-TEST-DUP"] == "newer.xml"

    # newer.xml no longer publishes XX-TEST-DUP nor XX-TEST-TIE: older.xml's copies are used.
    copy_to("v201-hierarchy-parent-child.xml", tmp_path / "newer.xml")
    assert [f.status for f in ingest(engine, [newer]).files] == ["ingested"]

    with engine.connect() as conn:
        assert current_copies(conn) == {
            "XX-TEST-DUP": "older.xml",
            "XX-TEST-TIE": "older.xml",
            "XX-TEST-ONLY-A": "older.xml",
            "XX-TEST-PARENT": "newer.xml",
            "XX-TEST-CHILD": "newer.xml",
        }
        assert problem_rows(conn, rule="duplicate-identifier") == []
        stats = queries.stats(conn)
    assert (stats["activities"], stats["activities_stored"]) == (5, 5)
    assert stats["transaction_sums"] == [
        {"transaction_type": "3", "currency": "USD", "value": Decimal(111), "count": 3},
    ]


def test_malformed_half_way_keeps_the_previous_content(engine: Engine, tmp_path: Path) -> None:
    path = copy_to("v201-hierarchy-parent-child.xml", tmp_path / "publisher.xml")
    assert [f.status for f in ingest(engine, [path]).files] == ["ingested"]
    with engine.connect() as conn:
        good_sha = conn.execute(select(s.source_file.c.sha256)).scalar_one()

    copy_to("malformed.xml", tmp_path / "publisher.xml")
    summary = ingest(engine, [path])

    assert [(f.status, f.problems["error"]) for f in summary.files] == [("failed", 1)]
    with engine.connect() as conn:
        assert problem_rows(conn) == [("publisher.xml", 24, None, "error", "xml-syntax")]
        # The previous content is intact; nothing of the broken version (XX-TEST-MAL-1).
        assert stored_identifiers(conn) == ["XX-TEST-CHILD", "XX-TEST-PARENT"]
        assert set(current_copies(conn)) == {"XX-TEST-CHILD", "XX-TEST-PARENT"}
        (file_row,) = conn.execute(select(s.source_file)).all()
        assert (file_row.error_rule, file_row.sha256) == ("xml-syntax", good_sha)
        assert queries.stats(conn)["activities"] == 2

    # Once the publisher fixes the file, it is read again (not skipped as unchanged).
    copy_to("v201-hierarchy-parent-child.xml", tmp_path / "publisher.xml")
    assert [f.status for f in ingest(engine, [path]).files] == ["ingested"]
    with engine.connect() as conn:
        (file_row,) = conn.execute(select(s.source_file)).all()
        assert (file_row.status, file_row.error_rule) == ("ok", None)
        assert problem_rows(conn) == []


def test_malformed_new_file_stores_nothing(engine: Engine) -> None:
    summary = load(engine, "malformed.xml")

    assert statuses(summary) == [("malformed.xml", "failed")]
    with engine.connect() as conn:
        assert stored_identifiers(conn) == []
        assert problem_rows(conn) == [("malformed.xml", 24, None, "error", "xml-syntax")]
        (file_row,) = conn.execute(select(s.source_file)).all()
        stats = queries.stats(conn)
    assert (file_row.status, file_row.error_rule) == ("failed", "xml-syntax")
    assert (stats["files"], stats["files_failed"], stats["activities"]) == (0, 1, 0)
    assert stats["problems"] == {"error": 1, "warning": 0, "info": 0}


def all_stored_text(conn: Connection) -> str:
    """Every text the store holds from files, as one string to search."""
    parts: list[str] = []
    parts += conn.execute(select(s.narrative.c.text)).scalars().all()
    parts += conn.execute(select(s.problem.c.message)).scalars().all()
    parts += [m or "" for m in conn.execute(select(s.source_file.c.error_message)).scalars()]
    parts += [raw.decode("utf-8", "replace")
              for raw in conn.execute(select(s.activity_xml.c.raw_xml)).scalars()]  # fmt: skip
    return "\n".join(parts)


@pytest.mark.parametrize("name", ["billion-laughs.xml", "external-entity.xml"])
def test_doctype_files_are_refused(engine: Engine, name: str) -> None:
    summary = load(engine, name)

    assert statuses(summary) == [(name, "failed")]
    with engine.connect() as conn:
        assert [(n, ident, sev, rule) for n, _line, ident, sev, rule in problem_rows(conn)] == [
            (name, None, "error", "xml-doctype"),
        ]
        assert stored_identifiers(conn) == []
        stored = all_stored_text(conn)
    assert "lollol" not in stored
    first_passwd_line = Path("/etc/passwd").read_text(encoding="utf-8").splitlines()[0]
    assert first_passwd_line not in stored
    assert "root:x:0:0" not in stored


@pytest.mark.parametrize(
    ("name", "rule", "line"),
    [("empty.xml", "not-xml", None), ("wrong-root.xml", "not-iati", 5)],
)
def test_unreadable_file_is_a_file_level_problem(
    engine: Engine, name: str, rule: str, line: int | None
) -> None:
    summary = load(engine, name)

    assert statuses(summary) == [(name, "failed")]
    with engine.connect() as conn:
        assert problem_rows(conn) == [(name, line, None, "error", rule)]
        (file_row,) = conn.execute(select(s.source_file)).all()
        assert (file_row.status, file_row.error_rule) == ("failed", rule)
        assert stored_identifiers(conn) == []


def test_other_files_of_the_run_still_go_in(engine: Engine) -> None:
    summary = load(
        engine,
        "malformed.xml",
        "billion-laughs.xml",
        "v201-hierarchy-parent-child.xml",
        "external-entity.xml",
        "empty.xml",
        "wrong-root.xml",
        "organisation-203.xml",
    )

    assert statuses(summary) == [
        ("malformed.xml", "failed"),
        ("billion-laughs.xml", "failed"),
        ("v201-hierarchy-parent-child.xml", "ingested"),
        ("external-entity.xml", "failed"),
        ("empty.xml", "failed"),
        ("wrong-root.xml", "failed"),
        ("organisation-203.xml", "ingested"),
    ]
    with engine.connect() as conn:
        assert stored_identifiers(conn) == ["XX-TEST-CHILD", "XX-TEST-PARENT"]
        assert sorted((name, rule) for name, _l, _i, _s, rule in problem_rows(conn)) == [
            ("billion-laughs.xml", "xml-doctype"),
            ("empty.xml", "not-xml"),
            ("external-entity.xml", "xml-doctype"),
            ("malformed.xml", "xml-syntax"),
            ("wrong-root.xml", "not-iati"),
        ]
        stats = queries.stats(conn)
    assert (stats["files"], stats["files_failed"]) == (2, 5)
    assert (stats["activities"], stats["organisations"]) == (2, 1)


# -- per-activity problems -------------------------------------------------------------------


def test_missing_identifier_skips_the_activity_and_keeps_the_others(engine: Engine) -> None:
    summary = load(engine, "missing-identifier.xml")

    # Two identifiers missing, and on each of the two activities stored the rule set's 6.2.2
    # (no sector), 3.7.1 (no recipient country or region) and 1.14.8 (XX-TEST has no agency
    # prefix): 2 + 2 * 3 errors.
    assert [(f.status, f.activities, f.problems["error"]) for f in summary.files] == [
        ("ingested", 2, 8),
    ]
    with engine.connect() as conn:
        assert stored_identifiers(conn) == ["XX-TEST-MI-1", "XX-TEST-MI-4"]
        assert problem_rows(conn) == [
            ("missing-identifier.xml", 18, None, "error", "identifier-missing"),
            ("missing-identifier.xml", 28, None, "error", "identifier-missing"),
        ]


def test_schema_invalid_activity_is_stored_and_flagged(engine: Engine) -> None:
    load(engine, "schema-invalid.xml")

    with engine.connect() as conn:
        assert activity_row(conn, "XX-TEST-VALID").schema_valid is True
        invalid = activity_row(conn, "XX-TEST-INVALID")
        assert invalid.schema_valid is False
        budgets = conn.execute(
            select(s.budget.c.value).where(s.budget.c.activity_id == invalid.id)
        ).scalars().all()  # fmt: skip
        assert budgets == [Decimal(1000)]
        assert problem_rows(conn) == [
            ("schema-invalid.xml", 29, "XX-TEST-INVALID", "error", "schema"),
        ]
        assert problem_rows(conn, activity="XX-TEST-VALID") == []


# -- organisations and money -----------------------------------------------------------------


def test_organisation_file_stored(engine: Engine) -> None:
    summary = load(engine, "organisation-203.xml")
    assert [(f.status, f.activities, f.organisations) for f in summary.files] == [
        ("ingested", 0, 1),
    ]

    with engine.connect() as conn:
        (org,) = conn.execute(select(s.organisation)).all()
        assert (org.organisation_identifier, org.is_current, org.default_currency,
                org.default_lang) == ("XX-TEST-ORG", True, "USD", "en")  # fmt: skip
        assert (org.reporting_org_ref, org.reporting_org_type) == ("XX-TEST-ORG", "40")
        assert org.last_updated_datetime == dt.datetime(2024, 1, 15, 9, 30)
        assert org.schema_valid is True
        budgets = conn.execute(
            select(s.organisation_budget.c.element, s.organisation_budget.c.budget_status,
                   s.organisation_budget.c.period_start, s.organisation_budget.c.period_end,
                   s.organisation_budget.c.value, s.organisation_budget.c.currency,
                   s.organisation_budget.c.recipient_ref)
            .where(s.organisation_budget.c.organisation_id == org.id)
        ).all()  # fmt: skip
        assert sorted(tuple(b) for b in budgets) == [
            ("recipient-country-budget", "1", dt.date(2024, 1, 1), dt.date(2024, 12, 31),
             Decimal("1250000.75"), "USD", "ML"),
            ("total-budget", "2", dt.date(2024, 1, 1), dt.date(2024, 12, 31),
             Decimal(5000000), "USD", None),
            ("total-expenditure", None, dt.date(2023, 1, 1), dt.date(2023, 12, 31),
             Decimal("4100000.25"), "USD", None),
        ]  # fmt: skip
        names = conn.execute(
            select(s.narrative.c.element, s.narrative.c.lang, s.narrative.c.text)
            .where(s.narrative.c.organisation_id == org.id)
        ).all()  # fmt: skip
        assert sorted(tuple(n) for n in names) == [
            ("organisation/name", "en", "Test Organisation"),
            ("organisation/name", "fr", "Organisation de test"),
            ("organisation/reporting-org", "en", "Test Organisation"),
        ]
        (file_row,) = conn.execute(select(s.source_file)).all()
        stats = queries.stats(conn)
    assert (file_row.kind, file_row.iati_version, file_row.organisation_count) == (
        "organisations",
        "2.03",
        1,
    )
    assert (stats["organisations"], stats["activities"]) == (1, 0)


def test_money_sums_are_exact(engine: Engine) -> None:
    load(engine, "money-exact-sums.xml")

    with engine.connect() as conn:
        sums = queries.stats(conn)["transaction_sums"]
        values = conn.execute(select(s.transaction.c.value)).scalars().all()
    assert all(isinstance(x["value"], Decimal) for x in sums)
    assert sums == [
        {"transaction_type": "2", "currency": "USD",
         "value": Decimal("12345678901.23") + Decimal("98765432109.87") + Decimal("0.01"),
         "count": 3},
        {"transaction_type": "3", "currency": "EUR",
         "value": Decimal("99999999999.99") + Decimal("0.01"), "count": 2},
        {"transaction_type": "3", "currency": "USD",
         "value": Decimal("0.1") + Decimal("0.2"), "count": 2},
        {"transaction_type": "4", "currency": "USD",
         "value": Decimal("1000000.05") + Decimal("-0.05"), "count": 2},
    ]  # fmt: skip
    assert sums[2]["value"] == Decimal("0.3")
    assert sums[0]["value"] == Decimal("111111111011.11")
    assert sorted(values) == sorted(Decimal(v) for v in (
        "0.1", "12345678901.23", "0.01", "99999999999.99", "1000000.05",
        "0.2", "98765432109.87", "0.01", "-0.05"))  # fmt: skip


def test_a_fifth_decimal_rounds_alike_on_both_databases(engine: Engine, tmp_path: Path) -> None:
    # PostgreSQL's NUMERIC(24, 4) rounds half away from zero; SQLite's integer form must too
    # (the benchmark file holds values such as 25562062.49685).
    path = tmp_path / "fifth-decimal.xml"
    path.write_text(
        '<iati-activities version="2.03"><iati-activity default-currency="USD">'
        "<iati-identifier>XX-ROUND-1</iati-identifier>"
        '<transaction><transaction-type code="4"/><transaction-date iso-date="2024-01-01"/>'
        '<value value-date="2024-01-01">0.00005</value></transaction>'
        '<transaction><transaction-type code="4"/><transaction-date iso-date="2024-01-01"/>'
        '<value value-date="2024-01-01">-0.00015</value></transaction>'
        "</iati-activity></iati-activities>",
        encoding="utf-8",
    )
    ingest(engine, [str(path)])
    with engine.connect() as conn:
        values = sorted(conn.execute(select(s.transaction.c.value)).scalars())
    assert values == [Decimal("-0.0002"), Decimal("0.0001")]
