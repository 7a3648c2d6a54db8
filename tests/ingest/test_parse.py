"""The parser on small fixtures, one per case: XML in, records (or a FileError) out.

Expected values are read off the fixture files by hand (see the comment at the top of each
fixture), never computed by the code under test.
"""

from __future__ import annotations

import datetime as dt
import http.server
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from own_rules import own

from iatiportal.ingest import records as r
from iatiportal.ingest.errors import FileError
from iatiportal.ingest.parse import Item, iter_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def read(name: str, *, validate: bool = True) -> list[Item]:
    return list(iter_file(FIXTURES / name, validate=validate))


def activities(items: list[Item]) -> dict[str, r.Activity]:
    found = [i for i in items if isinstance(i, r.Activity)]
    by_id = {a.iati_identifier: a for a in found}
    assert len(by_id) == len(found), "an identifier was yielded twice"
    return by_id


def only_activity(name: str) -> r.Activity:
    (act,) = activities(read(name)).values()
    return act


def rules(problems: list[r.Problem]) -> list[tuple[str, str, int | None]]:
    return [(p.severity, p.rule, p.line) for p in own(problems)]


# -- IATI 1.0x codes and shapes -------------------------------------------------------------


def test_v105_transaction_type_text_codes_become_203_codes() -> None:
    act = only_activity("v105-transaction-type-text-codes.xml")

    assert act.iati_version == "1.05"
    assert {t.ref: t.transaction_type for t in act.transactions} == {
        "C": "2", "D": "3", "E": "4", "IF": "1", "IR": "5",
        "LR": "6", "R": "7", "QP": "8", "QS": "9", "CG": "10",
    }  # fmt: skip
    assert {t.ref: t.value for t in act.transactions} == {
        "C": Decimal(100), "D": Decimal(200), "E": Decimal(300), "IF": Decimal(400),
        "IR": Decimal(500), "LR": Decimal(600), "R": Decimal(700), "QP": Decimal(800),
        "QS": Decimal(900), "CG": Decimal(1000),
    }  # fmt: skip
    assert act.transactions[0].transaction_date == dt.date(2014, 1, 1)
    assert act.schema_valid is True
    assert act.problems == []


def test_v103_participating_org_role_words_become_codes() -> None:
    act = only_activity("v103-participating-org-roles.xml")

    assert [(p.ref, p.role, p.type) for p in act.participating_orgs] == [
        ("XX-FUNDER", "1", "10"),
        ("XX-ACCOUNTABLE", "2", "10"),
        ("XX-EXTENDING", "3", "21"),
        ("XX-IMPLEMENTING", "4", "22"),
    ]
    assert act.participating_orgs[2].narratives == [("en", "Extending NGO")]
    assert act.problems == []


def test_v104_activity_date_type_words_become_codes() -> None:
    act = only_activity("v104-activity-date-types.xml")

    assert [(d.type, d.iso_date) for d in act.activity_dates] == [
        ("1", dt.date(2011, 1, 15)),
        ("2", dt.date(2011, 2, 20)),
        ("3", dt.date(2012, 12, 31)),
        ("4", dt.date(2013, 3, 31)),
    ]
    assert act.activity_dates[0].narratives == [("en", "Planned start")]
    assert act.problems == []


def test_v105_sector_vocabulary_text_codes_become_codes() -> None:
    act = only_activity("v105-sector-vocabulary.xml")

    assert [(s.code, s.vocabulary, s.percentage) for s in act.sectors] == [
        ("11110", "1", Decimal(60)),
        ("111", "2", Decimal(40)),
    ]
    assert act.sectors[1].narratives == [("en", "Education, Level Unspecified")]
    # 60 % in one vocabulary and 40 % in the other: each vocabulary should add up to 100.
    assert [(p.rule, p.message) for p in act.problems] == [
        ("percentages-sum", "sector percentages of vocabulary 1 add up to 60, not 100"),
        ("percentages-sum", "sector percentages of vocabulary 2 add up to 40, not 100"),
    ]


def test_v105_result_type_words_become_codes() -> None:
    act = only_activity("v105-result-type.xml")

    assert [(res.type, res.title) for res in act.results] == [
        ("1", [("en", "Schools built")]),
        ("2", [("en", "Children enrolled")]),
    ]
    output, outcome = act.results
    assert output.aggregation_status is True
    assert [(i.measure, i.ascending, i.title) for i in output.indicators] == [
        ("1", True, [("en", "Number of schools")]),
    ]
    assert [(i.measure, i.title) for i in outcome.indicators] == [
        ("2", [("en", "Enrolment rate")]),
    ]
    (indicator,) = output.indicators
    assert [(b.year, b.value) for b in indicator.baselines] == [(2012, "0")]
    (period,) = indicator.periods
    assert (period.period_start, period.period_end) == (dt.date(2013, 1, 1), dt.date(2013, 12, 31))
    assert [t.value for t in period.targets] == ["10"]
    assert [a.value for a in period.actuals] == ["8"]
    assert act.problems == []


def test_v102_narratives_are_element_text_with_lang_on_the_element() -> None:
    act = only_activity("v102-narratives-element-text.xml")

    assert act.default_lang == "en"
    assert act.titles == [("en", "Water for villages"), ("fr", "De l'eau pour les villages")]
    assert [(d.type, d.narratives) for d in act.descriptions] == [
        ("1", [("en", "Wells in twelve villages.")]),
    ]
    assert act.reporting_org.narratives == [("en", "Test Ministry")]
    assert (act.reporting_org.ref, act.reporting_org.type) == ("XX-TEST", "10")


def test_v105_location_coordinates() -> None:
    act = only_activity("v105-location-coordinates.xml")

    (loc,) = act.locations
    assert (loc.latitude, loc.longitude) == (Decimal("12.6392"), Decimal("-8.0029"))
    assert loc.name == [("en", "Bamako")]
    assert act.problems == []


def test_pilot_2010_format() -> None:
    items = read("pilot-2010.xml")
    header = items[0]
    assert isinstance(header, r.FileHeader)
    assert (header.kind, header.iati_version) == ("activities", "1.0")

    act = only_activity("pilot-2010.xml")
    # Identified from reporting-org and other-identifier, without the leading apostrophe.
    assert act.iati_identifier == "XXPILOT-00012345"
    assert ("warning", "identifier-derived", 10) in rules(act.problems)
    assert act.titles == [("en", "PILOT WATER PROJECT")]
    assert [(t.transaction_type, t.value, t.currency) for t in act.transactions] == [
        ("4", Decimal(-37163), None),
    ]
    assert act.default_currency == "USD"
    assert [(p.ref, p.role) for p in act.participating_orgs] == [
        ("'00099", "1"),
        ("'00100", "4"),
    ]
    assert [(d.type, d.iso_date) for d in act.activity_dates] == [
        ("1", dt.date(2009, 10, 8)),
        ("3", dt.date(2010, 12, 31)),
    ]
    assert act.activity_status == "2"
    assert [(b.type, b.period_start, b.period_end, b.value) for b in act.budgets] == [
        ("1", dt.date(2010, 1, 1), dt.date(2010, 12, 31), Decimal("258096.37")),
    ]
    assert [c.code for c in act.recipient_countries] == ["CD"]


# -- 2.0x structure ------------------------------------------------------------------------


def test_v201_hierarchy_parent_and_child() -> None:
    acts = activities(read("v201-hierarchy-parent-child.xml"))

    assert {ident: a.hierarchy for ident, a in acts.items()} == {
        "XX-TEST-PARENT": 1,
        "XX-TEST-CHILD": 2,
    }
    assert [(x.ref, x.type) for x in acts["XX-TEST-PARENT"].related_activities] == [
        ("XX-TEST-CHILD", "2"),
    ]
    assert [(x.ref, x.type) for x in acts["XX-TEST-CHILD"].related_activities] == [
        ("XX-TEST-PARENT", "1"),
    ]
    assert all(a.schema_valid is True and own(a.problems) == [] for a in acts.values())


def test_every_narrative_language_is_kept() -> None:
    act = only_activity("v203-narratives-multilingual.xml")

    assert act.titles == [
        ("en", "Gender equality"),
        ("fr", "Égalité des genres"),
        ("es", "Igualdad de género"),
    ]
    assert [d.narratives for d in act.descriptions] == [
        [("en", "Support to women's organisations."),
         ("fr", "Soutien aux organisations de femmes.")],
    ]  # fmt: skip
    (t,) = act.transactions
    assert t.description == [("en", "First instalment"), ("ar", "الدفعة الأولى")]


def test_foreign_namespaces_whitespace_and_upper_case_lang_are_tolerated() -> None:
    act = only_activity("foreign-namespaces.xml")

    assert act.iati_identifier == "XX-TEST-FOREIGN-1"
    assert act.source_line == 11
    # The publisher's own version, which D-Portal writes as iati-activities:version.
    assert act.iati_version == "2.02"
    assert act.default_lang == "en"
    assert act.default_currency == "USD"
    assert act.titles == [("en", "Foreign namespaces"), ("fr", "Espaces de noms")]
    assert act.reporting_org.narratives == [("en", "Test Ministry")]
    assert (act.reporting_org.ref, act.reporting_org.type) == ("XX-TEST", "10")
    assert [d.type for d in act.descriptions] == ["1"]
    assert [(p.role, p.ref, p.type) for p in act.participating_orgs] == [
        ("1", "XX-FUNDER", "10"),
    ]
    assert act.activity_status == "2"
    assert [(d.type, d.iso_date) for d in act.activity_dates] == [("1", dt.date(2020, 3, 1))]
    assert [(c.code, c.percentage) for c in act.recipient_countries] == [("ML", Decimal(100))]
    assert [(s.code, s.vocabulary) for s in act.sectors] == [("12264", "1")]
    (t,) = act.transactions
    assert (t.transaction_type, t.value, t.currency, t.transaction_date) == (
        "3",
        Decimal("1000.50"),
        "USD",
        dt.date(2020, 4, 1),
    )
    assert act.schema_valid is True
    assert rules(act.problems) == [("warning", "identifier-whitespace", 11)]


def test_missing_identifier_skips_that_activity_only() -> None:
    items = read("missing-identifier.xml")

    assert list(activities(items)) == ["XX-TEST-MI-1", "XX-TEST-MI-4"]
    skipped = [i for i in items if isinstance(i, r.Problem)]
    assert [(p.severity, p.rule, p.line, p.iati_identifier) for p in skipped] == [
        ("error", "identifier-missing", 18, None),
        ("error", "identifier-missing", 28, None),
    ]


def test_schema_invalid_activity_is_read_with_its_schema_errors() -> None:
    acts = activities(read("schema-invalid.xml"))

    assert acts["XX-TEST-VALID"].schema_valid is True
    assert own(acts["XX-TEST-VALID"].problems) == []
    invalid = acts["XX-TEST-INVALID"]
    assert invalid.schema_valid is False
    assert [(p.severity, p.rule, p.line, p.iati_identifier) for p in own(invalid.problems)] == [
        ("error", "schema", 29, "XX-TEST-INVALID"),
    ]
    # The rest of the activity is read all the same.
    assert [(b.type, b.value) for b in invalid.budgets] == [("1", Decimal(1000))]


def test_without_validation_no_schema_verdict() -> None:
    acts = activities(read("schema-invalid.xml", validate=False))

    assert acts["XX-TEST-INVALID"].schema_valid is None
    assert acts["XX-TEST-INVALID"].problems == []


def test_money_values_are_exact_decimals() -> None:
    acts = activities(read("money-exact-sums.xml"))

    assert [(t.transaction_type, t.value, t.currency)
            for t in acts["XX-TEST-MONEY-1"].transactions] == [
        ("3", Decimal("0.1"), None),
        ("2", Decimal("12345678901.23"), None),
        ("2", Decimal("0.01"), None),
        ("3", Decimal("99999999999.99"), "EUR"),
        ("4", Decimal("1000000.05"), None),
    ]  # fmt: skip
    assert [(t.transaction_type, t.value, t.currency)
            for t in acts["XX-TEST-MONEY-2"].transactions] == [
        ("3", Decimal("0.2"), "USD"),
        ("2", Decimal("98765432109.87"), None),
        ("3", Decimal("0.01"), "EUR"),
        ("4", Decimal("-0.05"), None),
    ]  # fmt: skip


def test_duplicates_in_one_file_are_both_yielded() -> None:
    """The parser yields both copies; choosing the current one is the store's job."""
    items = read("duplicates-same-file.xml")
    copies = [i for i in items if isinstance(i, r.Activity)]

    assert [(a.iati_identifier, a.source_line, a.last_updated_datetime) for a in copies] == [
        ("XX-TEST-TWICE", 8, dt.datetime(2022, 3, 1)),
        ("XX-TEST-TWICE", 17, dt.datetime(2022, 1, 1)),
    ]


def test_organisation_file() -> None:
    items = read("organisation-203.xml")

    header = items[0]
    assert isinstance(header, r.FileHeader)
    assert (header.kind, header.iati_version) == ("organisations", "2.03")
    (org,) = [i for i in items if isinstance(i, r.Organisation)]
    assert org.organisation_identifier == "XX-TEST-ORG"
    assert org.default_currency == "USD"
    assert org.last_updated_datetime == dt.datetime(2024, 1, 15, 9, 30)
    assert org.name == [("en", "Test Organisation"), ("fr", "Organisation de test")]
    assert (org.reporting_org.ref, org.reporting_org.type) == ("XX-TEST-ORG", "40")
    assert [
        (b.kind, b.status, b.period_start, b.period_end, b.value, b.currency, b.recipient_ref)
        for b in org.budget_lines
    ] == [
        ("total-budget", "2", dt.date(2024, 1, 1), dt.date(2024, 12, 31),
         Decimal(5000000), "USD", None),
        ("recipient-country-budget", "1", dt.date(2024, 1, 1), dt.date(2024, 12, 31),
         Decimal("1250000.75"), "USD", "ML"),
        ("total-expenditure", None, dt.date(2023, 1, 1), dt.date(2023, 12, 31),
         Decimal("4100000.25"), "USD", None),
    ]  # fmt: skip
    assert org.schema_valid is True
    assert own(org.problems) == []


# -- files that cannot be read -------------------------------------------------------------


def test_malformed_half_way_raises_after_the_good_activities() -> None:
    seen: list[Item] = []
    with pytest.raises(FileError) as err:
        seen.extend(iter_file(FIXTURES / "malformed.xml"))
    assert (err.value.rule, err.value.line) == ("xml-syntax", 24)
    # What came before the break was yielded; the caller decides not to keep it.
    assert [type(i).__name__ for i in seen] == ["FileHeader", "Activity"]
    assert list(activities(seen)) == ["XX-TEST-MAL-1"]


@pytest.mark.parametrize("name", ["billion-laughs.xml", "external-entity.xml"])
def test_doctype_is_refused_before_any_record(name: str) -> None:
    items = iter_file(FIXTURES / name)
    # Refused when the header is read, before a single record (or entity) is produced.
    with pytest.raises(FileError) as err:
        next(items)
    assert err.value.rule == "xml-doctype"


@pytest.fixture
def listening_server() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that records the paths it is asked for."""
    requested: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requested.append(self.path)
            body = b"<leak>fetched from the network</leak>"
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requested
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_external_entities_do_not_touch_the_network(
    tmp_path: Path, listening_server: tuple[str, list[str]]
) -> None:
    base, requested = listening_server
    text = (FIXTURES / "external-entity.xml").read_text(encoding="utf-8")
    hostile = tmp_path / "external-entity-live.xml"
    hostile.write_text(text.replace("http://127.0.0.1:9/", f"{base}/"), encoding="utf-8")

    with pytest.raises(FileError) as err:
        list(iter_file(hostile))
    assert err.value.rule == "xml-doctype"
    assert requested == []


def test_empty_file_is_not_xml() -> None:
    with pytest.raises(FileError) as err:
        read("empty.xml")
    assert err.value.rule == "not-xml"


def test_wrong_root_element_is_not_iati() -> None:
    with pytest.raises(FileError) as err:
        read("wrong-root.xml")
    assert (err.value.rule, err.value.line) == ("not-iati", 5)
