"""The country page in a real browser at a phone's width (390 px) and a laptop's (1366 px), in
English and French, on its four tabs: each indicator card's "i" opens its definition by
keyboard (and the definition fits the card), no tab scrolls sideways, and axe (WCAG 2.0 and 2.1
A and AA) finds nothing, with every definition open. Screenshots go to
test-artifacts/screenshots/country-{tab}-{lang}-{width}.png.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from viewing import axe_violations, open_page

pytestmark = pytest.mark.browser

TABS = {
    "overview": "",
    "results": "/results",
    "progress": "/progress",
    "strategic-plan": "/strategic-plan",
}
CARDS = ["income_group", "ldc", "gii", "gdi", "population", "women_and_men"]


def _fits(page: Page, width: int, where: str) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{where} scrolls sideways at {width}px ({scroll}px)"


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("tab", list(TABS))
def test_country_tabs_fit_pass_axe_and_definitions_open_by_keyboard(
    sized: Page, width: int, tab: str, lang: str, artifact: Callable[[str], Path]
) -> None:
    path = f"/countries/ML{TABS[tab]}?year=2022" + ("&lang=fr" if lang == "fr" else "")
    open_page(sized, path)
    expect(sized.locator("html")).to_have_attribute("lang", lang)
    _fits(sized, width, path)
    sized.screenshot(path=str(artifact(f"country-{tab}-{lang}-{width}.png")), full_page=True)
    assert axe_violations(sized) == [], path

    cards = sized.locator("dl.reference-indicators > div")
    expect(cards).to_have_count(len(CARDS))
    assert cards.evaluate_all("els => els.map(e => e.dataset.indicator)") == CARDS
    for key in CARDS:
        card = sized.locator(f'dl.reference-indicators > div[data-indicator="{key}"]')
        about = card.locator("details.definition")
        text = about.locator(".definition-text")
        expect(text).to_be_hidden()
        about.locator("summary").focus()
        sized.keyboard.press("Enter")
        expect(about).to_have_attribute("open", "")
        expect(text).to_be_visible()
        box, inner = card.bounding_box(), text.bounding_box()
        assert box is not None and inner is not None
        assert inner["x"] >= box["x"] and inner["x"] + inner["width"] <= box["x"] + box["width"] + 1
        sized.keyboard.press("Space")
        expect(text).to_be_hidden()
        sized.keyboard.press("Enter")
        expect(text).to_be_visible()
    _fits(sized, width, f"{path} with the definitions open")
    if tab == "overview":
        sized.locator("dl.country-meta details.definition summary").focus()
        sized.keyboard.press("Enter")
        header = sized.locator("main h1")
        sized.screenshot(
            path=str(artifact(f"country-header-open-{lang}-{width}.png")),
            clip=_header_clip(sized, header),
        )
    assert axe_violations(sized) == [], f"{path} with the definitions open"


def _header_clip(page: Page, top: Any) -> dict[str, float]:
    start = top.bounding_box()
    end = page.locator("nav.tabs").bounding_box()
    width = page.evaluate("document.documentElement.clientWidth")
    assert start is not None and end is not None
    scroll = page.evaluate("window.scrollY")
    return {
        "x": 0,
        "y": start["y"] + scroll - 8,
        "width": width,
        "height": end["y"] + end["height"] - start["y"] + 16,
    }


def test_definitions_open_without_javascript(browser: Browser, portal: str) -> None:
    ctx = browser.new_context(base_url=portal, java_script_enabled=False)
    try:
        page = ctx.new_page()
        open_page(page, "/countries/ML/progress")
        about = page.locator('[data-indicator="gii"] details.definition')
        about.locator("summary").click()
        expect(about.locator(".definition-text")).to_be_visible()
        expect(about.locator(".definition-text")).to_contain_text("Source:")
    finally:
        ctx.close()


def test_progress_narratives_and_foot(page: Page) -> None:
    open_page(page, "/countries/ML/progress?year=2022&lang=fr")
    first = page.locator("article.outcome").first
    expect(first.locator("h2")).to_have_text("Effet XM-DAC-41146-MLI_D_1.1")
    expect(first.locator(".plan-outcome")).to_contain_text("Lié à SP_D_1.1 :")
    expect(first.locator(".progress-narrative .narrative")).to_contain_text("2022")
    indicators = first.locator("details.indicators")
    expect(indicators.locator("table").first).to_be_hidden()
    indicators.locator("summary").click()
    expect(indicators.locator("table").first).to_be_visible()
    foot = page.locator("section.map-summary")
    expect(foot.locator(".disclaimer")).to_contain_text("1244 (1999)")
    with page.expect_download() as download:
        foot.locator(".download a").click()
    assert download.value.suggested_filename.endswith(".csv")
