"""Narratives in their language (issue 13): in the page's language where the publisher gave
one, else as published, marked with their own lang and dir where that is not the page's;
identifiers in running text isolated. On tests/fixtures/narratives-ar-ru-zh.xml."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup, Tag
from sqlalchemy import Engine
from starlette.testclient import TestClient
from stores import KINDS, migrated_store

from iatiportal import i18n
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "narratives-ar-ru-zh.xml"
LANGUAGES = ("en", "fr", "ar", "zh")
"""The portal's languages here: Arabic and Chinese besides English and French (their
catalogs are not needed: narratives are the publisher's text)."""


@pytest.fixture(scope="module", params=KINDS)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    with migrated_store(request.param, tmp_path_factory.mktemp("narratives")) as engine:
        assert not ingest(engine, [str(FIXTURE)]).failed
        yield engine


@pytest.fixture
def client(store: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setattr(i18n, "LANGUAGES", LANGUAGES)
    with TestClient(create_app(store)) as c:
        yield c


def soup(client: TestClient, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, url
    return BeautifulSoup(response.text, "html.parser")


def marks(element: Tag | None) -> tuple[str | None, str | None]:
    assert element is not None
    return element.get("lang"), element.get("dir")  # type: ignore[return-value]


def text(element: Tag | None) -> str:
    assert element is not None
    return " ".join(element.get_text(" ").split())


def description(page: BeautifulSoup) -> Tag | None:
    return page.select_one("#summary-heading ~ p")


def test_an_arabic_narrative_in_an_english_page_reads_right_to_left(client: TestClient) -> None:
    page = soup(client, "/activities/XX-TEST-AR")
    assert page.html["lang"] == "en"
    title = page.select_one("h1 > span")
    assert text(title) == "Women's economic empowerment"
    assert marks(title) == (None, None)  # the page's language
    shown = description(page)
    assert text(shown) == "برنامج لدعم المرأة الريفية في الزراعة"  # published in Arabic only
    assert marks(shown) == ("ar", "rtl")


def test_an_arabic_page_shows_the_arabic_title_and_marks_a_french_text(
    client: TestClient,
) -> None:
    page = soup(client, "/activities/XX-TEST-AR?lang=ar")
    assert (page.html["lang"], page.html["dir"]) == ("ar", "rtl")
    title = page.select_one("h1 > span")
    assert text(title) == "التمكين الاقتصادي للمرأة"
    assert marks(title) == (None, None)
    russian = soup(client, "/activities/XX-TEST-RU?lang=ar")
    assert marks(russian.select_one("h1 > span")) == ("ru", "ltr")
    french = description(russian)
    assert text(french) == "Soutien aux coopératives de femmes"
    assert marks(french) == ("fr", "ltr")


def test_a_tag_of_the_page_language_is_the_page_language(client: TestClient) -> None:
    """Published as "zh-CN", shown to a Chinese page ("zh") as its own language."""
    page = soup(client, "/activities/XX-TEST-UND?lang=zh")
    title = page.select_one("h1 > span")
    assert text(title) == "未标注的标题"
    assert marks(title) == (None, None)
    english = soup(client, "/activities/XX-TEST-UND").select_one("h1 > span")
    assert text(english) == "Untagged title"
    assert marks(english) == ("und", "auto")  # published without a language


def test_a_language_that_is_not_a_tag_is_unknown_and_harmless(client: TestClient) -> None:
    page = soup(client, "/activities/XX-TEST-UND")
    shown = description(page)
    assert text(shown) == "A description in no known language"
    assert marks(shown) == ("und", "auto")
    assert shown is not None and not shown.has_attr("onclick")
    assert not page.select("[onclick]")


def test_identifiers_in_running_text_are_isolated(client: TestClient) -> None:
    page = soup(client, "/activities/XX-TEST-UND?lang=ar")
    related = page.select_one("ul.related a bdi")
    assert related is not None and related["dir"] == "ltr" and text(related) == "XX-TEST-AR"
    reporting = page.select("dd bdi[dir=ltr]")
    assert "XX-TEST" in [text(b) for b in reporting]


@pytest.mark.parametrize(
    ("q", "lang", "identifier", "title", "marked"),
    [
        ("المرأة", "en", "XX-TEST-AR", "Women's economic empowerment", (None, None)),
        ("المرأة", "ar", "XX-TEST-AR", "التمكين الاقتصادي للمرأة", (None, None)),
        ("женщин", "en", "XX-TEST-RU", "Расширение прав и возможностей ЖЕНЩИН", ("ru", "ltr")),
        ("妇女", "fr", "XX-TEST-ZH", "促进妇女经济赋权和性别平等", ("zh", "ltr")),
    ],
)
def test_search_results_show_the_title_in_its_language(
    client: TestClient,
    q: str,
    lang: str,
    identifier: str,
    title: str,
    marked: tuple[str | None, str | None],
) -> None:
    page = soup(client, f"/search?q={q}&lang={lang}")
    (hit,) = page.select("ol.hits > li[data-id]")
    assert hit["data-id"] == identifier
    shown = hit.select_one("a > span")
    assert text(shown) == title
    assert marks(shown) == marked
    assert hit.select_one(".snippet")["dir"] == "auto"  # the words matched, in any language
    assert hit.select_one(".identifier bdi")["dir"] == "ltr"


def test_lists_show_titles_in_their_language(client: TestClient) -> None:
    rows = {
        tr.select_one("a").get_text(strip=True): tr
        for tr in soup(client, "/activities?lang=ar").select("tbody tr")
    }
    assert marks(rows["XX-TEST-AR"].select_one("td > span")) == (None, None)
    assert text(rows["XX-TEST-AR"].select_one("td > span")) == "التمكين الاقتصادي للمرأة"
    assert marks(rows["XX-TEST-RU"].select_one("td > span")) == ("ru", "ltr")
    assert marks(rows["XX-TEST-ZH"].select_one("td > span")) == ("zh", "ltr")


@pytest.mark.parametrize(
    ("narratives", "language", "expected"),
    [
        ([("en", "A"), ("fr", "B")], "fr", ("fr", "B")),
        ([("en", "A"), ("fr-ca", "B")], "fr", ("fr-ca", "B")),
        ([("fr-ca", "B"), ("fr", "C")], "fr", ("fr", "C")),  # the exact tag first
        ([("en", "A"), ("fr", "B")], "ar", ("en", "A")),  # the first published
        ([(None, "A")], "en", (None, "A")),
        ([], "en", None),
        (None, "en", None),
    ],
)
def test_pick_narrative(
    narratives: list[tuple[str | None, str]] | None,
    language: str,
    expected: tuple[str | None, str] | None,
) -> None:
    assert i18n.pick_narrative(narratives, language) == expected
