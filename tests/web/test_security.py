"""Safe on the public internet (issue 10): security headers on every response, raw IATI XML and
downloads served so that no script in them can run, only http, https and mailto document links
become links, and who may frame the pages is configurable (``create_app(frame_ancestors=...)``,
``iatiportal serve --frame-ancestors``)."""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from serving import served
from sqlalchemy import Engine
from starlette.testclient import TestClient

from iatiportal.cli import main
from iatiportal.demo import demo_files
from iatiportal.exports import snapshot
from iatiportal.store.db import make_engine, migrate
from iatiportal.store.load import ingest
from iatiportal.web import security
from iatiportal.web.app import create_app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TEMPLATES = Path(__file__).resolve().parents[2] / "iatiportal" / "web" / "templates"
HOSTILE_XHTML = "XX-TEST-HOSTILE-XHTML"
HOSTILE_NAME = 'XX-TEST-HOSTILE "QUOTED"; NAME'
HOSTILE_LINKS = "XX-TEST-HOSTILE-LINKS"
DEMO_ACTIVITY = "XM-DAC-41146-MLI_D_1.1"


def policy(header: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header as {directive: [values]}."""
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *values = part.split()
        assert name not in directives, f"{name} given twice"
        directives[name] = values
    return directives


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The portal over the demo data and the hostile fixtures (SQLite), snapshot built."""
    folder = tmp_path_factory.mktemp("security")
    engine = make_engine(f"sqlite:///{folder / 'portal.db'}")
    migrate(engine)
    hostile = [
        str(FIXTURES / n) for n in ("hostile-xhtml-script.xml", "hostile-document-links.xml")
    ]
    assert not ingest(engine, [*map(str, demo_files()), *hostile]).failed
    snapshot.build(engine, folder / "snapshot")
    with TestClient(create_app(engine, snapshot_dir=folder / "snapshot")) as test_client:
        yield test_client
    engine.dispose()


def assert_common_headers(headers: Mapping[str, str], url: str) -> None:
    assert headers.get("x-content-type-options") == "nosniff", url
    assert headers.get("referrer-policy") == "strict-origin-when-cross-origin", url


PAGES = [
    "/",
    "/countries/ML",
    "/countries/ML/results",
    f"/activities/{DEMO_ACTIVITY}",
    "/search?q=women",
    "/-/data-health",
    "/-/download/",
    "/api/v1/docs",
    "/no-such-page",
]


@pytest.mark.parametrize("url", PAGES)
def test_pages_get_a_policy_that_runs_only_the_portals_own_scripts(
    client: TestClient, url: str
) -> None:
    response = client.get(url)
    assert response.status_code == (404 if url == "/no-such-page" else 200)
    assert response.headers["content-type"].startswith("text/html")
    assert_common_headers(response.headers, url)
    csp = policy(response.headers["content-security-policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'self'"]
    assert "sandbox" not in csp
    every_source = [v for values in csp.values() for v in values]
    assert not [v for v in every_source if v.startswith("'unsafe-")]
    assert not [v for v in every_source if v in ("*", "http:", "https:") or "://" in v]


DATA = [
    f"/activities/{HOSTILE_XHTML}.xml",
    "/activities.json",
    "/countries/ML.csv",
    "/countries/ML.xlsx",
    "/api/v1/activities",
    "/api/v1/activities?format=xml",
    "/api/v1/activities?format=csv",
    "/api/v1/activities?format=jsonl",
    "/api/v1/activities?format=xlsx",
    "/api/v1/openapi.json",
    "/api/v1/no-such-resource",
    "/static/site.css",
    "/static/js/charts.js",
    "/static/vendor/d3.min.js",
    "/-/download/iatiportal-csv.zip",
]


@pytest.mark.parametrize("url", DATA)
def test_data_and_files_get_a_sandbox_that_runs_nothing(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == (404 if "no-such" in url else 200), url
    assert_common_headers(response.headers, url)
    csp = policy(response.headers["content-security-policy"])
    assert csp["sandbox"] == []  # no allow-scripts, allow-same-origin or any other
    assert csp["default-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'self'"]


@pytest.mark.parametrize(
    ("url", "disposition"),
    [
        (f"/activities/{HOSTILE_XHTML}.xml", f'inline; filename="{HOSTILE_XHTML}.xml"'),
        ("/activities.json", 'inline; filename="iatiportal-activities.json"'),
        ("/countries/ML.csv", 'attachment; filename="iatiportal-countries-ML.csv"'),
        ("/countries/ML.xlsx", 'attachment; filename="iatiportal-countries-ML.xlsx"'),
        ("/api/v1/activities?format=xml", 'attachment; filename="iatiportal-activities.xml"'),
        ("/api/v1/activities?format=csv", 'attachment; filename="iatiportal-activities.csv"'),
        ("/api/v1/activities?format=jsonl", 'attachment; filename="iatiportal-activities.jsonl"'),
        ("/api/v1/activities?format=xlsx", 'attachment; filename="iatiportal-activities.xlsx"'),
    ],
)
def test_downloads_say_how_to_show_them_and_under_which_name(
    client: TestClient, url: str, disposition: str
) -> None:
    assert client.get(url).headers["content-disposition"] == disposition


def test_a_snapshot_file_is_an_attachment(client: TestClient) -> None:
    disposition = client.get("/-/download/iatiportal-csv.zip").headers["content-disposition"]
    assert re.fullmatch(r'attachment; filename="iatiportal-csv-\d{4}-\d\d-\d\d\.zip"', disposition)


def test_raw_xml_is_served_as_is_under_a_sandbox(client: TestClient) -> None:
    response = client.get(f"/activities/{HOSTILE_XHTML}.xml")
    assert response.headers["content-type"] == "application/xml"
    assert b"<h:script" in response.content  # as published: the sandbox, not editing, protects
    assert "allow-scripts" not in response.headers["content-security-policy"]


def test_a_raw_xml_file_name_keeps_only_safe_characters(client: TestClient) -> None:
    response = client.get(f"/activities/{quote(HOSTILE_NAME)}.xml")
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert disposition == 'inline; filename="XX-TEST-HOSTILE_QUOTED_NAME.xml"'


def test_revalidation_keeps_the_policy_the_browser_stored(client: TestClient) -> None:
    """A 304 carries no policy: a browser would replace the stored response's (the raw XML's
    sandbox) with it (RFC 9111, 4.3.4), and a 304 does not know which one that is."""
    url = f"/activities/{HOSTILE_XHTML}.xml"
    etag = client.get(url).headers["etag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert "content-security-policy" not in again.headers
    assert_common_headers(again.headers, url)


# -- document links ---------------------------------------------------------------------------

LINKED = {
    "1 http": "http://example.org/report.pdf",
    "2 https": "https://example.org/report.pdf",
    "3 mailto": "mailto:office@example.org",
    "12 upper case": "HTTPS://example.org/upper.pdf",
}
UNLINKED = {
    "4 javascript": "javascript:alert(document.domain)",
    "5 mixed case": "JaVaScRiPt:alert(1)",  # the leading space is stripped on ingest
    "6 tab": "java\tscript:alert(1)",
    "7 newline": "java\nscript:alert(1)",
    "8 data": "data:text/html,<script>alert(1)</script>",
    "9 vbscript": "vbscript:msgbox(1)",
    "10 relative": "reports/annual.pdf",
    "11 protocol-relative": "//example.org/report.pdf",
}


def test_only_http_https_and_mailto_document_links_are_links(engine: Engine) -> None:
    assert not ingest(engine, [str(FIXTURES / "hostile-document-links.xml")]).failed
    with TestClient(create_app(engine)) as client:
        response = client.get(f"/activities/{HOSTILE_LINKS}")
    assert response.status_code == 200
    items = BeautifulSoup(response.text, "html.parser").select("ul.documents > li")
    shown = {li.select_one("span:not(.unlinked-url)").get_text(): li for li in items}
    assert set(shown) == set(LINKED) | set(UNLINKED)
    for title, url in LINKED.items():
        links = shown[title].select("a")
        assert [(a["href"], a.get_text()) for a in links] == [(url, title)]
        assert set(links[0]["rel"]) >= {"noopener", "nofollow"}
    for title, url in UNLINKED.items():
        assert shown[title].select("a, [href], [src]") == [], title
        assert shown[title].select_one(".unlinked-url").get_text() == url


@pytest.mark.parametrize(
    ("url", "href"),
    [
        ("https://example.org/a?b=c#d", "https://example.org/a?b=c#d"),
        ("  http://example.org/ ", "http://example.org/"),
        ("HtTp://example.org/", "HtTp://example.org/"),
        ("ht\ttps://exa\nmple.org/", "https://example.org/"),  # as a browser reads it
        ("mailto:someone@example.org", "mailto:someone@example.org"),
        (" JaVaScRiPt:alert(1)", None),
        ("\x01javascript:alert(1)", None),
        ("java\tscript:alert(1)", None),
        ("java\r\nscript:alert(1)", None),
        ("javascript&colon;alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("vbscript:msgbox(1)", None),
        ("file:///etc/passwd", None),
        ("reports/annual.pdf", None),
        ("/activities", None),
        ("//example.org/report.pdf", None),
        ("\\\\example.org\\report.pdf", None),
        ("", None),
        (None, None),
    ],
)
def test_the_link_rule(url: str | None, href: str | None) -> None:
    assert security.external_href(url) == href


@pytest.mark.parametrize(
    "path", ["/%2Fevil.example/x", "/%2F%2Fevil.example/x", "/%5Cevil.example"]
)
def test_a_request_path_cannot_make_links_to_another_site(client: TestClient, path: str) -> None:
    """The page's own links (languages, data formats) repeat the request's path: a path that
    starts with two slashes must not become a protocol-relative link."""
    response = client.get(path)
    assert response.status_code == 404
    page = BeautifulSoup(response.text, "html.parser")
    hrefs = [str(e["href"]) for e in page.select("[href]")]
    assert [h for h in hrefs if "evil.example" in h]  # the links are there...
    offsite = [h for h in hrefs if h.startswith(("//", "/\\")) or "://" in h]
    assert offsite == []  # ...and stay on the portal


ALLOWED_EXPRESSION = re.compile(
    r"(?:link|url_with|data_url)\(.*"  # a page of the portal: these keep the path on the portal
    r"|absolute\((?:link|url_with)\(.*"  # one under the configured public URL (web.address)
    r"|'/[^/].*"  # a path of the portal, as a string literal
    r"|.*\|\s*external_href"  # a URL from the data, through the one rule
)
REVIEWED = {
    ("api_docs.html", "spec.servers[0].url"),  # the API's own base path (api.openapi)
    ("_charts.html", "country_href"),  # callers pass link('/countries/XX')
    # The branding (web/theme.py): the logo and favicon are /static/ paths of the portal; the
    # footer's links and the data licence come from the operator's profile, which accepts only
    # http(s) and mailto: URLs there (profile._branding).
    ("base.html", "site.favicon"),
    ("base.html", "site.logo"),
    ("base.html", "l.url"),
    ("base.html", "site.data_licence_url"),
}


def test_templates_take_urls_from_data_only_through_the_link_rule() -> None:
    """Every href, src, action and data-href that a template fills in is a page of the portal or
    goes through ``external_href``: a new URL from the data cannot slip through unreviewed."""
    attribute = re.compile(r'\b(?:href|src|action|formaction|data-href)="([^"]*)"')
    expression = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")
    unchecked = []
    for path in sorted(TEMPLATES.glob("*.html")):
        text = path.read_text(encoding="utf-8")
        checked = set(re.findall(r"\{%-?\s*set\s+(\w+)\s*=[^%]*\|\s*external_href\s*-?%\}", text))
        for value in attribute.findall(text):
            if value.startswith(("/", "#")) and not value.startswith("//"):
                continue  # a literal path of the portal (or a fragment) comes first
            for found in expression.findall(value):
                if not (
                    ALLOWED_EXPRESSION.fullmatch(found)
                    or found in checked
                    or (path.name, found) in REVIEWED
                ):
                    unchecked.append((path.name, found))
    assert unchecked == []


# -- frame-ancestors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "header"),
    [
        ("'self'", "'self'"),
        ("'none'", "'none'"),
        ("'SELF'  https://example.org", "'self' https://example.org"),
        ("https://*.example.org:8443 http://intranet.local/portal/", None),
        ("https:", None),
    ],
)
def test_create_app_takes_who_may_frame_the_pages(
    sqlite_engine: Engine, given: str, header: str | None
) -> None:
    with TestClient(create_app(sqlite_engine, frame_ancestors=given)) as client:
        for url in ("/about", "/api/v1/openapi.json"):
            csp = policy(client.get(url).headers["content-security-policy"])
            assert " ".join(csp["frame-ancestors"]) == (header or given), url


BAD_FRAME_ANCESTORS = [
    "",
    "   ",
    "'self'; script-src *",
    "https://a.example, https://b.example",
    "'unsafe-inline'",
    "'none' 'self'",
    "self",
    "'self' none",
    "javascript:",
    "https://exa mple.org'",
    "https://example.org/a;b",
    "https://example.org:99999",
    "'self'\nX-Injected: 1",
]


@pytest.mark.parametrize("given", BAD_FRAME_ANCESTORS)
def test_create_app_refuses_a_bad_frame_ancestors(sqlite_engine: Engine, given: str) -> None:
    with pytest.raises(ValueError, match="frame-ancestors"):
        create_app(sqlite_engine, frame_ancestors=given)


@pytest.mark.parametrize("given", ["'self'; script-src *", "'unsafe-inline'", ""])
def test_serve_refuses_a_bad_frame_ancestors_with_a_usage_error(tmp_path: Path, given: str) -> None:
    db = tmp_path / "never-created.db"
    result = CliRunner().invoke(main, ["serve", "--db", str(db), "--frame-ancestors", given])
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--frame-ancestors'" in result.output
    assert not db.exists()  # refused before opening the store


@pytest.mark.slow
def test_serve_sends_the_frame_ancestors_it_was_given(sqlite_url: str, tmp_path: Path) -> None:
    engine = make_engine(sqlite_url)
    migrate(engine)
    engine.dispose()
    sources = "'self' https://intranet.example.org"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with (
        served(sqlite_url, tmp_path, "--frame-ancestors", sources) as (base, _server),
        opener.open(base + "/about", timeout=10) as response,
    ):
        csp = policy(response.headers["content-security-policy"])
    assert " ".join(csp["frame-ancestors"]) == sources
