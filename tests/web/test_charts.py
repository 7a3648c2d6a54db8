"""The charts' and maps' embedded data (issue 5) on the demo data: the JSON each page embeds for
its charts holds the same figures as the page's tables (its .json rendering and the HTML table
beside the chart), money is never added across currencies, and the portal serves only the
listed browser libraries (pages without them show their tables only)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from lxml import etree
from starlette.testclient import TestClient

from iatiportal.datasets import figures as money_datasets
from iatiportal.demo import demo_files
from iatiportal.profile import bundled, load_portal
from iatiportal.store.db import make_engine, migrate
from iatiportal.store.load import ingest
from iatiportal.web import charts, vendor
from iatiportal.web.app import create_app

ACTIVITY = "XM-DAC-41146-MLI_D_1.1"
PARTNER = "NO-BRC-971277882"  # Government of Norway in the demo data


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('charts') / 'demo.db'}")
    migrate(engine)
    assert not ingest(engine, [str(p) for p in demo_files()]).failed
    portal = load_portal([bundled("unwomen")])
    with TestClient(create_app(engine, portal)) as test_client:
        yield test_client
    engine.dispose()


def page(client: TestClient, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, url
    return BeautifulSoup(response.text, "html.parser")


def embedded(html: BeautifulSoup) -> dict[str, dict[str, Any]]:
    """The charts' JSON of a page, by chart id."""
    specs = [json.loads(s.string) for s in html.select("figure[data-chart] script.chart-data")]
    return {s["id"]: s for s in specs}


def tables(client: TestClient, url: str) -> dict[str, list[dict[str, Any]]]:
    path, _sep, query = url.partition("?")
    data = client.get(f"{path.rstrip('/') or '/index'}.json" + (f"?{query}" if query else ""))
    assert data.status_code == 200
    return {name: t["rows"] for name, t in data.json()["tables"].items()}


def figures(spec: dict[str, Any]) -> dict[tuple[Any, str, str | None], float]:
    out = {(r["x"], r["group"], r["currency"]): r["value"] for r in spec["rows"]}
    assert len(out) == len(spec["rows"]), "two rows for one bar"
    return out


def money_figures(rows: list[dict[str, Any]], x: str) -> dict[tuple[Any, str, str | None], float]:
    """What a budget-and-expenditure chart must show for the rows of a table."""
    out = {}
    for r in rows:
        for measure, name in (("budget", "Budget"), ("expenditure", "Expenditure")):
            if r[x] is not None and r[measure] is not None:
                out[(r[x], name, r["currency"])] = r[measure]
    return out


@pytest.mark.parametrize(
    "url",
    ["/?year=2023", "/countries/ML?year=2023", f"/activities/{ACTIVITY}", "/regions/289"],
)
def test_budget_by_year_chart_has_the_tables_figures(client: TestClient, url: str) -> None:
    html = page(client, url)
    spec = embedded(html)["by-year"]
    rows = tables(client, url)["budget_and_expenditure_by_year"]
    assert rows, f"{url}: no figures to compare"
    assert figures(spec) == money_figures(rows, "year")
    # The HTML table beside the chart shows the chart's figures, as formatted in the chart.
    shown = {}
    for tr in html.select("table.by-year tbody tr"):
        cells = [td.get_text(strip=True) for td in tr.select("td")]
        shown[(int(tr["data-year"]), "Budget")] = cells[0]
        shown[(int(tr["data-year"]), "Expenditure")] = cells[1]
    assert {(r["x"], r["group"]): r["text"] for r in spec["rows"]} == shown
    assert "USD" in spec["summary"] and spec["value_label"] == "Amount"


@pytest.mark.parametrize("url", ["/?year=2023", "/countries/ML?year=2023"])
def test_impact_area_and_sdg_charts_have_the_tables_figures(client: TestClient, url: str) -> None:
    specs = embedded(page(client, url))
    data = tables(client, url)
    assert data["sdgs"], "the demo data has SDG sectors"
    assert figures(specs["impact-areas"]) == money_figures(data["impact_areas"], "name")
    assert figures(specs["sdgs"]) == money_figures(data["sdgs"], "name")
    assert {r["sdg"] for r in data["sdgs"]} >= {"5"}


def test_partner_chart_and_table_hold_the_same_figures(client: TestClient) -> None:
    url = "/countries/ML?year=2023"
    html = page(client, url)
    spec = embedded(html)["partners-by-year"]
    rows = tables(client, url)["funding_partners_by_year"]
    assert spec["kind"] == "stack" and rows
    assert figures(spec) == {
        (r["year"], r["provider_org_name"], r["currency"]): r["incoming_funds"] for r in rows
    }
    # Every chart figure is in the pivoted table (partner by year), formatted as in the chart.
    table = html.select_one("table#partner-years")
    years = [th.get_text(strip=True) for th in table.select("thead th")[2:]]
    cells = {
        (int(year), tr.select_one("th").get_text(strip=True)): td.get_text(strip=True)
        for tr in table.select("tbody tr")
        for year, td in zip(years, tr.select("td.num"), strict=True)
    }
    assert {(r["x"], r["group"]): r["text"] for r in spec["rows"]} == {
        k: v for k, v in cells.items() if v != "–"
    }
    toggle = html.select_one(".view-toggle button")
    assert toggle["aria-pressed"] == "true" and toggle["data-table"] == "partner-years"


def test_partner_page_contributions_chart(client: TestClient) -> None:
    url = f"/partners/{PARTNER}"
    spec = embedded(page(client, url))["contributions-by-year"]
    rows = tables(client, url)["contributions_by_year"]
    assert figures(spec) == {
        (r["year"], "Incoming funds", r["currency"]): r["incoming_funds"] for r in rows
    }


def test_indicator_charts_have_the_indicator_tables_values(client: TestClient) -> None:
    html = page(client, f"/activities/{ACTIVITY}")
    drawn = 0
    for table in html.select("article.result table.indicator"):
        figure = table.find_next_sibling()
        if figure is None or figure.name != "figure":
            continue
        spec = json.loads(figure.select_one("script.chart-data").string)
        assert spec["kind"] == "progress"
        rows = table.select("tbody tr")
        baseline = [
            tr.select("td")[1].get_text(strip=True)
            for tr in rows
            if "baseline" in tr.get("class", [])
        ]
        targets = [
            tr.select("td")[2].get_text(strip=True)
            for tr in rows
            if "baseline" not in tr.get("class", [])
        ]
        actuals = [
            tr.select("td")[3].get_text(strip=True)
            for tr in rows
            if "baseline" not in tr.get("class", [])
        ]
        by_group: dict[str, list[str]] = {}
        for r in spec["rows"]:
            by_group.setdefault(r["group"], []).append(r["text"])
            assert r["value"] == float(r["text"])
        assert by_group == {"Baseline": baseline, "Target": targets, "Actual": actuals}
        drawn += 1
    assert drawn >= 2


def test_world_map_data_matches_the_countries_table(client: TestClient) -> None:
    url = "/?year=2023"
    html = page(client, url)
    spec = json.loads(html.select_one("figure[data-map] script.map-data").string)
    rows = tables(client, url)["countries"]
    assert {
        c["iso2"]: (c["budget"], c["expenditure"], c["currency"]) for c in spec["countries"]
    } == {r["country_code"]: (r["budget"], r["expenditure"], r["currency"]) for r in rows}
    assert {c["iso2"]: c["iso_numeric"] for c in spec["countries"]}["ML"] == "466"
    assert spec["currency"] == "USD" and spec["year"] == 2023
    assert [tr["data-code"] for tr in html.select("table.country-money tbody tr")] == [
        r["country_code"] for r in rows
    ]
    disclaimer = html.select_one("figure[data-map] .disclaimer").get_text(strip=True)
    assert "do not imply official endorsement or acceptance by the United Nations" in disclaimer
    assert html.select_one("figure[data-map]")["data-href"] == "/countries/XX?year=2023"


def test_map_data_names_countries_that_iso_or_the_atlas_lack() -> None:
    lines = [
        {"country_code": "XK", "currency": "USD", "budget": Decimal(5), "expenditure": None},
        {"country_code": "ML", "currency": "USD", "budget": Decimal(7), "expenditure": Decimal(3)},
        {"country_code": "SN", "currency": "EUR", "budget": Decimal(1), "expenditure": Decimal(1)},
    ]
    spec = charts.world_map("m", lines, lambda code: code, 2024)
    numeric = {c["iso2"]: c["iso_numeric"] for c in spec["countries"]}
    assert numeric == {"XK": None, "ML": "466", "SN": "686"}
    assert spec["currency"] == "USD"  # the currency of most countries is shaded; never summed


def test_largest_partners_and_the_rest_keep_every_years_total() -> None:
    rows = [
        {"provider_org": f"P{i}", "provider_org_name": f"Partner {i}", "year": year,
         "currency": "USD", "incoming_funds": Decimal(100 - i)}
        for i in range(9)
        for year in (2022, 2023)
    ]  # fmt: skip
    rows.append({"provider_org": "E", "provider_org_name": "Euro donor", "year": 2022,
                 "currency": "EUR", "incoming_funds": Decimal(5)})  # fmt: skip
    kept = money_datasets.largest_and_other(rows)
    usd = [r for r in kept if r["currency"] == "USD"]
    shown = [r["provider_org"] for r in usd if r["year"] == 2022]
    assert shown == ["P0", "P1", "P2", "P3", "P4", "other"]
    for year in (2022, 2023):
        assert sum(r["incoming_funds"] for r in usd if r["year"] == year) == sum(
            r["incoming_funds"] for r in rows if r["year"] == year and r["currency"] == "USD"
        )
    assert [r for r in kept if r["currency"] == "EUR"] == [rows[-1]]


SITE_JS = ["/static/js/site.js"]


def test_vendor_files_are_served_and_nothing_else(client: TestClient) -> None:
    html = page(client, "/")
    scripts = [s["src"] for s in html.select("script[src]")]
    assert scripts == [
        "/static/js/site.js",
        "/static/vendor/d3.min.js",
        "/static/vendor/plot.min.js",
        "/static/vendor/topojson-client.min.js",
        "/static/js/map.js",
        "/static/js/charts.js",
    ]
    for src in scripts:
        assert client.get(src).status_code == 200, src
    atlas = client.get("/static/vendor/countries-110m.json").json()
    assert atlas["type"] == "Topology"
    for wanted in ("/static/vendor/package.json", "/static/vendor/..%2Fpackage.json"):
        assert client.get(wanted).status_code == 404
    # Pages without charts load only the page enhancements (menu, selectors, tabs), and the map
    # scripts where a map of places is drawn (the foot of every tab of a country page).
    assert [s["src"] for s in page(client, "/about").select("script[src]")] == SITE_JS
    assert [s["src"] for s in page(client, "/countries/ML/results").select("script[src]")] == [
        *SITE_JS,
        "/static/vendor/d3.min.js",
        "/static/vendor/topojson-client.min.js",
        "/static/js/locations.js",
    ]


def test_without_node_modules_pages_show_tables_only(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(vendor, "NODE_MODULES", tmp_path)
    html = page(client, "/countries/ML?year=2022")  # not cached by the tests above
    assert [s["src"] for s in html.select("script[src]")] == SITE_JS
    assert html.select("figure") == []
    assert html.select("table.by-year tbody tr") and html.select("table#partner-years tbody tr")
    assert client.get("/static/vendor/d3.min.js").status_code == 404


def in_mali(act: Any) -> bool:
    return any(c.get("code") == "ML" for c in act.iterfind("recipient-country"))


def one_outcome(act: Any) -> bool:
    return act.findtext("iati-identifier") == "XM-DAC-41146-MLI_D_1.1"


@pytest.mark.parametrize(
    ("url", "keep"),
    [("/countries/ML", in_mali), ("/activities/XM-DAC-41146-MLI_D_1.1", one_outcome)],
)
def test_location_maps_hold_the_places_of_the_table(
    client: TestClient, url: str, keep: Any
) -> None:
    """The embedded places equal the places' table, and both the XML's located points."""
    html = page(client, url)
    spec = json.loads(html.select_one("figure[data-locations] script.location-data").string)
    rows = html.select("table.places tbody tr")
    assert [(float(r["data-lat"]), float(r["data-lon"])) for r in rows] == [
        (p["lat"], p["lon"]) for p in spec["points"]
    ]
    expected = set()
    for path in demo_files():
        for act in etree.parse(str(path)).getroot().iterfind("iati-activity"):
            if keep(act):
                for pos in act.iterfind("location/point/pos"):
                    lat, lon = (round(float(v), 4) for v in pos.text.split())
                    expected.add((lat, lon))
    assert {(p["lat"], p["lon"]) for p in spec["points"]} == expected and expected
    if url.startswith("/countries/"):
        assert spec["country_numeric"] == "466"
