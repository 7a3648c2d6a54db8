"""IATI code names and UN M49 region names in the page's language: an activity's status, its
transaction types and result types, a goal's name and Mali's region, on Arabic, Spanish,
Russian and Chinese pages of the demo store (the IATI codelists have English and French only;
the other four come from the names shipped with the package).

The expected strings are written here by hand, not read from the shipped files."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient
from stores import demo_client

ACTIVITY = "/activities/XM-DAC-41146-MLI_D_1.1"

# language: (status 2, transaction types 1 and 4, result types 1 and 2, goal 5, Mali's region)
EXPECTED = {
    "ar": (
        "قيد التنفيذ",
        {"1": "أموال واردة", "4": "نفقات"},
        {"ناتج", "نتيجة"},
        "الهدف 5. المساواة بين الجنسين",
        "أفريقيا · أفريقيا جنوب الصحراء الكبرى",
    ),
    "es": (
        "Ejecución",
        {"1": "Fondos recibidos", "4": "Gasto"},
        {"Producto", "Efecto"},
        "Objetivo 5. Igualdad de género",
        "África · África subsahariana",
    ),
    "ru": (
        "Осуществление",
        {"1": "Поступившие средства", "4": "Расходы"},
        {"Непосредственный результат", "Конечный результат"},
        "Цель 5. Гендерное равенство",
        "Африка · Африка к югу от Сахары",
    ),
    "zh": (
        "执行中",
        {"1": "收到的资金", "4": "支出"},
        {"产出", "成果"},
        "目标5. 性别平等",
        "非洲 · 撒哈拉以南非洲",
    ),
    "fr": (
        "Actif",
        {"1": "Fonds entrants", "4": "Dépenses"},
        {"Extrant", "Effet"},
        None,
        "Afrique · Afrique subsaharienne",
    ),
    "en": (
        "Implementation",
        {"1": "Incoming Funds", "4": "Expenditure"},
        {"Output", "Outcome"},
        "Goal 5. Achieve gender equality and empower all women and girls",
        "Africa · Sub-Saharan Africa",
    ),
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with demo_client(tmp_path_factory.mktemp("codenames")) as test_client:
        yield test_client


def page(client: TestClient, url: str, lang: str) -> BeautifulSoup:
    response = client.get(f"{url}?lang={lang}")
    assert response.status_code == 200, (url, lang)
    return BeautifulSoup(response.text, "html.parser")


def text(soup: BeautifulSoup, selector: str) -> str:
    found = soup.select_one(selector)
    assert found is not None, selector
    return found.get_text(" ", strip=True)


@pytest.mark.parametrize("lang", list(EXPECTED))
def test_code_names_on_the_activity_page_are_in_the_language(client: TestClient, lang: str) -> None:
    status, transaction_types, result_types, goal, _region = EXPECTED[lang]
    soup = page(client, ACTIVITY, lang)
    assert text(soup, "dd.status") == status
    totals = {
        row["data-type"]: row.th.get_text(strip=True)
        for row in soup.select("tr[data-type]")
        if row["data-type"] in transaction_types and row.th is not None
    }
    assert totals == transaction_types
    types = {cell.get_text(strip=True) for cell in soup.select("#results td[data-label]")}
    assert result_types <= types
    if goal is not None:
        assert text(soup, "table.sdgs tr[data-code='5'] th") == goal


@pytest.mark.parametrize("lang", list(EXPECTED))
def test_goal_and_region_on_the_country_page_are_in_the_language(
    client: TestClient, lang: str
) -> None:
    _status, _types, _results, goal, region = EXPECTED[lang]
    soup = page(client, "/countries/ML", lang)
    assert text(soup, "[data-indicator='un_region'] .value") == region
    if goal is not None:
        assert text(soup, "table.sdgs tr[data-code='5'] th") == goal
