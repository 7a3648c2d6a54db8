"""What the browser tests share: opening a page of the served portal, and axe's findings on it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
"""Every WCAG 2.0 and 2.1 rule of levels A and AA that axe has."""


@contextmanager
def sized_page(browser: Browser, base_url: str, width: int) -> Iterator[Page]:
    """A page of the portal at ``base_url``, ``width`` wide (a phone, with touch, below
    600 px); its context is closed after."""
    phone = width < 600
    ctx = browser.new_context(
        base_url=base_url,
        viewport={"width": width, "height": 844 if phone else 900},
        is_mobile=phone,
        has_touch=phone,
    )
    try:
        yield ctx.new_page()
    finally:
        ctx.close()


def open_page(page: Page, path: str) -> None:
    """Go to ``path`` (200) and wait until the page is quiet (charts drawn, fonts loaded)."""
    response = page.goto(path)
    assert response is not None and response.status == 200, path
    page.wait_for_load_state("networkidle")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """What axe finds against WCAG_AA on the page as it is now: id, impact and where."""
    assert AXE.is_file(), "axe-core is missing: run `make setup` (npm ci)"
    # Colours as they end, not half-way through a transition (Pico fades a button's colours for
    # 0.2 s after a click: axe caught one mid-way, below the contrast it ends at).
    page.evaluate(
        "() => Promise.all(document.getAnimations()"
        ".filter((a) => a.effect?.getTiming().iterations !== Infinity).map((a) => a.finished))"
    )
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    found: list[dict[str, Any]] = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))",
        WCAG_AA,
    )
    return found
