"""Whole numbers in query strings: ASCII digits within bounds, on the pages and the API
(issue 10: ``page`` beyond 2**63 overflowed SQLite and PostgreSQL, ``year=²²²²`` raised)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import Engine
from starlette.testclient import TestClient

from iatiportal.demo import demo_files
from iatiportal.profile import bundled, load_portal
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app
from iatiportal.web.params import MAX_PAGE, whole_number

HUGE = str(2**64)
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def test_whole_numbers_are_ascii_digits_within_bounds() -> None:
    assert whole_number("7", 1, 10) == 7
    assert whole_number("007", 1, 10) == 7
    assert whole_number("10", 1, 10) == 10
    for refused in (None, "", "0", "11", "-3", "+3", " 3", "3 ", "1_0", "3.0", "0x3"):
        assert whole_number(refused, 1, 10) is None, refused
    for other_digits in ("٣", "²", "３", "߃", "৩"):  # str.isdigit() is true of each
        assert other_digits.isdigit()
        assert whole_number(other_digits, 0, 10**9) is None, other_digits
    assert whole_number(HUGE, 1, MAX_PAGE) is None
    assert whole_number(HUGE, 1, MAX_PAGE, clamp=True) == MAX_PAGE
    assert whole_number("0", 1, MAX_PAGE, clamp=True) == 1
    assert whole_number("9" * 100_000, 1, 5, clamp=True) == 5  # no 100,000-digit int()
    assert whole_number("0" * 5000 + "4", 1, 5) == 4


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    assert not ingest(engine, [str(p) for p in demo_files()]).failed
    with TestClient(create_app(engine, load_portal([bundled("unwomen")]))) as test_client:
        yield test_client


def soup(client: TestClient, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, (url, response.text[:300])
    return BeautifulSoup(response.text, "html.parser")


def shown(client: TestClient, url: str) -> tuple[str | None, list[str]]:
    """The pager's "Showing 6 – 10 of 23" and the identifiers listed."""
    page = soup(client, url)
    showing = page.select_one("nav.pagination p.showing")
    listed = [str(e["data-id"]) for e in page.select("[data-id]")]
    listed += [
        a.get_text(strip=True) for a in page.select("table.activities tbody td:first-child a")
    ]
    return (showing.get_text(strip=True) if showing else None), listed


def test_a_page_beyond_any_list_shows_the_last_page(client: TestClient) -> None:
    for url in ("/activities?per_page=5", "/search?q=women&per_page=5"):
        first = shown(client, url)
        total = int(str(first[0]).rsplit(" ", 1)[-1])
        assert total > 10, url  # a few pages
        last = shown(client, f"{url}&page={(total + 4) // 5}")
        assert last[0] == f"Showing {total - (total - 1) % 5} – {total} of {total}", url
        assert last[1] and last[1] != first[1]
        for page in (HUGE, str(2**63), "9" * 400, str(MAX_PAGE + 1)):
            assert shown(client, f"{url}&page={page}") == last, (url, page)

    for tab in ("results", "progress", "strategic-plan"):
        own = shown(client, f"/countries/ML/{tab}")
        assert own[1], tab
        assert shown(client, f"/countries/ML/{tab}?page={HUGE}") == own, tab


def test_the_api_refuses_a_page_beyond_its_bound(client: TestClient) -> None:
    for url in ("/api/v1/activities", "/api/v1/search?q=women", "/api/v1/countries"):
        sep = "&" if "?" in url else "?"
        for page in (HUGE, str(2**63), str(MAX_PAGE + 1), "-1", "٣"):
            response = client.get(f"{url}{sep}page={page}")
            assert response.status_code == 400, (url, page)
            error = response.json()["error"]
            assert error["status"] == 400 and error["message"].startswith("page must be")
        # Within the bound, past the end: the empty page, as before.
        body = client.get(f"{url}{sep}page={MAX_PAGE}&per_page=1000").json()
        assert (body["page"], body["per_page"], body["items"]) == (MAX_PAGE, 1000, [])
        assert body["total"] > 0


def test_other_scripts_digits_are_not_numbers(client: TestClient) -> None:
    # ٣ is 3 to int(): the page must not be page 3 but the first page.
    assert shown(client, "/activities?per_page=5&page=٣") == shown(client, "/activities?per_page=5")
    assert shown(client, "/activities?per_page=٥&page=2") == shown(client, "/activities?page=2")
    plain = soup(client, "/countries/ML")
    years = [o.get_text() for o in plain.select("select#year option")]
    default = plain.select_one("select#year option[selected]")
    assert default is not None and len(years) > 1
    other = next(y for y in years if y != default.get_text())
    assert (
        soup(client, f"/countries/ML?year={other}")
        .select_one("select#year option[selected]")
        .get_text()
        == other
    )  # type: ignore[union-attr]
    arabic = soup(client, f"/countries/ML?year={other.translate(ARABIC_INDIC)}")
    chosen = arabic.select_one("select#year option[selected]")
    assert chosen is not None and chosen.get_text() == default.get_text()

    for url in ("/search?q=women&year=²²²²", "/search?q=women&year=٢٠٢٣", "/search.json?year=²"):
        assert client.get(url).status_code == 200, url
    for url in (
        "/api/v1/activities?year=٢٠٢٣",
        "/api/v1/activities?sdg=٥",
        "/api/v1/regions?year=²",
    ):
        response = client.get(url)
        assert response.status_code == 400, url
        assert response.json()["error"]["status"] == 400
