"""Phones in a real browser (320 px and 390 px): the outcome page's seven tabs and the country
page's four stay one row that scrolls sideways inside itself (with a cue that more tabs follow,
the selected tab scrolled into view, by keyboard and without JavaScript), and every wide table
is either stacked (each row a card, each cell labelled by its column header) or a labelled
scroll region that the keyboard reaches, so that no page scrolls sideways. Screenshots go to
test-artifacts/screenshots/phone-*.png.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from viewing import open_page

pytestmark = pytest.mark.browser

OUTCOME = "/activities/XM-DAC-41146-MLI_D_1.1"
COUNTRY = "/countries/ML"
PHONES = pytest.mark.parametrize("width", [320, 390], ids=["320px", "390px"])

# The tab strip of the page: its tabs' tops, whether it scrolls, what is shown of the selected
# (or focused) tab, and its background (the cue that more tabs are beside it).
STRIP = """(which) => {
  const list = document.querySelector('nav.tabs ul');
  const links = [...list.querySelectorAll('a')];
  const tab = which === 'focused' ? document.activeElement
    : list.querySelector('[aria-selected="true"]') || links.at(-1);
  const box = list.getBoundingClientRect(), t = tab.getBoundingClientRect();
  return {
    tops: [...new Set(links.map(a => Math.round(a.getBoundingClientRect().top)))].length,
    scrolls: list.scrollWidth > list.clientWidth + 1,
    overflowX: getComputedStyle(list).overflowX,
    shown: t.left >= box.left - 1 && t.right <= box.right + 1,
    tab: tab.id,
    cue: getComputedStyle(list).backgroundImage,
    page: document.documentElement.scrollWidth,
  };
}"""


def _strip(page: Page, which: str = "selected") -> dict[str, Any]:
    found: dict[str, Any] = page.evaluate(STRIP, which)
    return found


@PHONES
def test_outcome_tabs_are_one_row_that_scrolls_inside_itself(
    sized: Page, width: int, artifact: Callable[[str], Path]
) -> None:
    open_page(sized, f"{OUTCOME}#more")
    strip = _strip(sized)
    assert strip["tab"] == "tab-more"
    assert strip["tops"] == 1, "the tabs wrap into several rows"
    assert strip["scrolls"] and strip["overflowX"] == "auto"
    assert strip["shown"], "the selected tab is not scrolled into view"
    assert "gradient" in strip["cue"], "no cue that more tabs follow"
    assert strip["page"] <= width, "the page scrolls sideways"
    expect(sized.get_by_role("tablist").get_by_role("tab")).to_have_count(7)
    expect(sized.get_by_role("tab", selected=True)).to_have_attribute("id", "tab-more")
    sized.screenshot(path=str(artifact(f"phone-outcome-tabs-more-{width}.png")))
    # By keyboard: Home goes back to the first tab, which comes into view; Enter selects it.
    sized.get_by_role("tab", selected=True).focus()
    sized.keyboard.press("Home")
    strip = _strip(sized, "focused")
    assert strip["tab"] == "tab-summary" and strip["shown"]
    sized.keyboard.press("Enter")
    expect(sized.get_by_role("tab", selected=True)).to_have_attribute("id", "tab-summary")
    sized.screenshot(path=str(artifact(f"phone-outcome-tabs-summary-{width}.png")))


@PHONES
def test_country_tabs_are_one_row_with_the_selected_tab_in_view(sized: Page, width: int) -> None:
    for tab in ("strategic-plan", "overview"):
        open_page(sized, COUNTRY + ("" if tab == "overview" else f"/{tab}"))
        strip = _strip(sized)
        assert strip["tab"] == f"tab-{tab}"
        assert strip["tops"] == 1, f"the country tabs wrap at {width}px"
        assert strip["shown"], f"{tab}: the selected tab is not scrolled into view"
        assert not strip["scrolls"] or "gradient" in strip["cue"], "no cue that more tabs follow"
        assert strip["page"] <= width


def test_outcome_tabs_without_javascript(browser: Browser, portal: str) -> None:
    """A menu of in-page links, one row on a phone; the keyboard brings each one into view."""
    ctx = browser.new_context(
        base_url=portal, viewport={"width": 320, "height": 740}, java_script_enabled=False
    )
    try:
        page = ctx.new_page()
        open_page(page, OUTCOME)
        strip = _strip(page)
        assert strip["tops"] == 1 and strip["scrolls"] and "gradient" in strip["cue"]
        assert strip["page"] <= 320
        page.locator("nav.tabs a").first.focus()
        for _ in range(6):
            page.keyboard.press("Tab")
        strip = _strip(page, "focused")
        assert strip["tab"] == "tab-more" and strip["shown"]
    finally:
        ctx.close()


# Every table in <main> that is shown: how it fits a phone. "fits": within its box; "stacked":
# its rows are cards whose cells each show their column's name (data-label, via ::before);
# "region": inside a scroll region with role=region, tabindex=0 and a name; else what is wrong.
TABLES = """() => [...document.querySelectorAll('main table')].filter(t => t.checkVisibility())
  .map(t => {
    const name = t.classList[0];
    const cells = [...t.querySelectorAll('tbody td')].filter(c => c.textContent.trim());
    if (cells.length && cells.every(c => getComputedStyle(c).display !== 'table-cell')) {
      const unlabelled = cells.filter(c => !c.dataset.label
        || getComputedStyle(c, '::before').content !== JSON.stringify(c.dataset.label));
      const head = t.querySelector('thead');
      const hidden = !head || head.getBoundingClientRect().height <= 1;
      if (unlabelled.length) return [name, `stacked, ${unlabelled.length} cells unlabelled`];
      if (!hidden) return [name, 'stacked, its header row still shown'];
      return [name, t.scrollWidth <= t.clientWidth + 1 ? 'stacked' : 'stacked, too wide'];
    }
    const region = t.closest('[role="region"]');
    const box = (region || t.parentElement).getBoundingClientRect();
    const r = t.getBoundingClientRect();
    if (!region) {
      return [name, r.right <= box.right + 1 && t.scrollWidth <= t.clientWidth + 1
        ? 'fits' : `wider than its box (${t.scrollWidth} > ${t.clientWidth} or past its edge)`];
    }
    const s = getComputedStyle(region);
    const label = region.getAttribute('aria-label') || '';
    if (region.getAttribute('tabindex') !== '0' || !label.trim()) {
      return [name, 'region without tabindex=0 or a name'];
    }
    if (s.overflowX !== 'auto' || region.scrollWidth <= region.clientWidth) {
      return [name, 'region that does not scroll'];
    }
    return [name, 'region'];
  })"""
TABLE_PAGES = {
    "countries": "/countries",
    "country-results": f"{COUNTRY}/results",
    "country-strategic-plan": f"{COUNTRY}/strategic-plan",
    "country-overview": COUNTRY,
    "outcome-resources": f"{OUTCOME}#resources",
    "outcome-results": f"{OUTCOME}#results",
    "outcome-funding-partners": f"{OUTCOME}#funding-partners",
    "partner": "/partners/NO-BRC-971277882",
    "partners": "/partners",
    "activities": "/activities",
    "strategic-plan": "/strategic-plan",
}
# Lists of things (a row is a country, an outcome, an activity): each row a card on a phone.
STACKED = {
    "countries": ["countries"],
    # flows: the flow of funds, a flow a row; places: the map summary's, at every tab's foot;
    # organisation-budgets: the demo's organisation file has a budget for the country
    "country-overview": ["flows", "impact-areas", "organisation-budgets", "places", "sdgs"],
    "country-results": ["outcomes", "places"],
    "country-strategic-plan": ["outcomes", "places"],
    "activities": ["activities"],
    "strategic-plan": ["impact-areas"],
    "outcome-results": ["indicator", "results-overview"],
    "partner": ["flows"],
}


@PHONES
@pytest.mark.parametrize("name", list(TABLE_PAGES))
def test_wide_tables_are_stacked_or_labelled_scroll_regions(
    sized: Page, width: int, name: str, artifact: Callable[[str], Path]
) -> None:
    open_page(sized, TABLE_PAGES[name])
    found = sized.evaluate(TABLES)
    assert found, f"{name}: no table shown"
    wrong = [(table, how) for table, how in found if how not in ("fits", "stacked", "region")]
    assert wrong == [], name
    stacked = sorted({table for table, how in found if how == "stacked"})
    assert stacked == STACKED.get(name, []), name
    scroll_width = sized.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{TABLE_PAGES[name]} scrolls sideways at {width}px"
    regions = sized.locator('main [role="region"]:has(table)')
    for at in range(regions.count()):
        region = regions.nth(at)
        if not region.is_visible():
            continue
        region.focus()
        outline = region.evaluate(
            "e => [getComputedStyle(e).outlineStyle, parseFloat(getComputedStyle(e).outlineWidth)]"
        )
        assert outline[0] == "solid" and outline[1] >= 2, f"{name}: no visible focus"
    if width == 390:
        sized.screenshot(path=str(artifact(f"phone-tables-{name}-390.png")), full_page=True)


# The axis labels of every chart drawn: those cut at the chart's edges, those of the horizontal
# axis that overlap or repeat the one before, and those that the horizontal axis' name covers.
CUT_LABELS = """() => [...document.querySelectorAll('figure[data-chart][data-drawn] svg')]
.flatMap(svg => {
  const box = svg.getBoundingClientRect();
  const found = [];
  for (const group of svg.querySelectorAll('g[aria-label$="tick label"]')) {
    let last = null;
    const texts = [...group.querySelectorAll('text')].map(t => [t, t.getBoundingClientRect()]);
    for (const [t, r] of texts.sort((a, b) => a[1].left - b[1].left)) {
      if (r.left < box.left - 0.5 || r.right > box.right + 0.5) found.push(`cut: ${t.textContent}`);
      const across = group.getAttribute('aria-label').startsWith('x');
      if (across && last && r.left < last.right) found.push(`overlaps: ${t.textContent}`);
      if (across && last && t.textContent === last.text) found.push(`twice: ${t.textContent}`);
      last = {right: r.right, text: t.textContent};
    }
  }
  const name = svg.querySelector('g[aria-label="x-axis label"] text');
  const under = name && name.getBoundingClientRect();
  for (const t of svg.querySelectorAll('g[aria-label="x-axis tick label"] text')) {
    const r = t.getBoundingClientRect();
    const apart = r.right <= under?.left || r.left >= under?.right
      || r.bottom <= under?.top || r.top >= under?.bottom;
    if (under && !apart) found.push(`under the axis name: ${t.textContent}`);
  }
  return found;
})"""


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("path", ["/partners/NO-BRC-971277882", COUNTRY, f"{OUTCOME}#results"])
def test_chart_axis_labels_fit_on_a_phone(
    browser: Browser, portal: str, lang: str, path: str
) -> None:
    """Each chart's axes have room for their labels in either language ("1,6 M $US")."""
    ctx = browser.new_context(
        base_url=portal, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    try:
        page = ctx.new_page()
        where, _, anchor = path.partition("#")
        open_page(page, f"{where}?lang={lang}" + (f"#{anchor}" if anchor else ""))
        expect(page.locator("figure[data-chart][data-drawn]:visible").first).to_be_visible()
        assert page.locator("figure[data-chart][data-drawn] svg").count() >= 1
        assert page.evaluate(CUT_LABELS) == []
    finally:
        ctx.close()
