"""DAC sector and finance type names in the six languages (issue 13): the activity page names a
sector published without a narrative, and the transactions download names each finance type in
``finance_type_name``, in the language of ``?lang=`` (a download is not negotiated: without
``lang`` it is English whatever the browser prefers). The IATI codelists have English and French
only: Arabic, Chinese, Spanish and Russian come from the names shipped with the package.

The expected strings are written here by hand, not read from the shipped files."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient
from stores import KINDS, migrated_store

from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# Two activities: XX-DAC-1 (sectors 12240 and 92010, finance types 110 and 421) and
# XX-TEST-DAC-NAMES (sector 12220, finance type 421).
FILES = ("dac-sector-finance-type-codes.xml", "names-sector-finance-type.xml")

# language: activity -> ({sector code: name}, {finance type code: name})
EXPECTED = {
    "ar": {
        "XX-DAC-1": (
            {"12240": "التغذية الأساسية", "92010": "دعم المنظمات غير الحكومية الوطنية"},
            {"110": "منحة عادية", "421": "قرض عادي"},
        ),
    },
    "zh": {
        "XX-DAC-1": (
            {"12240": "基本营养", "92010": "支助国家非政府组织"},
            {"110": "标准赠款", "421": "标准贷款"},
        ),
    },
    "es": {
        "XX-TEST-DAC-NAMES": ({"12220": "Atención básica de salud"}, {"421": "Préstamo estándar"}),
    },
    "ru": {
        "XX-TEST-DAC-NAMES": (
            {"12220": "Базовое медицинское обслуживание"},
            {"421": "Стандартный заём"},
        ),
    },
    "fr": {
        "XX-DAC-1": (
            {"12240": "Nutrition de base", "92010": "Soutien aux ONG nationales"},
            {"110": "Dons ordinaires", "421": "Prêt ordinaire"},
        ),
    },
    "en": {
        "XX-DAC-1": (
            {"12240": "Basic nutrition", "92010": "Support to national NGOs"},
            {"110": "Standard grant", "421": "Standard loan"},
        ),
        "XX-TEST-DAC-NAMES": ({"12220": "Basic health care"}, {"421": "Standard loan"}),
    },
}
CASES = [(lang, act) for lang, acts in EXPECTED.items() for act in acts]


@pytest.fixture(scope="module", params=KINDS)
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    with migrated_store(request.param, tmp_path_factory.mktemp("dacnames")) as engine:
        assert not ingest(engine, [str(FIXTURES / name) for name in FILES]).failed
        with TestClient(create_app(engine)) as c:
            yield c


def finance_type_names(
    client: TestClient, activity: str, query: str, **headers: str
) -> dict[str, str]:
    response = client.get(
        f"/api/v1/transactions?activity={activity}&format=csv{query}", headers=headers
    )
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    return {r["finance_type"]: r["finance_type_name"] for r in rows}


@pytest.mark.parametrize(("lang", "activity"), CASES)
def test_the_activity_page_names_its_sectors_in_the_language(
    client: TestClient, lang: str, activity: str
) -> None:
    response = client.get(f"/activities/{activity}?lang={lang}")
    assert response.status_code == 200
    soup = BeautifulSoup(response.text, "html.parser")
    names = {}
    for row in soup.select("table.sectors tbody tr"):
        cells = row.find_all("td")
        names[cells[1].get_text(strip=True)] = cells[2].get_text(" ", strip=True)
    assert names == EXPECTED[lang][activity][0]


@pytest.mark.parametrize(("lang", "activity"), CASES)
def test_the_transactions_download_names_finance_types_in_the_language(
    client: TestClient, lang: str, activity: str
) -> None:
    assert finance_type_names(client, activity, f"&lang={lang}") == EXPECTED[lang][activity][1]


def test_a_download_without_lang_names_the_finance_type_in_english(client: TestClient) -> None:
    found = finance_type_names(
        client, "XX-TEST-DAC-NAMES", "", **{"Accept-Language": "es, ru;q=0.8"}
    )
    assert found == {"421": "Standard loan"}
