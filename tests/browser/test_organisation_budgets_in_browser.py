"""What an organisation's file says, in a real browser at 390 and 1366 px: the partner page's
section is a table on a laptop and a stack of labelled cards on a phone, the page never scrolls
sideways, nothing is logged as an error, the organisation's hostile name stays text, and axe
finds no WCAG 2.1 AA violation on the page. Screenshots go to
test-artifacts/screenshots/organisation-budgets-*.png.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from serving import served
from viewing import axe_violations, open_page, sized_page

from iatiportal.store.db import make_engine, migrate
from iatiportal.store.load import ingest, refresh_derived

pytestmark = pytest.mark.browser

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PROFILE = """key = "xx-orgb"
reporting_org_refs = ["XX-ORGB"]
name = { en = "Budgets and Co" }
"""
PARTNER = "/partners/XX-ORGB"


@pytest.fixture(scope="module")
def org_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``iatiportal serve`` over the organisation-file fixtures, XX-ORGB the home publisher."""
    folder = tmp_path_factory.mktemp("organisation-budgets")
    db = folder / "store.db"
    engine = make_engine(f"sqlite:///{db}")
    try:
        migrate(engine)
        files = [
            FIXTURES / "organisation-budgets.xml",
            FIXTURES / "organisation-budgets-activities.xml",
        ]
        assert not ingest(engine, [str(f) for f in files]).failed
        refresh_derived(engine)
    finally:
        engine.dispose()
    profile = folder / "orgb.toml"
    profile.write_text(PROFILE)
    with served(str(db), folder, "--profile", str(profile)) as (base, _server):
        yield base


@pytest.fixture
def org_page(browser: Browser, org_portal: str, width: int) -> Iterator[Page]:
    with sized_page(browser, org_portal, width) as page:
        yield page


def test_the_section_at_phone_and_laptop_widths(
    org_page: Page, width: int, artifact: Callable[[str], Path]
) -> None:
    errors: list[str] = []
    org_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    org_page.on("pageerror", lambda e: errors.append(str(e)))
    open_page(org_page, PARTNER)
    section = org_page.locator("section.organisation-budgets")
    folded = section.locator("details tbody tr")
    assert folded.count() == 4 and not folded.first.is_visible()
    section.locator("details summary").click()  # the recipients' lines, folded under the totals
    assert folded.first.is_visible()
    section.screenshot(path=str(artifact(f"organisation-budgets-{width}.png")))
    assert errors == []
    assert org_page.evaluate("document.documentElement.scrollWidth") <= width
    rows = section.locator("tbody tr")
    assert rows.count() == 8
    header_shown = section.locator("thead").first.bounding_box()
    first = rows.first.locator("td.published")
    label = first.evaluate("(td) => getComputedStyle(td, '::before').content")
    if width < 600:
        # Stacked: each row a card, each cell named by its column.
        assert rows.first.evaluate("(tr) => getComputedStyle(tr).display") == "block"
        assert label == '"Published amount"'
        assert header_shown is None or header_shown["height"] <= 1
    else:
        assert rows.first.evaluate("(tr) => getComputedStyle(tr).display") == "table-row"
        assert label in ("none", "normal")
        assert header_shown is not None and header_shown["height"] > 10
    assert org_page.locator("main script").count() == 0
    assert (
        '<script>alert("org")</script>'
        in section.locator("#organisation-budgets-note").inner_text()
    )
    assert axe_violations(org_page) == []
