"""Organisation files on the pages (issue 15, point 4): each line of an organisation file beside
the money of the organisation's own activities, with the difference, never added to them.

Through HTTP only (the API list, the partner page, the overview, their .json and .csv), on both
databases. Expected figures are computed here from the fixtures with lxml (the activities'
budgets and expenditure per calendar year and recipient, committed before indicative) or by
hand from the rates written below, never by the code under test.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from lxml import etree
from sqlalchemy import Engine
from starlette.testclient import TestClient
from stores import demo_client

from iatiportal import rates
from iatiportal.demo import demo_files
from iatiportal.exports import snapshot
from iatiportal.profile import MoneyRules, Portal, Profile
from iatiportal.store.load import ingest, refresh_derived
from iatiportal.web.app import create_app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ORG_FILE = FIXTURES / "organisation-budgets.xml"
ACTIVITIES = FIXTURES / "organisation-budgets-activities.xml"
ORG = "XX-ORGB"
D = Decimal
API = f"/api/v1/organisation-budgets?reporting_org={ORG}&per_page=100"
RATES = """date,currency,rate_to_usd,source
2023-01-01,EUR,1.10,Test rates of the organisation-file tests
2024-01-01,EUR,1.20,Test rates of the organisation-file tests
2025-01-01,EUR,1.25,Test rates of the organisation-file tests
"""
HOSTILE_NAME = '<script>alert("org")</script> Budgets & Co'


def portal(**money: Any) -> Portal:
    return Portal((Profile(key="orgb", reporting_org_refs=(ORG,), money=MoneyRules(**money)),))


@pytest.fixture
def stored(engine: Engine) -> Engine:
    assert not ingest(engine, [str(ORG_FILE), str(ACTIVITIES)]).failed
    refresh_derived(engine)
    return engine


@pytest.fixture
def client(stored: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(stored, portal())) as c:
        yield c


def items(client: TestClient, url: str = API) -> list[dict[str, Any]]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def soup(client: TestClient, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, url
    return BeautifulSoup(response.text, "html.parser")


def number(value: Any) -> Decimal | None:
    return None if value is None or value == "" else D(str(value))


# -- what the fixtures say, read with lxml ------------------------------------------------------


def org_lines(path: Path) -> list[dict[str, Any]]:
    """Each line of an organisation file: element, status, period, own value and currency."""
    out = []
    for org in etree.parse(str(path)).iter("iati-organisation"):
        default = org.get("default-currency")
        for el in org:
            if el.tag not in (
                "total-budget",
                "recipient-org-budget",
                "recipient-country-budget",
                "recipient-region-budget",
                "total-expenditure",
            ):
                continue
            value = el.find("value")  # the line's own, not its budget-lines'
            recipient = el.find("recipient-country")
            if recipient is None:
                recipient = el.find("recipient-region")
            ref = None
            if recipient is not None:
                ref = recipient.get("code")
            elif el.find("recipient-org") is not None:
                ref = el.find("recipient-org").get("ref")
            out.append(
                {
                    "element": el.tag,
                    "status": el.get("status"),
                    "start": el.find("period-start").get("iso-date"),
                    "end": el.find("period-end").get("iso-date"),
                    "value": D(value.text),
                    "currency": value.get("currency") or default,
                    "recipient": ref,
                }
            )
    return out


def activity_money() -> dict[tuple[str, str | None, int, str], Decimal]:
    """The activities' money by (measure, recipient, year, currency), recipient None for all:
    budgets of one period committed before indicative, expenditure by transaction year. (Every
    fixture budget is one calendar year and every activity has one recipient at 100 %.)"""
    out: dict[tuple[str, str | None, int, str], Decimal] = defaultdict(D)
    for act in etree.parse(str(ACTIVITIES)).iter("iati-activity"):
        currency = act.get("default-currency")
        place = act.find("recipient-country")
        if place is None:
            place = act.find("recipient-region")
        recipient = place.get("code")
        by_period: dict[str, dict[str, Decimal]] = defaultdict(dict)
        for b in act.iter("budget"):
            by_period[b.find("period-start").get("iso-date")][b.get("status")] = D(
                b.find("value").text
            )
        for start, statuses in by_period.items():
            value = statuses.get("2", statuses.get("1"))
            for who in (None, recipient):
                out[("budget", who, int(start[:4]), currency)] += value
        for t in act.iter("transaction"):
            if t.find("transaction-type").get("code") == "4":
                year = int(t.find("transaction-date").get("iso-date")[:4])
                for who in (None, recipient):
                    out[("expenditure", who, year, currency)] += D(t.find("value").text)
    return out


def expected_as_published() -> dict[tuple[str, str, str | None], tuple[Any, ...]]:
    """(element, start, recipient) -> (value, currency, activities' sum, difference, comparison)
    for the lines shown (the indicative 2023 total budget is replaced by the committed one)."""
    lines = org_lines(ORG_FILE)
    money = activity_money()
    committed = {(x["element"], x["start"], x["end"]) for x in lines if x["status"] == "2"}
    out = {}
    for line in lines:
        if line["status"] == "1" and (line["element"], line["start"], line["end"]) in committed:
            continue
        key = (line["element"], line["start"], line["recipient"])
        first, last = int(line["start"][:4]), int(line["end"][:4])
        whole = line["start"][4:] == "-01-01" and line["end"][4:] == "-12-31"
        measure = "expenditure" if line["element"] == "total-expenditure" else "budget"
        who = (
            None if line["element"] in ("total-budget", "total-expenditure") else line["recipient"]
        )
        years = range(first, last + 1)
        mine = sum((money.get((measure, who, y, line["currency"]), D(0)) for y in years), D(0))
        others = [
            k for k, v in money.items()
            if k[0] == measure and k[1] == who and k[2] in years and k[3] != line["currency"] and v
        ]  # fmt: skip
        if line["element"] == "recipient-org-budget":
            out[key] = (line["value"], line["currency"], None, None, "recipient-org")
        elif not whole:
            out[key] = (line["value"], line["currency"], None, None, "period-not-calendar-years")
        elif others:
            out[key] = (
                line["value"], line["currency"], None, None, "activities-in-other-currencies"
            )  # fmt: skip
        else:
            out[key] = (line["value"], line["currency"], mine, line["value"] - mine, "compared")
    return out


def shown(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str | None], tuple[Any, ...]]:
    return {
        (r["element"], r["period_start"], r["recipient_ref"]): (
            number(r["value"]),
            r["currency"],
            number(r["activities_value"]),
            number(r["difference"]),
            r["comparison"],
        )
        for r in rows
    }


# -- the dataset, through the API ---------------------------------------------------------------


def test_each_line_beside_its_activities_as_published(client: TestClient) -> None:
    rows = items(client)
    expected = expected_as_published()
    assert len(expected) == 8  # the fixture's nine lines, less the replaced indicative one
    assert shown(rows) == expected
    # Worked out by hand too: 2000 - (1000 + 600); Mali 1100 - 1000; Senegal over two years
    # 700 - 600; the region in US dollars 450 - 500; expenditure 600 - (400 + 100).
    differences = {k[0] + (k[2] or ""): v[3] for k, v in expected.items() if v[3] is not None}
    assert differences == {
        "total-budget": D(400),
        "recipient-country-budgetML": D(100),
        "recipient-country-budgetSN": D(100),
        "recipient-region-budget298": D(-50),
        "total-expenditure": D(100),
    }
    region = next(r for r in rows if r["element"] == "recipient-region-budget")
    assert (region["recipient_vocabulary"], region["recipient_name"]) == ("1", "Africa, regional")
    assert {r["budget_status"] for r in rows if r["element"] == "total-expenditure"} == {None}


def test_the_budget_line_values_inside_a_line_are_not_counted(client: TestClient) -> None:
    mali = next(r for r in items(client) if r["recipient_ref"] == "ML")
    assert number(mali["value"]) == D(1100)  # not its budget-line of 999999


def test_lines_in_one_currency_at_their_value_date(stored: Engine, tmp_path: Path) -> None:
    path = tmp_path / "rates.csv"
    path.write_text(RATES)
    assert rates.load(stored, path) == 3
    refresh_derived(stored)
    usd_per_eur = {2023: D("1.10"), 2024: D("1.20"), 2025: D("1.25")}

    def exact(value: Decimal) -> Decimal:
        return value.quantize(D("0.0001"), rounding=ROUND_HALF_UP)

    with TestClient(create_app(stored, portal())) as client:
        eur = shown(items(client, API + "&currency=EUR"))
        usd = {k: v for k, v in shown(items(client, API + "&currency=USD")).items() if k[2] is None}
        converted = items(client, API + "&currency=EUR")
    in_eur_2024 = exact(D(1000) / usd_per_eur[2024])  # 1000 USD on 2024-01-01
    in_eur_2025 = exact(D(450) / usd_per_eur[2025])  # 450 USD, no value date: period start
    activities_2025 = D(500) / usd_per_eur[2025]  # XX-ORGB-3's 500 USD
    assert eur[("total-budget", "2024-01-01", None)] == (
        in_eur_2024, "EUR", D(1300), in_eur_2024 - 1300, "compared"
    )  # fmt: skip
    assert eur[("recipient-region-budget", "2025-01-01", "298")] == (
        in_eur_2025, "EUR", activities_2025, in_eur_2025 - activities_2025, "compared"
    )  # fmt: skip
    assert eur[("total-budget", "2023-01-01", None)] == (
        D(2000),
        "EUR",
        D(1600),
        D(400),
        "compared",
    )
    line = next(r for r in converted if r["element"] == "total-budget" and r["currency"] == "EUR"
                and r["published_currency"] == "USD")  # fmt: skip
    assert (number(line["published_value"]), line["rate_date"]) == (D(1000), "2024-01-01")
    assert line["rate_source"] == "Test rates of the organisation-file tests"
    # In US dollars: 2000 EUR at 1.10 against (1000 + 600) EUR at 1.10; the 2023 expenditure
    # of the activities (June and September) has no rate within 45 days: not comparable.
    budget_2023 = (D(1000) + D(600)) * usd_per_eur[2023]
    assert usd[("total-budget", "2023-01-01", None)] == (
        D(2200), "USD", budget_2023, D(2200) - budget_2023, "compared"
    )  # fmt: skip
    assert usd[("total-expenditure", "2023-01-01", None)] == (
        D(660), "USD", None, None, "activities-not-converted"
    )  # fmt: skip
    assert usd[("total-budget", "2024-01-01", None)][2:] == (
        D(1300) * usd_per_eur[2024], D(1000) - D(1300) * usd_per_eur[2024], "compared"
    )  # fmt: skip


def test_the_profile_budget_status_rule_holds_for_organisation_files(stored: Engine) -> None:
    with TestClient(create_app(stored, portal(budget_status="indicative"))) as client:
        rows = shown(items(client))
    # Only the indicative 2023 total budget (1900) and the expenditure are left; the
    # activities have no indicative budget in 2023.
    assert rows == {
        ("total-budget", "2023-01-01", None): (D(1900), "EUR", D(0), D(1900), "compared"),
        ("total-expenditure", "2023-01-01", None): (D(600), "EUR", D(500), D(100), "compared"),
    }


def test_the_list_is_in_the_api_description(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    item = spec["paths"]["/organisation-budgets"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]["properties"]["items"]["items"]
    assert {"value", "activities_value", "difference", "comparison"} <= set(item["properties"])


def test_the_shared_example_organisation_file(engine: Engine, shared: Path) -> None:
    """The official annotated example (no real organisation file is in the shared data: see
    its MANIFEST.md): every line's own value, none of its activities held."""
    path = (
        shared / "iati-standard" / "examples" / "organisation-standard-example-annotated-2.03.xml"
    )
    assert not ingest(engine, [str(path)]).failed
    refresh_derived(engine)
    with TestClient(create_app(engine)) as client:
        rows = items(client, "/api/v1/organisation-budgets?reporting_org=AA-AAA-123456789")
    lines = org_lines(path)
    assert len(lines) == 5
    assert sorted((r["element"], number(r["value"]), r["currency"]) for r in rows) == sorted(
        (line["element"], line["value"], line["currency"]) for line in lines
    )
    assert {r["element"]: r["comparison"] for r in rows} == {
        "total-budget": "no-activities",
        "recipient-org-budget": "recipient-org",
        "recipient-region-budget": "no-activities",
        "recipient-country-budget": "no-activities",
        "total-expenditure": "no-activities",
    }


# -- the pages ----------------------------------------------------------------------------------


def section_rows(page: BeautifulSoup) -> list[Any]:
    section = page.select_one("section.organisation-budgets")
    assert section is not None
    return list(section.select("table.organisation-budgets tbody tr"))


def test_the_partner_page_of_an_organisation_with_a_file(client: TestClient) -> None:
    page = soup(client, f"/partners/{ORG}")
    rows = section_rows(page)
    assert len(rows) == 8
    # The totals first; the recipients' lines folded under them.
    folded = page.select("section.organisation-budgets details tbody tr")
    assert [r["data-recipient"] for r in folded] == ["ML", "SN", "298", "XX-PARTNER"]
    assert page.select_one("#organisation-budgets-heading").get_text() == (
        "What the organisation says it will spend"
    )
    total = next(r for r in rows if r["data-element"] == "total-budget")
    assert total.select_one("td.published").get_text() == "€2,000"
    assert total.select_one("td.activities").get_text() == "€1,600"
    assert total.select_one("td.difference").get_text() == "€400"
    fiscal = next(r for r in rows if r["data-comparison"] == "period-not-calendar-years")
    assert fiscal.select_one("td.not-comparable").get_text() == (
        "Not comparable: the period is not whole calendar years."
    )
    # The hostile name is text, in the title and the note, never markup.
    assert page.select("main script") == []
    assert page.title is not None and page.title.get_text().startswith(HOSTILE_NAME)
    assert HOSTILE_NAME in page.select_one("#organisation-budgets-note").get_text()


def test_the_partner_page_data_is_the_dataset(client: TestClient) -> None:
    tables = client.get(f"/partners/{ORG}.json").json()["tables"]
    assert tables["organisation_budgets"]["rows"] == items(client)
    text = client.get(f"/partners/{ORG}.csv?table=organisation_budgets").text
    found = list(csv.DictReader(io.StringIO(text)))
    assert next(number(r["difference"]) for r in found if r["element"] == "total-budget") == 400
    assert len(found) == 8


def test_the_overview_shows_the_home_file_beside_unchanged_totals(client: TestClient) -> None:
    page = soup(client, "/?year=2023")
    assert len(section_rows(page)) == 8
    # The year's totals are the activities' (1000 + 600 budget, 400 + 100 expenditure), the
    # organisation file's 2000 and 600 are not added to them.
    budget = page.select_one('dl.counts div[data-measure="budget"] dd').get_text()
    spent = page.select_one('dl.counts div[data-measure="expenditure"] dd').get_text()
    assert (budget, spent) == ("€1,600", "€500")
    json_totals = client.get("/index.json?year=2023").json()["tables"]["totals"]["rows"]
    assert [(r["budget"], r["expenditure"]) for r in json_totals] == [(1600, 500)]


def test_the_section_in_french_and_arabic(client: TestClient) -> None:
    french = soup(client, "/?lang=fr")
    assert french.select_one("#organisation-budgets-heading").get_text() == (
        "Ce que l'organisation dit qu'elle dépensera"
    )
    arabic = soup(client, f"/partners/{ORG}?lang=ar")
    assert arabic.select_one("#organisation-budgets-heading").get_text() == (
        "ما تقول المنظمة إنها ستنفقه"
    )


def test_no_section_without_an_organisation_file(engine: Engine) -> None:
    assert not ingest(engine, [str(ACTIVITIES)]).failed
    refresh_derived(engine)
    with TestClient(create_app(engine, portal())) as client:
        assert soup(client, "/").select_one("section.organisation-budgets") is None
        assert client.get(f"/partners/{ORG}").status_code == 404
        assert items(client) == []


def test_the_country_page_shows_the_home_budget_for_the_country(client: TestClient) -> None:
    rows = section_rows(soup(client, "/countries/ML"))
    assert [r["data-recipient"] for r in rows] == ["ML"]
    cells = [rows[0].select_one(f"td.{c}").get_text() for c in ("published", "activities")]
    assert cells == ["€1,100", "€1,000"]  # the file's Mali budget; XX-ORGB-1's 2023 budget
    tables = client.get("/countries/ML.json").json()["tables"]
    assert [r["recipient_ref"] for r in tables["organisation_budgets"]["rows"]] == ["ML"]
    senegal = section_rows(soup(client, "/countries/SN"))
    assert [r["data-recipient"] for r in senegal] == ["SN"]


def test_the_bulk_snapshot_holds_the_lines(sqlite_engine: Engine, tmp_path: Path) -> None:
    assert not ingest(sqlite_engine, [str(ORG_FILE), str(ACTIVITIES)]).failed
    refresh_derived(sqlite_engine)
    manifest = snapshot.build(sqlite_engine, tmp_path / "snapshot")
    path = snapshot.file_path(tmp_path / "snapshot", manifest, snapshot.CSV_NAME)
    with zipfile.ZipFile(path) as archive:
        member = archive.open("organisation-budgets.csv")
        rows = list(csv.DictReader(io.TextIOWrapper(member, encoding="utf-8")))
    assert manifest.rows["organisation-budgets.csv"] == len(rows) == 8
    assert {
        (r["element"], r["period_start"], r["recipient_ref"] or None): (
            number(r["value"]), r["currency"], number(r["activities_value"]),
            number(r["difference"]), r["comparison"],
        )
        for r in rows
    } == expected_as_published()  # fmt: skip
    assert {r["budget_status_name"] for r in rows if r["budget_status"] == "2"} == {"Committed"}


def demo_activity_sums() -> dict[tuple[str, int], Decimal]:
    """The demo activities' budget and expenditure per year, read with lxml: within one
    activity and period committed before indicative and revised before original, and a
    parent's figures of a measure and year left out where one of its children has figures of
    them (related-activity type 2 names a child). Every demo budget is one calendar year."""
    path = next(p for p in demo_files() if "activities" in p.name)
    per_activity: dict[str, dict[tuple[str, int], Decimal]] = {}
    children: dict[str, list[str]] = defaultdict(list)
    for act in etree.parse(str(path)).iter("iati-activity"):
        ident = act.findtext("iati-identifier").strip()
        own: dict[tuple[str, int], Decimal] = defaultdict(D)
        periods: dict[str, list[tuple[str, str, Decimal]]] = defaultdict(list)
        for b in act.findall("budget"):
            start, end = (
                b.find("period-start").get("iso-date"),
                b.find("period-end").get("iso-date"),
            )
            assert start[4:] == "-01-01" and end == start[:4] + "-12-31"
            periods[start].append((b.get("status"), b.get("type"), D(b.find("value").text)))
        for start, found in periods.items():
            best = max(found, key=lambda f: (f[0] == "2", f[1] == "2"))
            own[("budget", int(start[:4]))] += best[2]
        for t in act.findall("transaction"):
            if t.find("transaction-type").get("code") == "4":
                own[("expenditure", int(t.find("transaction-date").get("iso-date")[:4]))] += D(
                    t.find("value").text
                )
        per_activity[ident] = own
        children[ident] = [
            r.get("ref") for r in act.findall("related-activity") if r.get("type") == "2"
        ]

    def descendants(ident: str) -> list[str]:
        return [d for c in children[ident] for d in (c, *descendants(c))]

    out: dict[tuple[str, int], Decimal] = defaultdict(D)
    for ident, own in per_activity.items():
        below = {k for d in descendants(ident) for k in per_activity.get(d, {})}
        for key, value in own.items():
            if key not in below:
                out[key] += value
    return out


def test_the_demo_organisation_file_against_its_activities(tmp_path: Path) -> None:
    """The demo's UN Women sample organisation file: each total line's published value as lxml
    reads it, and its activities' sum as computed above from the demo activities."""
    org_path = next(p for p in demo_files() if "organisation" in p.name)
    published = {
        (line["element"], int(line["start"][:4])): line["value"]
        for line in org_lines(org_path)
        if line["element"] in ("total-budget", "total-expenditure")
    }
    sums = demo_activity_sums()
    with demo_client(tmp_path) as client:
        rows = items(client, "/api/v1/organisation-budgets?per_page=100")
        page = soup(client, "/")
    totals = {
        (r["element"], int(r["period_start"][:4])): r
        for r in rows
        if r["element"] in ("total-budget", "total-expenditure")
    }
    assert len(totals) == len(published) == 6
    for key, row in totals.items():
        measure = "budget" if key[0] == "total-budget" else "expenditure"
        assert row["comparison"] == "compared", key
        assert number(row["value"]) == published[key], key
        assert number(row["activities_value"]) == sums[(measure, key[1])], key
        assert number(row["difference"]) == published[key] - sums[(measure, key[1])], key
    assert len(section_rows(page)) == len(rows)
