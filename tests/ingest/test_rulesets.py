"""The IATI Standard rule set at ingest (iatiportal.ingest.rulesets): each rule fires on the
activity or organisation of the fixtures that breaks it, and on no other; the problems are
stored, grouped on /-/data-health with the rule set's message and guidance, listed by
``iatiportal problems --rule`` and on the activity's page.

The expected identifiers are the IATI Validator's, read from IATI/IATI-Rulesets
``rulesets/standard.json`` (version-2.03) for each case, not from the module.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from lxml import etree
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from iatiportal.cli import main
from iatiportal.ingest import parse, rulesets
from iatiportal.ingest import records as r
from iatiportal.ingest.rulesets import TransactionRules, activity_problems
from iatiportal.store import schema as s
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FILES = sorted(FIXTURES.glob("rules-*.xml"))
STANDARD_ID = re.compile(r"[0-9]+(?:\.[0-9]+)+")

EXPECTED: dict[str, set[str]] = {
    # rules-dates.xml
    "XX-RULES-DATES-OK": set(),
    "XX-RULES-DATES-11.1.1": {"11.1.1"},
    "XX-RULES-DATES-11.1.2": {"11.1.2"},
    "XX-RULES-DATES-11.1.3": {"11.1.3"},
    "XX-RULES-DATES-11.1.4": {"11.1.4"},
    "XX-RULES-DATES-11.1.5": {"11.1.5"},
    "XX-RULES-DATES-11.2.1": {"11.2.1"},
    "XX-RULES-DATES-11.2.2": {"11.2.2"},
    "XX-RULES-DATES-6.11.1": {"6.11.1"},
    "XX-RULES-DATES-8.6.3": {"8.6.3"},
    "XX-RULES-DATES-7.5.3": {"7.5.3"},
    "XX-RULES-DATES-7.5.3-OK": set(),
    "XX-RULES-DATES-8.6.1": {"8.6.1"},
    # rules-percentages.xml
    "XX-RULES-PCT-OK": set(),
    "XX-RULES-PCT-REGIONS-OK": set(),
    "XX-RULES-PCT-2.1.2": {"2.1.2"},
    "XX-RULES-PCT-2.1.2-OTHER": {"2.1.2"},
    "XX-RULES-PCT-2.1.1": {"2.1.1"},
    "XX-RULES-PCT-2.1.4": {"2.1.4"},
    "XX-RULES-PCT-3.1.2": {"3.1.2"},
    "XX-RULES-PCT-3.1.1": {"3.1.1"},
    "XX-RULES-PCT-3.1.4": {"3.1.4"},
    "XX-RULES-PCT-3.4.2": {"3.4.2"},
    "XX-RULES-PCT-3.4.1-3.4.2": {"3.4.1", "3.4.2"},
    "XX-RULES-PCT-3.4.4": {"3.4.4"},
    "XX-RULES-PCT-7.9.2": {"7.9.2"},
    "XX-RULES-PCT-7.9.1": {"7.9.1"},
    "XX-RULES-PCT-7.9.4": {"7.9.4"},
    "XX-RULES-PCT-12.3.1-2.1.4": {"12.3.1", "2.1.4"},
    "XX-RULES-PCT-12.1.1": {"12.1.1"},
    "XX-RULES-PCT-12.2.1": {"12.2.1"},
    # rules-presence.xml
    "XX-RULES-HAS-OK": set(),
    "XX-RULES-HAS-TX-SECTORS-OK": set(),
    "XX-RULES-HAS-6.2.2-6.7.2": {"6.2.2", "6.7.2"},
    "XX-RULES-HAS-6.6.2": {"6.6.2"},
    "XX-RULES-HAS-6.7.2": {"6.7.2"},
    "XX-RULES-HAS-3.6.2": {"3.6.2"},
    "XX-RULES-HAS-3.7.1-3.7.2": {"3.7.1", "3.7.2"},
    "XX-RULES-HAS-3.7.2": {"3.7.2"},
    "XX-RULES-HAS-4.1.1": {"4.1.1"},
    "XX-RULES-HAS-7.8.1": {"7.8.1"},
    "XX-RULES-HAS-4.4.1": {"4.4.1"},
    "XX-RULES-HAS-4.3.1": {"4.3.1"},
    "XX-RULES-HAS-2.2.1": {"2.2.1"},
    "XX-RULES-HAS-102.1.1": {"102.1.1"},
    "XX-RULES-HAS-107.1.1": {"107.1.1"},
    "XX-RULES-HAS-107.1.2": {"107.1.2"},
    "XX-RULES-HAS-107.1.2-OTHER": {"107.1.2"},
    "XX-RULES-HAS-107.2.1": {"107.2.1"},
    "XX-RULES-HAS-107.2.2": {"107.2.2"},
    "XX-RULES-HAS-6.8.1": {"6.8.1"},
    "XX-RULES-HAS-6.9.1-6.9.2": {"6.9.1", "6.9.2"},
    "XX-RULES-HAS-6.10.1": {"6.10.1"},
    "XX-RULES-HAS-6.14.1": {"6.14.1"},
    "XX-RULES-HAS-6.13.1": {"6.13.1"},
    "XX-RULES-HAS-8.11.1": {"8.11.1"},
    "XX-RULES-HAS-8.8.1-8.9.1-8.10.1": {"8.8.1", "8.9.1", "8.10.1"},
    "XX-RULES-HAS-8.8.2-8.9.2-8.10.2": {"8.8.2", "8.9.2", "8.10.2"},
    "XX-RULES-HAS-8.8.3-8.9.3-8.10.3": {"8.8.3", "8.9.3", "8.10.3"},
    # rules-identifiers.xml
    "XX-RULES-ID-OK": set(),
    "XX-OLD-1-ACTIVITY": set(),
    "XX-RULES": {"1.1.3", "1.1.21"},
    "XX-OTHER-ACTIVITY": {"1.1.21"},
    "XX-RULES-ID-1.3.1": {"1.3.1"},
    "XX-RULES-ID-1.3.13/A": {"1.3.13"},
    "XX-RULES-ID-1.14.1": {"1.14.1"},
    "XX-RULES-ID-1.14.13-1.1.21": {"1.14.13", "1.1.21"},
    "XX-RULES-ID-1.16.1": {"1.16.1"},
    "XX-RULES-ID-1.6.1": {"1.6.1"},
    "XX-RULES-ID-1.7.1": {"1.7.1"},
    "XX-RULES-ID-1.8.1-1.9.1": {"1.8.1", "1.9.1"},
    "XX-RULES-ID-1.8.13": {"1.8.13"},
    "XX-RULES-ID-1.10.1-1.4.1": {"1.10.1", "1.4.1"},
    "XX-RULES-ID-1.10.13": {"1.10.13"},
    "XX-RULES-ID-1.15.1-1.5.1": {"1.15.1", "1.5.1"},
    "XX-RULES-ID-1.15.13": {"1.15.13"},
    "XX-RULES-ID-1.11.1-1.11.13": {"1.11.1", "1.11.13"},
    # rules-organisation.xml
    "XX-RULES-ORG-OK": set(),
    "XX-RULES-ORG-SPACES": {"1.12.1", "1.18.1"},
    "XX-RULES-ORG/SLASH": {"1.12.13", "1.18.13"},
    "XX-RULES-ORG-1.17.1": {"1.17.1"},
    "XX-RULES-ORG-11.4.1": {"11.4.1"},
    "XX-RULES-ORG-4.5.1": {"4.5.1"},
    "XX-RULES-ORG-7.8.2": {"7.8.2"},
    "XX-RULES-ORG-8.6.3": {"8.6.3"},
    "XX-RULES-ORG-7.5.3": {"7.5.3"},
    "XX-RULES-ORG-11.3.1": {"11.3.1"},
    # rules-prefix.xml, rules-prefix-org.xml
    "GB-COH-123-PREFIX-OK": set(),
    "XX-PREFIX-UNREGISTERED-1": {"1.14.8"},
    "XX-PREFIX-REGISTERED-1": {"1.14.8"},
    "XM-DAC-41146": set(),
    "XX-PREFIX-ORG": {"1.18.8"},
}
PREFIX_RULES = {"1.14.8", "1.18.8"}
"""Broken by the XX- identifiers of every other fixture: counted on the prefix fixtures only."""


def _records(path: Path) -> list[r.Activity | r.Organisation]:
    return [i for i in parse.iter_file(path) if isinstance(i, r.Activity | r.Organisation)]


def _ident(record: r.Activity | r.Organisation) -> str:
    return (
        record.iati_identifier if isinstance(record, r.Activity) else record.organisation_identifier
    )


def test_each_rule_fires_on_the_elements_that_break_it_and_only_there() -> None:
    found: dict[str, set[str]] = {}
    for path in FILES:
        for record in _records(path):
            found[_ident(record)] = {
                p.rule
                for p in record.problems
                if STANDARD_ID.fullmatch(p.rule)
                and (p.rule not in PREFIX_RULES or "prefix" in path.name)
            }
    assert found == EXPECTED


def test_an_identifier_without_an_agency_prefix_breaks_1_14_8_whatever_its_form() -> None:
    def rules(ref: str) -> set[str]:
        el = etree.fromstring(
            f'<iati-activity><iati-identifier>{ref}-1</iati-identifier><reporting-org ref="{ref}"/>'
            "</iati-activity>".encode()
        )
        return {p.rule for p in activity_problems(el, f"{ref}-1")} & PREFIX_RULES

    assert rules("GB-COH-123") == rules("XM-DAC-41146") == rules("XI-IATI-EC") == set()
    for ref in ("XX-COH-123", "GB", "GBCOH123", "gb-coh-123", "GB-COHX-1", "-GB-COH"):
        assert rules(ref) == {"1.14.8"}, ref


def test_fixtures_are_schema_valid() -> None:
    # The rules are about what the schema allows: the fixtures must not break the schema.
    for path in FILES:
        for record in _records(path):
            assert record.schema_valid, (_ident(record), [p.message for p in record.problems])


def test_problem_carries_severity_line_and_count() -> None:
    [act] = [a for a in _records(FIXTURES / "rules-dates.xml") if _ident(a).endswith("11.2.1")]
    [p] = [p for p in act.problems if p.rule == "11.2.1"]
    assert p.severity == "error"
    lines = (FIXTURES / "rules-dates.xml").read_text().splitlines()
    assert "2099-01-01" in lines[p.line - 1]  # the first transaction dated in the future
    assert p.message.startswith("The transaction date must not be in the future.")
    assert "2 times" in p.message
    [warning] = [
        p
        for a in _records(FIXTURES / "rules-percentages.xml")
        for p in a.problems
        if p.rule == "7.9.2"
    ]
    assert warning.severity == "warning"


def test_older_versions_are_not_checked_by_the_203_rule_set() -> None:
    # 1.0x activities have no narrative elements: 4.3.1 would fire on every title.
    for name in ("v103-participating-org-roles.xml", "v105-result-type.xml"):
        for record in _records(FIXTURES / name):
            assert not [p for p in record.problems if STANDARD_ID.fullmatch(p.rule)]


def test_rules_about_transactions_read_them_as_given_not_from_the_element() -> None:
    # A long activity's element keeps only some of its transactions: the rules about
    # transactions run on those read one by one (ingest.long_activity), not on the element's.
    el = etree.fromstring(
        b'<iati-activity xml:lang="en" default-currency="EUR"><iati-identifier>XX-A-1'
        b'</iati-identifier><reporting-org ref="XX-A"/>'
        b'<activity-date type="1" iso-date="2020-01-01"/><recipient-country code="KE"/>'
        b'<sector code="11110"/><transaction><transaction-date '
        b'iso-date="2099-01-01"/><value>1</value></transaction></iati-activity>'
    )
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def activity_problems(el: etree._Element, ident: str, **kw: Any) -> list[r.Problem]:
        return [p for p in rulesets.activity_problems(el, ident, **kw) if p.rule != "1.14.8"]

    assert [p.rule for p in activity_problems(el, "XX-A-1", now=now)] == ["11.2.1"]
    given = TransactionRules(now.date())
    assert activity_problems(el, "XX-A-1", transactions=given, now=now) == []
    for _ in range(2):
        given.add(etree.fromstring(b'<transaction><value value-date="2099-01-02"/></transaction>'))
    [p] = activity_problems(el, "XX-A-1", transactions=given, now=now)
    assert p.rule == "11.2.2" and "(2 times in all)" in p.message


LONG_OK = (
    '<transaction><transaction-type code="3"/><transaction-date iso-date="2020-01-01"/>'
    '<value value-date="2020-01-01">1</value><provider-org ref="XX-LONG-P"/>'
    '<receiver-org ref="XX-LONG-R"/>{where}</transaction>'
)
LONG_LATE = {
    # each of the rules about transactions, broken by one late transaction only
    "A": (
        '<transaction><transaction-type code="3"/><transaction-date iso-date="2999-01-01"/>'
        '<value value-date="2999-01-01">1</value><provider-org provider-activity-id=" XX-P-1"/>'
        '<receiver-org ref="XX/R " receiver-activity-id=" XX-R-1"/><sector code="11110"/>'
        '<recipient-country code="KE"/><aid-type code="1" vocabulary="2"/>'
        '<aid-type code="2" vocabulary="2"/></transaction>'
    ),
    "A2": (
        '<transaction><transaction-type code="3"/><transaction-date iso-date="2020-01-01"/>'
        '<value value-date="2020-01-01">1</value><provider-org ref="XX/P "/><receiver-org/>'
        "</transaction>"
    ),
    "B": (
        '<transaction><transaction-type code="3"/><transaction-date iso-date="2020-01-01"/>'
        '<value value-date="2020-01-01">1</value></transaction>'
    ),
}
LONG_TRANSACTIONS = 1500


def _long_activities(path: Path) -> dict[str, int]:
    """Activities of 1,500 transactions each (past ingest.long_activity.LONG): A declares
    sectors and a country and transaction 1,400 breaks a rule of each kind on transactions
    (1,450 the others); B declares neither and transaction 1,400 lacks both; C has none
    anywhere; OK breaks nothing. Returns the line of each late transaction."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<iati-activities version="2.03">',
    ]
    late: dict[str, int] = {}
    for name in ("A", "B", "C", "OK"):
        activity_level = '<sector code="11110"/><recipient-country code="KE"/>'
        lines += [
            '<iati-activity xml:lang="en" default-currency="EUR">',
            f"<iati-identifier>XX-LONG-{name}</iati-identifier>",
            '<reporting-org ref="XX-LONG" type="10"><narrative>Long</narrative></reporting-org>',
            f"<title><narrative>Long {name}</narrative></title>",
            '<activity-date type="1" iso-date="2020-01-01"/>',
        ]
        if name in ("A", "OK"):
            lines.append(activity_level)
        where = '<sector code="11110"/><recipient-country code="KE"/>' if name == "B" else ""
        for n in range(1, LONG_TRANSACTIONS + 1):
            if name == "A" and n in (1400, 1450):
                key = "A" if n == 1400 else "A2"
                late[key] = len(lines) + 1
                lines.append(LONG_LATE[key])
            elif name == "B" and n == 1400:
                late["B"] = len(lines) + 1
                lines.append(LONG_LATE["B"])
            else:
                lines.append(LONG_OK.format(where=where))
        lines.append("</iati-activity>")
    lines.append("</iati-activities>")
    path.write_text("\n".join(lines) + "\n")
    return late


def _standard_problems(path: Path) -> dict[str, list[tuple[str, str, str, int | None]]]:
    return {
        a.iati_identifier: sorted(
            (p.rule, p.severity, p.message, p.line)
            for p in a.problems
            if STANDARD_ID.fullmatch(p.rule) and p.rule not in PREFIX_RULES
        )
        for a in _records(path)
        if isinstance(a, r.Activity)
    }


def test_rules_about_transactions_run_on_every_transaction_of_a_long_activity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "long.xml"
    late = _long_activities(path)
    streamed = _standard_problems(path)
    with monkeypatch.context() as m:  # every transaction in the element: a small activity
        m.setattr("iatiportal.ingest.parse.LONG", 10**9)
        whole = _standard_problems(path)
    assert streamed == whole  # same rule, message (count), first line
    first = {rule: (line, message) for rule, _, message, line in streamed["XX-LONG-A"]}
    at_1400 = {"6.6.2", "3.6.2", "11.2.1", "11.2.2", "107.2.1", "107.2.2", "6.9.1", "1.4.1"}
    at_1400 |= {"1.15.13", "1.15.1", "1.5.1"}
    at_1450 = {"1.10.13", "1.10.1", "6.9.2"}
    assert set(first) == at_1400 | at_1450
    assert {rule for rule, (line, _) in first.items() if line == late["A"]} == at_1400
    assert {rule for rule, (line, _) in first.items() if line == late["A2"]} == at_1450
    assert not [m for _, m in first.values() if "times in all" in m]
    b = {rule: (line, message) for rule, _, message, line in streamed["XX-LONG-B"]}
    assert set(b) == {"6.7.2", "3.7.2"}
    assert all(line == late["B"] and "Found: 1 transaction(s)" in m for line, m in b.values())
    c = {rule: message for rule, _, message, _line in streamed["XX-LONG-C"]}
    assert set(c) == {"6.2.2", "6.7.2", "3.7.1", "3.7.2"}
    assert f"Found: {LONG_TRANSACTIONS} transaction(s) without a sector" in c["6.7.2"]
    assert streamed["XX-LONG-OK"] == []


def test_stored_shown_and_listed(engine: Engine, tmp_path: Path) -> None:
    summary = ingest(engine, [str(p) for p in FILES])
    assert not summary.failed
    with engine.connect() as conn:
        stored = sorted(
            (p.iati_identifier, p.rule, p.severity, p.line)
            for p in conn.execute(
                select(s.problem).where(s.problem.c.rule.in_(["11.1.2", "7.9.2"]))
            )
        )
    lines = (FIXTURES / "rules-dates.xml").read_text().splitlines()
    planned_start = next(n for n, t in enumerate(lines, 1) if 'iso-date="2023-01-01"' in t)
    percentages = (FIXTURES / "rules-percentages.xml").read_text().splitlines()
    budget_items = next(
        n for n, t in enumerate(percentages, 1) if 'percentage="40"/><budget-item' in t
    )
    assert stored == [
        ("XX-RULES-DATES-11.1.2", "11.1.2", "error", planned_start),
        ("XX-RULES-PCT-7.9.2", "7.9.2", "warning", budget_items),
    ]
    with TestClient(create_app(engine)) as client:
        rows = client.get("/-/data-health.json").json()["tables"]["rules"]["rows"]
        [row] = [x for x in rows if x["rule"] == "11.1.2"]
        assert row["severity"] == "error" and row["problems"] == 1
        assert row["message"] == (
            "The planned start date of the activity must be before the planned end date."
        )
        assert row["guidance"] == (
            "https://iatistandard.org/en/guidance/standard-guidance/activity-dates-status/"
        )
        own = [x for x in rows if x["rule"] == "budget-outside-dates"]
        assert all(x["message"] is None for x in own)
        page = BeautifulSoup(client.get("/-/data-health").text, "html.parser")
        cell = page.select_one('table.rules tr[data-rule="11.1.2"] a')
        assert cell is not None and cell.text == "11.1.2"
        assert cell["href"] == row["guidance"]
        act = BeautifulSoup(client.get("/activities/XX-RULES-DATES-11.1.2").text, "html.parser")
        assert "11.1.2" in [li["data-rule"] for li in act.select("ul.problems li")]
        clean = BeautifulSoup(client.get("/activities/XX-RULES-DATES-OK").text, "html.parser")
        assert [li for li in clean.select("ul.problems li") if li["data-rule"] != "1.14.8"] == []
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(main, ["problems", "--db", url, "--rule", "7.9.2"])
    assert result.exit_code == 0, result.output
    [listed] = [line for line in result.output.splitlines() if "XX-RULES-PCT" in line]
    assert listed.startswith(f"rules-percentages.xml:{budget_items} [XX-RULES-PCT-7.9.2]")
    assert "warning 7.9.2: Percentage values for budget items, should add up to 100%." in listed


def test_one_aid_type_in_each_of_many_transactions_is_not_two(tmp_path: Path) -> None:
    # 107.2.2 counts per transaction: six transactions with one aid type each break nothing
    # (a check keyed on id() of lxml's short-lived proxies once saw two in one transaction).
    transaction = (
        '\n  <transaction>\n   <transaction-type code="2"></transaction-type>\n'
        '   <transaction-date iso-date="2020-06-30"></transaction-date>\n'
        '   <value value-date="2020-06-30">30000000</value>\n'
        '   <flow-type code="10"></flow-type>\n   <finance-type code="110"></finance-type>\n'
        '   <aid-type code="B03" vocabulary="1"></aid-type>\n'
        '   <tied-status code="5"></tied-status>\n  </transaction>'
    )
    path = tmp_path / "aid-types.xml"
    path.write_text(
        '<iati-activities version="2.03"><iati-activity xml:lang="en" default-currency="EUR">\n'
        '  <iati-identifier>XX-A-1</iati-identifier><reporting-org ref="XX-A" type="10"/>'
        f"{transaction * 6}\n</iati-activity></iati-activities>"
    )
    [act] = _records(path)
    assert "107.2.2" not in {p.rule for p in act.problems}
