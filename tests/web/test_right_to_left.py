"""Arabic pages are right to left, the other five languages left to right (``<html dir>``, from
``i18n.direction``), and the figures inside Arabic text keep their shape: the currency sign and
percentages isolated left to right (U+2066 ... U+2069), so the bidi algorithm cannot split "US$"
into "$US" or move "%" to the number's other side.

The expected strings are written here by hand from CLDR's Arabic pattern (a right-to-left mark,
the number, a no-break space, the sign), not computed with Babel.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient
from stores import demo_client

from iatiportal import i18n

PAGES = (
    "/",
    "/countries/ML",
    "/countries/ML/results",
    "/countries/ML/progress",
    "/countries/ML/strategic-plan",
    "/activities/XM-DAC-41146-MLI_D_1.1",
    "/search?q=women",
    "/no-such-page",
)
RLM, NBSP, LRI, PDI = "\u200f", "\u00a0", "\u2066", "\u2069"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with demo_client(tmp_path_factory.mktemp("rtl")) as test_client:
        yield test_client


def soup(client: TestClient, url: str, lang: str) -> BeautifulSoup:
    response = client.get(url + ("&" if "?" in url else "?") + f"lang={lang}")
    assert response.status_code in (200, 404), (url, lang)
    return BeautifulSoup(response.text, "html.parser")


@pytest.mark.parametrize(
    ("lang", "direction"),
    [("ar", "rtl"), ("zh", "ltr"), ("en", "ltr"), ("fr", "ltr"), ("ru", "ltr"), ("es", "ltr")],
)
def test_html_has_the_languages_direction(client: TestClient, lang: str, direction: str) -> None:
    for url in PAGES:
        html = soup(client, url, lang).select_one("html")
        assert html is not None, url
        assert (html["lang"], html["dir"]) == (lang, direction), url


def test_direction_of_each_language() -> None:
    assert [i18n.direction(code) for code in i18n.LANGUAGES] == [
        "rtl", "ltr", "ltr", "ltr", "ltr", "ltr"
    ]  # fmt: skip


def test_arabic_money_keeps_its_sign_whole(client: TestClient) -> None:
    page = soup(client, "/countries/ML?year=2024", "ar")
    budget = page.select_one("dd.total-budget")
    assert budget is not None
    assert budget.get_text(strip=True) == f"{RLM}1,193,000{NBSP}{LRI}US${PDI}"
    row = page.select_one('table.by-year tr[data-year="2024"]')
    assert row is not None
    cells = [td.get_text(strip=True) for td in row.select("td.num")]
    assert cells == [
        f"{RLM}1,193,000{NBSP}{LRI}US${PDI}",
        f"{RLM}1,027,210{NBSP}{LRI}US${PDI}",
        f"{LRI}86.1{NBSP}%{PDI}",  # 1,027,210 / 1,193,000
    ]
    shares = [s.get_text() for s in page.select(".sexes .share")]
    assert shares == [f"{LRI}50.4{NBSP}%{PDI}", f"{LRI}49.6{NBSP}%{PDI}"]


def test_left_to_right_pages_have_no_isolates(client: TestClient) -> None:
    for lang in ("en", "fr", "zh"):
        text = soup(client, "/countries/ML?year=2024", lang).select_one("main").get_text()  # type: ignore[union-attr]
        assert LRI not in text and PDI not in text, lang


def test_money_in_an_unknown_currency_is_isolated_too() -> None:
    token = i18n.current_language.set("ar")
    try:
        assert i18n.money(Decimal(5000), "XYZ") == f"{RLM}5,000{NBSP}{LRI}XYZ{PDI}"
        assert i18n.money(Decimal(5000), "EUR") == f"{RLM}5,000{NBSP}{LRI}€{PDI}"
        assert i18n.percent(None) == "–"
    finally:
        i18n.current_language.reset(token)


def test_coordinates_are_left_to_right(client: TestClient) -> None:
    # Bamako's longitude is -8.0029: in a right-to-left cell its "-" would show after the digits.
    page = soup(client, "/countries/ML", "ar")
    cells = page.select("table.places td.num")
    assert cells, "Mali's places table"
    assert {td.get("dir") for td in cells} == {"ltr"}
    assert "-8.0029" in [td.get_text(strip=True) for td in cells]
