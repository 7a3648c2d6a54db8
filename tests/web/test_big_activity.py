"""One activity with thousands of transactions (issue 10): its page shows one page of each
long list with working page links and totals of every row, its size does not grow with the
lists, and its data renderings hold every row. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from big_activity import IDENTIFIER, write
from bs4 import BeautifulSoup
from lxml import etree
from openpyxl import load_workbook
from sqlalchemy import Engine
from starlette.testclient import TestClient

from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

TRANSACTIONS = 3000
PAGE = f"/activities/{IDENTIFIER}"


@pytest.fixture
def portal(engine: Engine, tmp_path: Path) -> Iterator[tuple[TestClient, etree._Element]]:
    source = write(tmp_path / "big.xml", TRANSACTIONS)
    assert not ingest(engine, [str(source)]).failed
    published = next(
        a
        for a in etree.parse(str(source)).getroot().iterfind("iati-activity")
        if a.findtext("iati-identifier") == IDENTIFIER
    )
    with TestClient(create_app(engine)) as client:
        yield client, published


def soup(client: TestClient, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, url
    return BeautifulSoup(response.text, "html.parser")


def dollars(value: Decimal) -> str:
    """As pages show money: whole units ("$1,000" for 1000.25)."""
    return f"${value.quantize(Decimal(1)):,}"


def values_shown(page: BeautifulSoup) -> list[str]:
    """The values of the transactions listed (their fifth column)."""
    return [
        tr.select("td")[4].get_text(strip=True) for tr in page.select("table.transactions tbody tr")
    ]


def published_values(act: etree._Element) -> list[Decimal]:
    return [Decimal(t.findtext("value")) for t in act.iterfind("transaction")]


def as_shown(values: list[Decimal]) -> list[str]:
    return [dollars(v) for v in values]


def test_the_page_shows_one_page_of_transactions_and_links_to_the_next(
    portal: tuple[TestClient, etree._Element],
) -> None:
    client, act = portal
    values = as_shown(published_values(act))
    first = soup(client, PAGE)
    nav = first.select_one('nav.pagination[aria-label="Pages of transactions"]')
    assert nav.select_one(".showing").get_text(strip=True) == "Showing 1 – 100 of 3,000"
    assert values_shown(first) == values[:100]
    following = nav.select_one('a[rel="next"]')["href"]
    assert following == f"{PAGE}?transactions_page=2#transactions-heading"
    second = soup(client, following.split("#")[0])
    nav = second.select_one('nav.pagination[aria-label="Pages of transactions"]')
    assert nav.select_one(".showing").get_text(strip=True) == "Showing 101 – 200 of 3,000"
    assert values_shown(second) == values[100:200]
    assert nav.select_one('a[aria-current="page"]').get_text(strip=True) == "2"
    last = nav.select("li a:not([rel])")[-1]["href"].split("#")[0]
    assert values_shown(soup(client, last)) == values[2900:]
    # Another list's page is kept in the links of this one (paging works without JavaScript).
    budgets = soup(client, f"{PAGE}?budgets_page=2&transactions_page=3")
    links = budgets.select('nav[aria-label="Pages of transactions"] a[rel="next"]')
    assert links[0]["href"] == f"{PAGE}?budgets_page=2&transactions_page=4#transactions-heading"
    shown = budgets.select_one('nav[aria-label="Pages of budgets"] .showing')
    assert shown.get_text(strip=True) == "Showing 51 – 60 of 60"
    assert len(budgets.select("table.budgets tbody tr")) == 10


def test_a_page_past_the_end_or_not_a_number_is_a_page_of_the_list(
    portal: tuple[TestClient, etree._Element],
) -> None:
    client, act = portal
    values = as_shown(published_values(act))
    assert values_shown(soup(client, f"{PAGE}?transactions_page=99999")) == values[2900:]
    assert values_shown(soup(client, f"{PAGE}?transactions_page=two")) == values[:100]
    assert values_shown(soup(client, f"{PAGE}?transactions_page=-4")) == values[:100]


def test_totals_and_money_by_year_are_every_transactions_sums(
    portal: tuple[TestClient, etree._Element],
) -> None:
    client, act = portal
    by_type: dict[str, Decimal] = defaultdict(Decimal)
    counts: dict[str, int] = defaultdict(int)
    spent: dict[int, Decimal] = defaultdict(Decimal)
    for t in act.iterfind("transaction"):
        kind, value = t.find("transaction-type").get("code"), Decimal(t.findtext("value"))
        by_type[kind] += value
        counts[kind] += 1
        if kind == "4":
            spent[int(t.find("transaction-date").get("iso-date")[:4])] += value
    page = soup(client, PAGE)
    totals = {
        tr["data-type"]: (tr.select_one("td.count").get_text(strip=True),
                          tr.select_one("td.total").get_text(strip=True))
        for tr in page.select("table.transaction-totals tbody tr")
    }  # fmt: skip
    assert totals == {k: (f"{counts[k]:,}", dollars(by_type[k])) for k in by_type}
    data = client.get(f"{PAGE}.json").json()["tables"]
    by_year = {
        r["year"]: Decimal(str(r["expenditure"]))
        for r in data["budget_and_expenditure_by_year"]["rows"]
    }
    assert by_year == spent
    sums = {
        r["transaction_type"]: Decimal(str(r["value"])) for r in data["transaction_totals"]["rows"]
    }
    assert sums == by_type


def test_the_page_does_not_grow_with_the_activity(
    portal: tuple[TestClient, etree._Element], engine: Engine, tmp_path: Path
) -> None:
    client, _act = portal
    other = write(tmp_path / "smaller.xml", 300, identifier="XX-BIG-2")
    assert not ingest(engine, [str(other)]).failed
    big = client.get(PAGE)
    smaller = client.get("/activities/XX-BIG-2")
    # 3,000 and 300 transactions (and 60 budgets, 25 indicators of 30 periods each): one page
    # of each list, the same size give or take a few page links.
    assert len(big.content) < 200_000
    assert abs(len(big.content) - len(smaller.content)) < 3_000
    page = BeautifulSoup(big.text, "html.parser")
    assert len(page.select("table.transactions tbody tr")) == 100
    assert len(page.select("table.budgets tbody tr")) == 50
    indicators = page.select("article.result table.indicator")
    assert len(indicators) == 10  # of 25: results are paged by indicator
    assert {len(t.select("tbody tr:not(.baseline)")) for t in indicators} == {20}  # of 30
    every = page.select_one('p.every-row[data-table="indicator_periods"] a')
    assert every["href"] == f"{PAGE}.csv?table=indicator_periods"


def test_the_data_renderings_hold_every_row(portal: tuple[TestClient, etree._Element]) -> None:
    client, act = portal
    values = published_values(act)
    response = client.get(f"{PAGE}.csv?table=transactions")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [Decimal(r["value"]) for r in rows] == values
    assert rows[2]["receiver_org_name"] == "Partner 2"
    french = client.get(f"{PAGE}.json?lang=fr").json()["tables"]
    assert len(french["transactions"]["rows"]) == TRANSACTIONS
    assert french["transactions"]["rows"][0]["transaction_type_name"] == "Fonds entrants"
    assert len(french["budgets"]["rows"]) == 60
    periods = french["indicator_periods"]["rows"]
    assert len(periods) == 25 * 30
    assert periods[-1] == {
        "indicator": "Indicator 24",
        "plan_indicator_code": None,  # its indicators reference no plan indicator
        "period_start": "2022-06-01",
        "period_end": "2022-06-28",
        "target": "300",
        "actual": "294",
    }
    book = load_workbook(io.BytesIO(client.get(f"{PAGE}.xlsx").content), read_only=True)
    sheet = list(book["transactions"].iter_rows(values_only=True))
    assert len(sheet) == TRANSACTIONS + 1  # a header row, then every row
    assert [Decimal(str(row[3])) for row in sheet[1:]] == values
    raw = client.get(f"{PAGE}.xml")
    assert raw.headers["content-type"] == "application/xml"
    stored = etree.fromstring(raw.content)
    assert etree.tostring(stored, method="c14n") == etree.tostring(act, method="c14n")


def test_the_api_gives_one_activitys_rows_in_full_and_its_page_in_part(
    portal: tuple[TestClient, etree._Element],
) -> None:
    client, act = portal
    listed = client.get(f"/api/v1/transactions?activity={quote(IDENTIFIER)}&per_page=10").json()
    assert listed["total"] == TRANSACTIONS
    streamed = client.get(f"/api/v1/transactions?activity={quote(IDENTIFIER)}&format=csv")
    rows = list(csv.DictReader(io.StringIO(streamed.text)))
    assert {r["iati_identifier"] for r in rows} == {IDENTIFIER}
    assert sorted(Decimal(r["value"]) for r in rows) == sorted(published_values(act))
    one = client.get(f"/api/v1/activities/{IDENTIFIER}").json()
    assert len(one["tables"]["transactions"]) == 1000
    assert one["lists"]["transactions"] == {
        "total": TRANSACTIONS,
        "url": f"/api/v1/transactions?activity={IDENTIFIER}",
    }


def test_results_are_paged_by_indicator(portal: tuple[TestClient, etree._Element]) -> None:
    client, act = portal
    titles = [i.findtext("title/narrative") for i in act.iterfind("result/indicator")]
    last = soup(client, f"{PAGE}?results_page=3")
    nav = last.select_one('nav[aria-label="Pages of results"]')
    assert nav.select_one(".showing").get_text(strip=True) == "Showing 21 – 25 of 25"
    captions = [c.get_text(strip=True) for c in last.select("article.result table caption")]
    assert captions == titles[20:]
    assert [h.get_text(" ", strip=True) for h in last.select("article.result h3")] == [
        "Output: Outputs"
    ]
