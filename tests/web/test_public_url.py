"""The portal's public address (issue 13): with one configured (``create_app(public_url=...)``,
``iatiportal serve --public-url``, ``$IATIPORTAL_PUBLIC_URL``) each page's hreflang alternates
and canonical link are absolute URLs under it, whatever Host the request names; without one
they stay root-relative. A bad address is refused at start, saying why."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from serving import served
from sqlalchemy import Engine
from starlette.testclient import TestClient

from iatiportal import i18n
from iatiportal.cli import main
from iatiportal.store.db import make_engine, migrate
from iatiportal.web import address
from iatiportal.web.app import create_app
from iatiportal.web.workers import ServeSettings

BASE = "https://portal.example.org"
SEARCH = "/search?q=women&per_page=5&lang=fr"


def head_links(response: object) -> tuple[dict[str, str], list[str]]:
    """The page's hreflang alternates (by language) and its canonical links."""
    page = BeautifulSoup(response.text, "html.parser")  # type: ignore[attr-defined]
    links = page.select("head link[rel=alternate][hreflang]")
    alternates = {a["hreflang"]: a["href"] for a in links}
    return alternates, [c["href"] for c in page.select("head link[rel=canonical]")]


@pytest.fixture
def public(sqlite_engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(sqlite_engine, public_url=BASE + "/")) as client:
        yield client


@pytest.mark.parametrize(
    ("given", "base"),
    [
        ("https://portal.example.org", BASE),
        ("HTTPS://Portal.Example.ORG/", BASE),
        ("  https://portal.example.org  ", BASE),
        ("https://portal.example.org:443", BASE),
        ("https://portal.example.org.", BASE),
        ("http://localhost:8000", "http://localhost:8000"),
        ("http://10.0.0.7", "http://10.0.0.7"),
        ("http://[2001:DB8::0:1]:8080", "http://[2001:db8::1]:8080"),
        ("https://données.example.org", "https://xn--donnes-eva.example.org"),  # as idna.encode
    ],
)
def test_a_public_url_is_read_as_scheme_host_and_port(given: str, base: str) -> None:
    assert address.parse(given) == base


BAD = [
    "",
    "portal.example.org",
    "ftp://portal.example.org",
    "javascript:alert(1)",
    "//portal.example.org",
    "https:/portal.example.org",
    "https://",
    "https://portal.example.org/portal",
    "https://portal.example.org//",
    "https://portal.example.org/..",
    "https://portal.example.org?lang=fr",
    "https://portal.example.org#top",
    "https://user:secret@portal.example.org",
    "https://evil.example\\@portal.example.org",
    "https://evil.example@portal.example.org",
    "https://portal example.org",
    "https://portal.example.org\r\nSet-Cookie: a=b",
    "https://portal_example.org",
    "https://-portal.example.org",
    "https://portal..example.org",
    "https://portal.example.org:",
    "https://portal.example.org:0",
    "https://portal.example.org:99999",
    "https://portal.example.org:٨٠",
    "https://[::g]",
]


@pytest.mark.parametrize("given", BAD)
def test_a_bad_public_url_is_refused_saying_what_to_give(given: str) -> None:
    with pytest.raises(ValueError, match=r"such as https://portal\.example\.org"):
        address.parse(given)


@pytest.mark.parametrize("given", ["ftp://x.org", "https://x.org/portal", ""])
def test_create_app_refuses_a_bad_public_url(sqlite_engine: Engine, given: str) -> None:
    with pytest.raises(ValueError, match=r"such as https://portal\.example\.org"):
        create_app(sqlite_engine, public_url=given)


def test_without_a_public_url_the_links_stay_root_relative(sqlite_engine: Engine) -> None:
    with TestClient(create_app(sqlite_engine)) as client:
        alternates, canonical = head_links(client.get(SEARCH))
    assert set(alternates) == {*i18n.LANGUAGES, "x-default"}
    assert alternates["ar"] == "/search?q=women&per_page=5&lang=ar"
    assert alternates["x-default"] == "/search?q=women&per_page=5"
    assert canonical == ["/search?q=women&per_page=5&lang=fr"]


def test_with_a_public_url_the_links_are_absolute_under_it(public: TestClient) -> None:
    alternates, canonical = head_links(public.get(SEARCH))
    assert set(alternates) == {*i18n.LANGUAGES, "x-default"}
    assert alternates["ar"] == f"{BASE}/search?q=women&per_page=5&lang=ar"
    assert alternates["en"] == f"{BASE}/search?q=women&per_page=5&lang=en"
    assert alternates["x-default"] == f"{BASE}/search?q=women&per_page=5"
    assert canonical == [f"{BASE}/search?q=women&per_page=5&lang=fr"]
    # The language switch in the page stays root-relative: it is a link on this site.
    page = BeautifulSoup(public.get(SEARCH).text, "html.parser")
    assert page.select_one('nav.languages a[hreflang="ar"]')["href"].startswith("/search?")


def test_the_request_cannot_choose_the_address(public: TestClient) -> None:
    for url, headers in [
        ("http://evil.example/about?lang=en", {}),
        ("/about?lang=en", {"Host": "evil.example"}),
        ("/about?lang=en", {"X-Forwarded-Host": "evil.example", "Forwarded": "host=evil.example"}),
        ("http://testserver//evil.example/about?lang=en", {}),
    ]:
        alternates, canonical = head_links(public.get(url, headers=headers))
        for href in [*alternates.values(), *canonical]:
            assert href.startswith(f"{BASE}/"), (url, href)
            assert not href.startswith(f"{BASE}//"), (url, href)


def test_a_page_that_is_not_there_names_no_canonical_url(public: TestClient) -> None:
    response = public.get("/countries/XX?lang=fr")
    assert response.status_code == 404
    alternates, canonical = head_links(response)
    assert canonical == []
    assert alternates["fr"].startswith(f"{BASE}/countries/XX")


@pytest.mark.parametrize("given", ["ftp://x.org", "https://x.org/portal"])
def test_serve_refuses_a_bad_public_url_before_opening_the_store(
    tmp_path: Path, given: str
) -> None:
    db = tmp_path / "never-created.db"
    result = CliRunner().invoke(main, ["serve", "--db", str(db), "--public-url", given])
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--public-url'" in result.output
    assert "such as https://portal.example.org" in result.output
    result = CliRunner().invoke(
        main, ["demo", "--db", str(db)], env={"IATIPORTAL_PUBLIC_URL": given}
    )
    assert result.exit_code == 2, result.output
    assert "$IATIPORTAL_PUBLIC_URL" in result.output
    assert not db.exists()


@pytest.mark.slow
def test_serve_takes_the_public_url_from_the_environment(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(sqlite_url)
    migrate(engine)
    engine.dispose()
    monkeypatch.setenv("IATIPORTAL_PUBLIC_URL", "https://Portal.Example.org/")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with (
        served(sqlite_url, tmp_path) as (base, _server),
        opener.open(base + "/about?lang=ar", timeout=60) as response,
    ):
        page = BeautifulSoup(response.read().decode(), "html.parser")
    canonical = [c["href"] for c in page.select("head link[rel=canonical]")]
    assert canonical == [f"{BASE}/about?lang=ar"]


def test_the_public_url_reaches_every_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """``serve --workers N`` hands its settings to the workers through the environment."""
    given = ServeSettings("sqlite:///x.db", (), "snapshot", "'self'", "https://portal.example.org")
    for name, value in given.environment().items():
        monkeypatch.setenv(name, value)
    assert ServeSettings.from_environment().public_url == "https://portal.example.org"
