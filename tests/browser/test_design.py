"""The portal's face in a real browser, at a phone's width (390 px) and a laptop's (1366 px): the
menu collapses into a button on the phone and is a row of links on the laptop, the country
page's tabs are a tablist, no page scrolls sideways, and axe (every WCAG 2.0 and 2.1 A and AA
rule) finds nothing on the key pages, the overview, partner page and search in French too (the
country and outcome pages are checked in French in their own modules). Screenshots of each go to
test-artifacts/screenshots/design-{page}[-fr]-{width}.png.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from serving import IATIPORTAL, served, without_proxies
from viewing import axe_violations, open_page

pytestmark = pytest.mark.browser

COUNTRY = "ML"
ACTIVITY = "XM-DAC-41146-MLI_D_1.1"
PARTNER = "NO-BRC-971277882"
PAGES = {
    "overview": "/",
    "country-overview": f"/countries/{COUNTRY}",
    "country-results": f"/countries/{COUNTRY}/results",
    "country-progress": f"/countries/{COUNTRY}/progress",
    "country-strategic-plan": f"/countries/{COUNTRY}/strategic-plan",
    "activity": f"/activities/{ACTIVITY}",
    "partner": f"/partners/{PARTNER}",
    "search": "/search?q=women",
    "activities": "/activities?per_page=5&page=3",  # the pagination component
}
IN_FRENCH = ("overview", "partner", "search")
CASES = [(name, "en") for name in PAGES] + [(name, "fr") for name in IN_FRENCH]


def test_menu_collapses_on_a_phone_and_is_a_row_on_a_laptop(sized: Page, width: int) -> None:
    open_page(sized, "/")
    menu = sized.locator("details.menu")
    button = menu.locator("summary")
    links = sized.locator("nav.main-nav a")
    if width < 600:
        expect(button).to_be_visible()
        expect(links.first).to_be_hidden()
        button.click()
        expect(menu).to_have_attribute("open", "")
        expect(links.first).to_be_visible()
        tops = links.evaluate_all("els => els.map(e => e.getBoundingClientRect().top)")
        assert tops == sorted(tops) and len(set(tops)) == len(tops), "phone menu is one column"
        button.click()
        expect(links.first).to_be_hidden()
    else:
        expect(button).to_be_hidden()
        expect(links.first).to_be_visible()
        tops = links.evaluate_all("els => els.map(e => Math.round(e.getBoundingClientRect().top))")
        assert len(set(tops)) == 1, "laptop menu is one row"
    expect(sized.locator('nav.main-nav a[aria-current="page"]')).to_have_text("Overview")
    if width >= 1280:  # in French too, whose words are longer
        open_page(sized, "/?lang=fr")
        tops = links.evaluate_all("els => els.map(e => Math.round(e.getBoundingClientRect().top))")
        assert len(set(tops)) == 1, "laptop menu is one row in French"


def test_menu_works_without_javascript(browser: Browser, portal: str) -> None:
    for width, shown in ((390, False), (1366, True)):
        ctx = browser.new_context(
            base_url=portal, viewport={"width": width, "height": 800}, java_script_enabled=False
        )
        try:
            page = ctx.new_page()
            open_page(page, "/partners")
            first = page.locator("nav.main-nav a").first
            if shown:
                expect(first).to_be_visible()
            else:
                expect(first).to_be_hidden()
                page.locator("details.menu summary").click()
                expect(first).to_be_visible()
        finally:
            ctx.close()


def test_country_tabs_are_a_tablist(sized: Page) -> None:
    for key in ("overview", "results", "progress", "strategic-plan"):
        path = f"/countries/{COUNTRY}" + ("" if key == "overview" else f"/{key}")
        open_page(sized, path)
        tabs = sized.get_by_role("tablist").get_by_role("tab")
        expect(tabs).to_have_count(4)
        selected = sized.get_by_role("tab", selected=True)
        expect(selected).to_have_count(1)
        expect(selected).to_have_attribute("id", f"tab-{key}")
        panel = sized.get_by_role("tabpanel")
        expect(panel).to_have_attribute("aria-labelledby", f"tab-{key}")
        states = tabs.evaluate_all("els => els.map(e => e.getAttribute('aria-selected'))")
        assert sorted(states) == ["false", "false", "false", "true"]


def test_tabs_follow_the_arrow_keys_and_links(page: Page) -> None:
    open_page(page, f"/countries/{COUNTRY}/results")
    selected = page.get_by_role("tab", selected=True)
    selected.focus()
    page.keyboard.press("ArrowRight")
    focused = page.evaluate("document.activeElement.id")
    assert focused == "tab-progress"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/countries/ML/progress"))
    expect(page.get_by_role("tab", selected=True)).to_have_attribute("id", "tab-progress")


def test_country_and_year_are_one_bar_that_reloads_on_a_choice(page: Page) -> None:
    open_page(page, f"/countries/{COUNTRY}/results?year=2023")
    bar = page.locator(".selectors form.selector")
    expect(bar).to_have_count(1)
    country, year = bar.locator("select#country"), bar.locator("select#year")
    assert country.bounding_box()["y"] == year.bounding_box()["y"], "not in one row"  # type: ignore[index]
    expect(bar.locator("button[type=submit]")).to_be_hidden()  # JavaScript submits
    with page.expect_navigation():
        year.select_option("2022")
    assert re.search(r"/countries/ML/results\?year=2022$", page.url), page.url


def test_country_and_year_without_javascript(browser: Browser, portal: str) -> None:
    ctx = browser.new_context(base_url=portal, java_script_enabled=False)
    try:
        page = ctx.new_page()
        open_page(page, f"/countries/{COUNTRY}/progress?year=2023")
        page.select_option("select#country", "SN")
        page.select_option("select#year", "2022")
        page.locator(".selectors button[type=submit]").click()
        page.wait_for_url(re.compile(r"/countries/SN/progress\?year=2022$"))
        expect(page.get_by_role("tab", selected=True)).to_have_attribute("id", "tab-progress")
    finally:
        ctx.close()


@pytest.mark.parametrize(("name", "lang"), CASES, ids=[f"{n}-{lang}" for n, lang in CASES])
def test_pages_fit_pass_axe_and_are_photographed(
    sized: Page, width: int, name: str, lang: str, artifact: Callable[[str], Path]
) -> None:
    path = PAGES[name] + ("" if lang == "en" else ("&" if "?" in PAGES[name] else "?") + "lang=fr")
    open_page(sized, path)
    expect(sized.locator("html")).to_have_attribute("lang", lang)
    # Tabs, where a page has them, are a tablist whose tabs each say whether they are selected.
    tabs = sized.locator('[role="tab"]')
    states = tabs.evaluate_all(
        "els => els.map(e => [!!e.closest('[role=tablist]'), e.getAttribute('aria-selected')])"
    )
    assert all(inside and state in ("true", "false") for inside, state in states), states
    if states:
        selected = sized.locator('[role="tablist"] [role="tab"][aria-selected="true"]')
        expect(selected).to_have_count(1)
    scroll_width = sized.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{path} scrolls sideways at {width}px"
    shot = f"design-{name}" + ("" if lang == "en" else f"-{lang}") + f"-{width}"
    sized.screenshot(path=str(artifact(f"{shot}.png")), full_page=True)
    sized.screenshot(path=str(artifact(f"{shot}-first-screen.png")))
    assert axe_violations(sized) == [], path


def test_theme_colours_reach_the_page(page: Page) -> None:
    """The UN Women profile's blue is the menu bar's colour and the accent its stripe."""
    open_page(page, "/")
    colours = page.evaluate(
        """() => ({
          bar: getComputedStyle(document.querySelector('.navbar')).backgroundColor,
          stripe: getComputedStyle(document.querySelector('header.site')).borderTopColor,
          logo: document.querySelector('header .brand img.logo')?.naturalWidth,
          favicon: document.querySelector('link[rel=icon]').getAttribute('href').split('?')[0],
        })"""
    )
    assert colours == {
        "bar": "rgb(0, 118, 163)",
        "stripe": "rgb(0, 158, 219)",
        "logo": 48,
        "favicon": "/static/brand/favicon.svg",
    }
    expect(page.locator("header .brand-name")).to_have_text("UN Women Transparency Portal")
    expect(page.locator("footer .footer-links a").first).to_have_text("UN Women")


@pytest.fixture(scope="module")
def neutral_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``iatiportal serve`` over the demo data without a profile: the neutral theme."""
    folder = tmp_path_factory.mktemp("neutral")
    db = folder / "demo.db"
    loaded = subprocess.run(
        [str(IATIPORTAL), "demo", "--no-serve", "--db", str(db)],
        capture_output=True, text=True, env=without_proxies(), cwd=folder, timeout=120,
        check=False,
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    with served(str(db), folder) as (base, _server):
        yield base


def test_neutral_theme_without_a_profile(
    browser: Browser, neutral_portal: str, artifact: Callable[[str], Path]
) -> None:
    ctx = browser.new_context(base_url=neutral_portal, viewport={"width": 1366, "height": 900})
    try:
        page = ctx.new_page()
        open_page(page, f"/countries/{COUNTRY}")
        bar = page.evaluate("getComputedStyle(document.querySelector('.navbar')).backgroundColor")
        assert bar == "rgb(45, 79, 108)"  # profile.Branding's neutral #2D4F6C
        expect(page.locator("header .brand-name")).to_have_text("IATI transparency portal")
        expect(page.locator("header .brand img")).to_have_count(0)
        page.screenshot(path=str(artifact("design-neutral-country-1366.png")))
    finally:
        ctx.close()
