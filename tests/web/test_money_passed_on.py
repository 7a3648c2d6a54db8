"""Money passed on from one activity to another we hold is counted once under expenditure
(issue 15), on the pages and the API, on both databases: XX-PASS's profile counts its
disbursements as expenditure, and XX-PASS-1 disburses to XX-LOCAL-1, which spends the money.
Every expected amount is summed here from tests/fixtures/money-passed-on.xml (which says what
each case is) by the rule of the money module's docstring, not by the portal."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from lxml import etree
from starlette.testclient import TestClient
from stores import KINDS, migrated_store

from iatiportal.profile import MoneyRules, Names, Portal, Profile
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "money-passed-on.xml"
YEAR = 2023
COUNTS_DISBURSEMENTS = {"XX-PASS"}
PORTAL = Portal(
    profiles=(
        Profile(
            key="pass",
            reporting_org_refs=("XX-PASS",),
            name=Names({"en": "Passing Agency"}),
            money=MoneyRules(disbursements_are_expenditure=True),
        ),
        Profile(key="local", reporting_org_refs=("XX-LOCAL",)),
    )
)


@pytest.fixture(scope="module", params=KINDS)
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    with migrated_store(request.param, tmp_path_factory.mktemp("passed")) as engine:
        assert not ingest(engine, [str(FIXTURE)]).failed
        with TestClient(create_app(engine, PORTAL)) as test_client:
            yield test_client


def _activities() -> list[etree._Element]:
    return list(etree.parse(str(FIXTURE)).getroot().iterfind("iati-activity"))


def _kind(tx: etree._Element) -> str:
    return str(tx.find("transaction-type").get("code"))


def _sums() -> dict[str, Decimal]:
    """From the XML: ``expenditure`` by the money rules (type 4; type 3 of a publisher that
    counts disbursements, unless its receiver-activity-id is an activity of the file that
    reports disbursements or expenditure of its own), ``disbursed`` (type 3), ``spent``
    (type 4) and ``passed_on`` (types 3 and 4), of YEAR."""
    activities = _activities()
    spenders = {
        a.findtext("iati-identifier")
        for a in activities
        if any(_kind(tx) in ("3", "4") for tx in a.iterfind("transaction"))
    }
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for a in activities:
        org = a.find("reporting-org").get("ref")
        for tx in a.iterfind("transaction"):
            if not tx.find("transaction-date").get("iso-date").startswith(str(YEAR)):
                continue
            value = Decimal(tx.findtext("value"))
            kind = _kind(tx)
            receiver = tx.find("receiver-org")
            to = receiver.get("receiver-activity-id") if receiver is not None else None
            passed = to in spenders and to != a.findtext("iati-identifier")
            if kind == "4" or (kind == "3" and org in COUNTS_DISBURSEMENTS and not passed):
                sums["expenditure"] += value
            if kind == "3":
                sums["disbursed"] += value
            if kind == "4":
                sums["spent"] += value
            if kind in ("3", "4"):
                sums["passed_on"] += value
    return dict(sums)


def test_the_sums_of_the_fixture_are_those_its_comment_gives() -> None:
    """The rule, summed by hand in the fixture's comment: 40 + 150 + 50 + 450."""
    sums = _sums()
    assert sums["expenditure"] == Decimal(690)
    # Adding XX-PASS's disbursements as its expenditure would count the 600 twice.
    assert sums["spent"] + Decimal(800) == Decimal(1290)
    assert sums["passed_on"] == Decimal(1390)


def test_overview_totals_count_the_money_passed_on_once(client: TestClient) -> None:
    tables = client.get(f"/index.json?year={YEAR}").json()["tables"]
    [total] = tables["totals"]["rows"]
    assert (total["currency"], Decimal(str(total["expenditure"]))) == (
        "USD",
        _sums()["expenditure"],
    )
    [by_year] = tables["budget_and_expenditure_by_year"]["rows"]
    assert Decimal(str(by_year["expenditure"])) == _sums()["expenditure"]
    [kenya] = tables["countries"]["rows"]
    assert Decimal(str(kenya["expenditure"])) == _sums()["expenditure"]


def test_country_page_counts_the_money_passed_on_once(client: TestClient) -> None:
    html = BeautifulSoup(client.get(f"/countries/KE?year={YEAR}").text, "html.parser")
    total = html.select_one("dd.total-expenditure")
    assert total is not None
    assert total.get_text(strip=True).replace("\u00a0", " ").endswith("690")
    assert not total.get_text(strip=True).endswith("1,290")
    [row] = client.get(f"/countries/KE.json?year={YEAR}").json()["tables"][
        "budget_and_expenditure_by_year"
    ]["rows"]
    assert Decimal(str(row["expenditure"])) == _sums()["expenditure"]


def test_api_counts_the_money_passed_on_once(client: TestClient) -> None:
    body = client.get(f"/api/v1/countries?year={YEAR}").json()
    [kenya] = body["items"]
    assert Decimal(str(kenya["expenditure"])) == _sums()["expenditure"]


def test_flow_of_funds_draws_every_disbursement_and_expenditure_once(
    client: TestClient,
) -> None:
    """Country and partner pages: what left the publishers, each transaction once (the 600
    passed on is drawn once, as XX-PASS's disbursement to XX-LOCAL)."""
    rows = client.get(f"/countries/KE.json?year={YEAR}").json()["tables"]["flows"]["rows"]
    spending = {
        r["target"]: Decimal(str(r["amount"]))
        for r in rows
        if r["stage"] == "spending" and r["amount"] is not None
    }
    assert sum(spending.values(), Decimal(0)) == _sums()["passed_on"]
    assert spending["XX-LOCAL"] == Decimal(600) + Decimal(50)
    # The partner page of XX-DONOR: the activity it funds, XX-PASS-1, and all it passed on.
    rows = client.get(f"/partners/XX-DONOR.json?year={YEAR}").json()["tables"]["flows"]["rows"]
    spent = {
        r["target"]: Decimal(str(r["amount"]))
        for r in rows
        if r["stage"] == "spending" and r["amount"] is not None
    }
    [funder] = [a for a in _activities() if a.findtext("iati-identifier") == "XX-PASS-1"]
    assert sum(spent.values(), Decimal(0)) == sum(
        (Decimal(tx.findtext("value")) for tx in funder.iterfind("transaction")
         if _kind(tx) in ("3", "4")),
        Decimal(0),
    )  # fmt: skip
    assert spent == {
        "XX-LOCAL": Decimal(650),
        "XX-NGO": Decimal(150),
        "XX-SUPPLIER": Decimal(40),
    }
