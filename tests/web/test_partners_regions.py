"""Funding partner and region pages on the demo data, checked against the demo XML."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal

import pytest
from bs4 import BeautifulSoup
from lxml import etree
from starlette.testclient import TestClient

from iatiportal.demo import demo_files
from iatiportal.profile import bundled, load_portal
from iatiportal.store.db import make_engine, migrate
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

ACTIVITIES = next(p for p in demo_files() if "activities" in p.name)
OUTCOMES = "iati-activity[@hierarchy='1']"
"""The demo's outcomes: Mali's outputs, published as child activities (hierarchy 2), are listed
and counted under their outcome, whose money they split."""


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('partners') / 'demo.db'}")
    migrate(engine)
    assert not ingest(engine, [str(p) for p in demo_files()]).failed
    with TestClient(create_app(engine, load_portal([bundled("unwomen")]))) as test_client:
        yield test_client
    engine.dispose()


def soup(client: TestClient, url: str, status: int = 200) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == status, url
    return BeautifulSoup(response.text, "html.parser")


def incoming_by_year(ref: str) -> dict[int, Decimal]:
    totals: dict[int, Decimal] = defaultdict(Decimal)
    root = etree.parse(str(ACTIVITIES)).getroot()
    for tx in root.iterfind("iati-activity/transaction"):
        provider = tx.find("provider-org")
        if (
            tx.find("transaction-type").get("code") == "1"
            and provider is not None
            and (provider.get("ref") == ref)
        ):
            year = int(tx.find("transaction-date").get("iso-date")[:4])
            totals[year] += Decimal(tx.findtext("value").strip())
    return dict(totals)


def test_partner_list_links_each_partner(client: TestClient) -> None:
    page = soup(client, "/partners?per_page=10")
    refs = {tr["data-ref"] for tr in page.select("table.funding-partners tbody tr")}
    assert "SE-0" in refs
    link = page.select_one('tr[data-ref="SE-0"] a')
    assert link is not None and link["href"] == "/partners/SE-0"


def test_partner_contributions_by_year_match_the_xml(client: TestClient) -> None:
    expected = incoming_by_year("SE-0")
    assert expected
    data = client.get("/partners/SE-0.json").json()
    got = {
        r["year"]: Decimal(str(r["incoming_funds"] if "incoming_funds" in r else r["value"]))
        for r in data["tables"]["contributions_by_year"]["rows"]
    }
    assert got == expected
    page = soup(client, "/partners/SE-0")
    years = [tr["data-year"] for tr in page.select("table.contributions tbody tr")]
    assert years == [str(y) for y in sorted(expected)]


def test_unknown_partner_is_a_404(client: TestClient) -> None:
    soup(client, "/partners/XX-NOBODY", status=404)


def test_regions_and_a_region_page(client: TestClient) -> None:
    page = soup(client, "/regions")
    codes = {tr["data-code"] for tr in page.select("table.regions tbody tr")}
    assert {"89", "289"} <= codes
    root = etree.parse(str(ACTIVITIES)).getroot()
    in_89 = {
        a.findtext("iati-identifier")
        for a in root.iterfind("iati-activity")
        if any(r.get("code") == "89" for r in a.iterfind("recipient-region"))
    }
    region = soup(client, "/regions/89?per_page=10")
    assert {tr["data-id"] for tr in region.select("table.activities tbody tr")} == in_89
    assert region.select_one("h1").get_text(strip=True) == "Europe, regional"
    french = soup(client, "/regions/89?lang=fr")
    assert french.select_one("h1").get_text(strip=True) != ""
    soup(client, "/regions/XX-NONE", status=404)


def test_strategic_plan_pages(client: TestClient) -> None:
    root = etree.parse(str(ACTIVITIES)).getroot()
    per_area: dict[str, int] = defaultdict(int)
    for ident in root.iterfind(f"{OUTCOMES}/iati-identifier"):
        kind, number = (ident.text or "").rsplit("_", 2)[-2:]
        per_area[f"{kind}{number.split('.')[0]}"] += 1
    page = soup(client, "/strategic-plan")
    rows = {tr["data-code"]: tr for tr in page.select("table.impact-areas tbody tr")}
    assert {"D1", "D2", "D3", "D4", "O1", "O2", "O3"} <= set(rows)
    for code, n in per_area.items():
        assert rows[code].select("td")[0].get_text(strip=True) == str(n), code
    area = soup(client, "/strategic-plan/D1")
    ids = [tr["data-id"] for tr in area.select("table.outcomes tbody tr")]
    assert len(ids) == per_area["D1"]
    assert all("_D_1." in i for i in ids)
    soup(client, "/strategic-plan/X9", status=404)


def test_about_page_explains_every_figure(client: TestClient) -> None:
    page = soup(client, "/about")
    headings = [h.get_text(strip=True) for h in page.select(".methodology h3")]
    assert {"Budget", "Expenditure", "Funding partners"} <= set(headings)
    assert page.select(".methodology [lang]") == []  # in the page's language, English
    codes = {c.get_text() for c in page.select(".methodology code")}
    assert {"budget", "related-activity", "hierarchy-cycle"} <= codes
    assert "``" not in page.select_one(".methodology").get_text()


def indicators_from_xml(year: int) -> dict[str, dict[str, int]]:
    """Per impact area: indicators, those with an actual in ``year``, and targets met.

    Written from the rule on the strategic plan page: a period belongs to the year of its end;
    an indicator's last period of the year with both a target and an actual is compared; units
    and percentages only; at least the target, or at most where ``ascending="0"``.
    """
    root = etree.parse(str(ACTIVITIES)).getroot()
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for act in root.iterfind(OUTCOMES):
        kind, number = (act.findtext("iati-identifier") or "").rsplit("_", 2)[-2:]
        area = out[f"{kind}{number.split('.')[0]}"]
        for ind in act.iterfind("result/indicator"):
            area["indicators"] += 1
            periods = [
                p
                for p in ind.iterfind("period")
                if p.find("period-end").get("iso-date", "").startswith(str(year))
            ]
            area["with_actual"] += any(p.find("actual") is not None for p in periods)
            both = [
                p for p in periods if p.find("target") is not None and p.find("actual") is not None
            ]
            if not both or ind.get("measure") not in ("1", "2"):
                continue
            last = max(both, key=lambda p: p.find("period-end").get("iso-date"))
            target = Decimal(last.find("target").get("value"))
            actual = Decimal(last.find("actual").get("value"))
            area["comparable"] += 1
            area["met"] += (
                actual <= target if ind.get("ascending") in ("0", "false") else actual >= target
            )
    return out


def test_strategic_plan_rolls_up_offices_and_indicators(client: TestClient) -> None:
    page = soup(client, "/strategic-plan")
    year = int(page.select_one("select#year option[selected]")["value"])
    expected = indicators_from_xml(year)
    assert sum(a["comparable"] for a in expected.values()) > 0
    assert (
        0
        < sum(a["met"] for a in expected.values())
        < sum(a["comparable"] for a in expected.values())
    )
    rows = {tr["data-code"]: tr for tr in page.select("table.impact-areas tbody tr")}
    for code, want in expected.items():
        row = rows[code]
        assert int(row.select_one("td.indicators").get_text(strip=True)) == want["indicators"]
        assert int(row.select_one("td.with-actual").get_text(strip=True)) == want["with_actual"]
        met = row.select_one("td.targets-met")
        assert (int(met["data-met"]), int(met["data-comparable"])) == (
            want["met"],
            want["comparable"],
        ), code
    offices: dict[str, set[str]] = defaultdict(set)
    root = etree.parse(str(ACTIVITIES)).getroot()
    for ident in root.iterfind(f"{OUTCOMES}/iati-identifier"):
        office, kind, number = (ident.text or "").removeprefix("XM-DAC-41146-").split("_")
        offices[f"{kind}{number.split('.')[0]}"].add(office)
    for code, names in offices.items():
        assert int(rows[code].select_one("td.offices").get_text(strip=True)) == len(names)
    area = soup(client, f"/strategic-plan/D1?year={year}")
    met = area.select_one("dd.targets-met").get_text(strip=True)
    assert met == f"{expected['D1']['met']} of {expected['D1']['comparable']}"
    data = client.get(f"/strategic-plan.json?year={year}").json()
    json_rows = {r["impact_area"]: r for r in data["tables"]["impact_areas"]["rows"]}
    assert json_rows["D1"]["indicators_met"] == expected["D1"]["met"]
