"""Downloads in the page's language (issue 13): keys (the header row of .csv and .xlsx, the
JSON keys) never change; the names of codes follow ``?lang=``.

What downloads offer: the header row of every .csv and .xlsx is the keys (no row of labels
besides it); the ``<field>_name`` columns and the names in page tables are labels, values
named in a language."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from starlette.testclient import TestClient
from stores import KINDS, migrated_store

from iatiportal import standard
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "narratives-ar-ru-zh.xml"


@pytest.fixture(scope="module", params=KINDS)
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    with migrated_store(request.param, tmp_path_factory.mktemp("labels")) as engine:
        assert not ingest(engine, [str(FIXTURE)]).failed
        with TestClient(create_app(engine)) as c:
            yield c


def status_name(language: str) -> str:
    """What the IATI codelist calls status 2 in ``language`` (every fixture activity's)."""
    return standard.code_names("ActivityStatus", language)["2"]


def rows_of_csv(body: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(body.lstrip("\ufeff")))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def rows_of_xlsx(body: bytes) -> tuple[list[str], list[dict[str, Any]]]:
    sheet = load_workbook(io.BytesIO(body), read_only=True).worksheets[0]
    header, *values = [list(r) for r in sheet.iter_rows(values_only=True)]
    return [str(h) for h in header], [dict(zip(header, v, strict=False)) for v in values]


def test_the_codelist_names_status_2_differently_in_english_and_french() -> None:
    assert status_name("en") == "Implementation"
    assert status_name("fr") not in ("", status_name("en"))


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "xlsx"])
def test_api_downloads_keep_their_keys_and_name_codes_in_the_language(
    client: TestClient, fmt: str
) -> None:
    def download(lang: str | None) -> tuple[list[str], list[dict[str, Any]]]:
        url = f"/api/v1/activities?format={fmt}" + (f"&lang={lang}" if lang else "")
        response = client.get(url)
        assert response.status_code == 200, response.text
        if fmt == "csv":
            return rows_of_csv(response.text)
        if fmt == "jsonl":
            rows = [json.loads(line) for line in response.text.splitlines() if line]
            return list(rows[0]), rows
        return rows_of_xlsx(response.content)

    english_keys, english = download(None)
    french_keys, french = download("fr")
    assert french_keys == english_keys  # the same keys, in the same order
    assert {"activity_status", "activity_status_name"} <= set(english_keys)
    assert {r["activity_status_name"] for r in english} == {status_name("en")}
    assert {r["activity_status_name"] for r in french} == {status_name("fr")}
    assert [r["activity_status"] for r in french] == [r["activity_status"] for r in english]


def test_api_items_name_codes_in_the_language(client: TestClient) -> None:
    french = client.get("/api/v1/activities?lang=fr").json()["items"]
    assert {i["activity_status_name"] for i in french} == {status_name("fr")}
    item = client.get("/api/v1/activities/XX-TEST-AR?lang=fr").json()
    assert item["activity_status_name"] == status_name("fr")
    assert item["activity_status"] == "2"


def test_the_api_refuses_a_language_it_does_not_have(client: TestClient) -> None:
    response = client.get("/api/v1/activities?lang=xx")
    assert response.status_code == 400
    assert "lang" in response.json()["error"]["message"]


def test_the_api_description_offers_the_language(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path, operation in paths.items():
        names = [p["name"] for p in operation["get"]["parameters"]]
        assert "lang" in names, path


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_page_downloads_keep_their_keys_and_name_codes_in_the_language(
    client: TestClient, fmt: str
) -> None:
    def download(lang: str) -> tuple[list[str], list[dict[str, Any]]]:
        response = client.get(f"/activities.{fmt}?lang={lang}")
        assert response.status_code == 200
        if fmt == "csv":
            return rows_of_csv(response.text)
        return rows_of_xlsx(response.content)

    english_keys, english = download("en")
    french_keys, french = download("fr")
    assert french_keys == english_keys
    assert {r["activity_status_name"] for r in english} == {status_name("en")}
    assert {r["activity_status_name"] for r in french} == {status_name("fr")}
