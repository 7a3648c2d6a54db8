"""Charts and maps in a real browser (issue 5), on the demo portal: the world map draws a shape
per country with figures and answers hover, keyboard focus, Enter and clicks; charts draw on the
country, activity and partner pages and save as PNG, SVG and CSV; the partner chart/table toggle
works; no console errors; without JavaScript the tables are there and no empty chart shows; and
axe-core (from node_modules) finds no serious or critical accessibility violation."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
COUNTRY = "ML"
ACTIVITY = "XM-DAC-41146-MLI_D_1.1"
PARTNER = "NO-BRC-971277882"
NO_DATA = "#d9d9d9"


def _open(page: Page, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, path


def _map_spec(page: Page) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(
        page.locator("figure[data-map] script.map-data").text_content() or ""
    )
    return spec


def _drawn_map(page: Page, path: str) -> dict[str, Any]:
    _open(page, path)
    expect(page.locator("figure[data-map]")).to_have_attribute("data-drawn", "true")
    return _map_spec(page)


def test_overview_map_shades_every_country_with_figures(
    page: Page, artifact: Callable[[str], Path]
) -> None:
    spec = _drawn_map(page, "/?year=2023")
    wanted = {c["iso2"] for c in spec["countries"]}
    assert len(wanted) >= 8
    shapes = page.locator("figure[data-map] svg a.country")
    drawn = shapes.evaluate_all("els => els.map(a => a.dataset.iso2)")
    assert sorted(drawn) == sorted(wanted), "one shape per country with figures"
    fills = shapes.evaluate_all("els => els.map(a => a.querySelector('path').getAttribute('fill'))")
    assert NO_DATA not in fills and len(set(fills)) >= 2, fills
    # Shading follows the expenditure figures, and switches to the budget.
    values = dict(shapes.evaluate_all("els => els.map(a => [a.dataset.iso2, a.dataset.value])"))
    by_code = {c["iso2"]: c for c in spec["countries"]}
    assert {k: float(v) for k, v in values.items()} == {
        k: c["expenditure"] for k, c in by_code.items()
    }
    page.get_by_label("Budget", exact=True).check()
    expect(page.locator("figure[data-map]")).to_have_attribute("data-measure", "budget")
    values = dict(shapes.evaluate_all("els => els.map(a => [a.dataset.iso2, a.dataset.value])"))
    assert {k: float(v) for k, v in values.items()} == {k: c["budget"] for k, c in by_code.items()}
    legend = page.locator("figure[data-map] .map-legend li")
    assert legend.count() == 6 and "USD" in (page.locator(".map-legend p").text_content() or "")
    expect(page.locator("figure[data-map] .disclaimer")).to_contain_text(
        "do not imply official endorsement or acceptance by the United Nations"
    )
    expect(page.locator("figure[data-map] .map-missing")).to_be_hidden()  # all are on the map
    page.locator("figure[data-map]").screenshot(path=str(artifact("overview-map.png")))

    # Hovering shows a country's figures.
    mali = page.locator('figure[data-map] a.country[data-iso2="ML"]')
    mali.hover()
    details = page.locator("figure[data-map] .map-details")
    expect(details).to_contain_text("Mali")
    expect(details).to_contain_text(by_code["ML"]["expenditure_text"])
    # Clicking goes to the country page, for the map's year.
    mali.click()
    page.wait_for_url(re.compile(r"/countries/ML\?"))
    assert parse_qs(urlsplit(page.url).query) == {"year": ["2023"]}


def test_map_keyboard_focus_shows_figures_and_enter_follows(page: Page) -> None:
    spec = _drawn_map(page, "/?year=2023&lang=fr")
    first = sorted(spec["countries"], key=lambda c: c["name"])[0]
    page.locator(".map-measure input:checked").focus()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('country')"):
            break
    focused = page.evaluate("document.activeElement.dataset.iso2")
    assert focused == first["iso2"], "Tab reaches the countries in name order"
    expect(page.locator("figure[data-map] .map-details")).to_contain_text(first["name"])
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid", "focused country without a focus ring"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/countries/{first['iso2']}\?"))
    assert parse_qs(urlsplit(page.url).query) == {"year": ["2023"], "lang": ["fr"]}
    expect(page.locator("html")).to_have_attribute("lang", "fr")


def test_region_page_map(page: Page) -> None:
    _open(page, "/regions")
    page.locator("table.regions tbody a, main table a").first.click()
    if page.locator("figure[data-map]").count():
        expect(page.locator("figure[data-map]")).to_have_attribute("data-drawn", "true")
        spec = _map_spec(page)
        assert page.locator("svg a.country").count() + page.locator(
            ".map-missing li"
        ).count() == len(spec["countries"])
    else:  # a region whose activities name no country: the page has no map
        assert page.locator("table.country-money").count() == 0


def _charts(page: Page) -> list[dict[str, Any]]:
    figures = page.locator("figure[data-chart]")
    expect(figures.first).to_have_attribute("data-drawn", "true")
    out = []
    for i in range(figures.count()):
        figure = figures.nth(i)
        spec = json.loads(figure.locator("script.chart-data").text_content() or "")
        out.append({"spec": spec, "figure": figure})
    return out


@pytest.mark.parametrize(
    "path",
    [f"/countries/{COUNTRY}?year=2023", f"/activities/{ACTIVITY}", f"/partners/{PARTNER}"],
)
def test_charts_draw_one_mark_per_figure(
    page: Page, path: str, artifact: Callable[[str], Path]
) -> None:
    _open(page, path)
    charts = _charts(page)
    assert len(charts) >= (1 if "partners" in path else 3)
    for chart in charts:
        spec, figure = chart["spec"], chart["figure"]
        if figure.is_hidden():
            continue
        canvas = figure.locator(".chart-canvas")
        expect(canvas).to_have_attribute("role", "img")
        assert (canvas.get_attribute("aria-label") or "").startswith("Chart: ")
        marks = canvas.locator(
            "svg g[aria-label=bar] rect, svg g[aria-label=dot] circle, svg g[aria-label=dot] path"
        )
        assert marks.count() == len(spec["rows"]), spec["id"]
        if spec["rows"][0]["currency"]:
            axis = canvas.locator("svg [aria-label$='-axis label']").all_text_contents()
            assert any(f"({spec['rows'][0]['currency']})" in t for t in axis), (spec["id"], axis)
    name = urlsplit(path).path.strip("/").split("/")[0]
    page.screenshot(path=str(artifact(f"charts-{name}.png")), full_page=True)


def test_progress_charts_label_each_year_once(page: Page) -> None:
    """An indicator's chart has one x tick per year it shows, each year written once."""
    _open(page, f"/activities/{ACTIVITY}#results")
    progress = [c for c in _charts(page) if c["spec"]["kind"] == "progress"]
    assert progress and all(c["figure"].is_visible() for c in progress)
    for chart in progress:
        figure = chart["figure"]
        expect(figure).to_have_attribute("data-drawn", "true")
        labels = figure.locator("svg [aria-label='x-axis tick label'] text").all_text_contents()
        shown = [t for t in labels if t.strip()]
        years = sorted({str(r["x"]) for r in chart["spec"]["rows"]})
        assert shown == years, (chart["spec"]["id"], labels)


def test_chart_saves_png_svg_and_csv(page: Page) -> None:
    _open(page, f"/countries/{COUNTRY}?year=2023")
    chart = _charts(page)[0]
    spec, figure = chart["spec"], chart["figure"]
    files = {}
    for label in ("Save as PNG", "Save as SVG", "Data as CSV"):
        with page.expect_download() as info:
            figure.get_by_role("button", name=label).click()
        download = info.value
        files[Path(download.suggested_filename).suffix] = Path(download.path()).read_bytes()
    assert files[".png"].startswith(b"\x89PNG\r\n\x1a\n") and len(files[".png"]) > 2000
    svg = files[".svg"].decode()
    assert (
        svg.startswith("<svg") and spec["title"] in svg and svg.count("<rect") >= len(spec["rows"])
    )
    lines = files[".csv"].decode("utf-8-sig").splitlines()
    assert lines[0] == "Year,Measure,Currency,Amount"
    assert sorted(lines[1:]) == sorted(
        f"{r['x']},{r['group']},{r['currency']},{r['value']:.15g}" for r in spec["rows"]
    )


@pytest.mark.parametrize(
    ("path", "table"),
    [(f"/partners/{PARTNER}", "contributions"), (f"/countries/{COUNTRY}", "partner-years")],
)
def test_partner_chart_table_toggle(page: Page, path: str, table: str) -> None:
    _open(page, path)
    button = page.locator(f'.view-toggle button[data-table="{table}"]')
    figure = page.locator(f"#{button.get_attribute('data-chart')}")
    expect(button).to_be_visible()
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(figure).to_be_visible()
    expect(page.locator(f"table#{table}")).to_be_hidden()
    button.focus()
    page.keyboard.press("Enter")  # a real button: the keyboard works it
    expect(button).to_have_attribute("aria-pressed", "false")
    expect(figure).to_be_hidden()
    expect(page.locator(f"table#{table}")).to_be_visible()
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(figure).to_be_visible()
    expect(page.locator(f"table#{table}")).to_be_hidden()


@pytest.mark.parametrize(
    "path", ["/", f"/countries/{COUNTRY}", f"/partners/{PARTNER}", f"/activities/{ACTIVITY}"]
)
def test_without_javascript_tables_show_and_no_empty_chart(
    browser: Browser, portal: str, path: str
) -> None:
    ctx = browser.new_context(base_url=portal, java_script_enabled=False)
    try:
        page = ctx.new_page()
        _open(page, path)
        assert page.locator("figure[data-chart], figure[data-map]").count() > 0
        for figure in page.locator("figure, .view-toggle").all():
            expect(figure).to_be_hidden()
        # Every table shows, but those a reader folds away (a closed <details>: the
        # organisation file's recipient lines), which JavaScript does not hide.
        shown = page.locator("main table").evaluate_all(
            "els => els.filter(e => !e.closest('details')).map(e => e.checkVisibility())"
        )
        assert shown and all(shown)
    finally:
        ctx.close()


@pytest.mark.parametrize(
    "path", [f"/partners/{PARTNER}", "/regions/289", f"/countries/{COUNTRY}?lang=fr"]
)
def test_chart_pages_have_no_console_errors(page: Page, path: str) -> None:
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    _open(page, path)
    page.wait_for_load_state("networkidle")
    expect(page.locator("figure[data-chart]").first).to_have_attribute("data-drawn", "true")
    assert problems == []


@pytest.mark.parametrize(
    "path",
    ["/", f"/countries/{COUNTRY}", f"/activities/{ACTIVITY}", f"/partners/{PARTNER}"],
)
def test_axe_finds_no_serious_or_critical_violations(page: Page, path: str) -> None:
    assert AXE.is_file(), "axe-core is missing: run `make setup` (npm ci)"
    _open(page, path)
    page.wait_for_load_state("networkidle")
    expect(page.locator("figure[data-chart]").first).to_have_attribute("data-drawn", "true")
    # Through the DevTools protocol: the portal's policy refuses an added inline <script>.
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))"
    )
    assert result is not None
    assert [v for v in result if v["impact"] in ("serious", "critical")] == []


# The outcome page shows one section at a time: #locations-heading opens the one of its map.
@pytest.mark.parametrize(
    "path", [f"/countries/{COUNTRY}", f"/activities/{ACTIVITY}#locations-heading"]
)
def test_location_map_draws_a_dot_per_place(
    page: Page, path: str, artifact: Callable[[str], Path]
) -> None:
    _open(page, path)
    figure = page.locator("figure[data-locations]")
    expect(figure).to_have_attribute("data-drawn", "true")
    spec = json.loads(figure.locator("script.location-data").text_content() or "")
    dots = figure.locator("svg circle.place")
    assert dots.count() == len(spec["points"]) >= 1
    inside = dots.evaluate_all(
        "els => els.map(c => { const b = c.ownerSVGElement.viewBox.baseVal;"
        " return c.cx.baseVal.value >= 0 && c.cx.baseVal.value <= b.width"
        " && c.cy.baseVal.value >= 0 && c.cy.baseVal.value <= b.height; })"
    )
    assert all(inside), "every place is drawn inside the map"
    first = spec["points"][0]
    target = figure.locator("svg a, svg circle[tabindex]").first
    target.focus()
    details = figure.locator(".map-details")
    expect(details).to_contain_text(first["activities"][0])
    name = urlsplit(path).path.strip("/").replace("/", "-")
    page.screenshot(path=str(artifact(f"locations-{name}.png")))
    assert page.locator("table.places tbody tr").count() == len(spec["points"])


def test_an_activity_map_outlines_the_country_of_its_places(
    page: Page, artifact: Callable[[str], Path]
) -> None:
    """An outcome's map (no country of its page) shows the country its places are in, Mali,
    not two dots on a blank sea."""
    _open(page, f"/activities/{ACTIVITY}#locations-heading")
    figure = page.locator("figure[data-locations]")
    expect(figure).to_have_attribute("data-drawn", "true")
    expect(figure.locator("svg path.focus-country")).to_have_count(1)
    page.screenshot(path=str(artifact("locations-activity-country.png")))
