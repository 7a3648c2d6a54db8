"""Choosing the language in a real browser (issue 13): a French browser lands on the French
URL, a choice of English in the switch sticks while browsing on, and the pages whose
narratives and identifiers are marked (search, an activity) pass axe at both widths."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect
from viewing import axe_violations, open_page

pytestmark = pytest.mark.browser

PATH = "/countries/ML/results"
ACTIVITY = "/activities/XM-DAC-41146-MLI_D_1.1"


@pytest.fixture
def french_browser(browser: Browser, portal: str) -> Iterator[Page]:
    """A browser whose language is French (Chromium sends Accept-Language: fr-FR,...)."""
    ctx = browser.new_context(base_url=portal, locale="fr-FR")
    yield ctx.new_page()
    ctx.close()


def test_a_french_browser_lands_on_the_french_url_and_english_sticks(
    french_browser: Page,
) -> None:
    page = french_browser
    open_page(page, f"{PATH}?year=2023")
    assert parse_qs(urlsplit(page.url).query) == {"year": ["2023"], "lang": ["fr"]}
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.locator('nav.languages a[hreflang="en"]').click()
    page.wait_for_url("**lang=en**")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert urlsplit(page.url).path == PATH
    # Browsing on keeps English: the links carry the choice, the French browser
    # notwithstanding.
    page.locator("a.brand").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert parse_qs(urlsplit(page.url).query) == {"lang": ["en"]}


@pytest.mark.parametrize(
    ("name", "path"),
    [("search", "/search?q=women&lang=fr"), ("activity", f"{ACTIVITY}?lang=fr")],
)
def test_marked_pages_pass_axe_at_both_widths(
    sized: Page, width: int, name: str, path: str, artifact: Callable[[str], Path]
) -> None:
    open_page(sized, path)
    assert sized.evaluate("document.documentElement.scrollWidth <= innerWidth")
    sized.screenshot(path=str(artifact(f"language-{name}-fr-{width}.png")), full_page=True)
    assert axe_violations(sized) == []
