"""Mali's country page as the model portal has it, on the demo store as ``iatiportal demo``
builds it (``load_demo``: the sample IATI files and the bundled reference extract).

Expectations are read here from the files themselves: the header's figures from
``iatiportal/demo/reference/`` (csv), the outcomes and their narratives from
``iatiportal/demo/data/*.xml`` (lxml), the strategic-plan outcomes from the bundled profile
(tomllib) — not from the code under test.
"""

from __future__ import annotations

import csv
import re
import tomllib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from bs4 import BeautifulSoup, Tag
from lxml import etree
from starlette.testclient import TestClient
from stores import demo_client

from iatiportal.demo import REFERENCE, demo_files
from iatiportal.profile import bundled

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ACTIVITIES = next(p for p in demo_files() if "activities" in p.name)
OUTCOMES = "iati-activity[@hierarchy='1']"
"""The demo's outcomes: Mali's outputs, published as child activities (hierarchy 2), are listed
and counted under their outcome, whose money they split."""
PROFILE = Path(bundled("unwomen"))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with demo_client(tmp_path_factory.mktemp("country")) as test_client:
        yield test_client


def soup(client: TestClient, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, url
    return BeautifulSoup(response.text, "html.parser")


def text(node: Tag | None) -> str:
    assert node is not None
    return " ".join(node.get_text(" ", strip=True).split())


def flat(node: Tag | None) -> str:
    """The text as read, inline elements run together."""
    assert node is not None
    return " ".join(node.get_text().split())


def csv_rows(name: str, skip: int = 0) -> list[dict[str, str]]:
    with (REFERENCE / name).open(encoding="utf-8-sig", newline="") as f:
        for _ in range(skip):
            next(f)
        return list(csv.DictReader(f))


def mali_population(year: int) -> dict[str, Decimal]:
    """Total, male and female (millions) of Mali in ``year``, from the SYB67 extract."""
    series = {
        "Population mid-year estimates (millions)": "total",
        "Population mid-year estimates for males (millions)": "male",
        "Population mid-year estimates for females (millions)": "female",
    }
    rows = csv_rows("SYB67_1_202411_Population_Surface_Area_and_Density.demo.csv", skip=1)
    return {
        series[r["Series"]]: Decimal(r["Value"])
        for r in rows
        if r[""] == "Mali" and r["Year"] == str(year) and r["Series"] in series
    }


def test_header_order_and_reference_values(client: TestClient) -> None:
    page = soup(client, "/countries/ML?year=2024")
    main = page.select_one("main")
    assert main is not None
    # Name, region and plan period; the indicator cards; the Country and Year bar; the tabs.
    order = [
        main.select_one(s)
        for s in ("h1", "dl.country-meta", "dl.reference-indicators", ".selectors", "nav.tabs")
    ]
    assert all(order), order
    positions = [list(main.descendants).index(n) for n in order]
    assert positions == sorted(positions)

    codes = next(r for r in csv_rows("country-codes.demo.csv") if r["ISO3166-1-Alpha-2"] == "ML")
    region = main.select_one('dl.country-meta [data-indicator="un_region"] .value')
    assert text(region) == f"{codes['Region Name']} · {codes['Sub-region Name']}"
    plan = text(main.select_one("dl.country-meta .plan-period"))
    assert plan.startswith("Plan period 2022–2025"), plan

    cards = {d["data-indicator"]: d for d in main.select("dl.reference-indicators > div")}
    assert list(cards) == ["income_group", "ldc", "gii", "gdi", "population", "women_and_men"]
    classes = csv_rows("CLASS_FY2024_list_of_economies.demo.csv")
    income = next(r for r in classes if r["Code"] == "MLI")["Income group"]
    assert text(cards["income_group"].select_one(".value")) == income
    assert text(cards["income_group"].select_one("dt")).endswith("2024")
    ldc = "yes" if codes["Least Developed Countries (LDC)"] == "x" else "no"
    assert text(cards["ldc"].select_one(".value")) == ldc
    hdr = next(
        r for r in csv_rows("HDR23-24_Composite_indices_complete_time_series.demo.csv")
        if r["iso3"] == "MLI"
    )  # fmt: skip
    for key in ("gii", "gdi"):
        latest = max(y for y in range(1990, 2025) if hdr.get(f"{key}_{y}"))
        assert text(cards[key].select_one(".value")) == f"{Decimal(hdr[f'{key}_{latest}']):.3f}"
        assert text(cards[key].select_one("dt")).endswith(str(latest))
        assert str(latest) in text(cards[key].select_one("details.definition .source"))

    people = mali_population(2024)
    population = cards["population"]
    assert text(population.select_one(".value")) == f"{people['total']:.2f} million"
    assert text(population.select_one("dt")).endswith("2024")
    assert population.select_one("[data-sex]") is None  # the next card has them
    sexes = cards["women_and_men"]
    assert text(sexes.select_one("dt")).endswith("2024")
    for sex, label in (("male", "Male"), ("female", "Female")):
        shown = sexes.select_one(f'[data-sex="{sex}"]')
        share = (100 * people[sex] / people["total"]).quantize(Decimal("0.1"))
        assert flat(shown) == f"{label}: {people[sex]:.2f} million ({share} %)"

    # Every card's "i" is a <details> whose summary is named and which holds the definition,
    # the source and (where dated) the year.
    for key, card in cards.items():
        about = card.select_one("details.definition")
        assert about is not None and about.get("open") is None, key
        assert text(about.select_one("summary .visually-hidden")).startswith("About "), key
        body = about.select_one(".definition-text")
        assert body is not None and len(text(body)) > 40, key
        assert "Source:" in text(body), key
        year = re.search(r"(\d{4})$", text(card.select_one("dt")))
        if year:
            assert f"Year: {year.group(1)}" in text(body), key


def test_header_in_french(client: TestClient) -> None:
    page = soup(client, "/countries/ML?year=2022&lang=fr")
    people = mali_population(2022)
    population = page.select_one('dl.reference-indicators [data-indicator="population"]')
    assert population is not None
    assert text(population.select_one(".value")) == f"{people['total']:.2f} millions".replace(
        ".", ","
    )
    sexes = page.select_one('dl.reference-indicators [data-indicator="women_and_men"]')
    assert text(sexes.select_one("dt")).startswith("Femmes et hommes")
    assert text(sexes.select_one('[data-sex="female"]')).startswith("Femmes")
    assert text(page.select_one("dl.country-meta .plan-period")).startswith("Période du plan")
    assert "Source :" in text(population.select_one("details.definition"))


def mali_outcomes() -> list[etree._Element]:
    root = etree.parse(str(ACTIVITIES)).getroot()
    return [
        a
        for a in root.iterfind(OUTCOMES)
        if [c.get("code") for c in a.iterfind("recipient-country")] == ["ML"]
    ]


def narratives(element: etree._Element | None, default: str) -> dict[str, str]:
    if element is None:
        return {}
    return {n.get(XML_LANG, default): (n.text or "").strip() for n in element.iterfind("narrative")}


def year_narratives(activity: etree._Element, year: int) -> dict[str, str]:
    """The profile's [progress] rule: the first comment on an actual of a period starting in
    ``year`` of the activity's outcome (type 2) results."""
    default = activity.get(XML_LANG, "en")
    for period in activity.iterfind("result[@type='2']/indicator/period"):
        start = period.find("period-start")
        if start is None or not (start.get("iso-date") or "").startswith(str(year)):
            continue
        for comment in period.iterfind("actual/comment"):
            found = narratives(comment, default)
            if found:
                return found
    return {}


def plan_outcomes(lang: str) -> dict[str, str]:
    profile = tomllib.loads(PROFILE.read_text(encoding="utf-8"))
    plan = profile["strategic_plan"]
    return {o["code"]: o["statement"].get(lang, o["statement"]["en"]) for o in plan["outcomes"]}


@pytest.mark.parametrize(("lang", "year"), [("en", 2022), ("fr", 2023), ("en", 2024)])
def test_our_progress_outcomes(client: TestClient, lang: str, year: int) -> None:
    page = soup(client, f"/countries/ML/progress?year={year}&lang={lang}")
    articles = {a["data-id"]: a for a in page.select("article.outcome")}
    expected = mali_outcomes()
    assert set(articles) == {a.findtext("iati-identifier").strip() for a in expected}
    sp = plan_outcomes(lang)
    outcome_word = {"en": "Outcome", "fr": "Effet"}[lang]
    related_word, colon = {"en": ("Related to", ": "), "fr": ("Lié à", " : ")}[lang]
    for activity in expected:
        identifier = activity.findtext("iati-identifier").strip()
        article = articles[identifier]
        assert text(article.select_one("h2")) == f"{outcome_word} {identifier}"
        titles = narratives(activity.find("title"), activity.get(XML_LANG, "en"))
        statement = article.select_one(".statement > span:not(.plan-outcome)")
        assert statement is not None
        # Marked with its language where it is not the page's.
        assert statement.get("lang") == (None if lang in titles else "en")
        assert text(statement) == titles.get(lang, titles["en"])
        code = "SP_" + identifier.rsplit("-", 1)[-1].split("_", 1)[1]
        related = article.select_one(".plan-outcome")
        assert related is not None and related["data-code"] == code
        assert flat(related) == f"({related_word} {code}{colon}{sp[code]})"
        published = year_narratives(activity, year)
        assert published, (identifier, year)
        shown = article.select_one(".progress-narrative .narrative")
        assert shown is not None
        if lang in published:
            assert text(shown) == " ".join(published[lang].split())
            assert shown.get("lang") is None  # the page's language
        else:
            first = next(iter(published))
            assert shown.get("lang") == first
            assert text(shown) == " ".join(published[first].split())
        assert str(year) in text(article.select_one(".progress-narrative h3"))
        assert article.select("details.indicators table.indicator tbody tr")


def test_foot_map_summary_disclaimer_and_download(client: TestClient) -> None:
    """Every tab ends, after its panel, with the map summary: the map of Mali's located places
    (and their table), the disclaimer with the note on Kosovo, and Download data."""
    points = set()
    for activity in etree.parse(str(ACTIVITIES)).getroot().iterfind("iati-activity"):
        if activity.find("recipient-country[@code='ML']") is not None:
            for pos in activity.iterfind("location/point/pos"):
                lat, lon = (round(float(v), 4) for v in pos.text.split())
                points.add((lat, lon))
    assert points
    for tab in ("", "/results", "/progress", "/strategic-plan"):
        page = soup(client, f"/countries/ML{tab}?year=2023")
        foot = page.select_one("section.map-summary")
        assert foot is not None, tab
        panel = page.select_one("[role=tabpanel]")
        assert panel is not None and foot in panel.find_all_next("section"), tab
        assert len(page.select("figure[data-locations]")) == 1, tab
        assert foot.select_one("figure[data-locations] script.location-data") is not None, tab
        rows = foot.select("table.places tbody tr")
        assert {(float(r["data-lat"]), float(r["data-lon"])) for r in rows} == points, tab
        assert str(len(points)) in text(foot.select_one(".places")), tab
        notes = text(foot.select_one(".disclaimer"))
        assert "do not imply official endorsement or acceptance by the United Nations" in notes
        assert "Kosovo" in notes and "1244 (1999)" in notes
        download = foot.select_one(".download a")
        assert download is not None and download["href"] == f"/countries/ML{tab}.csv?year=2023"
        assert client.get(download["href"]).headers["content-type"].startswith("text/csv")
    french = soup(client, "/countries/ML/progress?lang=fr")
    assert text(french.select_one("section.map-summary .download a")) == "Télécharger les données"
