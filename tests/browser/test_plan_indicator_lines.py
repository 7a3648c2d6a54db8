"""The strategic plan indicator lines and their Common / Complementary badges in a real browser,
at 390 px and 1366 px: on Our progress with the indicators opened (closed, axe does not look at
them) they fit the width and axe (WCAG 2.0 and 2.1 A and AA, colour contrast included) finds
nothing. The outcome page's Results section is checked by test_outcome_tabs. Screenshots go to
test-artifacts/screenshots/plan-indicators-progress-{390,1366}.png."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from viewing import axe_violations, open_page

pytestmark = pytest.mark.browser


def test_our_progress_plan_indicator_badges_fit_and_pass_axe(
    sized: Page, width: int, artifact: Callable[[str], Path]
) -> None:
    open_page(sized, "/countries/ML/progress?lang=fr")
    opened = sized.locator("details.indicators")
    for n in range(opened.count()):
        opened.nth(n).locator("summary").click()
    lines = sized.locator("p.plan-indicator")
    expect(lines).to_have_count(4)
    expect(lines.first).to_be_visible()
    badges = sized.locator("p.plan-indicator .badge")
    expect(badges.and_(sized.locator('[data-kind="common"]')).first).to_have_text("Commun")
    expect(badges.and_(sized.locator('[data-kind="complementary"]'))).to_have_text("Complémentaire")
    assert sized.evaluate("document.documentElement.scrollWidth") <= width
    lines.first.scroll_into_view_if_needed()
    sized.screenshot(path=str(artifact(f"plan-indicators-progress-{width}.png")), full_page=True)
    assert axe_violations(sized) == []
