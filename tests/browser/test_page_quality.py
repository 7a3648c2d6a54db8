"""Page quality in a real browser (Debian's Chromium through Playwright) on the demo portal:
keyboard use and focus (WCAG 2.1.1, 2.4.1, 2.4.7, 1.4.11), print, phone width (reflow, WCAG
1.4.10; target size, 2.5.8), pages without JavaScript, console and network errors, the language
switch, and screenshots of the key pages.

Everything is asserted with selectors and evaluations in the page, never substrings of HTML.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Request,
    Response,
    expect,
)

pytestmark = pytest.mark.browser

COUNTRY = "ML"  # in the demo data (iatiportal/demo/data)
ACTIVITY = "XM-DAC-41146-MLI_D_1.1"
PAGES = {
    "overview": "/",
    "country": f"/countries/{COUNTRY}",
    "activity": f"/activities/{ACTIVITY}",
    "search": "/search?q=women",
    "partners": "/partners",
}
WHITE = (255.0, 255.0, 255.0)
# Requests the browser makes by itself, not the page: reported as a defect, not failed here.
BROWSER_OWN = ("/favicon.ico",)

# The focused element and what its focus indicator looks like against what is behind it.
FOCUSED = """() => {
  const e = document.activeElement;
  const s = getComputedStyle(e);
  let background = 'rgba(0, 0, 0, 0)';
  for (let n = e.parentElement; n; n = n.parentElement) {
    const c = getComputedStyle(n).backgroundColor;
    if (c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') { background = c; break; }
  }
  const r = e.getBoundingClientRect();
  return {
    tag: e.tagName.toLowerCase(), id: e.id, text: (e.textContent || '').trim().slice(0, 40),
    hreflang: e.getAttribute('hreflang'), inMain: !!e.closest('main'),
    target: e.hash ? document.getElementById(e.hash.slice(1))?.tagName.toLowerCase() : null,
    inLanguages: !!e.closest('nav.languages'),
    outlineStyle: s.outlineStyle, outlineWidth: parseFloat(s.outlineWidth),
    outlineColor: s.outlineColor, boxShadow: s.boxShadow, background: background,
    box: [r.left, r.top, r.right, r.bottom], viewport: [innerWidth, innerHeight],
  };
}"""

# Elements whose content sticks out of their box without scrolling or clipping (outside
# scroll containers), and tables wider than their box that are not scroll containers.
OVERFLOWING = """() => {
  const out = [];
  for (const e of document.querySelectorAll('body, body *')) {
    if (e.closest('.skip')) continue;
    // Inside a chart's SVG, text is placed by the SVG's own coordinates, not CSS overflow; the
    // <svg> element itself is still checked.
    if (e instanceof SVGElement && !(e instanceof SVGSVGElement)) continue;
    const s = getComputedStyle(e);
    if (s.display === 'none' || s.display === 'contents') continue;
    const wider = e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0;
    const scrolls = s.overflowX === 'auto' || s.overflowX === 'scroll';
    if (wider && s.overflowX === 'visible' && e.tagName !== 'BODY') {
      out.push(`${e.tagName.toLowerCase()}.${e.className}: ${e.scrollWidth} > ${e.clientWidth}`);
    }
    if (e.tagName === 'TABLE' && wider && !scrolls) {
      out.push(`table.${e.className}: ${e.scrollWidth} > ${e.clientWidth}, no scroller`);
    }
  }
  return out;
}"""

# Form controls smaller than 24 x 24 CSS px (WCAG 2.5.8, target size).
SMALL_CONTROLS = """() => [...document.querySelectorAll(
    'select, button, textarea, input:not([type=hidden])')]
  .filter(e => e.checkVisibility())
  .map(e => [e, e.getBoundingClientRect()])
  .filter(([e, r]) => r.width < 24 || r.height < 24)
  .map(([e, r]) => `${e.tagName.toLowerCase()}#${e.id} ${r.width}x${r.height}`)"""


def _open(page: Page, path: str) -> Response:
    response = page.goto(path)
    assert response is not None and response.status == 200, path
    return response


def _rgb(css: str) -> tuple[float, float, float]:
    parts = [float(p) for p in re.findall(r"[\d.]+", css)[:3]]
    assert len(parts) == 3, css
    return parts[0], parts[1], parts[2]


def _contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    def luminance(rgb: tuple[float, float, float]) -> float:
        lin = [c / 255 / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4
               for c in rgb]  # fmt: skip
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _focus_problem(stop: dict[str, Any]) -> str | None:
    """Why the focused element has no visible focus indicator, or None when it has one: a
    box-shadow, or an outline of at least 2px at 3:1 against what is behind it."""
    if stop["boxShadow"] != "none":
        return None
    if stop["outlineStyle"] in ("none", "hidden") or stop["outlineWidth"] < 2:
        return f"no outline ({stop['outlineStyle']} {stop['outlineWidth']}px) and no box-shadow"
    background = WHITE if "rgba(0, 0, 0, 0)" in stop["background"] else _rgb(stop["background"])
    ratio = _contrast(_rgb(stop["outlineColor"]), background)
    if ratio < 3:
        return f"outline {stop['outlineColor']} only {ratio:.2f}:1 against {stop['background']}"
    return None


def _tab_stops(page: Page, limit: int = 120) -> list[dict[str, Any]]:
    """Every element that Tab focuses, from the top of the page until focus leaves it."""
    stops: list[dict[str, Any]] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop: dict[str, Any] = page.evaluate(FOCUSED)
        if stop["tag"] == "body" or (stops and stop == stops[0]):
            return stops
        stops.append(stop)
    pytest.fail(f"Tab never left the page after {limit} presses")


@pytest.mark.parametrize("path", ["/", f"/countries/{COUNTRY}"])
def test_keyboard_skip_link_controls_and_focus_indicator(page: Page, path: str) -> None:
    _open(page, path)
    page.keyboard.press("Tab")
    shown = page.evaluate(FOCUSED)
    assert (shown["tag"], shown["text"]) == ("a", "Skip to content"), "Tab 1 is no skip link"
    assert shown["target"] == "main", "the skip link does not lead to <main>"
    left, top, right, bottom = shown["box"]
    width, height = shown["viewport"]
    assert 0 <= left < right <= width and 0 <= top < bottom <= height, "skip link not on screen"

    # Following it puts the keyboard in the main content.
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"#main$"))
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["inMain"], "Tab after the skip link left the main content"

    _open(page, path)
    stops = _tab_stops(page)
    assert stops[0]["text"] == "Skip to content"
    assert any(s["tag"] == "select" and s["id"] == "year" for s in stops), "Year not reached"
    assert any(s["inLanguages"] and s["hreflang"] == "fr" for s in stops), "no language switch"
    problems = {f"{s['tag']}#{s['id']} {s['text']!r}": _focus_problem(s) for s in stops}
    assert {k: v for k, v in problems.items() if v} == {}


@pytest.mark.parametrize("path", ["/", f"/countries/{COUNTRY}", f"/activities/{ACTIVITY}"])
def test_keyboard_focus_is_visible_at_phone_width(phone: Page, path: str) -> None:
    """On a phone, tables that scroll sideways become Tab stops too: they show focus as well."""
    _open(phone, path)
    stops = _tab_stops(phone)
    assert stops[0]["text"] == "Skip to content"
    problems = {f"{s['tag']}#{s['id']} {s['text']!r}": _focus_problem(s) for s in stops}
    assert {k: v for k, v in problems.items() if v} == {}


def test_print_hides_chrome_and_keeps_the_figures(
    page: Page, artifact: Callable[[str], Path]
) -> None:
    chrome = ["header.site", "footer.site", "nav.tabs", ".selectors", "form.selector",
              ".data-links"]  # fmt: skip
    controls = ["select#year", "select#country", "nav.languages a", "header.site nav a",
                ".data-links a", ".skip"]  # fmt: skip
    displays = "els => els.map(e => getComputedStyle(e).display)"
    visible = "els => els.map(e => e.checkVisibility())"
    _open(page, f"/countries/{COUNTRY}")
    for selector in chrome:  # shown on screen: the print rules are what hides them
        assert "none" not in page.eval_on_selector_all(selector, displays), selector

    page.emulate_media(media="print")
    for selector in chrome:
        shown = page.eval_on_selector_all(selector, displays)
        assert shown and set(shown) == {"none"}, selector
    for selector in controls:
        shown = page.eval_on_selector_all(selector, visible)
        assert shown and not any(shown), selector
    for selector in ["main", "main h1", "main dl.summary", "main table", "main table td.num"]:
        shown = page.eval_on_selector_all(selector, visible)
        assert shown and all(shown), selector
    assert page.locator("main table.by-year tbody tr").count() > 0

    pdf = artifact("country-print.pdf")
    data = page.pdf(path=str(pdf), format="A4")
    assert data.startswith(b"%PDF-") and pdf.stat().st_size == len(data) > 1000
    assert len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data)) >= 1


@pytest.fixture(params=[375, 320], ids=["375px", "320px"])
def phone(request: pytest.FixtureRequest, browser: Browser, portal: str) -> Iterator[Page]:
    """A phone-sized page (740px high) that honours the viewport meta tag."""
    width: int = request.param
    ctx = browser.new_context(
        base_url=portal, viewport={"width": width, "height": 740}, is_mobile=True, has_touch=True
    )
    yield ctx.new_page()
    ctx.close()


@pytest.mark.parametrize("name", ["overview", "country", "activity", "search"])
def test_phone_width_has_no_horizontal_scrolling(
    phone: Page, name: str, artifact: Callable[[str], Path]
) -> None:
    _open(phone, PAGES[name])
    assert phone.viewport_size is not None
    width = phone.viewport_size["width"]
    assert phone.evaluate(OVERFLOWING) == []
    assert phone.evaluate(SMALL_CONTROLS) == [], "form controls too small to tap"
    scroll_width = phone.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width + 1, f"{PAGES[name]} scrolls sideways at {width}px"
    # A phone widens the layout viewport when the page lacks a width=device-width viewport meta.
    assert phone.evaluate("innerWidth") == width, "layout viewport wider than the phone"
    if width == 375:
        phone.screenshot(path=str(artifact(f"phone-{name}.png")), full_page=True)


@pytest.mark.parametrize("path", ["/", f"/countries/{COUNTRY}", f"/activities/{ACTIVITY}"])
def test_same_tables_without_javascript(
    browser: Browser, portal: str, page: Page, path: str
) -> None:
    tables = "els => els.map(t => [t.className, t.querySelectorAll('tbody tr').length])"
    figures = "els => els.map(e => e.textContent.trim())"
    _open(page, path)
    with_js = (page.eval_on_selector_all("table", tables),
               page.eval_on_selector_all("table td.num", figures))  # fmt: skip
    ctx = browser.new_context(base_url=portal, java_script_enabled=False)
    try:
        bare = ctx.new_page()
        _open(bare, path)
        without = (bare.eval_on_selector_all("table", tables),
                   bare.eval_on_selector_all("table td.num", figures))  # fmt: skip
    finally:
        ctx.close()
    assert with_js[0] and with_js[1], f"{path} has no tables or figures"
    assert without == with_js


def test_year_selector_works_without_javascript(browser: Browser, portal: str) -> None:
    ctx = browser.new_context(base_url=portal, java_script_enabled=False)
    try:
        page = ctx.new_page()
        _open(page, "/")
        page.select_option("select#year", "2023")
        page.locator("form.selector:has(select#year) button[type=submit]").click()
        page.wait_for_url(re.compile(r"[?&]year=2023"))
        expect(page.locator("select#year")).to_have_value("2023")
        expect(page.locator("#totals-heading")).to_have_text("In 2023")
    finally:
        ctx.close()


@pytest.mark.parametrize("name", list(PAGES))
def test_no_console_errors_or_failed_requests(page: Page, name: str) -> None:
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.location.get("url", "").endswith(BROWSER_OWN):
            problems.append(f"console: {message.text} ({message.location.get('url')})")

    def on_failed(request: Request) -> None:
        problems.append(f"request failed: {request.url} {request.failure}")

    def on_response(response: Response) -> None:
        if response.status >= 400 and not urlsplit(response.url).path.endswith(BROWSER_OWN):
            problems.append(f"HTTP {response.status}: {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", on_failed)
    page.on("response", on_response)
    _open(page, PAGES[name])
    page.wait_for_load_state("networkidle")
    assert page.eval_on_selector_all(
        "link[rel=stylesheet]", "els => els.map(l => !!l.sheet && l.sheet.cssRules.length > 0)"
    ) == [True], "the stylesheet did not load"
    assert problems == []


def test_french_page_and_language_switch_keep_the_path(page: Page) -> None:
    path = f"/countries/{COUNTRY}/results"
    _open(page, f"{path}?year=2023&lang=fr")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator('nav.languages a[hreflang="fr"]')).to_have_attribute("aria-current", "true")
    english = page.locator('nav.languages a[hreflang="en"]')
    href = urlsplit(english.get_attribute("href") or "")
    assert href.path == path
    assert parse_qs(href.query) == {"year": ["2023"], "lang": ["en"]}

    english.click()
    page.wait_for_url(re.compile(r"[?&]lang=en"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert urlsplit(page.url).path == path
    expect(page.locator("select#year")).to_have_value("2023")


@pytest.mark.parametrize("name", ["overview", "country", "activity"])
def test_screenshots_of_key_pages(page: Page, name: str, artifact: Callable[[str], Path]) -> None:
    _open(page, PAGES[name])
    expect(page.locator("main h1")).to_be_visible()
    page.wait_for_load_state("networkidle")  # the map's atlas, then the charts and maps drawn
    # Measured before the shot: charts drawn late only make the page longer, never shorter.
    scrolled = page.evaluate("document.documentElement.scrollHeight")
    png = artifact(f"{name}.png")
    page.screenshot(path=str(png), full_page=True)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert page.viewport_size is not None and width == page.viewport_size["width"]
    assert height >= scrolled > 0
