"""Choosing the language (issue 13): the URL says it; a first visit follows Accept-Language;
every page links its languages; no cache hands one language's page to another's reader."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import Engine
from starlette.testclient import TestClient
from stores import migrated_store

from iatiportal import i18n
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
WITH_ARABIC = ("en", "fr", "ar")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    with migrated_store("sqlite", tmp_path_factory.mktemp("language")) as engine:
        files = [
            FIXTURES / "narratives-ar-ru-zh.xml",
            FIXTURES / "v203-narratives-multilingual.xml",
        ]
        assert not ingest(engine, [str(f) for f in files]).failed
        yield engine


@pytest.fixture
def client(store: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(store), follow_redirects=False) as c:
        yield c


@pytest.fixture
def arabic(monkeypatch: pytest.MonkeyPatch) -> None:
    """The portal with Arabic among its languages (its catalog is another helper's part)."""
    monkeypatch.setattr(i18n, "LANGUAGES", WITH_ARABIC)


def html(response: object) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")  # type: ignore[attr-defined]


def query(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("fr", "fr"),
        ("FR", "fr"),
        ("fr-CA", "fr"),
        ("fr-CA,fr;q=0.9,en;q=0.8", "fr"),
        ("en-GB,en;q=0.9,fr;q=0.8", "en"),
        ("de-DE, fr;q=0.5", "fr"),  # German is not offered: the next one that is
        ("en;q=0.5, fr;q=0.8", "fr"),  # by quality, not by order
        ("fr;q=0.8, en;q=0.8", "fr"),  # equal quality: the first
        ("fr;q=0, de", "en"),  # q=0: not acceptable
        ("fr;q=nonsense, en;q=0.1", "en"),
        ("fr;q=2", "en"),  # out of range: ignored
        ("de, *;q=0.5", "en"),
        ("xx-YY", "en"),
        ("ar-EG,ar;q=0.9", "ar"),
        ("zh-CN,zh;q=0.9", "zh"),
        ("de-AT,de;q=0.9", "en"),  # not a language of this portal
        ("fra", "en"),  # a three-letter code is not "fr"
        (",,;q=1, ;", "en"),
    ],
)
def test_accept_language_picks_a_portal_language(header: str | None, expected: str) -> None:
    assert i18n.negotiate(header) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ar-EG,ar;q=0.9", "ar"),
        ("ar", "ar"),
        ("de, ar;q=0.2, fr;q=0.1", "ar"),
    ],
)
def test_accept_language_follows_the_languages_of_the_portal(
    arabic: None, header: str, expected: str
) -> None:
    assert i18n.negotiate(header) == expected


@pytest.mark.parametrize("header", ["zh-CN", "zh-Hans", "zh-Hans-CN,zh;q=0.9", "zh"])
def test_chinese_ranges_are_simplified_chinese(
    monkeypatch: pytest.MonkeyPatch, header: str
) -> None:
    monkeypatch.setattr(i18n, "LANGUAGES", ("en", "fr", "zh"))
    assert i18n.negotiate(header) == "zh"


def test_a_whole_tag_goes_before_its_primary_language(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "LANGUAGES", ("en", "pt", "pt-BR"))
    assert i18n.negotiate("pt-BR") == "pt-BR"
    assert i18n.negotiate("pt-PT") == "pt"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ar", "rtl"),
        ("he", "rtl"),
        ("fa", "rtl"),
        ("ur", "rtl"),
        ("ps", "rtl"),
        ("en", "ltr"),
        ("fr", "ltr"),
        ("ru", "ltr"),
        ("zh", "ltr"),
        ("zh-Hans", "ltr"),
        (None, "auto"),
        ("", "auto"),
        ("not a language", "auto"),
    ],
)
def test_direction_of_a_language(code: str | None, expected: str) -> None:
    assert i18n.direction(code) == expected


def test_a_first_visit_is_sent_to_its_language(client: TestClient) -> None:
    response = client.get("/search?q=women&per_page=5", headers={"Accept-Language": "fr-CA"})
    assert response.status_code == 302
    assert query(response.headers["location"]) == [
        ("q", "women"),
        ("per_page", "5"),
        ("lang", "fr"),
    ]
    assert urlsplit(response.headers["location"]).path == "/search"
    assert "Accept-Language" in response.headers["vary"]
    page = client.get(response.headers["location"], headers={"Accept-Language": "fr-CA"})
    assert page.status_code == 200
    assert html(page).html["lang"] == "fr"
    assert page.headers["content-language"] == "fr"
    assert "Accept-Language" not in page.headers.get("vary", "")


def test_an_english_first_visit_is_the_page_itself(client: TestClient) -> None:
    for header in ({"Accept-Language": "en-GB,de;q=0.5"}, {}):
        response = client.get("/search?q=women", headers=header)
        assert response.status_code == 200
        assert html(response).html["lang"] == "en"
        assert response.headers["content-language"] == "en"
        assert "Accept-Language" in response.headers["vary"]


def test_the_language_in_the_url_wins_over_the_browser(client: TestClient) -> None:
    response = client.get("/search?q=women&lang=en", headers={"Accept-Language": "fr"})
    assert response.status_code == 200
    page = html(response)
    assert page.html["lang"] == "en"
    # Its links keep the language chosen, or following one would send a French browser back.
    home = page.select_one("a.brand")["href"]
    assert query(home) == [("lang", "en")]
    assert page.select_one("form.search input[name=lang]")["value"] == "en"


def test_the_bare_url_never_serves_a_cached_other_language(client: TestClient) -> None:
    """The portal's page cache keeps pages by path and query: a French page rendered first
    must not come back to an English visitor, nor an English one to a French visitor."""
    french = client.get("/activities/XX-TEST-LANGS?lang=fr")
    assert html(french).html["lang"] == "fr"
    english = client.get("/activities/XX-TEST-LANGS", headers={"Accept-Language": "en"})
    assert english.status_code == 200 and html(english).html["lang"] == "en"
    again = client.get("/activities/XX-TEST-LANGS", headers={"Accept-Language": "fr"})
    assert again.status_code == 302  # not the cached English page
    assert query(again.headers["location"]) == [("lang", "fr")]
    # A browser revalidating its English copy of the bare URL with a French preference is
    # sent to the French URL, not told that its English copy is current.
    tag = english.headers["etag"]
    revalidated = client.get(
        "/activities/XX-TEST-LANGS", headers={"Accept-Language": "fr", "If-None-Match": tag}
    )
    assert revalidated.status_code == 302
    english_again = client.get("/activities/XX-TEST-LANGS")
    assert html(english_again).html["lang"] == "en"


def test_data_and_files_are_not_negotiated(client: TestClient) -> None:
    for url in (
        "/search.json?q=women",
        "/search.csv?q=women",
        "/activities/XX-TEST-AR.xml",
        "/api/v1/activities",
        "/static/site.css",
    ):
        response = client.get(url, headers={"Accept-Language": "fr"})
        assert response.status_code == 200, url
        assert "Accept-Language" not in response.headers.get("vary", ""), url


def test_the_redirect_keeps_the_path_as_sent_and_stays_on_the_portal(
    client: TestClient,
) -> None:
    response = client.get(
        "http://testserver//evil.example/search", headers={"Accept-Language": "fr"}
    )
    assert response.headers["location"] == "/evil.example/search?lang=fr"
    response = client.get(
        "http://testserver/activities/XX%20A%2FB?q=%C3%A9", headers={"Accept-Language": "fr"}
    )
    assert response.headers["location"] == "/activities/XX%20A%2FB?q=%C3%A9&lang=fr"


def test_the_switch_and_the_alternates_keep_the_page_and_its_query(client: TestClient) -> None:
    url = "/search?q=women&per_page=5&page=1&lang=fr"
    page = html(client.get(url))
    switch = {a["hreflang"]: a["href"] for a in page.select("nav.languages a")}
    assert set(switch) == set(i18n.LANGUAGES)
    for code, href in switch.items():
        assert urlsplit(href).path == "/search"
        assert query(href) == [("q", "women"), ("per_page", "5"), ("page", "1"), ("lang", code)]
    alternates = {
        link["hreflang"]: link["href"] for link in page.select("head link[rel=alternate][hreflang]")
    }
    assert set(alternates) == {*i18n.LANGUAGES, "x-default"}
    assert {k: v for k, v in alternates.items() if k != "x-default"} == switch
    assert query(alternates["x-default"]) == [("q", "women"), ("per_page", "5"), ("page", "1")]


def test_every_language_of_the_portal_is_offered_and_chosen(arabic: None, store: Engine) -> None:
    with TestClient(create_app(store), follow_redirects=False) as client:
        response = client.get("/activities/XX-TEST-AR", headers={"Accept-Language": "ar-EG"})
        assert response.status_code == 302
        assert query(response.headers["location"]) == [("lang", "ar")]
        page = html(client.get(response.headers["location"]))
        assert page.html["lang"] == "ar" and page.html["dir"] == "rtl"
        alternates = {link["hreflang"] for link in page.select("head link[hreflang]")}
        assert alternates == {"en", "fr", "ar", "x-default"}
        switch = {a["hreflang"] for a in page.select("nav.languages a")}
        assert switch == {"en", "fr", "ar"}
