"""The portal's pages on the demo data and a real UN Women file, in English and French.

HTML is asserted with selectors (BeautifulSoup), never substrings of whole pages.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup
from lxml import etree
from openpyxl import load_workbook
from sqlalchemy import Engine
from starlette.testclient import TestClient

from iatiportal.demo import demo_files
from iatiportal.store.db import make_engine, migrate
from iatiportal.store.load import ingest, refresh_derived
from iatiportal.web.app import create_app

UNWOMEN = "iati/unwomen/XM-DAC-41146_unwomen_dportal-covid19-extract_2021-06-15.xml"
DEMO_ACTIVITY = "XM-DAC-41146-MLI_D_1.1"
REAL_ACTIVITY = "XM-DAC-41146-PAP _O_1.1"  # a real identifier with a space in it


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> Iterator[TestClient]:
    db = tmp_path_factory.mktemp("web") / "portal.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    summary = ingest(engine, [*map(str, demo_files()), str(shared / UNWOMEN)])
    assert not summary.failed
    with TestClient(create_app(engine)) as test_client:
        yield test_client
    engine.dispose()


def soup(client: TestClient, url: str, status: int = 200) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == status, url
    assert response.headers["content-type"].startswith("text/html")
    return BeautifulSoup(response.text, "html.parser")


def test_overview_counts_and_data_links(client: TestClient, shared: Path) -> None:
    page = soup(client, "/")
    assert page.html is not None and page.html["lang"] == "en"
    assert page.select_one("h1").get_text(strip=True) == "Overview"
    counts = {
        div["data-measure"]: div.select_one("dd").get_text(strip=True)
        for div in page.select("dl.counts div")
    }
    # 23 sample activities + 13 real UN Women ones (independent of the code: counted here).
    real = etree.parse(str(shared / UNWOMEN)).getroot().findall("iati-activity")
    assert counts["activities"] == str(23 + len(real))
    alternates = {a["href"] for a in page.select("link[rel=alternate][type]")}
    assert alternates == {"/index.json", "/index.csv", "/index.xlsx"}


def test_overview_in_french(client: TestClient) -> None:
    page = soup(client, "/?lang=fr")
    assert page.html is not None and page.html["lang"] == "fr"
    assert page.select_one("h1").get_text(strip=True) == "Vue d'ensemble"
    nav = [a.get_text(strip=True) for a in page.select("header nav[aria-label] ul li a")]
    assert "Activités" in nav
    # Links keep the language.
    assert page.select_one("header a.brand")["href"] == "/?lang=fr"


def test_activity_list_is_paginated(client: TestClient) -> None:
    page = soup(client, "/activities?per_page=5&page=2")
    # Every activity: the sample's 23 outcomes and Mali's 6 outputs published as child
    # activities, and the 13 real UN Women ones.
    assert page.select_one(".pagination .showing").get_text(strip=True) == "Showing 6 – 10 of 42"
    rows = page.select("table.activities tbody tr")
    assert len(rows) == 5
    current = page.select_one('.pagination a[aria-current="page"]')
    assert current is not None and current.get_text(strip=True) == "2"
    french = soup(client, "/activities?per_page=5&page=2&lang=fr")
    showing = french.select_one(".pagination .showing").get_text(strip=True)
    assert showing == "Affichage de 6 à 10 sur 42"


def test_demo_activity_page(client: TestClient) -> None:
    page = soup(client, f"/activities/{DEMO_ACTIVITY}")
    assert page.select_one("dd.identifier").get_text(strip=True) == DEMO_ACTIVITY
    assert page.select_one("dd.status").get_text(strip=True) == "Implementation"
    assert [li["data-code"] for li in page.select("ul.countries li")] == ["ML"]
    assert page.select("table.budgets tbody tr")
    assert page.select("table.transactions tbody tr")
    assert page.select("article.result table.indicator")
    xml_link = page.select_one('a[href$=".xml"]')
    assert xml_link is not None and xml_link["href"] == f"/activities/{DEMO_ACTIVITY}.xml"


def test_narratives_in_the_page_language_with_lang(client: TestClient) -> None:
    english = soup(client, f"/activities/{DEMO_ACTIVITY}").select_one("h1 span")
    french = soup(client, f"/activities/{DEMO_ACTIVITY}?lang=fr").select_one("h1 span")
    # Each in the page's language: no lang of its own (the page's is the html element's).
    assert english.get("lang") is None and english.find_parent("html")["lang"] == "en"
    assert french.get("lang") is None and french.find_parent("html")["lang"] == "fr"
    assert english.get_text() != french.get_text()


def test_real_activity_with_a_space_in_its_identifier(client: TestClient) -> None:
    page = soup(client, f"/activities/{quote(REAL_ACTIVITY)}")
    assert page.select_one("dd.identifier").get_text(strip=True) == REAL_ACTIVITY
    raw = client.get(f"/activities/{quote(REAL_ACTIVITY)}.xml")
    assert raw.status_code == 200
    root = etree.fromstring(raw.content)
    assert root.tag == "iati-activity"
    assert (root.findtext("iati-identifier") or "").strip() == REAL_ACTIVITY


def test_activity_renderings_hold_the_same_rows(client: TestClient) -> None:
    page = soup(client, f"/activities/{DEMO_ACTIVITY}")
    html_transactions = len(page.select("table.transactions tbody tr"))
    data = client.get(f"/activities/{DEMO_ACTIVITY}.json").json()
    assert len(data["tables"]["transactions"]["rows"]) == html_transactions
    response = client.get(f"/activities/{DEMO_ACTIVITY}.csv?table=transactions")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == html_transactions
    assert {r["transaction_type"] for r in rows} <= {"1", "4"}
    book = load_workbook(io.BytesIO(client.get(f"/activities/{DEMO_ACTIVITY}.xlsx").content))
    assert book["transactions"].max_row == html_transactions + 1  # + the header


def test_unknown_activity_is_a_404_that_suggests_a_search(client: TestClient) -> None:
    page = soup(client, "/activities/XX-NOT-THERE", status=404)
    field = page.select_one('form[role=search] input[name="q"]')
    assert field is not None and field["value"] == "XX-NOT-THERE"


def test_data_health_lists_files_and_rules(client: TestClient, shared: Path) -> None:
    page = soup(client, "/-/data-health")
    files = [tr.select("td")[0].get_text(strip=True) for tr in page.select("table.files tbody tr")]
    assert Path(UNWOMEN).name in files  # its name, not the server's path to it
    assert len(files) == 3
    data = json.loads(client.get("/-/data-health.json").text)
    rules = {r["rule"] for r in data["tables"]["rules"]["rows"]}
    assert "duplicate-identifier" not in rules  # the demo and the extract do not overlap
    assert "schema" in rules  # the real 2.02 extract has schema errors (a known fact of it)


def test_publisher_text_is_escaped(tmp_path: Path) -> None:
    hostile = tmp_path / "hostile.xml"
    hostile.write_text(
        '<iati-activities version="2.03"><iati-activity>'
        "<iati-identifier>XX-ESCAPE-1</iati-identifier>"
        "<title><narrative>&lt;script&gt;alert(1)&lt;/script&gt;</narrative></title>"
        "</iati-activity></iati-activities>",
        encoding="utf-8",
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    migrate(engine)
    ingest(engine, [str(hostile)])
    with TestClient(create_app(engine)) as c:
        page = soup(c, "/activities/XX-ESCAPE-1")
    engine.dispose()
    # Only the portal's own scripts and its charts' JSON (whose "<" is escaped) are scripts.
    scripts = page.select("script")
    assert all(s["src"].startswith("/static/") for s in scripts if s.get("src"))
    assert all(s.get("src") or s.get("type") == "application/json" for s in scripts)
    assert not any("<" in (s.string or "") for s in scripts)
    assert page.select_one("h1").get_text(strip=True) == "<script>alert(1)</script>"


def test_cached_pages_follow_a_new_ingest(tmp_path: Path, shared: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'cache.db'}")
    migrate(engine)
    ingest(engine, [str(p) for p in demo_files()])
    with TestClient(create_app(engine, recheck_data_every=0)) as c:
        first = soup(c, "/activities?per_page=5")
        again = soup(c, "/activities?per_page=5")
        assert str(first) == str(again)
        assert first.select_one(".showing").get_text(strip=True) == "Showing 1 – 5 of 29"
        ingest(engine, [str(shared / UNWOMEN)])
        after = soup(c, "/activities?per_page=5")
        assert after.select_one(".showing").get_text(strip=True) == "Showing 1 – 5 of 42"
    engine.dispose()


def test_store_wide_figures_follow_a_new_ingest(tmp_path: Path, shared: Path) -> None:
    # The countries and the footer's file count are kept per data version (web.cache
    # .PerVersion): a URL first asked for after an ingest shows the new store's.
    engine = make_engine(f"sqlite:///{tmp_path / 'kept.db'}")
    migrate(engine)
    ingest(engine, [str(p) for p in demo_files()])
    with TestClient(create_app(engine, recheck_data_every=0)) as c:
        before = soup(c, "/countries?per_page=100")
        ingest(engine, [str(shared / UNWOMEN)])
        after = soup(c, "/countries?per_page=99")
    engine.dispose()

    def shown(page: BeautifulSoup) -> tuple[int, str]:
        status = page.select_one("p.data-status").get_text(" ", strip=True)
        return len(page.select("table.countries tbody tr")), status

    rows_before, status_before = shown(before)
    rows_after, status_after = shown(after)
    assert rows_after > rows_before
    assert "from 2 files" in status_before, status_before
    assert "from 3 files" in status_after, status_after


def test_data_health_says_when_figures_lag_behind_the_files(sqlite_engine: Engine) -> None:
    ingest(sqlite_engine, [str(p) for p in demo_files()], refresh=False)
    with TestClient(create_app(sqlite_engine, recheck_data_every=0)) as c:
        stale = soup(c, "/-/data-health")
        assert stale.select_one("p.notice[role=status]") is not None
        assert "not been computed" in stale.select_one("p.figures-computed").get_text()
        refresh_derived(sqlite_engine)
        fresh = soup(c, "/-/data-health?lang=fr")
    assert fresh.select_one("p.notice") is None
    computed = fresh.select_one("p.figures-computed").get_text(" ", strip=True)
    assert re.fullmatch(r"Chiffres calculés le .+ UTC, en \d+,\d s\.", computed), computed


def test_data_renderings_hold_every_row_not_one_page(client: TestClient, shared: Path) -> None:
    identifiers = {
        (a.findtext("iati-identifier") or "").strip()
        for path in [*demo_files(), shared / UNWOMEN]
        for a in etree.parse(str(path)).getroot().iterfind("iati-activity")
    }
    page = soup(client, "/activities?per_page=10&page=2")
    assert len(page.select("table.activities tbody tr")) == 10
    listed = list(csv.DictReader(io.StringIO(client.get("/activities.csv?page=2").text)))
    assert {r["iati_identifier"] for r in listed} == identifiers
    assert len(listed) == len(identifiers)
    book = load_workbook(io.BytesIO(client.get("/activities.xlsx?per_page=5").content))
    assert book["activities"].max_row == len(identifiers) + 1  # a header row, then every row
    rows = client.get("/activities.json").json()["tables"]["activities"]["rows"]
    assert len(rows) == len(identifiers)


def test_footer_and_data_health_say_how_fresh_and_complete(
    client: TestClient, shared: Path
) -> None:
    page = soup(client, "/countries/ML")
    status = page.select_one("footer p.data-status").get_text(" ", strip=True)
    assert status.startswith("Data last ingested on") and "from 3 files" in status
    activity = soup(client, f"/activities/{DEMO_ACTIVITY}")
    assert (
        "XM-DAC-41146-sample-activities.xml"
        in activity.select_one("footer p.data-status").get_text()
    )
    acts = [
        a
        for path in [*demo_files(), shared / UNWOMEN]
        for a in etree.parse(str(path)).getroot().iterfind("iati-activity")
    ]
    without = {
        "results": {
            a.findtext("iati-identifier").strip() for a in acts if a.find("result") is None
        },
        "locations": {
            a.findtext("iati-identifier").strip() for a in acts if a.find("location") is None
        },
    }
    health = soup(client, "/-/data-health")
    for key, expected in without.items():
        box = health.select_one(f'details[data-missing="{key}"]')
        count = int(box.select_one("summary").get_text(strip=True).split()[0])
        assert count == len(expected), key
        assert {a.get_text() for a in box.select("li a")} <= expected
    publishers = {td.get_text(strip=True) for td in health.select("table.files td.publishers")}
    assert "XM-DAC-41146" in publishers
