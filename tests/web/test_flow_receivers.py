"""The flow of funds with amounts to each implementing partner (issue 15), on both databases:
what the home publisher passed on (its disbursements and expenditure, each transaction once)
per receiver-org of its transactions, for the page's year and country or funding partner.
Every expected amount is summed here from tests/fixtures/flows-receivers.xml (which says what
each case is), not by the portal."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from lxml import etree
from starlette.testclient import TestClient
from stores import KINDS, migrated_store

from iatiportal.profile import Names, Portal, Profile
from iatiportal.store import money
from iatiportal.store.filters import Filters
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "flows-receivers.xml"
HOME = "XX-HOME"
YEAR = 2023
PORTAL = Portal(
    profiles=(Profile(key="home", reporting_org_refs=(HOME,), name=Names({"en": "Home Agency"})),)
)


@pytest.fixture(scope="module", params=KINDS)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, object]]:
    with migrated_store(request.param, tmp_path_factory.mktemp("receivers")) as engine:
        assert not ingest(engine, [str(FIXTURE)]).failed
        with TestClient(create_app(engine, PORTAL)) as client:
            yield client, engine


@pytest.fixture
def client(store: tuple[TestClient, object]) -> TestClient:
    return store[0]


def _activities(country: str | None = None, funder: str | None = None) -> list[etree._Element]:
    found = []
    for a in etree.parse(str(FIXTURE)).getroot().iterfind("iati-activity"):
        countries = {c.get("code") for c in a.iterfind("recipient-country")}
        funders = {p.get("ref") for p in a.iterfind("participating-org[@role='1']")}
        if (country is None or country in countries) and (funder is None or funder in funders):
            found.append(a)
    return found


def _share(activity: etree._Element, country: str | None) -> Decimal:
    """The country's share of the activity's money (its percentage; one country: all)."""
    if country is None:
        return Decimal(1)
    [c] = activity.iterfind(f"recipient-country[@code='{country}']")
    return Decimal(c.get("percentage", "100")) / 100


PASSED_ON = ("3", "4")
"""Disbursements and expenditure: what the flow of funds draws leaving the home publisher."""


def _spent(
    country: str | None = None, funder: str | None = None, kinds: tuple[str, ...] = PASSED_ON
) -> tuple[dict[str, Decimal], dict[str, str]]:
    """Money of transactions of ``kinds`` in YEAR per receiver (ref, else name; "not-named":
    none), the country's share only, and each receiver's most frequent name."""
    amounts: dict[str, Decimal] = defaultdict(Decimal)
    names: dict[str, Counter[str]] = defaultdict(Counter)
    for a in _activities(country, funder):
        for tx in a.iterfind("transaction"):
            if tx.find("transaction-type").get("code") not in kinds:
                continue
            if not tx.find("transaction-date").get("iso-date").startswith(str(YEAR)):
                continue
            receiver = tx.find("receiver-org")
            ref = receiver.get("ref") if receiver is not None else None
            name = receiver.findtext("narrative") if receiver is not None else None
            key = ref or name or "not-named"
            amounts[key] += Decimal(tx.findtext("value")) * _share(a, country)
            if name:
                names[key][name] += 1
    return dict(amounts), {k: c.most_common(1)[0][0] for k, c in names.items()}


def _rows(client: TestClient, url: str) -> list[dict[str, object]]:
    response = client.get(url)
    assert response.status_code == 200, url
    rows: list[dict[str, object]] = response.json()["tables"]["flows"]["rows"]
    return rows


def _spending(rows: list[dict[str, object]]) -> dict[str, Decimal]:
    return {
        str(r["target"]): Decimal(str(r["amount"]))
        for r in rows
        if r["stage"] == "spending" and r["amount"] is not None
    }


@pytest.mark.parametrize("country", ["ML", "SN"])
def test_country_flows_to_each_receiver_are_the_xml_sums(client: TestClient, country: str) -> None:
    rows = _rows(client, f"/countries/{country}.json?year={YEAR}")
    expected, names = _spent(country)
    assert _spending(rows) == expected
    assert len(expected) >= 2  # a named receiver and the money that names none
    for r in rows:
        if r["stage"] == "spending" and r["amount"] is not None:
            assert r["source"] == "home" and r["currency"] == "USD"
            if r["target"] != "not-named":
                assert r["target_name"] == names.get(str(r["target"]), r["target"])


def test_receiver_flows_add_up_to_the_page_expenditure_and_disbursements(
    client: TestClient,
) -> None:
    """Money counted once: the spending flows add up to the XML's disbursements and
    expenditure of the year in the country (receivers or not); the page's expenditure is the
    expenditure alone (this publisher's disbursements are not expenditure)."""
    page = client.get(f"/countries/ML.json?year={YEAR}").json()
    rows = page["tables"]["flows"]["rows"]
    expected, _ = _spent("ML")
    spent_only, _ = _spent("ML", kinds=("4",))
    disbursed, _ = _spent("ML", kinds=("3",))
    html = BeautifulSoup(client.get(f"/countries/ML?year={YEAR}").text, "html.parser")
    total = html.select_one("dd.total-expenditure")
    assert total is not None
    spent = sum(_spending(rows).values(), Decimal(0))
    assert spent == sum(expected.values(), Decimal(0))
    assert spent == sum(spent_only.values(), Decimal(0)) + sum(disbursed.values(), Decimal(0))
    # 1,161.25 as the page writes it: no figure of this page is computed by the test's sum.
    assert total.get_text(strip=True).replace("\u00a0", " ").endswith("1,161")
    assert sum(spent_only.values(), Decimal(0)) == Decimal("1161.25")
    assert spent == Decimal("1161.25") + Decimal(200)  # XX-HOME-1's disbursement to XX-NGO-2


def test_partner_named_without_money_is_listed_without_amount(client: TestClient) -> None:
    rows = _rows(client, f"/countries/ML.json?year={YEAR}")
    unpaid = [
        (r["target"], r["target_name"])
        for r in rows
        if r["stage"] == "spending" and r["amount"] is None
    ]
    # A role-4 participating org (XX-NGO-2, a receiver of disbursements only, is drawn: the
    # flow of funds draws disbursements too).
    assert unpaid == [("XX-NGO-9", "Named Only")]
    assert _spending(rows)["XX-NGO-2"] == Decimal(200)


def test_partner_page_flows_are_what_its_activities_spent(client: TestClient) -> None:
    rows = _rows(client, f"/partners/XX-DONOR.json?year={YEAR}")
    expected, _ = _spent(funder="XX-DONOR")
    assert _spending(rows) == expected
    assert "XX-NGO-1" in expected and "not-named" in expected


def test_hostile_receiver_name_is_text(client: TestClient) -> None:
    hostile = "<script>alert(1)</script> Local & Co"
    html = BeautifulSoup(client.get(f"/countries/ML?year={YEAR}").text, "html.parser")
    table = html.select_one("table.flows")
    assert table is not None and table.select("script") == []
    cells = [td.get_text() for td in table.select("tbody td")]
    assert hostile in cells
    data = html.select_one("figure[data-flows] script.flow-data")
    assert data is not None and "<script>" not in data.get_text()
    spec = json.loads(data.get_text())
    assert hostile in {n["name"] for p in spec["panels"] for n in p["nodes"]}
    # One link per flow with an amount above 0.
    [panel] = spec["panels"]
    rows = _rows(client, f"/countries/ML.json?year={YEAR}")
    assert len(panel["links"]) == sum(1 for r in rows if r["amount"] and float(r["amount"]) > 0)


def test_commitments_and_disbursements_keep_their_receiver(
    store: tuple[TestClient, object],
) -> None:
    engine = store[1]
    with engine.connect() as conn:  # type: ignore[attr-defined]
        for kind, measure in (("2", "commitment"), ("3", "disbursement")):
            expected, _ = _spent(kinds=(kind,))
            found = money.receivers(conn, PORTAL, Filters(year=YEAR), measure)
            assert {r.receiver_org_ref: r.value for r in found} == expected
