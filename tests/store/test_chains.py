"""Funding chains on small fixtures, on SQLite and PostgreSQL (issue 15).

Expected links are written by hand from the comments at the top of tests/fixtures/chains-*.xml:
both sides published and agreeing, amounts that disagree, one side only, a link to an activity
we do not hold (and the link check's warning, which goes when that activity arrives), and a
cycle. Then the money rule: a flow from A to B is counted once in every total that holds both.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from iatiportal.ingest.sources import expand
from iatiportal.profile import MoneyRules, Portal, Profile
from iatiportal.store import chains, money
from iatiportal.store import schema as s
from iatiportal.store.filters import Filters
from iatiportal.store.load import ingest, remove

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
D = Decimal
COLUMNS = (
    "evidence",
    "funder_measure",
    "funder_value",
    "funder_currency",
    "funder_value_usd",
    "funded_value",
    "funded_currency",
    "funded_value_usd",
    "amounts_agree",
)


def load(engine: Engine, *names: str) -> None:
    summary = ingest(engine, [str(FIXTURES / n) for n in names])
    assert [f.status for f in summary.files] == ["ingested"] * len(names)


def links(engine: Engine) -> dict[tuple[str, str], dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(s.funding_link)).mappings().all()
    return {(r["funder_identifier"], r["funded_identifier"]): dict(r) for r in rows}


def link_problems(engine: Engine) -> list[tuple[str | None, str, str]]:
    p = s.problem
    with engine.connect() as conn:
        rows = conn.execute(
            select(p.c.iati_identifier, p.c.severity, p.c.message, p.c.file_path, p.c.line).where(
                p.c.rule == chains.LINK_RULE
            )
        ).all()
    for r in rows:
        assert r.file_path and r.line, r  # file and line of the activity naming the link
    return sorted((r.iati_identifier, r.severity, r.message) for r in rows)


def ids(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(s.activity.c.iati_identifier, s.activity.c.id).where(
                s.activity.c.is_current.is_(True)
            )
        ).all()
    return {r.iati_identifier: r.id for r in rows}


def test_links_with_their_evidence(engine: Engine) -> None:
    load(engine, "chains-donor.xml", "chains-implementer.xml")
    got = links(engine)
    usd, eur = "USD", "EUR"
    assert {k: tuple(v[c] for c in COLUMNS) for k, v in got.items()} == {
        # both sides, agree
        ("XX-DONOR-1", "XX-IMPL-1"): (
            "both", "disbursement", D(100000), usd, D(100000), D(100000), usd, D(100000), True,
        ),
        # a link to an activity we do not hold
        ("XX-DONOR-1", "XX-NOWHERE-9"): (
            "funder", "disbursement", D(20000), usd, D(20000), None, None, None, None,
        ),
        # both sides, disagree (no rates loaded: no dollars for euros)
        ("XX-DONOR-2", "XX-IMPL-2"): (
            "both", "disbursement", D(50000), eur, None, D(40000), eur, None, False,
        ),
        # one side only, each way
        ("XX-DONOR-3", "XX-IMPL-3"): (
            "funder", "commitment", D(30000), usd, D(30000), None, None, None, None,
        ),
        ("XX-DONOR-4", "XX-IMPL-4"): (
            "funded", None, None, None, None, D(12500), usd, D(12500), None,
        ),
        # only a participating-org with activity-id
        ("XX-DONOR-5", "XX-IMPL-5"): (
            "declared", None, None, None, None, None, None, None, None,
        ),
    }  # fmt: skip
    held = ids(engine)
    for (funder, funded), row in got.items():
        assert row["funder_activity_id"] == held[funder]
        assert row["funded_activity_id"] == held.get(funded)
        assert row["funder_reporting_org_ref"] == "XX-DONOR"
    assert got[("XX-DONOR-1", "XX-NOWHERE-9")]["funded_reporting_org_ref"] is None
    assert got[("XX-DONOR-2", "XX-IMPL-2")]["funder_transactions"] == 1  # the disbursement
    assert got[("XX-DONOR-1", "XX-IMPL-1")]["funded_transactions"] == 1
    assert link_problems(engine) == [
        (
            "XX-DONOR-1",
            "warning",
            "transaction/receiver-org/@receiver-activity-id names XX-NOWHERE-9, an activity "
            "that no file we hold defines",
        )
    ]


def test_amounts_in_dollars_where_rates_are_loaded(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(s.exchange_rate),
            [
                {"currency": "EUR", "rate_date": dt.date(2022, m, 1), "usd_per_unit": 1.1,
                 "source": "test"}
                for m in range(1, 13)
            ],
        )  # fmt: skip
    load(engine, "chains-donor.xml", "chains-implementer.xml")
    row = links(engine)[("XX-DONOR-2", "XX-IMPL-2")]
    assert (row["funder_value_usd"], row["funded_value_usd"]) == (D(55000), D(44000))
    assert (row["funder_currency"], row["funder_value"]) == ("EUR", D(50000))


def test_one_side_alone_names_the_other_as_not_held(engine: Engine) -> None:
    load(engine, "chains-implementer.xml")
    got = links(engine)
    assert sorted(got) == [
        ("XX-DONOR-1", "XX-IMPL-1"),
        ("XX-DONOR-2", "XX-IMPL-2"),
        ("XX-DONOR-4", "XX-IMPL-4"),
    ]
    assert all(r["funder_activity_id"] is None and r["evidence"] == "funded" for r in got.values())
    assert [(i, m.split(" names ")[1].split(",")[0]) for i, _, m in link_problems(engine)] == [
        ("XX-IMPL-1", "XX-DONOR-1"),
        ("XX-IMPL-2", "XX-DONOR-2"),
        ("XX-IMPL-4", "XX-DONOR-4"),
    ]


def test_the_link_check_is_made_again_when_the_target_arrives_and_goes(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(engine, "chains-donor.xml", "chains-implementer.xml")
    assert [i for i, _, _ in link_problems(engine)] == ["XX-DONOR-1"]
    load(engine, "chains-late-target.xml")  # a later ingest: an incremental refresh
    assert link_problems(engine) == []
    row = links(engine)[("XX-DONOR-1", "XX-NOWHERE-9")]
    assert row["funded_activity_id"] == ids(engine)["XX-NOWHERE-9"]
    assert row["funded_reporting_org_ref"] == "XX-NOWHERE"
    remove(engine, expand([str(FIXTURES / "chains-late-target.xml")]))
    assert [i for i, _, _ in link_problems(engine)] == ["XX-DONOR-1"]
    assert links(engine)[("XX-DONOR-1", "XX-NOWHERE-9")]["funded_activity_id"] is None


def test_a_cycle_makes_two_links_and_no_loop(engine: Engine) -> None:
    load(engine, "chains-cycle.xml")
    got = links(engine)
    assert {k: (v["evidence"], v["funder_value"], v["amounts_agree"]) for k, v in got.items()} == {
        ("XX-LOOP-1", "XX-LOOP-2"): ("both", D(1000), True),
        ("XX-LOOP-2", "XX-LOOP-1"): ("both", D(300), True),
    }
    assert link_problems(engine) == []


@pytest.mark.parametrize(
    ("funder", "funded", "agreed"),
    [
        (D(100), D(100), True),
        (D(100), D(99), True),  # 1 % of the larger
        (D(100), D("98.99"), False),
        (D(-50), D(-50), True),
        (D(100), None, None),
    ],
)
def test_agreement_tolerance(funder: Decimal, funded: Decimal | None, agreed: bool | None) -> None:
    assert chains.agree(funder, "USD", funded, "USD") is agreed
    if funded is not None:
        assert chains.agree(funder, "USD", funded, "EUR") is False


# -- each flow counted once --------------------------------------------------------------------

BOTH = ("XX-DONOR-1", "XX-IMPL-1")


def _donor_rules(disbursements_are_expenditure: bool) -> Portal:
    return Portal(
        (
            Profile(
                key="xx-donor",
                reporting_org_refs=("XX-DONOR",),
                money=MoneyRules(disbursements_are_expenditure=disbursements_are_expenditure),
            ),
        )
    )


@pytest.mark.parametrize("disbursements_are_expenditure", [False, True])
def test_a_flow_from_a_to_b_is_counted_once_in_every_total_holding_both(
    engine: Engine, disbursements_are_expenditure: bool
) -> None:
    """XX-DONOR-1 disburses 100,000 to XX-IMPL-1, which publishes the same money as incoming
    funds and spends 70,000 of it. By hand (chains-*.xml): incoming 150,000 (from the
    government, to A) + 100,000 (A's money, to B); disbursements 100,000 + 20,000 (to
    XX-NOWHERE-9, which we do not hold); expenditure 5,000 (A) + 70,000 (B), plus, when the
    profile counts A's disbursements as expenditure, only the 20,000 that no activity we hold
    spends: the 100,000 is counted where it is spent (B), never as A's expenditure too. No
    total adds A's disbursement and B's incoming funds: the 100,000 is in each total at most
    once under each measure."""
    load(engine, "chains-donor.xml", "chains-implementer.xml")
    rules = _donor_rules(disbursements_are_expenditure)
    expenditure = D(75000) + (D(20000) if disbursements_are_expenditure else 0)
    want = {
        ("incoming", "USD"): D(250000),
        ("disbursement", "USD"): D(120000),
        ("expenditure", "USD"): expenditure,
        # What left the publishers: each transaction once whatever the profile says.
        ("outgoing", "USD"): D(120000) + D(75000),
    }
    measures: tuple[money.Measure, ...] = ("incoming", "disbursement", "expenditure", "outgoing")
    for filters in (
        Filters(activities=BOTH),
        Filters(activities=BOTH, year=2022),
        Filters(activities=BOTH, country="KE"),
        Filters(reporting_org=("XX-DONOR", "XX-IMPL"), currency="USD"),
        Filters(country="KE", currency="USD"),
        Filters(currency="USD"),
    ):
        with engine.connect() as conn:
            rows = money.totals(conn, rules, filters, measures)
        got = {(r.measure, r.currency): r.value for r in rows}
        if filters.activities:
            assert got == want, filters
        else:  # every activity: XX-IMPL-4's incoming funds too; the same money spent
            assert got[("expenditure", "USD")] == expenditure, filters
            assert got[("outgoing", "USD")] == D(195000), filters


def test_a_disbursement_passed_on_stays_the_funders_disbursement(engine: Engine) -> None:
    """Over A alone, the 100,000 it passed on to XX-IMPL-1 (which spends it) is A's
    disbursement, not its expenditure; the 20,000 to an activity we do not hold is both."""
    load(engine, "chains-donor.xml", "chains-implementer.xml")
    with engine.connect() as conn:
        rows = money.totals(
            conn,
            _donor_rules(True),
            Filters(activities=("XX-DONOR-1",)),
            ("disbursement", "expenditure"),
        )
    assert {(r.measure, r.currency): r.value for r in rows} == {
        ("disbursement", "USD"): D(120000),
        ("expenditure", "USD"): D(5000) + D(20000),
    }
