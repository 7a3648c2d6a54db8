"""The flow of funds on country and partner pages (issue 15), on the demo data: its rows are
the same in the table, the page's JSON and the diagram's JSON, and its amounts are the sums
of the demo XML, computed here from the file."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from bs4 import BeautifulSoup
from lxml import etree
from starlette.testclient import TestClient
from stores import KINDS, migrated_store

from iatiportal.demo import demo_files
from iatiportal.profile import bundled, load_portal
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app
from iatiportal.web.charts import MOST_FLOW_ROWS, MOST_FLOWS, flow_diagram, flow_table

ACTIVITIES = next(p for p in demo_files() if "activities" in p.name)
YEAR = 2023
COUNTRY = "KE"  # outcomes without child activities, each wholly in Kenya


@pytest.fixture(scope="module", params=KINDS)
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    with migrated_store(request.param, tmp_path_factory.mktemp("flows")) as engine:
        assert not ingest(engine, [str(p) for p in demo_files()]).failed
        with TestClient(create_app(engine, load_portal([bundled("unwomen")]))) as test_client:
            yield test_client


def _activities(country: str | None = None, funder: str | None = None) -> list[etree._Element]:
    root = etree.parse(str(ACTIVITIES)).getroot()
    found = []
    for a in root.iterfind("iati-activity"):
        if country and country not in {c.get("code") for c in a.iterfind("recipient-country")}:
            continue
        if funder and funder not in {
            p.get("ref") for p in a.iterfind("participating-org[@role='1']")
        }:
            continue
        found.append(a)
    return found


def _year(tx: etree._Element) -> int:
    return int(tx.find("transaction-date").get("iso-date")[:4])


def _incoming(activities: list[etree._Element], year: int) -> dict[str, Decimal]:
    """Incoming funds (type 1) of the year per provider ref, from the XML."""
    out: dict[str, Decimal] = defaultdict(Decimal)
    for a in activities:
        for tx in a.iterfind("transaction"):
            if tx.find("transaction-type").get("code") == "1" and _year(tx) == year:
                out[tx.find("provider-org").get("ref")] += Decimal(tx.findtext("value").strip())
    return dict(out)


def _passed_on(activities: list[etree._Element], year: int) -> Decimal:
    """Disbursements and expenditure (types 3 and 4) of the year, from the XML: what the flow
    of funds draws leaving the home publisher (the demo publishes expenditure only)."""
    return sum(
        (
            Decimal(tx.findtext("value").strip())
            for a in activities
            for tx in a.iterfind("transaction")
            if tx.find("transaction-type").get("code") in ("3", "4") and _year(tx) == year
        ),
        Decimal(0),
    )


def _implementing(activities: list[etree._Element]) -> set[str]:
    return {
        p.findtext("narrative")
        for a in activities
        for p in a.iterfind("participating-org[@role='4']")
        if p.get("ref") != "XM-DAC-41146"
    }


def _flows(client: TestClient, url: str) -> list[dict[str, object]]:
    response = client.get(url)
    assert response.status_code == 200, url
    rows: list[dict[str, object]] = response.json()["tables"]["flows"]["rows"]
    return rows


def test_country_flows_are_the_sums_of_the_xml(client: TestClient) -> None:
    kenya = _activities(COUNTRY)
    assert kenya and all(a.get("hierarchy") == "1" for a in kenya)
    rows = _flows(client, f"/countries/{COUNTRY}.json?year={YEAR}")
    funding = {r["source"]: Decimal(str(r["amount"])) for r in rows if r["stage"] == "funding"}
    assert funding == _incoming(kenya, YEAR)
    assert {r["target"] for r in rows if r["stage"] == "funding"} == {"home"}
    spent = [r for r in rows if r["stage"] == "spending" and r["amount"] is not None]
    # The demo's expenditure names no receiver: one "not named" flow of all of it.
    assert [(r["target"], r["currency"]) for r in spent] == [("not-named", "USD")]
    assert Decimal(str(spent[0]["amount"])) == _passed_on(kenya, YEAR)
    named = {r["target_name"] for r in rows if r["stage"] == "spending" and r["amount"] is None}
    assert named == _implementing(kenya) and named


def test_country_flows_add_up_to_the_page_totals(client: TestClient) -> None:
    """The funding flows are the funding partners table; the spending, the page's expenditure
    (the demo's publisher disburses nothing: what it passed on is its expenditure)."""
    page = client.get(f"/countries/{COUNTRY}.json?year={YEAR}").json()["tables"]
    rows = page["flows"]["rows"]
    partners = {
        (p["provider_org_ref"], p["currency"], p["incoming_funds"])
        for p in page["funding_partners"]["rows"]
    }
    assert {
        (r["source"], r["currency"], r["amount"]) for r in rows if r["stage"] == "funding"
    } == partners
    html = BeautifulSoup(client.get(f"/countries/{COUNTRY}?year={YEAR}").text, "html.parser")
    spent = next(r for r in rows if r["target"] == "not-named")
    shown = html.select_one("table.flows tr[data-target='not-named'] td.num")
    assert shown is not None
    total = html.select_one("dd.total-expenditure")
    assert total is not None and shown.get_text(strip=True) == total.get_text(strip=True)
    assert spent["amount"] is not None


def test_partner_flows_are_its_incoming_funds_and_what_its_activities_spent(
    client: TestClient,
) -> None:
    ref = "SE-0"
    funded = _activities(funder=ref)
    rows = _flows(client, f"/partners/{ref}.json?year={YEAR}")
    funding = [r for r in rows if r["stage"] == "funding"]
    assert [(r["source"], Decimal(str(r["amount"]))) for r in funding] == [
        (ref, _incoming(funded, YEAR)[ref])
    ]
    spent = next(r for r in rows if r["target"] == "not-named")
    assert Decimal(str(spent["amount"])) == _passed_on(funded, YEAR)


def test_table_and_diagram_show_the_same_rows(client: TestClient) -> None:
    url = f"/countries/{COUNTRY}?year={YEAR}"
    rows = _flows(client, f"/countries/{COUNTRY}.json?year={YEAR}")
    html = BeautifulSoup(client.get(url).text, "html.parser")
    table = html.select("table.flows tbody tr")
    assert [(tr["data-stage"], tr["data-source"], tr["data-target"]) for tr in table] == [
        (r["stage"], r["source"], r["target"]) for r in rows
    ]
    data = html.select_one("figure[data-flows] script.flow-data")
    assert data is not None
    spec = json.loads(data.get_text())
    [panel] = spec["panels"]
    drawn = [r for r in rows if r["amount"]]
    assert len(panel["links"]) == len(drawn)
    assert sorted(link["value"] for link in panel["links"]) == sorted(
        float(str(r["amount"])) for r in drawn
    )


def test_csv_holds_the_flows(client: TestClient) -> None:
    response = client.get(f"/countries/{COUNTRY}.csv?year={YEAR}&table=flows")
    assert response.status_code == 200
    lines = response.text.splitlines()
    assert lines[0].split(",") == [
        "stage", "source", "source_name", "target", "target_name", "currency", "amount"
    ]  # fmt: skip
    assert len(lines) - 1 == len(_flows(client, f"/countries/{COUNTRY}.json?year={YEAR}"))


def test_small_funders_are_one_other_link_in_the_diagram_only() -> None:
    rows = [
        {
            "stage": "funding",
            "source": f"P{i}",
            "source_name": f"Partner {i}",
            "target": "home",
            "target_name": "Home",
            "currency": "EUR",
            "amount": Decimal(100 - i),
        }
        for i in range(MOST_FLOWS + 3)
    ]
    [panel] = flow_diagram("f", "Flows", rows)["panels"]
    sources = [link["source"] for link in panel["links"]]
    assert sources[: MOST_FLOWS - 1] == [f"funder:P{i}" for i in range(MOST_FLOWS - 1)]
    assert sources[MOST_FLOWS - 1 :] == ["funder:other"]
    other = sum(100 - i for i in range(MOST_FLOWS - 1, MOST_FLOWS + 3))
    assert panel["links"][-1]["value"] == other


def test_small_implementing_partners_are_one_other_link_and_not_named_stays_apart() -> None:
    rows = [
        {
            "stage": "spending",
            "source": "home",
            "source_name": "Home",
            "target": f"N{i}",
            "target_name": f"NGO {i}",
            "currency": "EUR",
            "amount": Decimal(100 - i),
        }
        for i in range(MOST_FLOWS + 2)
    ]
    rows.append({**rows[0], "target": "not-named", "target_name": "Not named", "amount": 1})
    [panel] = flow_diagram("f", "Flows", rows)["panels"]
    targets = [link["target"] for link in panel["links"]]
    assert targets == [
        *(f"spent:N{i}" for i in range(MOST_FLOWS - 1)),
        "spent:other",
        "spent:not-named",
    ]
    assert panel["links"][-2]["value"] == sum(
        100 - i for i in range(MOST_FLOWS - 1, MOST_FLOWS + 2)
    )
    assert panel["links"][-2]["target_name"] == "Other implementing partners (3)"


def _spent(target: str, currency: str | None, amount: Decimal | None) -> dict[str, Any]:
    return {
        "stage": "spending",
        "source": "home",
        "source_name": "Home",
        "target": target,
        "target_name": f"Name of {target}",
        "currency": currency,
        "amount": amount,
    }


def test_a_long_flow_table_lists_the_largest_and_sums_the_rest() -> None:
    extra = 16
    paid = [_spent(f"N{i}", "EUR", Decimal(1000 - i)) for i in range(MOST_FLOW_ROWS - 1 + extra)]
    paid.reverse()  # the table sorts them, largest first
    few = [_spent(f"U{i}", "USD", Decimal(5 + i)) for i in range(3)]
    named = [_spent(f"X{i}", None, None) for i in range(MOST_FLOW_ROWS + 5)]
    rows = [*paid, _spent("not-named", "EUR", Decimal(7)), *few, *named]
    table = flow_table(rows)
    eur = [r for r in table if r["currency"] == "EUR"]
    assert [r["target"] for r in eur] == [
        *(f"N{i}" for i in range(MOST_FLOW_ROWS - 1)),
        "other",
        "not-named",
    ]
    assert eur[-2]["target_name"] == f"Other implementing partners ({extra})"
    assert eur[-2]["amount"] == sum(Decimal(1000 - i) for i in range(MOST_FLOW_ROWS - 1, 40))
    # Nothing is lost: the table adds up to the data, currency by currency.
    for currency in ("EUR", "USD"):
        assert sum(r["amount"] for r in table if r["currency"] == currency) == sum(
            r["amount"] for r in rows if r["currency"] == currency
        )
    assert [r for r in table if r["currency"] == "USD"] == few  # short: as it is
    listed = [r for r in table if r["amount"] is None]
    assert [r["target"] for r in listed] == [
        *(f"X{i}" for i in range(MOST_FLOW_ROWS - 1)),
        "other",
    ]
    assert listed[-1]["target_name"] == "Other implementing partners named (6)"


def test_a_short_flow_table_is_the_data_as_it_is() -> None:
    rows = [_spent(f"N{i}", "EUR", Decimal(i)) for i in range(MOST_FLOW_ROWS)]
    assert flow_table(rows) == rows
