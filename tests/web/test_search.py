"""Full-text search on SQLite (FTS5) and PostgreSQL (tsvector), checked against the XML."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from lxml import etree
from sqlalchemy import Engine
from starlette.testclient import TestClient

from iatiportal.demo import demo_files
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

UNWOMEN = "iati/unwomen/XM-DAC-41146_unwomen_dportal-covid19-extract_2021-06-15.xml"
SEARCHED = (
    "title",
    "description",
    "result/title",
    "result/description",
    "result/indicator/title",
    "result/indicator/description",
    "result/indicator/period/actual/comment",
    "result/indicator/period/target/comment",
    "result/indicator/baseline/comment",
)


def matching(files: list[Path], *words: str, country: str | None = None) -> set[str]:
    """Identifiers of activities whose searched narratives contain every word."""
    found = set()
    for path in files:
        for act in etree.parse(str(path)).getroot().iterfind("iati-activity"):
            ident = (act.findtext("iati-identifier") or "").strip()
            texts = [ident]
            for element in SEARCHED:
                texts += [n.text or "" for n in act.iterfind(f"{element}/narrative")]
            tokens = {t.lower() for t in re.findall(r"\w+", " ".join(texts))}
            countries = {c.get("code") for c in act.iterfind("recipient-country")}
            if all(w.lower() in tokens for w in words) and (
                country is None or country in countries
            ):
                found.add(ident)
    return found


@pytest.fixture
def client(engine: Engine, shared: Path) -> Iterator[tuple[TestClient, list[Path]]]:
    files = [*demo_files(), shared / UNWOMEN]
    assert not ingest(engine, [str(p) for p in files]).failed
    with TestClient(create_app(engine)) as c:
        yield c, files


def results(c: TestClient, url: str) -> BeautifulSoup:
    response = c.get(url)
    assert response.status_code == 200
    return BeautifulSoup(response.text, "html.parser")


def test_search_finds_what_the_xml_says(client: tuple[TestClient, list[Path]]) -> None:
    c, files = client
    expected = matching(files, "women", "violence")
    assert 0 < len(expected) < 40
    page = results(c, "/search?q=women+violence&per_page=10")
    total = page.select_one(".showing").get_text(strip=True).rsplit(" ", 1)[-1]
    assert int(total) == len(expected)
    data = c.get("/search.json?q=women+violence&per_page=10&page=1").json()
    first_page = {r["iati_identifier"] for r in data["tables"]["results"]["rows"]}
    assert first_page <= expected
    marks = [m.get_text().lower() for m in page.select("ol.hits mark")]
    assert marks and set(marks) <= {"women", "violence"}


def test_facets_and_filters(client: tuple[TestClient, list[Path]]) -> None:
    c, files = client
    page = results(c, "/search?q=women")
    countries = {a["data-value"]: a for a in page.select('section[data-facet="country"] a')}
    assert "ML" in countries
    filtered = results(c, countries["ML"]["href"])
    total = filtered.select_one(".showing").get_text(strip=True).rsplit(" ", 1)[-1]
    assert int(total) == len(matching(files, "women", country="ML"))
    current = filtered.select_one('section[data-facet="country"] a[aria-current]')
    assert current is not None and current["data-value"] == "ML"


def test_search_escapes_and_survives_odd_queries(client: tuple[TestClient, list[Path]]) -> None:
    c, _files = client
    for q in ('"', "<script>alert(1)</script>", "AND OR NOT *", "women)"):
        response = c.get("/search", params={"q": q})
        assert response.status_code == 200, q
        assert BeautifulSoup(response.text, "html.parser").select("main script") == []
    empty = results(c, "/search?q=")
    assert empty.select("ol.hits") == []
