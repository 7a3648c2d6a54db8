"""Full-text search on SQLite (FTS5) and PostgreSQL (tsvector), checked against the XML."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from lxml import etree
from starlette.testclient import TestClient
from stores import KINDS, migrated_store

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


@pytest.fixture(scope="module", params=KINDS)
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, shared: Path
) -> Iterator[tuple[TestClient, list[Path]]]:
    """Search over one store per database for the whole module (the tests only read it)."""
    files = [*demo_files(), shared / UNWOMEN]
    with migrated_store(request.param, tmp_path_factory.mktemp("search")) as engine:
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


def money_years(files: list[Path], identifiers: set[str]) -> dict[int, int]:
    """Per year, how many of ``identifiers`` have a budget or a transaction (types 1-4) then.

    A budget counts in every calendar year its period touches; a transaction in the year of
    its date (else of its value date). Both need a value.
    """
    per_year: dict[int, int] = {}
    for path in files:
        for act in etree.parse(str(path)).getroot().iterfind("iati-activity"):
            if (act.findtext("iati-identifier") or "").strip() not in identifiers:
                continue
            years: set[int] = set()
            for b in act.iterfind("budget"):
                start = b.find("period-start")
                end = b.find("period-end")
                if b.find("value") is None or start is None:
                    continue
                first = int(start.get("iso-date", "")[:4])
                last = int(end.get("iso-date", "")[:4]) if end is not None else first
                years.update(range(first, max(first, last) + 1))
            for t in act.iterfind("transaction"):
                kind = t.find("transaction-type")
                if kind is None or kind.get("code") not in {"1", "2", "3", "4"}:
                    continue
                if t.find("value") is None:
                    continue
                date = t.find("transaction-date")
                value = t.find("value")
                when = date.get("iso-date") if date is not None else None
                when = when or (value.get("value-date") if value is not None else None)
                if when:
                    years.add(int(when[:4]))
            for year in years:
                per_year[year] = per_year.get(year, 0) + 1
    return per_year


def test_year_facet_counts_activities_with_money_in_the_year(
    client: tuple[TestClient, list[Path]],
) -> None:
    c, files = client
    found = matching(files, "women")
    expected = money_years(files, found)
    assert len(expected) >= 2
    page = results(c, "/search?q=women")
    links = page.select('section[data-facet="year"] a')
    shown = {
        int(a["data-value"]): int(a.find_next_sibling("span").get_text(strip=True).strip("()"))
        for a in links
    }
    newest = sorted(expected, reverse=True)[:12]
    assert shown == {y: expected[y] for y in newest}
    assert [int(a["data-value"]) for a in links] == newest  # newest first
    year = newest[-1]
    filtered = results(c, f"/search?q=women&year={year}&per_page=10")
    total = filtered.select_one(".showing").get_text(strip=True).rsplit(" ", 1)[-1]
    assert int(total) == expected[year]
    selected = filtered.select_one('section[data-facet="year"] a[aria-current]')
    assert selected is not None and selected["data-value"] == str(year)


def test_every_facet_count_and_the_total_equal_a_count_of_the_xml(
    client: tuple[TestClient, list[Path]],
) -> None:
    """Counted from the files, not by the store: the total, the country facet and the
    humanitarian facet of a common word (the one statement that counts them all)."""
    c, files = client
    found = matching(files, "women")
    countries: dict[str, int] = {}
    flags: dict[str, int] = {}
    seen: set[str] = set()
    for path in files:
        for act in etree.parse(str(path)).getroot().iterfind("iati-activity"):
            ident = (act.findtext("iati-identifier") or "").strip()
            if ident not in found or ident in seen:
                continue
            seen.add(ident)
            for code in {rc.get("code") for rc in act.iterfind("recipient-country")}:
                if code:
                    countries[code] = countries.get(code, 0) + 1
            flag = "1" if act.get("humanitarian") in {"1", "true"} else "0"
            flags[flag] = flags.get(flag, 0) + 1
    body = c.get("/api/v1/search?q=women&per_page=5").json()
    assert body["total"] == len(found)
    assert {f["value"]: f["count"] for f in body["facets"]["country"]} == countries
    assert {f["value"]: f["count"] for f in body["facets"]["humanitarian"]} == flags
    assert len(body["items"]) == 5
