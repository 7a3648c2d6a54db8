"""Development and humanitarian columns in a real browser, at 390 px and 1366 px, in English
and French: the outcome page's and the partner page's tables, shown by their chart's toggle and
without JavaScript, fit the page (no sideways scrolling) and axe (WCAG 2.0 and 2.1 A and AA)
finds nothing. Screenshots go to test-artifacts/screenshots/funding-kinds-*.png."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from viewing import axe_violations, open_page

pytestmark = pytest.mark.browser

OUTCOME = "/activities/XM-DAC-41146-MLI_D_1.1"
PARTNER = "/partners/NO-BRC-971277882"  # the outcome's one funding partner
HEADS = {
    "en": ["Year", "Partner", "Currency", "Development", "Humanitarian", "Total"],
    "fr": ["Année", "Partenaire", "Devise", "Développement", "Humanitaire", "Total"],
}


def _fits(page: Page, width: int, what: str) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{what} scrolls sideways at {width}px"
    assert axe_violations(page) == [], what


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_outcome_table_shows_both_kinds_and_fits(
    sized: Page, lang: str, artifact: Callable[[str], Path]
) -> None:
    width = (sized.viewport_size or {"width": 0})["width"]
    open_page(sized, f"{OUTCOME}?lang={lang}#funding-partners")
    section = sized.locator("section#funding-partners")
    table = section.locator("table#partner-years.by-kind")
    expect(table).to_be_hidden()  # the chart is shown first
    section.locator(".view-toggle button").click()
    expect(table).to_be_visible()
    expect(table.locator("thead th")).to_have_text(HEADS[lang])
    expect(table.locator("td.humanitarian").filter(has_not_text="–")).to_have_count(1)
    _fits(sized, width, f"the outcome's funding partners ({lang})")
    section.screenshot(path=str(artifact(f"funding-kinds-outcome-{lang}-{width}.png")))


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_partner_table_shows_both_kinds_and_fits(
    sized: Page, lang: str, artifact: Callable[[str], Path]
) -> None:
    width = (sized.viewport_size or {"width": 0})["width"]
    open_page(sized, f"{PARTNER}?lang={lang}")
    table = sized.locator("table#contributions")
    sized.locator(".view-toggle button").click()
    expect(table).to_be_visible()
    expect(table.locator("thead th")).to_have_count(4)
    _fits(sized, width, f"the partner's contributions ({lang})")
    sized.screenshot(
        path=str(artifact(f"funding-kinds-partner-{lang}-{width}.png")), full_page=True
    )


def test_without_javascript_the_columns_are_there(
    browser: Browser, portal: str, artifact: Callable[[str], Path]
) -> None:
    ctx = browser.new_context(
        base_url=portal, viewport={"width": 390, "height": 844}, java_script_enabled=False
    )
    try:
        page = ctx.new_page()
        open_page(page, OUTCOME)
        table = page.locator("table#partner-years.by-kind")
        expect(table).to_be_visible()
        expect(table.locator("thead th")).to_have_text(HEADS["en"])
        # Without JavaScript nothing can be evaluated in the page: the table's box must fit.
        box = table.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        page.locator("section#funding-partners").screenshot(
            path=str(artifact("funding-kinds-outcome-nojs-390.png"))
        )
    finally:
        ctx.close()
