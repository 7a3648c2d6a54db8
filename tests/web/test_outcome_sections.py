"""The outcome (activity) page in sections as the model has them: Summary, Resources, Results,
SDGs, Funding partners, Strategic plan and More, each an anchor of the page named in its menu;
core and non-core figures as the page's data says; the plan outcome from the bundled profile;
``?plan_period=`` narrowing the years and marked in its selector."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import Engine
from starlette.testclient import TestClient

from iatiportal.demo import demo_files
from iatiportal.i18n import money
from iatiportal.profile import bundled, load_portal
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

OUTCOME = "XM-DAC-41146-MLI_D_1.1"
PAGE = f"/activities/{quote(OUTCOME, safe='')}"
SECTIONS = {
    "summary": ("summary-heading", "Summary"),
    "resources": ("resources-heading", "Resources"),
    "results": ("results-heading", "Results"),
    "sdgs": ("sdgs-heading", "Resources towards the Sustainable Development Goals"),
    "funding-partners": ("partner-years-heading", "Funding partners' contributions by year"),
    "strategic-plan": ("strategic-plan-heading", "Strategic plan"),
    "more": ("more-heading", "More"),
}


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    assert not ingest(engine, [str(p) for p in demo_files()]).failed
    with TestClient(create_app(engine, load_portal([bundled("unwomen")]))) as c:
        yield c


def soup(client: TestClient, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, url
    return BeautifulSoup(response.text, "html.parser")


def test_every_section_has_its_heading_and_its_menu_link(client: TestClient) -> None:
    page = soup(client, PAGE)
    menu = page.select("nav.sections[data-sections] a[data-section]")
    assert [a["href"] for a in menu] == [f"#{key}" for key in SECTIONS]
    for key, (heading, text) in SECTIONS.items():
        section = page.select_one(f"main section.outcome-section#{key}")
        assert section is not None, key
        h2 = section.select_one("h2")
        assert h2 is not None and h2["id"] == heading and section["aria-labelledby"] == heading
        assert h2.get_text(strip=True) == text


def test_lists_are_in_their_sections(client: TestClient) -> None:
    page = soup(client, PAGE)
    inside = {
        "summary": ["dd.identifier", "dd.status", "ul.countries", "table.sectors"],
        "resources": ["table.by-year", "table.resource-totals", "table.core-funds",
                      "table.budgets", "table.transactions"],
        "results": ["table.results-overview", "article.result table.indicator"],
        "sdgs": ["table.sdgs"],
        "funding-partners": ["table#partner-years", "table.participating-orgs"],
        "strategic-plan": ["dl.plan-links dd.plan-outcome"],
        "more": ["p.raw-xml a[href$='.xml']"],
    }  # fmt: skip
    for key, selectors in inside.items():
        for selector in selectors:
            assert page.select_one(f"section#{key} {selector}") is not None, (key, selector)


def test_core_and_non_core_are_the_data_tables_figures(client: TestClient) -> None:
    rows = client.get(f"{PAGE}.json").json()["tables"]["core_and_non_core"]["rows"]
    assert rows
    shown = {
        tr["data-currency"]: tuple(
            tr.select_one(f"td.{c}").get_text(strip=True) for c in ("core", "non-core", "incoming")
        )
        for tr in soup(client, PAGE).select("section#resources table.core-funds tbody tr")
    }
    assert shown == {
        r["currency"]: tuple(
            money(Decimal(str(r[k])), r["currency"]) for k in ("core", "non_core", "incoming_funds")
        )
        for r in rows
    }


def test_strategic_plan_shows_the_profiles_plan_outcome(client: TestClient) -> None:
    profile = tomllib.loads(bundled("unwomen").read_text(encoding="utf-8"))
    outcomes = {o["code"]: o for o in profile["strategic_plan"]["outcomes"]}
    dd = soup(client, PAGE).select_one("section#strategic-plan dd.plan-outcome")
    code = dd.select_one(".code").get_text(strip=True)
    statement = outcomes[code]["statement"]
    expected = statement["en"] if isinstance(statement, dict) else statement
    assert dd.select_one(".statement").get_text(" ", strip=True) == " ".join(expected.split())
    assert soup(client, PAGE).select_one("section#strategic-plan dd.impact-area .code")


def test_an_earlier_plan_period_shows_no_years_and_is_marked(client: TestClient) -> None:
    every = soup(client, PAGE)
    assert every.select("section#resources table.by-year tbody tr")
    assert every.select_one("select#plan_period option[selected]")["value"] == ""
    page = soup(client, f"{PAGE}?plan_period=2018-2021")
    chosen = page.select("select#plan_period option[selected]")
    assert [o["value"] for o in chosen] == ["2018-2021"]
    assert page.select("section#resources table.by-year") == []
    assert page.select_one("section#resources p.no-years") is not None
    assert page.select("section#funding-partners table#partner-years thead th.num") == []
    # Every figure of the page is of the period's years, totals too: the demo's money is of
    # 2022-2024, so core and non-core funds and the SDGs have nothing in 2018-2021.
    assert every.select("table.core-funds tbody tr[data-currency]")
    assert page.select("table.core-funds tbody tr[data-currency]") == []
    assert every.select("section#sdgs table")
    assert page.select("section#sdgs table") == []


def test_the_plan_period_keeps_the_lists_pages(client: TestClient) -> None:
    page = soup(client, f"{PAGE}?plan_period=2022-2025&transactions_page=1&lang=fr")
    form = page.select_one("form.plan-period")
    kept = {i["name"]: i["value"] for i in form.select("input[type=hidden]")}
    assert kept == {"transactions_page": "1", "lang": "fr"}
    assert page.select_one("select#plan_period option[selected]")["value"] == "2022-2025"


def test_a_caption_that_repeats_its_heading_is_for_screen_readers_only(
    client: TestClient,
) -> None:
    """A table's caption that says what the heading just above says is not shown twice."""
    page = soup(client, PAGE)
    repeated = 0
    for table in page.select("main section.subsection table"):
        caption, heading = table.select_one("caption"), table.find_previous(["h2", "h3"])
        if caption is None or heading is None:
            continue
        if caption.get_text(strip=True) == heading.get_text(strip=True):
            repeated += 1
            assert "visually-hidden" in (caption.get("class") or []), caption
    assert repeated >= 1  # policy markers
