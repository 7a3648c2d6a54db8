"""The flow of funds (issue 15) in a real browser, on the demo portal, at 390 px and 1366 px, in
English and Arabic: the Sankey draws one shape per flow with an amount, the table beside it holds
the same figures, the keyboard reaches every node and flow and reads its figure, the page does not
scroll sideways (the diagram's own box does), axe finds nothing, no console errors; without
JavaScript the table is there and no empty diagram shows. The demo's expenditure names no
receiver (one "not named" flow); a second portal over tests/fixtures/flows-receivers.xml draws
what the home publisher passed on (its disbursements and expenditure) to each implementing
partner, the figures checked against sums of the XML. Screenshots go to
test-artifacts/screenshots/flows-*.png."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from playwright.sync_api import Browser, Page, expect
from serving import IATIPORTAL, served, without_proxies
from viewing import axe_violations, open_page, sized_page

pytestmark = pytest.mark.browser

PAGES = {
    "country": ("/countries/KE", "?year=2023"),
    "partner": ("/partners/SE-0", "?year=2023"),
}


RECEIVERS = Path(__file__).resolve().parents[1] / "fixtures" / "flows-receivers.xml"
RECEIVER_PAGES = {
    "receivers-country": ("/countries/ML", "?year=2023"),
    "receivers-partner": ("/partners/XX-DONOR", "?year=2023"),
}
RECEIVER_SCOPES = {"receivers-country": ("ML", None), "receivers-partner": (None, "XX-DONOR")}


def _passed_on(country: str | None, funder: str | None) -> dict[str, Decimal]:
    """From the receivers fixture: disbursements and expenditure (types 3 and 4) of 2023 per
    receiver ref (else name; "not-named": none) of the activities in ``country`` (its share)
    or funded by ``funder``."""
    sums: dict[str, Decimal] = {}
    for a in etree.parse(str(RECEIVERS)).getroot().iterfind("iati-activity"):
        share = Decimal(1)
        if country is not None:
            found = a.find(f"recipient-country[@code='{country}']")
            if found is None:
                continue
            share = Decimal(found.get("percentage", "100")) / 100
        if funder is not None and a.find(f"participating-org[@role='1'][@ref='{funder}']") is None:
            continue
        for tx in a.iterfind("transaction"):
            dated = tx.find("transaction-date").get("iso-date").startswith("2023")
            if tx.find("transaction-type").get("code") not in ("3", "4") or not dated:
                continue
            receiver = tx.find("receiver-org")
            key = "not-named"
            if receiver is not None:
                key = receiver.get("ref") or receiver.findtext("narrative") or "not-named"
            sums[key] = sums.get(key, Decimal(0)) + Decimal(tx.findtext("value")) * share
    return sums


@pytest.fixture(scope="module")
def receivers_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``iatiportal serve`` over the receivers fixture, with a profile for its home publisher."""
    folder = tmp_path_factory.mktemp("receivers")
    db = folder / "receivers.db"
    profile = folder / "home.toml"
    profile.write_text(
        'key = "home"\nreporting_org_refs = ["XX-HOME"]\nname = { en = "Home Agency" }\n'
    )
    loaded = subprocess.run(
        [str(IATIPORTAL), "ingest", "--db", str(db), "--no-snapshot", "-q", str(RECEIVERS)],
        capture_output=True, text=True, env=without_proxies(), cwd=folder, timeout=120,
        check=False,
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    with served(str(db), folder, "--profile", str(profile)) as (base, _server):
        yield base


@pytest.fixture
def on_receivers(browser: Browser, receivers_portal: str, width: int) -> Iterator[Page]:
    with sized_page(browser, receivers_portal, width) as page:
        yield page


def _rows(page: Page, path: str, query: str) -> list[dict[str, Any]]:
    response = page.request.get(f"{path}.json{query}")
    assert response.ok
    rows: list[dict[str, Any]] = response.json()["tables"]["flows"]["rows"]
    return rows


@pytest.mark.parametrize("lang", ["en", "ar"])
@pytest.mark.parametrize("which", sorted(PAGES))
def test_the_diagram_draws_the_table_s_flows(
    sized: Page, which: str, lang: str, artifact: Callable[[str], Path]
) -> None:
    _check_diagram(sized, which, *PAGES[which], lang, artifact)


@pytest.mark.parametrize("lang", ["en", "ar"])
@pytest.mark.parametrize("which", sorted(RECEIVER_PAGES))
def test_the_diagram_draws_each_implementing_partner(
    on_receivers: Page, which: str, lang: str, artifact: Callable[[str], Path]
) -> None:
    dialogs: list[str] = []
    on_receivers.on("dialog", lambda d: dialogs.append(d.message))
    rows = _check_diagram(on_receivers, which, *RECEIVER_PAGES[which], lang, artifact)
    partners = [r for r in rows if r["stage"] == "spending" and r["amount"]]
    assert len(partners) >= 3  # partners with amounts, and the money that names none
    # Disbursements and expenditure, each transaction once: the XX-NGO-2 that was paid only by
    # disbursement is drawn too.
    assert {r["target"]: Decimal(str(r["amount"])) for r in partners} == _passed_on(
        *RECEIVER_SCOPES[which]
    )
    assert "XX-NGO-2" in {r["target"] for r in partners}
    labels = on_receivers.locator("figure[data-flows] path.flow-link").evaluate_all(
        "els => els.map(e => e.getAttribute('aria-label'))"
    )
    assert any("NGO Two" in label for label in labels), labels
    assert dialogs == []  # the receiver named with markup is text, never run


def _check_diagram(
    sized: Page,
    which: str,
    path: str,
    query: str,
    lang: str,
    artifact: Callable[[str], Path],
) -> list[dict[str, Any]]:
    width = (sized.viewport_size or {"width": 0})["width"]
    errors: list[str] = []
    sized.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    rows = _rows(sized, path, f"{query}&lang={lang}")
    open_page(sized, f"{path}{query}&lang={lang}")
    figure = sized.locator("figure[data-flows]")
    expect(figure).to_have_attribute("data-drawn", "true")
    drawn = [r for r in rows if r["amount"]]
    links = figure.locator("path.flow-link")
    expect(links).to_have_count(len(drawn))
    # The table beside it: every row of the dataset, each drawn flow's figure in its row.
    table = sized.locator("section.flows table#flows-table")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(len(rows))
    cells = table.locator("tbody tr td.num").all_inner_texts()
    labels = links.evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")
    for row in drawn:  # each drawn flow named by its figure as the table shows it
        shown = cells[rows.index(row)].strip()
        assert shown, row
        assert any(
            shown in label and row["source_name"] in label and row["target_name"] in label
            for label in labels
        ), (labels, row)
    nodes = figure.locator("g.flow-node")
    funders = {r["source"] for r in drawn if r["stage"] == "funding"}
    spent = {r["target"] for r in drawn if r["stage"] == "spending"}
    expect(nodes).to_have_count(len(funders) + 1 + len(spent))  # 1: the home publisher
    # The keyboard: from the diagram's box, Tab goes through every flow, then every node, and
    # the status line under it reads the focused one's figure.
    figure.locator(".flow-canvas").focus()
    seen = []
    for _ in range(links.count() + nodes.count()):
        sized.keyboard.press("Tab")
        focused = sized.evaluate(
            "() => [document.activeElement.getAttribute('class'),"
            " document.activeElement.getAttribute('aria-label')]"
        )
        seen.append(focused[0])
        expect(figure.locator(".flow-details")).to_have_text(focused[1])
    assert seen == ["flow-link"] * links.count() + ["flow-node"] * nodes.count()
    assert sized.evaluate("document.documentElement.scrollWidth") <= width
    assert errors == []  # before axe, whose own inline styles the page's policy refuses
    assert axe_violations(sized) == [], f"{which} ({lang}, {width}px)"
    sized.locator("section.flows").screenshot(
        path=str(artifact(f"flows-{which}-{lang}-{width}.png"))
    )
    return rows


def test_right_to_left_the_money_flows_from_the_right(sized: Page) -> None:
    path, query = PAGES["country"]
    for lang, funders_right in (("en", False), ("ar", True)):
        open_page(sized, f"{path}{query}&lang={lang}")
        xs = sized.locator("figure[data-flows] g.flow-node rect").evaluate_all(
            "els => els.map(e => [e.parentNode.getAttribute('aria-label'), +e.getAttribute('x')])"
        )
        home = next(x for label, x in xs if label.startswith(("UN Women:", "هيئة")))
        funders = [x for label, x in xs if "Government" in label]
        assert funders and all((x > home) == funders_right for x in funders), (lang, xs)


def test_without_javascript_the_table_is_there(browser: Browser, portal: str) -> None:
    ctx = browser.new_context(
        base_url=portal, viewport={"width": 390, "height": 844}, java_script_enabled=False
    )
    try:
        page = ctx.new_page()
        open_page(page, "/countries/KE?year=2023")
        expect(page.locator("table#flows-table")).to_be_visible()
        expect(page.locator("table#flows-table tbody tr").first).to_be_visible()
        expect(page.locator("figure[data-flows]")).to_be_hidden()
    finally:
        ctx.close()
