"""The portal's face from the profile (web/theme.py): theme.css with the profile's colours and
its ETag, the logo and favicon files, the name, introduction, footer links and disclaimer on the
pages, the neutral theme without a profile, and the design system's files from node_modules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from iatiportal.demo import demo_files
from iatiportal.profile import Portal, bundled, load_portal
from iatiportal.store.db import make_engine, migrate
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app


@pytest.fixture(scope="module")
def engine_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('theme') / 'demo.db'}"
    engine = make_engine(url)
    migrate(engine)
    assert not ingest(engine, [str(p) for p in demo_files()]).failed
    engine.dispose()
    yield url


def _client(engine_url: str, portal: Portal) -> TestClient:
    return TestClient(create_app(make_engine(engine_url), portal))


@pytest.fixture(scope="module")
def unwomen(engine_url: str) -> Iterator[TestClient]:
    with _client(engine_url, load_portal([bundled("unwomen")])) as client:
        yield client


@pytest.fixture(scope="module")
def neutral(engine_url: str) -> Iterator[TestClient]:
    with _client(engine_url, Portal()) as client:
        yield client


def soup(client: TestClient, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, url
    return BeautifulSoup(response.text, "html.parser")


def test_theme_css_holds_the_profiles_colours_and_revalidates(unwomen: TestClient) -> None:
    response = unwomen.get("/static/theme.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "--brand: #0076A3;" in response.text
    assert "--accent: #009EDB;" in response.text
    etag = response.headers["etag"]
    again = unwomen.get("/static/theme.css", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


def test_neutral_theme_without_a_profile(neutral: TestClient) -> None:
    assert "--brand: #2D4F6C;" in neutral.get("/static/theme.css").text
    page = soup(neutral, "/")
    assert page.select_one("header .brand-name").get_text(strip=True) == "IATI transparency portal"
    assert page.select_one("header .brand img") is None
    assert page.select_one("link[rel=icon]")["href"] == "/static/favicon.svg"
    assert neutral.get("/static/favicon.svg").status_code == 200
    assert neutral.get("/static/brand/logo.svg").status_code == 404
    assert page.select_one("p.introduction") is None
    assert page.select_one("title").get_text().endswith("· IATI transparency portal")


def test_profile_name_logo_favicon_and_texts(unwomen: TestClient) -> None:
    page = soup(unwomen, "/")
    assert page.select_one("header .brand-name").get_text(strip=True) == (
        "UN Women Transparency Portal"
    )
    logo = page.select_one("header a.brand img.logo")
    assert re.fullmatch(r"/static/brand/logo\.svg\?v=[0-9a-f]{16}", logo["src"])
    assert logo["alt"] == ""  # the brand link's text is the name
    favicon = page.select_one("link[rel=icon]")["href"]
    assert re.fullmatch(r"/static/brand/favicon\.svg\?v=[0-9a-f]{16}", favicon)
    served = unwomen.get(logo["src"])
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("image/svg+xml")
    assert "immutable" in served.headers["cache-control"]  # versioned by its content
    assert served.content == bundled("unwomen").with_name("unwomen-logo.svg").read_bytes()
    for wrong in ("/static/brand/logo.png", "/static/brand/other.svg", "/static/brand/logo"):
        assert unwomen.get(wrong).status_code == 404, wrong
    assert "UN Women" in page.select_one("p.introduction").get_text()
    footer = page.select_one("footer.site")
    assert [a["href"] for a in footer.select(".footer-links a")][:2] == [
        "https://www.unwomen.org/",
        "https://iatistandard.org/",
    ]
    assert "not audited financial statements" in footer.select_one(".footer-disclaimer").get_text()


def test_profile_texts_follow_the_language(unwomen: TestClient) -> None:
    page = soup(unwomen, "/?lang=fr")
    assert page.select_one("header .brand-name").get_text(strip=True) == (
        "Portail de transparence d'ONU Femmes"
    )
    assert page.select_one("footer .footer-links a").get_text(strip=True) == "ONU Femmes"
    assert page.select_one("details.menu summary").get_text(strip=True) == "Menu"


def test_menu_marks_the_current_section(unwomen: TestClient) -> None:
    page = soup(unwomen, "/countries/ML/results")
    current = page.select('nav.main-nav a[aria-current="page"]')
    assert [a.get_text(strip=True) for a in current] == ["Countries"]


def test_country_page_has_one_selector_bar_and_a_tablist(unwomen: TestClient) -> None:
    page = soup(unwomen, "/countries/ML/progress?year=2023")
    (form,) = page.select(".selectors form.selector")
    assert form["action"] == "/countries/redirect" and form.has_attr("data-autosubmit")
    assert [c["name"] for c in form.select("select")] == ["code", "year"]
    assert form.select_one("input[name=tab]")["value"] == "progress"
    tabs = page.select('nav.tabs [role="tablist"] a[role="tab"]')
    assert [t["aria-selected"] for t in tabs] == ["false", "false", "true", "false"]
    panel = page.select_one('[role="tabpanel"]')
    assert panel["aria-labelledby"] == "tab-progress"
    assert panel.select_one("article.outcome") is not None


@pytest.mark.parametrize(
    "path",
    [
        "/static/vendor/pico.min.css",
        "/static/vendor/noto-sans/index.css",
        "/static/vendor/noto-sans/files/noto-sans-latin-wght-normal.woff2",
        "/static/vendor/noto-sans-arabic/files/noto-sans-arabic-arabic-wght-normal.woff2",
        "/static/vendor/noto-sans-sc/index.css",
        "/static/vendor/noto-sans-sc/files/noto-sans-sc-119-wght-normal.woff2",  # 中 (U+4E2D)
    ],
)
def test_design_system_and_fonts_come_from_node_modules(unwomen: TestClient, path: str) -> None:
    assert unwomen.get(path).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/static/vendor/noto-sans/files/../package.json",
        "/static/vendor/noto-sans/files/LICENSE",
        "/static/vendor/noto-sans/package.json",
        "/static/vendor/noto-sans-sc/files/LICENSE",
        "/static/vendor/other/files/noto-sans-latin-wght-normal.woff2",
    ],
)
def test_only_font_files_of_the_font_folders(unwomen: TestClient, path: str) -> None:
    assert unwomen.get(path).status_code == 404


def test_site_css_imports_only_the_portals_own_files() -> None:
    css = (Path(__file__).parents[2] / "iatiportal/web/static/site.css").read_text()
    imports = [line.split('"')[1] for line in css.splitlines() if line.startswith("@import")]
    assert imports == [
        "/static/vendor/pico.min.css",
        "/static/vendor/noto-sans/index.css",
        "/static/vendor/noto-sans-arabic/index.css",
        "/static/vendor/noto-sans-sc/index.css",
        "/static/theme.css",
    ]
