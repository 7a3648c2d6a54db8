"""DAC sector and finance type names in Spanish and Russian (issue 13): the IATI codelists name
them in English and French only; the portal ships the other languages' names. The activity page
shows a sector published as a code by its name, and the transactions download names a finance
type in ``finance_type_name``, in the language ``?lang=`` asks (a download is not negotiated:
without ``lang`` it is English whatever the browser prefers).

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

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "names-sector-finance-type.xml"
ACTIVITY = "/activities/XX-TEST-DAC-NAMES"

# language: (sector 12220, finance type 421)
EXPECTED = {
    "es": ("Atención básica de salud", "Préstamo estándar"),
    "ru": ("Базовое медицинское обслуживание", "Стандартный заём"),
    "en": ("Basic health care", "Standard loan"),
}


@pytest.fixture(scope="module", params=KINDS)
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    with migrated_store(request.param, tmp_path_factory.mktemp("dacnames")) as engine:
        assert not ingest(engine, [str(FIXTURE)]).failed
        with TestClient(create_app(engine)) as c:
            yield c


def finance_type_names(client: TestClient, query: str, **headers: str) -> list[str]:
    response = client.get(f"/api/v1/transactions?format=csv{query}", headers=headers)
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert [r["finance_type"] for r in rows] == ["421"]
    return [r["finance_type_name"] for r in rows]


@pytest.mark.parametrize("lang", list(EXPECTED))
def test_the_activity_page_names_the_sector_in_the_language(client: TestClient, lang: str) -> None:
    response = client.get(f"{ACTIVITY}?lang={lang}")
    assert response.status_code == 200
    soup = BeautifulSoup(response.text, "html.parser")
    rows = [
        [cell.get_text(" ", strip=True) for cell in row.select("td")]
        for row in soup.select("table.sectors tbody tr")
    ]
    assert [row[1:3] for row in rows] == [["12220", EXPECTED[lang][0]]]


@pytest.mark.parametrize("lang", list(EXPECTED))
def test_the_transactions_download_names_the_finance_type_in_the_language(
    client: TestClient, lang: str
) -> None:
    assert finance_type_names(client, f"&lang={lang}") == [EXPECTED[lang][1]]


def test_a_download_without_lang_names_the_finance_type_in_english(client: TestClient) -> None:
    assert finance_type_names(client, "", **{"Accept-Language": "es, ru;q=0.8"}) == [
        EXPECTED["en"][1]
    ]
