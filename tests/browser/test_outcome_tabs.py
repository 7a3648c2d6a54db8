"""The outcome page's sections in a real browser, at 390 px and 1366 px, in English and French:
a tablist that the keyboard works (arrow keys, Enter), one section shown at a time and the one a
#anchor points into, no sideways scrolling, nothing axe (WCAG 2.0 and 2.1 A and AA) objects to.
Screenshots go to test-artifacts/screenshots/outcome-*-{390,1366}.png."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from viewing import axe_violations, open_page

pytestmark = pytest.mark.browser

OUTCOME = "/activities/XM-DAC-41146-MLI_D_1.1"
SECTIONS = ["summary", "resources", "results", "sdgs", "funding-partners", "strategic-plan", "more"]


def _shown(page: Page) -> list[str]:
    return page.locator("section.outcome-section").evaluate_all(
        "els => els.filter(e => e.checkVisibility()).map(e => e.id)"
    )


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_sections_are_a_tablist_the_keyboard_works(
    sized: Page, lang: str, artifact: Callable[[str], Path]
) -> None:
    width = (sized.viewport_size or {"width": 0})["width"]
    open_page(sized, f"{OUTCOME}?lang={lang}")
    tabs = sized.get_by_role("tablist").get_by_role("tab")
    expect(tabs).to_have_count(len(SECTIONS))
    assert _shown(sized) == ["summary"]
    sized.screenshot(path=str(artifact(f"outcome-summary-{lang}-{width}.png")), full_page=True)
    # Tab into the tablist: the selected tab is the one stop; the arrows move, Enter chooses.
    sized.get_by_role("tab", selected=True).focus()
    for at, key in enumerate(SECTIONS[1:], start=1):
        sized.keyboard.press("ArrowRight")
        assert sized.evaluate("document.activeElement.id") == f"tab-{key}"
        sized.keyboard.press("Enter")
        expect(sized.get_by_role("tab", selected=True)).to_have_attribute("id", f"tab-{key}")
        assert _shown(sized) == [key], key
        assert sized.url.endswith(f"#{key}")
        scroll_width = sized.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"#{key} scrolls sideways at {width}px"
        assert axe_violations(sized) == [], key
        if key in ("resources", "results", "funding-partners", "strategic-plan") or at == 6:
            sized.screenshot(
                path=str(artifact(f"outcome-{key}-{lang}-{width}.png")), full_page=True
            )
            sized.screenshot(path=str(artifact(f"outcome-{key}-{lang}-{width}-first-screen.png")))
    sized.keyboard.press("Home")
    assert sized.evaluate("document.activeElement.id") == "tab-summary"


def test_a_list_page_link_opens_its_section(page: Page) -> None:
    open_page(page, f"{OUTCOME}?transactions_page=1#transactions-heading")
    assert _shown(page) == ["resources"]
    expect(page.get_by_role("tab", selected=True)).to_have_attribute("id", "tab-resources")
    page.locator("#tab-more").click()
    assert _shown(page) == ["more"]
    page.evaluate("location.hash = 'results-heading'")
    expect(page.get_by_role("tab", selected=True)).to_have_attribute("id", "tab-results")


def test_charts_of_a_section_opened_later_fit_it(sized: Page) -> None:
    width = (sized.viewport_size or {"width": 0})["width"]
    open_page(sized, OUTCOME)
    sized.locator("#tab-funding-partners").click()
    figure = sized.locator("#funding-partners figure[data-chart]")
    expect(figure).to_have_attribute("data-drawn", "true")
    svg = figure.locator(".chart-canvas svg").first
    box = svg.bounding_box()
    assert box is not None and box["width"] <= width


def test_without_javascript_every_section_shows_under_its_menu(
    browser: Browser, portal: str, artifact: Callable[[str], Path]
) -> None:
    ctx = browser.new_context(
        base_url=portal, viewport={"width": 390, "height": 844}, java_script_enabled=False
    )
    try:
        page = ctx.new_page()
        open_page(page, f"{OUTCOME}?plan_period=2018-2021")
        assert _shown(page) == SECTIONS
        expect(page.locator("nav.sections [role=tablist]")).to_have_count(0)
        expect(page.locator("select#plan_period")).to_have_value("2018-2021")
        page.locator("nav.sections a[href='#strategic-plan']").click()
        assert page.url.endswith("#strategic-plan")
        page.screenshot(path=str(artifact("outcome-nojs-390.png")))
    finally:
        ctx.close()
