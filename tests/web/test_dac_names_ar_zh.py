"""DAC sector and finance type names in Arabic and Chinese (issue 13): the activity page names
a sector published without a narrative, and the transactions download names each finance type
in ``finance_type_name``, in the language of ``?lang=`` (the IATI codelists have English and
French only: the Arabic and Chinese come from the names shipped with the package; English and
French are here to show the same rows in the codelists' own languages).

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

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "dac-sector-finance-type-codes.xml"

# language: ({sector code: name}, {finance type code: name})
EXPECTED = {
    "ar": (
        {"12240": "التغذية الأساسية", "92010": "دعم المنظمات غير الحكومية الوطنية"},
        {"110": "منحة عادية", "421": "قرض عادي"},
    ),
    "zh": (
        {"12240": "基本营养", "92010": "支助国家非政府组织"},
        {"110": "标准赠款", "421": "标准贷款"},
    ),
    "fr": (
        {"12240": "Nutrition de base", "92010": "Soutien aux ONG nationales"},
        {"110": "Dons ordinaires", "421": "Prêt ordinaire"},
    ),
    "en": (
        {"12240": "Basic nutrition", "92010": "Support to national NGOs"},
        {"110": "Standard grant", "421": "Standard loan"},
    ),
}


@pytest.fixture(scope="module", params=KINDS)
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    with migrated_store(request.param, tmp_path_factory.mktemp("dacnames")) as engine:
        assert not ingest(engine, [str(FIXTURE)]).failed
        with TestClient(create_app(engine)) as c:
            yield c


@pytest.mark.parametrize("lang", list(EXPECTED))
def test_the_activity_page_names_its_sectors_in_the_language(client: TestClient, lang: str) -> None:
    response = client.get(f"/activities/XX-DAC-1?lang={lang}")
    assert response.status_code == 200
    soup = BeautifulSoup(response.text, "html.parser")
    names = {}
    for row in soup.select("table.sectors tbody tr"):
        cells = row.find_all("td")
        names[cells[1].get_text(strip=True)] = cells[2].get_text(" ", strip=True)
    assert names == EXPECTED[lang][0]


@pytest.mark.parametrize("lang", list(EXPECTED))
def test_the_transactions_download_names_finance_types_in_the_language(
    client: TestClient, lang: str
) -> None:
    response = client.get(f"/api/v1/transactions?activity=XX-DAC-1&format=csv&lang={lang}")
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert {r["finance_type"]: r["finance_type_name"] for r in rows} == EXPECTED[lang][1]
