"""No script from the data runs on the portal's origin, and the portal's own pages work under
its Content-Security-Policy (issue 10), in Chromium.

The raw XML of an activity holding an XHTML ``script`` and an ``img onerror`` (each would set
``document.title`` and request ``/pwned``) runs neither, also when revalidated. The pages with
charts and maps draw them with no console error and no ``securitypolicyviolation``, and a chart
still saves as PNG and SVG."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, expect
from serving import served

from iatiportal.store.db import make_engine, migrate
from iatiportal.store.load import ingest

pytestmark = pytest.mark.browser

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HOSTILE = "XX-TEST-HOSTILE-XHTML"
COUNTRY = "ML"
ACTIVITY = "XM-DAC-41146-MLI_D_1.1"
PARTNER = "NO-BRC-971277882"

# Runs before any script of the page (through the DevTools protocol, which the policy does not
# govern) and keeps every violation the page reports.
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile}:${e.lineNumber} ${e.sample}`);
});
"""


@pytest.fixture(scope="module")
def hostile_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``iatiportal serve`` over a store of the hostile XHTML fixture."""
    folder = tmp_path_factory.mktemp("hostile")
    source = folder / "hostile-xhtml-script.xml"
    shutil.copy(FIXTURES / source.name, source)
    engine = make_engine(f"sqlite:///{folder / 'hostile.db'}")
    migrate(engine)
    assert not ingest(engine, [str(source)]).failed
    engine.dispose()
    with served(str(folder / "hostile.db"), folder) as (base, _server):
        yield base


def test_raw_xml_of_a_hostile_activity_runs_no_script(
    browser: Browser, hostile_portal: str
) -> None:
    ctx = browser.new_context(base_url=hostile_portal)
    try:
        page = ctx.new_page()
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        # The statuses on the wire: Playwright reports a revalidated page as its cached 200.
        statuses: list[int] = []
        devtools = ctx.new_cdp_session(page)
        devtools.send("Network.enable")
        devtools.on("Network.responseReceivedExtraInfo", lambda e: statuses.append(e["statusCode"]))
        url = f"/activities/{HOSTILE}.xml"
        for visit in ("first visit", "revalidated"):
            statuses.clear()
            response = page.goto(url) if visit == "first visit" else page.reload()
            assert response is not None and response.ok, visit
            page.wait_for_load_state("networkidle")
            assert page.evaluate("document.documentElement.getAttribute('data-pwned')") is None
            assert [u for u in requested if "/pwned" in u] == [], visit
            # The XML is there to read, as published.
            identifier = page.evaluate("document.querySelector('iati-identifier').textContent")
            assert identifier == HOSTILE, visit
        assert 304 in statuses, "the reload did not revalidate"
    finally:
        ctx.close()


PAGES: dict[str, tuple[str, ...]] = {
    # path: what must be drawn on it (a selector that finds an svg)
    "/?year=2023": ("figure[data-map][data-drawn] svg", "figure[data-chart][data-drawn] svg"),
    f"/countries/{COUNTRY}": (
        "figure[data-chart][data-drawn] svg",
        "figure[data-locations][data-drawn] svg circle",
    ),
    f"/countries/{COUNTRY}/results": (),
    f"/countries/{COUNTRY}/progress": (),
    f"/countries/{COUNTRY}/strategic-plan": (),
    f"/activities/{ACTIVITY}": (
        "figure[data-chart][data-drawn] svg",
        "figure[data-locations][data-drawn] svg circle",
    ),
    f"/partners/{PARTNER}": ("figure[data-chart][data-drawn] svg",),
    "/regions/289": ("figure[data-chart][data-drawn] svg",),
    "/search?q=women": (),
    "/-/data-health": (),
    "/api/v1/docs": (),
}


def _under_the_policy(response: Response) -> bool:
    return "script-src 'self'" in response.headers.get("content-security-policy", "").split("; ")


def _watched(page: Page) -> list[str]:
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text} ({message.location})")

    def on_failed(request: Request) -> None:
        problems.append(f"request failed: {request.url} {request.failure}")

    page.add_init_script(WATCH_VIOLATIONS)
    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", on_failed)
    return problems


@pytest.mark.parametrize("path", list(PAGES))
def test_pages_work_under_the_policy(page: Page, path: str) -> None:
    problems = _watched(page)
    response = page.goto(path)
    assert response is not None and response.status == 200, path
    assert _under_the_policy(response), "the page is not under the portal's policy"
    page.wait_for_load_state("networkidle")
    for drawn in PAGES[path]:
        expect(page.locator(drawn).first).to_be_attached()
    expect(page.locator("main h1")).to_be_visible()
    assert page.eval_on_selector_all(
        "link[rel=stylesheet]", "els => els.map(l => !!l.sheet && l.sheet.cssRules.length > 0)"
    ) == [True], "the stylesheet did not load"
    violations: list[Any] = page.evaluate("window.__violations")
    assert violations == []
    assert problems == []


def test_a_revalidated_page_still_runs_its_scripts(page: Page) -> None:
    """The 304 of a page carries no policy, so the page keeps its own (not the data's sandbox)."""
    problems = _watched(page)
    statuses: list[int] = []
    devtools = page.context.new_cdp_session(page)
    devtools.send("Network.enable")
    devtools.on("Network.responseReceivedExtraInfo", lambda e: statuses.append(e["statusCode"]))
    page.goto(f"/activities/{ACTIVITY}")
    expect(page.locator("figure[data-chart][data-drawn] svg").first).to_be_attached()
    # Every first request done (a reload aborts one still in flight, which is no problem of
    # the page's: the map's data took long on a loaded machine).
    expect(page.locator("figure[data-locations][data-drawn] svg circle").first).to_be_attached()
    page.wait_for_load_state("networkidle")
    page.reload()
    page.wait_for_load_state("networkidle")
    assert 304 in statuses, "the reload did not revalidate"
    expect(page.locator("figure[data-chart][data-drawn] svg").first).to_be_attached()
    expect(page.locator("figure[data-locations][data-drawn] svg circle").first).to_be_attached()
    assert page.evaluate("window.__violations") == []
    assert problems == []


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_a_chart_saves_under_the_policy(page: Page, kind: str, tmp_path: Path) -> None:
    """Saving as PNG draws the chart's SVG into an image from a data: URL (img-src allows it);
    both save through a blob: link."""
    problems = _watched(page)
    # The outcome page shows one section at a time: its charts' section (#resources).
    response = page.goto(f"/activities/{ACTIVITY}#resources")
    assert response is not None and _under_the_policy(response)
    chart = page.locator("figure[data-chart][data-drawn]").first
    expect(chart).to_be_attached()
    with page.expect_download() as download:
        chart.locator(f"button[data-save={kind}]").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    magic = b"\x89PNG" if kind == "png" else b"<svg"
    assert saved.read_bytes().startswith(magic)
    assert page.evaluate("window.__violations") == []
    assert problems == []
