"""The strategic plan indicator each indicator reports on (issue 12, point 4): "Strategic plan
indicator {code}: {statement}" and a Common / Complementary badge under the indicator on the
outcome page and on the country's Our progress tab, in the page's language; the code alone where
the profile lacks it; nothing without a reference of the profile's vocabulary; and the
``plan_indicator_code`` of the outcome page's indicator periods table. Expected codes are read
from the demo XML with lxml, statements and badges are the bundled profile's words."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup, Tag
from lxml import etree
from sqlalchemy import Engine
from starlette.testclient import TestClient

from iatiportal.demo import demo_files
from iatiportal.profile import Names, Portal, bundled, load_portal, load_profile
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

ACTIVITIES = next(p for p in demo_files() if "activities" in p.name)
OUTCOME = "XM-DAC-41146-MLI_D_1.1"
PAGE = f"/activities/{quote(OUTCOME, safe='')}"
# The bundled profile's sample wording of the plan indicators of MLI_D_1.1's indicators.
STATEMENTS = {
    "en": {
        "SP_D_1.1_A": "Proportion of seats held by women in national parliaments (sample wording)",
        "SP_D_1.1_B": "Proportion of seats held by women in local governments (sample wording)",
    },
    "fr": {
        "SP_D_1.1_A": "Proportion de sièges occupés par des femmes dans les parlements "
        "nationaux (formulation fictive)",
        "SP_D_1.1_B": "Proportion de sièges occupés par des femmes dans les administrations "
        "locales (formulation fictive)",
    },
}
LINE = {
    "en": "Strategic plan indicator {code}: {statement}",
    "fr": "Indicateur du plan stratégique {code} : {statement}",
}
CODE_ALONE = {
    "en": "Strategic plan indicator {code}",
    "fr": "Indicateur du plan stratégique {code}",
}
BADGES = {
    "en": {"SP_D_1.1_A": ("common", "Common"), "SP_D_1.1_B": ("complementary", "Complementary")},
    "fr": {"SP_D_1.1_A": ("common", "Commun"), "SP_D_1.1_B": ("complementary", "Complémentaire")},
}


def _client(engine: Engine, portal: Portal) -> Iterator[TestClient]:
    assert not ingest(engine, [str(p) for p in demo_files()]).failed
    with TestClient(create_app(engine, portal)) as c:
        yield c


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    yield from _client(engine, load_portal([bundled("unwomen")]))


def soup(client: TestClient, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, url
    return BeautifulSoup(response.text, "html.parser")


def text(node: Tag) -> str:
    return " ".join(node.get_text().split())


def plan_codes(identifier: str) -> list[tuple[str, str | None]]:
    """(title, vocabulary 99 reference code or None) of each indicator of the activity, in
    document order, as its XML has them."""
    root = etree.parse(str(ACTIVITIES)).getroot()
    act = next(a for a in root.iter("iati-activity") if a.findtext("iati-identifier") == identifier)
    found = []
    for indicator in act.iter("indicator"):
        codes = [
            r.get("code") for r in indicator.findall("reference") if r.get("vocabulary") == "99"
        ]
        found.append((indicator.findtext("title/narrative"), codes[0] if codes else None))
    return found


def links(tables: list[Tag]) -> list[Tag | None]:
    """The plan indicator line under each indicator table (None: there is none)."""
    shown = []
    for table in tables:
        after = table.find_next_sibling()
        shown.append(
            after if after is not None and "plan-indicator" in after.get("class", []) else None
        )
    return shown


def check_link(link: Tag | None, code: str | None, lang: str) -> None:
    if code is None:
        assert link is None
        return
    assert link is not None, code
    assert link["data-code"] == code
    badge = link.select_one(".badge")
    assert badge is not None, code
    assert (badge["data-kind"], text(badge)) == BADGES[lang][code]
    badge.extract()
    statement = STATEMENTS[lang][code]
    assert text(link) == LINE[lang].format(code=code, statement=statement)
    # In the page's language, so not marked (a narrative is marked only in another language).
    assert link.find(string=statement).parent.get("lang", lang) == lang


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_outcome_page_shows_each_indicators_plan_indicator(
    client: TestClient, lang: str
) -> None:
    expected = plan_codes(OUTCOME)
    # Two outcome indicators linked (the demo's only ones with two), output indicators not.
    assert [c for _t, c in expected] == ["SP_D_1.1_A", "SP_D_1.1_B", None, None]
    page = soup(client, f"{PAGE}?lang={lang}")
    tables = page.select("#results table.indicator")
    assert [text(t.caption) for t in tables] == [t for t, _c in expected]
    for link, (_title, code) in zip(links(tables), expected, strict=True):
        check_link(link, code, lang)
    # Baseline year and value, and the target and actual of every year, under each indicator.
    root = etree.parse(str(ACTIVITIES)).getroot()
    act = next(a for a in root.iter("iati-activity") if a.findtext("iati-identifier") == OUTCOME)
    for table, indicator in zip(tables, act.iter("indicator"), strict=True):
        baseline = indicator.find("baseline")
        row = table.select_one("tr.baseline")
        assert [text(td) for td in row.select("td")[:2]] == [
            baseline.get("year"),
            baseline.get("value"),
        ]
        rows = [r for r in table.select("tbody tr") if "baseline" not in (r.get("class") or [])]
        shown = [[text(td) for td in r.select("td")[:4]] for r in rows]
        assert shown == [
            [
                p.find("period-start").get("iso-date")[:4],
                "",
                p.find("target").get("value"),
                p.find("actual").get("value"),
            ]
            for p in indicator.findall("period")
        ]


@pytest.fixture
def partly_mapped(engine: Engine) -> Iterator[TestClient]:
    """The bundled profile without SP_D_1.1_A, and SP_D_1.1_B in English only, kind unsaid."""
    profile = load_profile(bundled("unwomen"))
    plan = profile.strategic_plan
    assert plan is not None
    indicators = tuple(
        dataclasses.replace(i, statement=Names({"en": STATEMENTS["en"][i.code]}), kind=None)
        if i.code == "SP_D_1.1_B"
        else i
        for i in plan.indicators
        if i.code != "SP_D_1.1_A"
    )
    changed = dataclasses.replace(
        profile, strategic_plan=dataclasses.replace(plan, indicators=indicators)
    )
    yield from _client(engine, Portal((changed,)))


def test_a_code_the_profile_lacks_is_shown_alone_and_a_statement_falls_back_to_english(
    partly_mapped: TestClient,
) -> None:
    page = soup(partly_mapped, f"{PAGE}?lang=fr")
    first, second, *outputs = links(page.select("#results table.indicator"))
    assert first is not None and second is not None
    assert first["data-code"] == "SP_D_1.1_A"
    assert text(first) == CODE_ALONE["fr"].format(code="SP_D_1.1_A")
    assert first.select(".badge") == []
    statement = STATEMENTS["en"]["SP_D_1.1_B"]
    assert text(second) == LINE["fr"].format(code="SP_D_1.1_B", statement=statement)
    assert second.find(string=statement).parent["lang"] == "en"
    assert second.select(".badge") == []
    assert outputs == [None, None]


def test_the_indicator_periods_table_gives_the_plan_indicator_code(client: TestClient) -> None:
    expected = plan_codes(OUTCOME)
    periods = 3  # a period a year, 2022-2024, on every demo indicator
    wanted = [(title, code) for title, code in expected for _ in range(periods)]
    table = client.get(f"{PAGE}.json").json()["tables"]["indicator_periods"]
    assert "plan_indicator_code" in [c["key"] for c in table["columns"]]
    assert [(r["indicator"], r["plan_indicator_code"]) for r in table["rows"]] == wanted
    response = client.get(f"{PAGE}.csv?table=indicator_periods")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    column = rows[0].index("plan_indicator_code") if "plan_indicator_code" in rows[0] else None
    assert column is not None, rows[0]
    assert [r[column] or None for r in rows[1:]] == [code for _t, code in wanted]
    item = client.get(f"/api/v1/activities/{quote(OUTCOME, safe='')}").json()
    api_rows = item["tables"]["indicator_periods"]
    assert [r["plan_indicator_code"] for r in api_rows] == [code for _t, code in wanted]


def test_our_progress_shows_each_indicators_plan_indicator(client: TestClient) -> None:
    page = soup(client, "/countries/ML/progress?lang=fr")
    articles = page.select("article.outcome")
    assert articles
    linked = 0
    for article in articles:
        identifier = article["data-id"]
        expected = plan_codes(identifier)
        tables = article.select("table.indicator")
        assert len(tables) == len(expected), identifier
        for link, (_title, code) in zip(links(tables), expected, strict=True):
            if code is None:
                assert link is None, identifier
            else:
                assert link is not None and link["data-code"] == code, identifier
                assert text(link).startswith(f"Indicateur du plan stratégique {code} : ")
                linked += 1
    assert linked == 4  # MLI_D_1.1's two, MLI_D_3.1's and MLI_O_2.1's outcome indicators
    # MLI_O_2.1's reports on SP_O_2.1_A, a plan indicator without a kind: no badge there.
    o21 = page.select_one('article.outcome[data-id="XM-DAC-41146-MLI_O_2.1"] p.plan-indicator')
    assert o21 is not None and o21.select(".badge") == []


FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "plan-indicator-references.xml"
PLAN_PROFILE = """reporting_org_refs = ["XX-PLAN"]
[strategic_plan]
indicator_vocabulary = "99"
[[strategic_plan.indicators]]
code = "P1"
kind = "complementary"
statement = { en = "Girls go to school", fr = "Les filles vont à l'école" }
"""


@pytest.fixture
def fixture_client(engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    profile = tmp_path / "plan.toml"
    profile.write_text(PLAN_PROFILE, encoding="utf-8")
    assert not ingest(engine, [str(FIXTURE)]).failed
    with TestClient(create_app(engine, load_portal([profile]))) as c:
        yield c


def test_only_the_publishers_own_vocabulary_links_and_codes_are_escaped(
    fixture_client: TestClient,
) -> None:
    page = soup(fixture_client, "/activities/XX-PLAN-1")
    first, second, third = links(page.select("table.indicator"))
    assert first is not None and first["data-code"] == "P1"
    assert text(first) == "Strategic plan indicator P1: Girls go to school Complementary"
    assert second is not None and second["data-code"] == "<b>P9</b>"
    assert text(second) == "Strategic plan indicator <b>P9</b>"  # as text, not markup
    assert second.select("b") == [] and second.select(".badge") == []
    assert third is None  # a reference of another vocabulary only
    rows = fixture_client.get("/activities/XX-PLAN-1.json").json()["tables"]["indicator_periods"]
    assert [(r["indicator"], r["plan_indicator_code"]) for r in rows["rows"]] == [
        ("I1", "P1"),
        ("I2", "<b>P9</b>"),
        ("I3", None),
    ]
    # XX-OTHER has no profile: its vocabulary 99 is its own, not XX-PLAN's plan.
    other = soup(fixture_client, "/activities/XX-OTHER-1")
    assert len(other.select("table.indicator")) == 1
    assert other.select("p.plan-indicator") == []
    rows = fixture_client.get("/activities/XX-OTHER-1.json").json()["tables"]["indicator_periods"]
    assert [r["plan_indicator_code"] for r in rows["rows"]] == [None]
