"""Money rules on small fixtures, on SQLite and PostgreSQL: one fixture per rule.

Expected figures are written by hand from the comment at the top of each fixture
(tests/fixtures/money-*.xml), never computed by the code under test.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from iatiportal.profile import MoneyRules, Portal, Profile, load_profile
from iatiportal.store import facts, money
from iatiportal.store import schema as s
from iatiportal.store.filters import Filters, selected_ids
from iatiportal.store.load import ingest
from iatiportal.store.money import FundingPartner, MoneyRow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

D = Decimal


def load(engine: Engine, *names: str) -> None:
    summary = ingest(engine, [str(FIXTURES / n) for n in names])
    assert [f.status for f in summary.files] == ["ingested"] * len(names)


def by_year(rows: list[MoneyRow]) -> dict[tuple[str, int | None, str | None], Decimal]:
    return {(r.measure, r.year, r.currency): r.value for r in rows}


def profile(org: str, **rules: object) -> Profile:
    return Profile(key=org.lower(), reporting_org_refs=(org,), money=MoneyRules(**rules))  # type: ignore[arg-type]


# -- budgets: status, type, years ------------------------------------------------------------


def test_committed_budget_replaces_indicative_and_years_split_by_days(engine: Engine) -> None:
    load(engine, "money-budget-status.xml")
    with engine.connect() as conn:
        rows = money.by_year(conn, None, Filters(reporting_org=("XX-MONEY",)), ("budget",))
        total = money.totals(conn, None, Filters(reporting_org=("XX-MONEY",)), ("budget",))
    assert by_year(rows) == {
        ("budget", None, "USD"): D("7"),
        ("budget", 2021, "USD"): D("80"),
        ("budget", 2022, "USD"): D("50"),
        ("budget", 2023, "USD"): D("35"),
        ("budget", 2024, "USD"): D("275"),
        ("budget", 2025, "USD"): D("123.3333"),
        ("budget", 2026, "USD"): D("66.6667"),
        ("budget", 2027, "USD"): D("11"),
    }
    assert [r.year for r in rows] == [None, 2021, 2022, 2023, 2024, 2025, 2026, 2027]
    assert [(r.measure, r.currency, r.value) for r in total] == [("budget", "USD", D("648"))]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            "committed",
            {None: D("7"), 2021: D("80"), 2024: D("275"), 2025: D("123.3333"),
             2026: D("66.6667"), 2027: D("11")},
        ),
        ("indicative", {2021: D("100"), 2022: D("50"), 2023: D("35")}),
    ],
)  # fmt: skip
def test_profile_chooses_the_budget_status(
    engine: Engine, rule: str, expected: dict[int | None, Decimal]
) -> None:
    load(engine, "money-budget-status.xml")
    with engine.connect() as conn:
        rows = money.by_year(conn, profile("XX-MONEY", budget_status=rule), None, ("budget",))
    assert {r.year: r.value for r in rows} == expected


def test_a_year_filter_and_the_year_list(engine: Engine) -> None:
    load(engine, "money-budget-status.xml")
    with engine.connect() as conn:
        rows = money.totals(conn, None, Filters(year=2025), ("budget", "expenditure"))
        years = money.years(conn, None)
    assert [(r.measure, r.value) for r in rows] == [("budget", D("123.3333"))]
    assert years == [2021, 2022, 2023, 2024, 2025, 2026, 2027]


# -- parents and children ---------------------------------------------------------------------


def test_parent_and_children_are_not_counted_twice(engine: Engine) -> None:
    load(engine, "money-hierarchy.xml")
    with engine.connect() as conn:
        money_org = money.by_year(conn, None, Filters(reporting_org=("XX-MONEY",)))
        other_org = money.by_year(conn, None, Filters(reporting_org=("XX-OTHER",)))
        per_activity = money.by_activity(conn, None, Filters(year=2021), ("budget",))
    assert by_year(money_org) == {
        ("budget", 2021, "USD"): D("1530"),
        ("budget", 2022, "USD"): D("500"),
        ("expenditure", 2021, "USD"): D("100"),
    }
    assert by_year(other_org) == {("budget", 2021, "USD"): D("50")}
    assert {r.iati_identifier: r.value for r in per_activity} == {
        "XX-MONEY-A": D("10"),
        "XX-MONEY-B": D("20"),
        "XX-MONEY-C1": D("600"),
        "XX-MONEY-G": D("200"),
        "XX-MONEY-Q": D("700"),
        "XX-OTHER-CHILD": D("50"),
    }


def test_a_cycle_of_links_is_a_problem_of_each_activity_in_it(engine: Engine) -> None:
    load(engine, "money-hierarchy.xml")
    query = select(s.problem).where(s.problem.c.rule == "hierarchy-cycle")
    with engine.connect() as conn:
        problems = conn.execute(query.order_by(s.problem.c.iati_identifier)).all()
    assert [(p.iati_identifier, p.severity, p.line) for p in problems] == [
        ("XX-MONEY-A", "warning", 61),
        ("XX-MONEY-B", "warning", 68),
    ]
    assert "XX-MONEY-B" in problems[0].message and "XX-MONEY-A" in problems[1].message
    assert all(p.file_path.endswith("money-hierarchy.xml") for p in problems)
    # A second refresh replaces them rather than adding copies.
    facts.refresh_store(engine)
    with engine.connect() as conn:
        assert len(conn.execute(query).all()) == 2


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("prefer-committed", {2021: D("600"), 2022: D("300"), 2023: D("200")}),
        ("committed", {2021: D("1000"), 2022: D("300"), 2023: D("200")}),
        ("indicative", {2021: D("600"), 2022: D("400")}),
    ],
)
def test_children_replace_a_parents_budget_only_in_a_status_that_counts(
    engine: Engine, rule: str, expected: dict[int | None, Decimal]
) -> None:
    load(engine, "money-hierarchy-status.xml")
    with engine.connect() as conn:
        rows = money.by_year(conn, profile("XX-MIXED", budget_status=rule), None, ("budget",))
    assert {r.year: r.value for r in rows} == expected


def test_an_activitys_money_is_its_own_and_its_descendants(engine: Engine) -> None:
    """P's own 2021 budget (1000) and expenditure (400) give way to its descendants'; asked
    for by name, P's money is what they carry: budget 2021 C1 600 + G 200 = 800 (C2's 300 gives
    way to G's), 2022 P's own 500; expenditure 2021 C1 100. C2 by name: G's 200."""
    load(engine, "money-hierarchy.xml")
    with engine.connect() as conn:
        parent = money.by_year(conn, None, Filters(activity="XX-MONEY-P"))
        child = money.by_year(conn, None, Filters(activity="XX-MONEY-C1"))
        middle = money.by_year(conn, None, Filters(activity="XX-MONEY-C2"))
    assert by_year(parent) == {
        ("budget", 2021, "USD"): D("800"),
        ("budget", 2022, "USD"): D("500"),
        ("expenditure", 2021, "USD"): D("100"),
    }
    assert by_year(middle) == {("budget", 2021, "USD"): D("200")}
    with engine.connect() as conn:
        page = money.by_activity(
            conn,
            None,
            Filters(activities=("XX-MONEY-C1", "XX-MONEY-P", "XX-MONEY-Q", "XX-NOT-STORED")),
        )
    assert [(r.iati_identifier, r.measure, r.value) for r in page] == [
        ("XX-MONEY-C1", "budget", D("600")),
        ("XX-MONEY-C1", "expenditure", D("100")),
        ("XX-MONEY-P", "budget", D("1300")),
        ("XX-MONEY-P", "expenditure", D("100")),
        ("XX-MONEY-Q", "budget", D("700")),
    ]
    assert by_year(child) == {
        ("budget", 2021, "USD"): D("600"),
        ("expenditure", 2021, "USD"): D("100"),
    }


# -- percentages ------------------------------------------------------------------------------


def test_money_is_split_by_country_and_region_percentages(engine: Engine) -> None:
    load(engine, "money-percentage-split.xml")
    with engine.connect() as conn:
        countries = money.by_country(conn, None, Filters(reporting_org=("XX-SPLIT",)))
        regions = money.by_region(conn, None, None, ("expenditure",))
        thirds = money.by_country(conn, None, Filters(activity="XX-SPLIT-THIRDS"), ("budget",))
        total = money.totals(conn, None, None, ("expenditure",))
    assert {(r.measure, r.recipient_country_code): r.value for r in countries} == {
        ("budget", "ML"): D("33.3333"),
        ("budget", "SN"): D("33.3333"),
        ("budget", "NE"): D("33.3334"),
        ("expenditure", "ML"): D("615"),
        ("expenditure", "SN"): D("25"),
        ("expenditure", "KE"): D("52"),
        ("expenditure", "UG"): D("45"),
        ("expenditure", "TZ"): D("3"),
        ("expenditure", None): D("405"),
    }
    assert sum(r.value for r in thirds) == D("100")
    assert {(r.recipient_region_vocabulary, r.recipient_region_code): r.value for r in regions} == {
        ("1", "289"): D("400"),
        (None, None): D("745"),
    }
    assert [r.value for r in total] == [D("1145")]


def test_money_is_split_by_sector_percentages_per_vocabulary(engine: Engine) -> None:
    load(engine, "money-percentage-split.xml")
    with engine.connect() as conn:
        dac = money.by_sector(conn, None, "1", None, ("expenditure",))
        impact = money.by_sector(conn, None, "99", None, ("expenditure",))
        sdg = money.by_sector(conn, None, "7", None, ("expenditure",))
        d1_by_country = money.by_country(
            conn, None, Filters(sectors=(("99", "D1"),)), ("expenditure",)
        )
        mali_by_dac = money.by_sector(conn, None, "1", Filters(country="ML"), ("expenditure",))
        one_activity = money.by_sector(
            conn, None, "1", Filters(activity="XX-SPLIT-TX"), ("expenditure",)
        )
    assert {r.sector_code: r.value for r in dac} == {
        "11110": D("250"),
        "11120": D("750"),
        "11130": D("10"),
        None: D("135"),
    }
    assert dac[0].sector_code is None  # "not specified" first
    assert {r.sector_code: r.value for r in impact} == {"D1": D("1000"), None: D("145")}
    assert {r.sector_code: r.value for r in sdg} == {None: D("1145")}
    assert {r.recipient_country_code: r.value for r in d1_by_country} == {
        "ML": D("600"),
        None: D("400"),
    }
    assert {r.sector_code: r.value for r in one_activity} == {"11130": D("10"), None: D("30")}
    # Mali: 600 of XX-SPLIT-MIXED (25/75) and 15 of XX-SPLIT-TX (no sector).
    assert {r.sector_code: r.value for r in mali_by_dac} == {
        "11110": D("150"),
        "11120": D("450"),
        None: D("15"),
    }


def test_a_region_filter(engine: Engine) -> None:
    load(engine, "money-percentage-split.xml")
    with engine.connect() as conn:
        region = money.totals(conn, None, Filters(region="289"), ("expenditure",))
        other_vocabulary = money.totals(
            conn, None, Filters(region="289", region_vocabulary="99"), ("expenditure",)
        )
        # The activities the same filters select (what lists and downloads show).
        selected = {
            vocabulary: set(
                conn.scalars(
                    select(s.activity.c.iati_identifier).where(
                        s.activity.c.id.in_(
                            selected_ids(
                                Filters(region="289", region_vocabulary=vocabulary),
                                engine.dialect.name,
                            )
                        )
                    )
                )
            )
            for vocabulary in (None, "1", "99")
        }
    assert [r.value for r in region] == [D("400")]
    assert other_vocabulary == []
    assert selected == {None: {"XX-SPLIT-MIXED"}, "1": {"XX-SPLIT-MIXED"}, "99": set()}


# -- currencies ---------------------------------------------------------------------------------


def test_currencies_are_never_added(engine: Engine) -> None:
    load(engine, "money-currencies.xml")
    with engine.connect() as conn:
        rows = money.by_year(conn, None)
        countries = money.by_country(conn, None, Filters(year=2021), ("expenditure",))
    assert by_year(rows) == {
        ("budget", 2021, "EUR"): D("1000"),
        ("budget", 2022, "GBP"): D("500"),
        ("expenditure", 2021, None): D("7"),
        ("expenditure", 2021, "EUR"): D("100"),
        ("expenditure", 2021, "USD"): D("40"),
    }
    assert [r.currency for r in rows if r.measure == "expenditure"] == [None, "EUR", "USD"]
    assert {(r.recipient_country_code, r.currency): r.value for r in countries} == {
        ("ML", "EUR"): D("100"),
        ("ML", "USD"): D("40"),
        (None, None): D("7"),
    }
    assert money.currencies(rows) == [None, "EUR", "GBP", "USD"]


# -- disbursements ------------------------------------------------------------------------------


def test_disbursements_count_as_expenditure_only_where_the_profile_says(engine: Engine) -> None:
    load(engine, "money-disbursements.xml")
    portal = Portal((profile("XX-DISB", disbursements_are_expenditure=True),))
    with engine.connect() as conn:
        plain = money.breakdown(conn, None, ("reporting_org", "year"), None, ("expenditure",))
        with_profile = money.breakdown(
            conn, portal, ("reporting_org", "year"), None, ("expenditure",)
        )
        disbursements = money.totals(conn, portal, None, ("disbursement",))
    assert {(r.reporting_org_ref, r.year): r.value for r in plain} == {
        ("XX-DISB", 2021): D("100"),
        ("XX-EXP", None): D("1"),
        ("XX-EXP", 2021): D("10"),
    }
    assert {(r.reporting_org_ref, r.year): r.value for r in with_profile} == {
        ("XX-DISB", 2021): D("130"),
        ("XX-DISB", 2022): D("5"),
        ("XX-EXP", None): D("1"),
        ("XX-EXP", 2021): D("10"),
    }
    assert [r.value for r in disbursements] == [D("38")]


def test_neutral_profile_counting_disbursements_applies_to_every_publisher(
    engine: Engine,
) -> None:
    load(engine, "money-disbursements.xml")
    everyone = Profile(money=MoneyRules(disbursements_are_expenditure=True))
    with engine.connect() as conn:
        rows = money.totals(conn, everyone, Filters(year=2021), ("expenditure",))
    assert [r.value for r in rows] == [D("143")]


# -- funding partners ---------------------------------------------------------------------------


def test_funding_partners_from_incoming_funds_then_participating_orgs(engine: Engine) -> None:
    load(engine, "money-funding-partners.xml")
    with engine.connect() as conn:
        partners = money.funding_partners(conn, None)
        senegal = money.funding_partners(conn, None, Filters(country="SN"))
        in_2021 = money.funding_partners(conn, None, Filters(year=2021))
        by_provider = money.by_provider(conn, None, None, per_year=True)
    assert partners == [
        FundingPartner("XX-DONOR-1", "Donor One", "USD", D("175"), "incoming-funds"),
        FundingPartner("XX-DONOR-1", "Donor One", "EUR", D("70"), "incoming-funds"),
        FundingPartner(None, "Anonymous Foundation", "USD", D("10"), "incoming-funds"),
        FundingPartner("XX-DONOR-2", "Donor Two", None, None, "participating-org"),
    ]
    assert senegal == [
        FundingPartner("XX-DONOR-1", "Donor One", "EUR", D("70"), "incoming-funds"),
        FundingPartner("XX-DONOR-2", "Donor Two", None, None, "participating-org"),
    ]
    assert [(p.provider_org_ref, p.currency, p.value) for p in in_2021] == [
        ("XX-DONOR-1", "USD", D("175")),
        (None, "USD", D("10")),
        ("XX-DONOR-2", None, None),
    ]
    assert {
        (r.provider_org_ref, r.provider_org_name, r.year, r.currency): r.value for r in by_provider
    } == {
        ("XX-DONOR-1", "Donor One", 2021, "USD"): D("150"),
        ("XX-DONOR-1", "Donor 1", 2021, "USD"): D("25"),
        ("XX-DONOR-1", "Donor One", 2022, "EUR"): D("70"),
        (None, "Anonymous Foundation", 2021, "USD"): D("10"),
    }


def test_one_partners_money_by_country(engine: Engine) -> None:
    load(engine, "money-funding-partners.xml")
    with engine.connect() as conn:
        rows = money.by_country(conn, None, Filters(provider_org="XX-DONOR-1"), ("incoming",))
        partner = money.funding_partners(conn, None, Filters(provider_org="XX-DONOR-2"))
    assert {(r.recipient_country_code, r.currency): r.value for r in rows} == {
        ("ML", "USD"): D("175"),
        ("SN", "EUR"): D("70"),
    }
    assert partner == []


# -- the facts themselves -------------------------------------------------------------------------


def test_ingest_refreshes_the_facts_and_skips_when_nothing_changed(engine: Engine) -> None:
    load(engine, "money-currencies.xml")
    with engine.connect() as conn:
        first = facts.last_refresh(conn)
        assert first is not None
        assert not facts.is_stale(conn)
        count = conn.execute(select(func.count()).select_from(s.money_fact)).scalar_one()
    assert count == 5  # budget 2021, budget 2022, expenditure EUR, USD, none
    ingest(engine, [str(FIXTURES / "money-currencies.xml")])  # unchanged
    with engine.connect() as conn:
        assert facts.last_refresh(conn) == first
    load(engine, "money-disbursements.xml")
    with engine.connect() as conn:
        later = facts.last_refresh(conn)
        assert later is not None
        assert later > first
        rows = money.totals(conn, None, Filters(reporting_org=("XX-EXP",)), ("expenditure",))
    assert [r.value for r in rows] == [D("11")]


def test_two_refreshes_at_once_leave_one_set_of_facts(engine: Engine) -> None:
    load(engine, "money-currencies.xml")
    with engine.connect() as conn:
        before = money.by_year(conn, None)
    failures: list[BaseException] = []

    def refresh() -> None:
        try:
            facts.refresh_store(engine)
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            failures.append(e)

    threads = [threading.Thread(target=refresh) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    with engine.connect() as conn:
        assert money.by_year(conn, None) == before
        count = conn.execute(select(func.count()).select_from(s.money_fact)).scalar_one()
    assert count == 5


def test_bad_arguments_are_refused(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        with pytest.raises(ValueError, match="needs sector_vocabulary"):
            money.breakdown(conn, None, ("sector",))
        with pytest.raises(ValueError, match="unknown measure"):
            money.totals(conn, None, None, ("spending",))  # type: ignore[arg-type]
        assert money.totals(conn, None, None, ()) == []


def test_unwomen_profile_reads_the_demo_outcomes(sqlite_engine: Engine) -> None:
    """The shipped profile's impact-area vocabulary gives a breakdown on the demo data."""
    demo = Path(__file__).resolve().parents[2] / "iatiportal" / "demo" / "data"
    ingest(sqlite_engine, [str(demo / "XM-DAC-41146-sample-activities.xml")])
    unwomen = load_profile(demo.parents[1] / "profiles" / "unwomen.toml")
    plan = unwomen.strategic_plan
    assert plan is not None
    with sqlite_engine.connect() as conn:
        areas = money.by_sector(conn, unwomen, plan.sector_vocabulary or "", None, ("budget",))
    codes = {r.sector_code for r in areas}
    assert codes <= {a.code for a in plan.impact_areas}
    assert len(codes) == 7
