"""The bundled sample data: valid 2.03, reproducible from its generator, marked as sample data,
in UN Women's shape, and loaded completely by ``iatiportal demo``.

Expected numbers come from counting elements in the committed XML with lxml, never from the
generator or the store code.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree
from sqlalchemy import Engine, func, select

from iatiportal import standard
from iatiportal.cli import main
from iatiportal.demo import DATA, demo_files
from iatiportal.store import queries
from iatiportal.store import schema as s
from iatiportal.store.db import make_engine
from iatiportal.store.load import ingest

ACTIVITIES = DATA / "XM-DAC-41146-sample-activities.xml"
ORGANISATION = DATA / "XM-DAC-41146-sample-organisation.xml"
MARKER = "SAMPLE DATA — invented for the iatiportal demo; not UN Women's real data."
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
IDENTIFIER = re.compile(r"^XM-DAC-41146-(?P<office>[A-Z]{3})_(?P<kind>[DO])_(?P<area>\d)\.\d+$")
YEARS = ("2022", "2023", "2024")


def _tree(path: Path) -> etree._ElementTree:
    return etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))


def _activities() -> list[etree._Element]:
    return list(_tree(ACTIVITIES).getroot().iterfind("iati-activity"))


def _outcomes() -> list[etree._Element]:
    """The offices' outcomes (hierarchy 1); their outputs published as child activities are
    hierarchy 2."""
    return [a for a in _activities() if a.get("hierarchy") == "1"]


def _money_of(act: etree._Element) -> dict[tuple[str, ...], Decimal]:
    """Budgets per (status, type, year) and expenditure per year, as published."""
    found: defaultdict[tuple[str, ...], Decimal] = defaultdict(Decimal)
    for budget in act.iterfind("budget"):
        year = budget.xpath("string(period-start/@iso-date)")[:4]
        key = ("budget", budget.get("status", ""), budget.get("type", ""), year)
        found[key] += Decimal(budget.findtext("value") or "")
    for tx in act.xpath("transaction[transaction-type/@code='4']"):
        year = tx.xpath("string(transaction-date/@iso-date)")[:4]
        found[("expenditure", year)] += Decimal(tx.findtext("value") or "")
    return dict(found)


def _expected_counts() -> dict[str, int]:
    activities = _tree(ACTIVITIES)
    organisation = _tree(ORGANISATION)
    org = organisation.getroot().find("iati-organisation")
    assert org is not None
    budget_kinds = (
        "total-budget",
        "recipient-org-budget",
        "recipient-region-budget",
        "recipient-country-budget",
        "total-expenditure",
    )
    return {
        "activities": len(activities.findall("iati-activity")),
        "organisations": len(organisation.findall("iati-organisation")),
        "transactions": len(activities.findall("iati-activity/transaction")),
        "transactions_1": len(
            activities.xpath("iati-activity/transaction[transaction-type/@code='1']")
        ),
        "transactions_4": len(
            activities.xpath("iati-activity/transaction[transaction-type/@code='4']")
        ),
        "budgets": len(activities.findall("iati-activity/budget")),
        "results": len(activities.findall("iati-activity/result")),
        "indicators": len(activities.findall("iati-activity/result/indicator")),
        "organisation_budgets": sum(len(org.findall(kind)) for kind in budget_kinds),
    }


def _sum_values(path: str) -> Decimal:
    return sum((Decimal(v.text or "") for v in _tree(ACTIVITIES).xpath(path)), Decimal(0))


def _check_store(engine: Engine) -> None:
    """The store holds every activity, transaction, budget, result, indicator and organisation
    budget of the sample, with the exact sums, no problems, and the sample-data marker."""
    expected = _expected_counts()
    with engine.connect() as conn:
        totals = queries.stats(conn)
        org_budgets = conn.execute(
            select(func.count()).select_from(s.organisation_budget)
        ).scalar_one()
        marked = conn.execute(
            select(func.count(func.distinct(s.narrative.c.activity_id))).where(
                s.narrative.c.element == "description",
                s.narrative.c.text.startswith(MARKER, autoescape=True),
            )
        ).scalar_one()
    for key in ("activities", "organisations", "transactions", "budgets", "results", "indicators"):
        assert totals[key] == expected[key], key
    assert org_budgets == expected["organisation_budgets"]
    assert marked == expected["activities"]
    assert totals["problems"] == {"error": 0, "warning": 0, "info": 0}
    by_type = {row["transaction_type"]: row for row in totals["transaction_sums"]}
    assert set(by_type) == {"1", "4"}
    assert by_type["1"]["count"] == expected["transactions_1"]
    assert by_type["4"]["count"] == expected["transactions_4"]
    assert by_type["1"]["currency"] == by_type["4"]["currency"] == "USD"
    assert by_type["1"]["value"] == _sum_values(
        "iati-activity/transaction[transaction-type/@code='1']/value"
    )
    assert by_type["4"]["value"] == _sum_values(
        "iati-activity/transaction[transaction-type/@code='4']/value"
    )


# -- the files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "kind"), [(ACTIVITIES, "activities"), (ORGANISATION, "organisations")]
)
def test_files_are_valid_against_the_2_03_schema(path: Path, kind: str) -> None:
    schema = etree.XMLSchema(_tree(standard.schema_path("2.03", kind)))
    document = _tree(path)
    assert document.getroot().get("version") == "2.03"
    assert schema.validate(document), [str(e) for e in schema.error_log][:5]


def test_demo_files_are_the_two_sample_files() -> None:
    assert demo_files() == [ACTIVITIES, ORGANISATION]
    assert sum(p.stat().st_size for p in demo_files()) < 1024 * 1024


@pytest.mark.slow
def test_generator_reproduces_the_committed_files(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "iatiportal.demo.build", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    written = sorted(tmp_path.iterdir())
    assert [p.name for p in written] == [p.name for p in demo_files()]
    for fresh in written:
        assert fresh.read_bytes() == (DATA / fresh.name).read_bytes(), (
            f"{fresh.name} drifted from iatiportal/demo/build.py: run "
            "`python -m iatiportal.demo.build` and commit the result"
        )


@pytest.mark.parametrize("path", [ACTIVITIES, ORGANISATION])
def test_each_file_opens_with_a_sample_data_comment(path: Path) -> None:
    first = _tree(path).getroot().getprevious()
    assert isinstance(first, etree._Comment)
    assert MARKER in (first.text or "")


def test_every_activity_says_it_is_sample_data() -> None:
    activities = _activities()
    assert activities
    for act in activities:
        texts = [
            n.text or "" for n in act.iterfind("description/narrative") if n.get(XML_LANG) == "en"
        ]
        assert any(t.startswith(MARKER) for t in texts), act.findtext("iati-identifier")


# -- the shape ---------------------------------------------------------------------------------


def test_activities_are_office_outcomes_in_un_womens_shape() -> None:
    activities = _outcomes()
    offices: set[str] = set()
    kinds: Counter[str] = Counter()
    for act in activities:
        ident = act.findtext("iati-identifier") or ""
        match = IDENTIFIER.match(ident)
        assert match, ident
        offices.add(match["office"])
        kinds[match["kind"]] += 1
        reporting = act.find("reporting-org")
        assert reporting is not None
        assert (reporting.get("ref"), reporting.get("type")) == ("XM-DAC-41146", "40")
        assert act.get("default-currency") == "USD"
        # The impact area of the identifier is the activity's sector in vocabulary 99.
        impact = act.xpath("sector[@vocabulary='99']/@code")
        assert impact == [f"{match['kind']}{match['area']}"], ident
        assert act.xpath("sector[@vocabulary='1']/@code")
        assert sum(int(p) for p in act.xpath("sector[@vocabulary='7']/@percentage")) == 100
        assert act.xpath("participating-org[@role='1']/@ref"), ident
        assert act.xpath("policy-marker[@code='1']/@significance")[0] in {"2", "3"}
        assert act.xpath("location/point/pos")
        places = act.xpath("recipient-country/@percentage | recipient-region/@percentage")
        assert places == ["100"], ident
    assert 8 <= len(offices) <= 12
    assert kinds["D"] and kinds["O"]
    regional = [a for a in activities if a.find("recipient-region") is not None]
    assert regional and len(regional) < len(activities)


def test_expenditure_is_monthly_for_three_years() -> None:
    for act in _activities():
        dates = act.xpath("transaction[transaction-type/@code='4']/transaction-date/@iso-date")
        months = sorted(d[:7] for d in dates)
        assert months == [f"{y}-{m:02d}" for y in YEARS for m in range(1, 13)], act.findtext(
            "iati-identifier"
        )


def test_some_years_are_published_as_indicative_and_committed_budgets() -> None:
    both = 0
    for act in _activities():
        statuses: defaultdict[str, set[str]] = defaultdict(set)
        for budget in act.iterfind("budget"):
            start = budget.find("period-start")
            assert start is not None
            statuses[start.get("iso-date", "")].add(budget.get("status", ""))
        assert sorted(d[:4] for d in statuses) == list(YEARS)
        assert all("2" in found for found in statuses.values())
        both += sum(1 for found in statuses.values() if found == {"1", "2"})
    assert both > 0


def test_results_have_outcomes_and_outputs_with_yearly_periods() -> None:
    for act in _outcomes():
        ident = act.findtext("iati-identifier")
        types = Counter(r.get("type") for r in act.iterfind("result"))
        assert types["2"] >= 1 and types["1"] >= 1, ident
        for indicator in act.iterfind("result/indicator"):
            assert indicator.get("measure") in {"1", "2"}
            assert indicator.findtext("title/narrative")
            assert indicator.xpath("baseline/@year") == ["2021"]
            periods = indicator.findall("period")
            assert [p.xpath("string(period-start/@iso-date)")[:4] for p in periods] == list(YEARS)
            for period in periods:
                assert period.xpath("target/@value") and period.xpath("actual/@value")
                assert period.xpath("actual/comment/narrative/text()")


def test_malis_outputs_are_child_activities_that_split_their_outcomes_money_exactly() -> None:
    """Each output result of Mali's outcomes names, in result/reference vocabulary 99, a child
    activity (hierarchy 2, related-activity type 1 to the outcome, which names it with type 2);
    the children's budgets per status, type and year and expenditure per year add up exactly
    to the outcome's, so that every total of the sample stays what the outcomes publish."""
    by_id = {a.findtext("iati-identifier"): a for a in _activities()}
    mali = [a for a in _outcomes() if (a.findtext("iati-identifier") or "").startswith(
        "XM-DAC-41146-MLI_")]  # fmt: skip
    assert len(mali) == 3
    children_seen: set[str] = set()
    for outcome in mali:
        ident = outcome.findtext("iati-identifier") or ""
        outputs = outcome.xpath("result[@type='1']")
        named = [r.xpath("string(reference[@vocabulary='99']/@code)") for r in outputs]
        assert named == [f"{ident}-OUTPUT-{n}" for n in range(1, len(outputs) + 1)]
        assert outcome.xpath("related-activity[@type='2']/@ref") == named
        assert not outcome.xpath("result[@type='2']/reference")
        total: defaultdict[tuple[str, ...], Decimal] = defaultdict(Decimal)
        for code in named:
            child = by_id[code]
            assert child.get("hierarchy") == "2"
            assert child.xpath("related-activity/@ref") == [ident]
            assert child.xpath("related-activity/@type") == ["1"]
            assert not child.xpath("result | transaction[transaction-type/@code!='4']")
            assert child.xpath("recipient-country/@code") == ["ML"]
            assert sorted(child.xpath("sector/@code")) == sorted(outcome.xpath("sector/@code"))
            for key, value in _money_of(child).items():
                assert value > 0, (code, key)
                total[key] += value
            children_seen.add(code)
        assert dict(total) == _money_of(outcome), ident
    assert {a for a in by_id if a and "-OUTPUT-" in a} == children_seen


def test_narratives_are_in_english_with_some_in_french() -> None:
    langs = Counter(n.get(XML_LANG) for n in _tree(ACTIVITIES).iter("narrative"))
    assert set(langs) == {"en", "fr"}
    assert langs["en"] > langs["fr"] > 0


def test_organisation_budgets_agree_with_the_activities() -> None:
    org = _tree(ORGANISATION).getroot().find("iati-organisation")
    assert org is not None
    assert org.findtext("organisation-identifier") == "XM-DAC-41146"
    acts = _tree(ACTIVITIES).getroot()
    # The outcomes' money (their outputs' child activities split it: counted once).
    for year in YEARS:
        committed = acts.xpath(
            "iati-activity[@hierarchy='1']/budget[@status='2']"
            f"[starts-with(period-start/@iso-date, '{year}')]/value/text()"
        )
        spent = acts.xpath(
            "iati-activity[@hierarchy='1']/transaction[transaction-type/@code='4']"
            f"[starts-with(transaction-date/@iso-date, '{year}')]/value/text()"
        )
        total = org.xpath(
            f"total-budget[starts-with(period-start/@iso-date, '{year}')]/value/text()"
        )
        expenditure = org.xpath(
            f"total-expenditure[starts-with(period-start/@iso-date, '{year}')]/value/text()"
        )
        assert [Decimal(v) for v in total] == [sum(map(Decimal, committed))]
        assert [Decimal(v) for v in expenditure] == [sum(map(Decimal, spent))]
    assert org.findall("recipient-country-budget")


# -- loading -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_demo_command_loads_everything_into_a_fresh_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    db.write_bytes(b"not a database: the command must replace it")
    result = CliRunner().invoke(main, ["demo", "--no-serve", "--db", str(db)])
    assert result.exit_code == 0, result.output
    engine = make_engine(f"sqlite:///{db}")
    try:
        _check_store(engine)
    finally:
        engine.dispose()


def test_sample_files_ingest_completely_on_each_database(engine: Engine) -> None:
    summary = ingest(engine, [str(p) for p in demo_files()])
    assert [f.status for f in summary.files] == ["ingested", "ingested"]
    _check_store(engine)
