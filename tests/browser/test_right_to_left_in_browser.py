"""Arabic pages in a real browser, at a phone's width (390 px) and a laptop's (1366 px): they are
right to left, nothing scrolls sideways, the first tab is on the right, the charts' labels do
not overlap and the bar charts of names have their names on the right, axe (every WCAG 2.0 and
2.1 A and AA rule) finds nothing; screenshots go to test-artifacts/screenshots/. And the served
fonts: Noto Sans Arabic on Arabic pages, Noto Sans SC for Chinese (without it Chinese shows as
empty boxes in Debian's Chromium, which has no Chinese font).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from viewing import axe_violations, open_page

pytestmark = pytest.mark.browser

COUNTRY = "/countries/ML"
OUTCOME = "/activities/XM-DAC-41146-MLI_D_1.1"
PAGES = {
    "overview": "/?lang=ar",
    "country-overview": f"{COUNTRY}?lang=ar",
    "country-results": f"{COUNTRY}/results?lang=ar",
    "country-progress": f"{COUNTRY}/progress?lang=ar",
    "country-strategic-plan": f"{COUNTRY}/strategic-plan?lang=ar",
    "outcome": f"{OUTCOME}?lang=ar",
    "search": "/search?q=women&lang=ar",
}

# Each chart's axes with their tick labels' boxes: Plot names the groups of its axes "x-axis tick
# label", "fy-axis tick label"...
TICK_LABELS = """() => [...document.querySelectorAll('svg.chart-plot')].map((svg) =>
  [...svg.querySelectorAll('g[aria-label$="tick label"]')].map((g) => ({
    axis: g.getAttribute('aria-label'),
    labels: [...g.querySelectorAll('text')].map((t) => {
      const r = t.getBoundingClientRect();
      const size = parseFloat(getComputedStyle(t).fontSize);
      const middle = (r.top + r.bottom) / 2;
      return { left: r.left, right: r.right, middle, size, text: t.textContent };
    }),
  })))"""


def _collide(axis: str, a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two tick labels of one axis overlap: side by side on a horizontal axis; on a
    vertical one, lines closer than the type's size (a box is taller than its letters: Noto Sans
    Arabic's line is twice its size)."""
    if axis.startswith(("x", "fx")):
        return a["left"] < b["right"] - 0.5 and b["left"] < a["right"] - 0.5
    return abs(a["middle"] - b["middle"]) < min(a["size"], b["size"])


@pytest.mark.parametrize("name", list(PAGES))
def test_arabic_pages_are_right_to_left_fit_and_pass_axe(
    sized: Page, width: int, name: str, artifact: Callable[[str], Path]
) -> None:
    open_page(sized, PAGES[name])
    expect(sized.locator("html")).to_have_attribute("dir", "rtl")
    expect(sized.locator("html")).to_have_attribute("lang", "ar")
    scroll_width = sized.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{PAGES[name]} scrolls sideways at {width}px: {scroll_width}"
    sized.screenshot(path=str(artifact(f"rtl-{name}-{width}.png")), full_page=True)
    sized.screenshot(path=str(artifact(f"rtl-{name}-{width}-first-screen.png")))
    assert axe_violations(sized) == []


def _first_is_right_of_second(page: Page) -> None:
    tabs = page.get_by_role("tablist").first.get_by_role("tab")
    first, second = tabs.nth(0).bounding_box(), tabs.nth(1).bounding_box()
    assert first is not None and second is not None
    assert first["x"] >= second["x"] + second["width"] - 1, (first, second)


def test_the_first_tab_is_on_the_right(sized: Page) -> None:
    for key in ("", "/results", "/progress", "/strategic-plan"):
        open_page(sized, f"{COUNTRY}{key}?lang=ar")
        _first_is_right_of_second(sized)
    open_page(sized, f"{OUTCOME}?lang=ar")  # the outcome's sections, a tablist with JavaScript
    _first_is_right_of_second(sized)


def test_skip_link_shows_inside_the_page_when_focused(sized: Page, width: int) -> None:
    open_page(sized, "/?lang=ar")
    sized.keyboard.press("Tab")
    skip = sized.locator("a.skip")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None
    assert box["x"] >= width / 2 and box["x"] + box["width"] <= width, box  # at the right


def test_chart_labels_do_not_overlap_and_names_are_on_the_right(sized: Page) -> None:
    open_page(sized, f"{COUNTRY}?year=2024&lang=ar")
    charts = sized.evaluate(TICK_LABELS)
    assert len(charts) >= 4, "Mali's overview has its four charts"
    for axes in charts:
        for axis in axes:
            labels = axis["labels"]
            for i, a in enumerate(labels):
                for b in labels[i + 1 :]:
                    assert not _collide(axis["axis"], a, b), (axis["axis"], a["text"], b["text"])
    # The impact areas' bars: their names (fy axis) right of the bars, where Arabic lines start.
    names = sized.locator("g[aria-label='fy-axis tick label']")
    figure = sized.locator("figure[data-chart]").filter(has=names).first
    sides = figure.evaluate(
        """(f) => {
          const svg = f.querySelector('svg.chart-plot');
          const names = [...svg.querySelectorAll('g[aria-label="fy-axis tick label"] text')];
          const bars = [...svg.querySelectorAll('g[aria-label="bar"] rect')];
          return {
            names: Math.min(...names.map((t) => t.getBoundingClientRect().left)),
            bars: Math.max(...bars.map((r) => r.getBoundingClientRect().right)),
          };
        }"""
    )
    assert sides["names"] >= sides["bars"] - 1, sides


def test_arabic_pages_use_noto_sans_arabic(sized: Page) -> None:
    open_page(sized, f"{COUNTRY}?lang=ar")
    used = sized.evaluate(
        """async () => {
          await document.fonts.ready;
          return {
            loaded: [...document.fonts].filter((f) => f.status === 'loaded').map((f) => f.family),
            body: getComputedStyle(document.body).fontFamily,
            chart: getComputedStyle(document.querySelector('svg.chart-plot')).fontFamily,
          };
        }"""
    )
    assert "Noto Sans Arabic Variable" in used["loaded"]
    assert used["body"].startswith('"Noto Sans Arabic Variable"'), used
    assert used["chart"].startswith('"Noto Sans Arabic Variable"'), used


def test_chinese_text_renders_with_the_served_font(
    sized: Page, width: int, artifact: Callable[[str], Path]
) -> None:
    open_page(sized, f"{COUNTRY}?lang=zh")
    expect(sized.locator("main h1")).to_have_text("马里")
    found = sized.evaluate(
        """async () => {
          await document.fonts.ready;
          const heading = document.querySelector('main h1');
          const style = getComputedStyle(heading);
          // The heading's glyphs: in the served font two square ideographs of about 1em each;
          // a missing glyph (the fallback box) in Chromium is narrower.
          const ctx = document.createElement('canvas').getContext('2d');
          ctx.font = `${style.fontWeight} 100px "Noto Sans SC Variable"`;
          return {
            loaded: [...document.fonts].filter((f) => f.status === 'loaded').map((f) => f.family),
            ready: document.fonts.check('100px "Noto Sans SC Variable"', '马里'),
            width: ctx.measureText('马里').width,
          };
        }"""
    )
    assert "Noto Sans SC Variable" in found["loaded"], found
    assert found["ready"], found
    assert 190 <= found["width"] <= 210, found
    sized.screenshot(path=str(artifact(f"zh-country-overview-{width}-first-screen.png")))


def test_arabic_money_reads_us_dollar_sign_then_number(sized: Page) -> None:
    """Mali's 2024 budget card shows "US$ 1,193,000": CLDR's Arabic pattern (the number, then the
    sign, read from the right), the "$" after "US" and not split off as "$US"."""
    open_page(sized, f"{COUNTRY}?year=2024&lang=ar")
    where = sized.locator("dd.total-budget").evaluate(
        """(dd) => {
          const walker = document.createTreeWalker(dd, NodeFilter.SHOW_TEXT);
          const node = walker.nextNode();
          const box = (text) => {
            const at = node.data.indexOf(text);
            const range = document.createRange();
            range.setStart(node, at);
            range.setEnd(node, at + text.length);
            const r = range.getBoundingClientRect();
            return { left: r.left, right: r.right };
          };
          return { u: box('U'), dollar: box('$'), number: box('1,193,000') };
        }"""
    )
    assert where["u"]["right"] <= where["dollar"]["left"] + 0.5, where
    assert where["dollar"]["right"] <= where["number"]["left"] + 0.5, where
