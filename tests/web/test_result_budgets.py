"""Budget utilisation of each result (issue 12, point 4): a result whose result/reference of the
profile's ``[results] activity_vocabulary`` names an activity of the same publisher shows that
activity's budget, expenditure and utilisation; every other result "—" with a note. An outcome
whose outputs are child activities shows their money as its own, and the country lists the
outcome, not its outputs.

Expected figures are worked out by hand in the comment of
tests/fixtures/results-linked-activity.xml; the demo's from its XML.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup, Tag
from lxml import etree
from sqlalchemy import Engine
from starlette.testclient import TestClient

from iatiportal.demo import DATA, demo_files
from iatiportal.profile import bundled, load_portal
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
OUTCOME = "/activities/XX-RESULTS-OUTCOME"
DEMO_OUTCOME = "XM-DAC-41146-MLI_D_1.1"


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    summary = ingest(engine, [str(FIXTURES / "results-linked-activity.xml")])
    assert [f.status for f in summary.files] == ["ingested"]
    portal = load_portal([FIXTURES / "results-linked-activity.toml"])
    with TestClient(create_app(engine, portal)) as c:
        yield c


def soup(client: TestClient, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, url
    return BeautifulSoup(response.text, "html.parser")


def utilisation(page: BeautifulSoup) -> dict[str, Tag]:
    """The Budget utilisation cell of each row of the results table, by result number."""
    table = page.select_one("section#results table.results-overview")
    assert table is not None
    heads = [th.get_text(strip=True) for th in table.select("thead th")]
    column = heads.index("Budget utilisation") if "Budget utilisation" in heads else None
    assert column is not None, heads
    return {str(row["data-number"]): row.find_all("td")[column] for row in table.select("tbody tr")}


def figures(cell: Tag) -> tuple[str, str, str]:
    percent, budget, spent = (cell.select_one(c) for c in (".percent", ".budget", ".expenditure"))
    assert percent is not None and budget is not None and spent is not None
    return (
        percent.get_text(strip=True),
        budget.get_text(strip=True),
        spent.get_text(strip=True),
    )


def test_a_linked_result_shows_its_activitys_budget_utilisation(client: TestClient) -> None:
    cells = utilisation(soup(client, OUTCOME))
    assert figures(cells["2"]) == ("36.7\u00a0%", "$1,500", "$550")
    assert figures(cells["3"]) == ("125\u00a0%", "$400", "$500")
    link = cells["2"].select_one("a")
    assert link is not None and link["href"] == "/activities/XX-RESULTS-OUT-1"


def test_the_plan_period_narrows_a_results_years(client: TestClient) -> None:
    cells = utilisation(soup(client, f"{OUTCOME}?plan_period=2022-2023"))
    assert figures(cells["2"]) == ("55\u00a0%", "$1,000", "$550")
    assert figures(cells["3"]) == ("125\u00a0%", "$400", "$500")


def test_an_unlinked_result_shows_a_dash_and_why(client: TestClient) -> None:
    page = soup(client, OUTCOME)
    cells = utilisation(page)
    # 1: no reference; 4: an activity of another publisher; 5: not the profile's vocabulary.
    for number in ("1", "4", "5"):
        assert cells[number].get_text(strip=True) == "—", number
        assert cells[number]["aria-describedby"] == "results-money-note"
    note = page.select_one("#results-money-note")
    assert note is not None and "names no activity" in note.get_text()


def test_the_parent_page_counts_its_childrens_money(client: TestClient) -> None:
    """Its own figures gave way to its children's: Resources is theirs, not empty."""
    page = soup(client, OUTCOME)
    row = page.select_one("table.resource-totals tr[data-currency='USD']")
    assert row is not None
    cells = [row.select_one(c) for c in ("td.budget", "td.expenditure", "td.utilisation")]
    assert [c.get_text(strip=True) for c in cells if c is not None] == [
        "$1,900",
        "$1,050",
        "55.3\u00a0%",
    ]
    years = client.get(f"{OUTCOME}.json").json()["tables"]["budget_and_expenditure_by_year"]
    assert [(r["year"], r["budget"], r["expenditure"]) for r in years["rows"]] == [
        (2022, 1000, 950),
        (2023, 400, 100),
        (2024, 500, None),
    ]


def test_the_pages_data_carries_each_results_money(client: TestClient) -> None:
    table = client.get(f"{OUTCOME}.json?plan_period=2022-2023").json()["tables"]["results"]
    assert [c["key"] for c in table["columns"]] == [
        "number", "result_type", "result_type_name", "title", "linked_activity", "currency",
        "budget", "expenditure", "utilisation_percent",
    ]  # fmt: skip
    rows = {r["number"]: r for r in table["rows"]}
    money = [(r["linked_activity"], r["currency"], r["budget"], r["expenditure"],
              r["utilisation_percent"]) for r in rows.values()]  # fmt: skip
    assert money == [
        (None, None, None, None, None),
        ("XX-RESULTS-OUT-1", "USD", 1000, 550, 55),
        ("XX-RESULTS-OUT-2", "USD", 400, 500, 125),
        (None, None, None, None, None),
        (None, None, None, None, None),
    ]
    csv = client.get(f"{OUTCOME}.csv?table=results").text.splitlines()
    assert csv[2] == "2,1,Output,Output one,XX-RESULTS-OUT-1,USD,1500.0000,550.0000,36.7"


def test_the_api_describes_the_results_fields(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json")
    assert spec.status_code == 200
    text = spec.text
    for words in ("The activity carrying the result's money", "Budget utilisation: expenditure"):
        assert words in text


def test_the_country_lists_outcomes_not_their_outputs(client: TestClient) -> None:
    page = soup(client, "/countries/ML/progress")
    listed = [a["data-id"] for a in page.select("article.outcome")]
    assert listed == ["XX-RESULTS-OTHER", "XX-RESULTS-OUTCOME"]
    showing = page.select_one("nav.pagination p.showing")
    assert showing is not None and showing.get_text(strip=True) == "Showing 1 – 2 of 2"
    results = soup(client, "/countries/ML/results")
    rows = [tr["data-id"] for tr in results.select("table.outcomes tbody tr")]
    assert rows == ["XX-RESULTS-OTHER", "XX-RESULTS-OUTCOME"]
    header = results.select_one("dd.activities")
    assert header is not None and header.get_text(strip=True) == "2"
    outcomes = client.get("/countries/ML/results.json?year=2022").json()["tables"]["outcomes"]
    outcomes = outcomes["rows"]
    money = {r["iati_identifier"]: (r["budget"], r["expenditure"]) for r in outcomes}
    assert money == {"XX-RESULTS-OTHER": (300, 150), "XX-RESULTS-OUTCOME": (1000, 950)}
    totals = client.get("/countries/ML.json").json()["tables"]["budget_and_expenditure_by_year"]
    assert [(r["year"], r["budget"], r["expenditure"]) for r in totals["rows"]] == [
        (2022, 1300, 1100),
        (2023, 400, 100),
        (2024, 500, None),
    ]


# -- the demo ----------------------------------------------------------------------------------


def _demo_output(identifier: str) -> tuple[Decimal, Decimal]:
    """An output activity's committed budgets and expenditure in every year, from the XML."""
    tree = etree.parse(str(DATA / "XM-DAC-41146-sample-activities.xml"))
    act = tree.xpath(f"iati-activity[iati-identifier='{identifier}']")[0]
    budget = sum(Decimal(v) for v in act.xpath("budget[@status='2']/value/text()"))
    spent = sum(Decimal(v) for v in act.xpath("transaction/value/text()"))
    return Decimal(budget), Decimal(spent)


@pytest.mark.parametrize(
    ("lang", "heading"), [("en", "Budget utilisation"), ("fr", "Utilisation du budget")]
)
def test_the_demos_mali_outcome_shows_its_outputs_utilisation(
    engine: Engine, lang: str, heading: str
) -> None:
    assert not ingest(engine, [str(p) for p in demo_files()]).failed
    with TestClient(create_app(engine, load_portal([bundled("unwomen")]))) as c:
        response = c.get(f"/activities/{quote(DEMO_OUTCOME, safe='')}?lang={lang}")
    assert response.status_code == 200
    page = BeautifulSoup(response.text, "html.parser")
    table = page.select_one("section#results table.results-overview")
    assert table is not None
    heads = [th.get_text(strip=True) for th in table.select("thead th")]
    assert heading in heads
    cells = {
        str(tr["data-number"]): tr.find_all("td")[heads.index(heading)]
        for tr in table.select("tbody tr")
    }
    assert cells["1"].get_text(strip=True) == "—"  # the outcome result names no activity
    for number, output in (("2", 1), ("3", 2)):
        identifier = f"{DEMO_OUTCOME}-OUTPUT-{output}"
        budget, spent = _demo_output(identifier)
        percent = cells[number].select_one(".percent")
        link = cells[number].select_one("a")
        assert link is not None and link.get_text(strip=True) == identifier
        assert percent is not None
        expected = (spent / budget * 100).quantize(Decimal("0.1"))
        shown = percent.get_text(strip=True).replace("\u202f", " ").replace(",", ".")
        assert Decimal(shown.removesuffix("\u00a0%").strip()) == expected
