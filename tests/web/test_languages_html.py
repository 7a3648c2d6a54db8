"""Every page in the six UN languages, on the demo store: the page's ``<html lang>``, its
words from the language's catalog and the profile's names in it, money as the locale writes it,
and the charts' and maps' labels from the catalog.

The expected words and figures are written here by hand (the figures from CLDR's patterns and
separators), not read from the catalogs or computed with Babel.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient
from stores import demo_client

SIX = ("ar", "zh", "en", "fr", "ru", "es")
OUTCOME = "/activities/XM-DAC-41146-MLI_D_3.1"
PAGES = (
    "/",
    "/activities",
    "/countries",
    "/countries/ML?year=2024",
    "/countries/ML/results?year=2024",
    "/countries/ML/progress?year=2024",
    "/countries/ML/strategic-plan?year=2024",
    "/regions",
    "/regions/289",
    "/partners",
    "/partners/XM-DAC-41146",
    "/search?q=women",
    "/strategic-plan",
    "/strategic-plan/D4",
    "/-/data-health",
    "/-/download",
    "/about",
    OUTCOME,
    "/activities/XM-DAC-41146-MLI_O_2.1",
)

OVERVIEW = {
    "en": "Overview",
    "fr": "Vue d'ensemble",
    "es": "Panorama general",
    "ar": "نظرة عامة",
    "ru": "Обзор",
    "zh": "概览",
}
PORTAL = {
    "en": "UN Women Transparency Portal",
    "fr": "Portail de transparence d'ONU Femmes",
    "es": "Portal de transparencia de ONU Mujeres",
    "ar": "بوابة الشفافية لهيئة الأمم المتحدة للمرأة",
    "ru": "Портал прозрачности Структуры «ООН-женщины»",
    "zh": "联合国妇女署透明度门户网站",
}
MALI = {"en": "Mali", "fr": "Mali", "es": "Malí", "ar": "مالي", "ru": "Мали", "zh": "马里"}
# The profile's names: its activity label (plural) on Mali's page, its plan, and the impact
# area of XM-DAC-41146-MLI_D_3.1.
OUTCOMES = {
    "en": "Outcomes",
    "fr": "Effets",
    "es": "Efectos",
    "ar": "الحصائل",
    "ru": "Конечные результаты",
    "zh": "成果",
}
PLAN = {
    "en": "UN Women Strategic Plan 2018–2021",
    "fr": "Plan stratégique d'ONU Femmes 2018-2021",
    "es": "Plan Estratégico de ONU Mujeres 2018-2021",
    "ar": "الخطة الاستراتيجية لهيئة الأمم المتحدة للمرأة للفترة 2018-2021",
    "ru": "Стратегический план Структуры «ООН-женщины» на 2018–2021 годы",
    "zh": "联合国妇女署2018-2021年战略计划",
}
D3 = {
    "en": "Ending violence against women",
    "fr": "Élimination de la violence à l'égard des femmes",
    "es": "Eliminación de la violencia contra las mujeres",
    "ar": "إنهاء العنف ضد المرأة",
    "ru": "Искоренение насилия в отношении женщин",
    "zh": "消除对妇女的暴力行为",
}
# The strategic-plan outcome SP_D_3.1 of the profile keeps its "(sample wording)" mark.
SAMPLE = {
    "en": "(sample wording)",
    "fr": "(formulation fictive)",
    "es": "(redacción de muestra)",
    "ar": "(صياغة توضيحية)",
    "ru": "(примерная формулировка)",
    "zh": "（示例措辞）",
}
YEAR = {"en": "Year", "fr": "Année", "es": "Año", "ar": "السنة", "ru": "Год", "zh": "年份"}
BUDGET = {
    "en": "Budget",
    "fr": "Budget",
    "es": "Presupuesto",
    "ar": "الميزانية",
    "ru": "Бюджет",
    "zh": "预算",
}
EXPENDITURE = {
    "en": "Expenditure",
    "fr": "Dépenses",
    "es": "Gastos",
    "ar": "النفقات",
    "ru": "Расходы",
    "zh": "支出",
}
# Mali's 2024 budget and expenditure in the demo data (tests/web/test_countries.py checks
# these figures against the XML), in US dollars, as CLDR writes them without decimals: the
# sign before the number in English and Chinese ("US$" where "$" is not the local dollar),
# after it in French, Spanish, Russian and Arabic after a no-break space; French groups with
# a narrow no-break space (U+202F), Russian with a no-break space (U+00A0), Spanish with a
# dot; Arabic's pattern starts with a right-to-left mark (U+200F) and, in Latin digits, groups
# with a comma; its sign is isolated left to right (U+2066 ... U+2069: test_right_to_left.py).
NBSP, NNBSP, RLM, LRI, PDI = "\u00a0", "\u202f", "\u200f", "\u2066", "\u2069"
MONEY = {
    "en": ("$1,193,000", "$1,027,210"),
    "fr": (f"1{NNBSP}193{NNBSP}000{NBSP}$US", f"1{NNBSP}027{NNBSP}210{NBSP}$US"),
    "es": (f"1.193.000{NBSP}US$", f"1.027.210{NBSP}US$"),
    "ar": (f"{RLM}1,193,000{NBSP}{LRI}US${PDI}", f"{RLM}1,027,210{NBSP}{LRI}US${PDI}"),
    "ru": (f"1{NBSP}193{NBSP}000{NBSP}$", f"1{NBSP}027{NBSP}210{NBSP}$"),
    "zh": ("US$1,193,000", "US$1,027,210"),
}


# The outcome's start and end dates (1 January 2022, 31 December 2025 in the demo XML) in
# CLDR's medium date format: Arabic's day/month/year with right-to-left marks, Russian's
# year abbreviation after a narrow no-break space.
DATES = {
    "en": ("Start", "Jan 1, 2022", "End", "Dec 31, 2025"),
    "fr": ("Début", "1 janv. 2022", "Fin", "31 déc. 2025"),
    "es": ("Inicio", "1 ene 2022", "Fin", "31 dic 2025"),
    "ar": ("البداية", f"01{RLM}/01{RLM}/2022", "النهاية", f"31{RLM}/12{RLM}/2025"),
    "ru": ("Начало", f"1 янв. 2022{NNBSP}г.", "Окончание", f"31 дек. 2025{NNBSP}г."),
    "zh": ("开始", "2022年1月1日", "结束", "2025年12月31日"),
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with demo_client(tmp_path_factory.mktemp("languages")) as test_client:
        yield test_client


def soup(client: TestClient, url: str, lang: str) -> BeautifulSoup:
    response = client.get(url + ("&" if "?" in url else "?") + f"lang={lang}")
    assert response.status_code == 200, (url, lang)
    return BeautifulSoup(response.text, "html.parser")


def words(page: BeautifulSoup, selector: str) -> str:
    node = page.select_one(selector)
    assert node is not None, selector
    return " ".join(node.get_text(" ", strip=True).split())


@pytest.mark.parametrize("lang", SIX)
def test_every_page_renders_in_the_language(client: TestClient, lang: str) -> None:
    for url in PAGES:
        page = soup(client, url, lang)
        html = page.select_one("html")
        assert html is not None and html["lang"] == lang, url
        assert words(page, ".brand-name") == PORTAL[lang], url
        nav = [a.get_text(strip=True) for a in page.select("header.site nav a")]
        assert OVERVIEW[lang] in nav, url
        switch = page.select("nav.languages a")
        assert [a["hreflang"] for a in switch] == list(SIX), url
    missing = client.get(f"/no-such-page?lang={lang}")
    assert missing.status_code == 404
    assert f'<html lang="{lang}"' in missing.text


@pytest.mark.parametrize("lang", SIX)
def test_mali_page_money_and_names(client: TestClient, lang: str) -> None:
    page = soup(client, "/countries/ML?year=2024", lang)
    assert words(page, "main h1") == MALI[lang]
    assert OUTCOMES[lang] in [dt.get_text(strip=True) for dt in page.select("main dt")]
    budget, expenditure = MONEY[lang]
    assert page.select_one("dd.total-budget").get_text(strip=True) == budget  # type: ignore[union-attr]
    assert page.select_one("dd.total-expenditure").get_text(strip=True) == expenditure  # type: ignore[union-attr]


@pytest.mark.parametrize("lang", SIX)
def test_outcome_page_names_from_the_profile(client: TestClient, lang: str) -> None:
    page = soup(client, OUTCOME, lang)
    assert words(page, "dd.plan-name").startswith(PLAN[lang])
    assert words(page, "dd.impact-area") == f"D3 {D3[lang]}"
    statement = words(page, "dd.plan-outcome")
    assert statement.startswith("SP_D_3.1 ") and statement.endswith(SAMPLE[lang]), statement
    start, start_date, end, end_date = DATES[lang]
    summary = {
        dt.get_text(strip=True): dt.find_next_sibling("dd").get_text(strip=True)
        for dt in page.select("#summary dt")
    }
    assert (summary[start], summary[end]) == (start_date, end_date)


@pytest.mark.parametrize("lang", SIX)
def test_chart_and_map_labels_come_from_the_catalog(client: TestClient, lang: str) -> None:
    mali = soup(client, "/countries/ML?year=2024", lang)
    charts = [json.loads(s.get_text()) for s in mali.select("script.chart-data")]
    by_year = next(c for c in charts if c["id"] == "by-year")
    assert by_year["x_label"] == YEAR[lang]
    assert {r["group"] for r in by_year["rows"]} == {BUDGET[lang], EXPENDITURE[lang]}
    assert MONEY[lang][0] in {r["text"] for r in by_year["rows"]}
    overview = soup(client, "/?year=2024", lang)
    maps = [json.loads(s.get_text()) for s in overview.select("script.map-data")]
    assert maps, "the overview has its world map"
    assert maps[0]["measures"] == {"expenditure": EXPENDITURE[lang], "budget": BUDGET[lang]}
