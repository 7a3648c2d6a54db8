"""One read model (issue 11): every dataset says the same in every format.

A page's tables, its ``.json``, ``.csv`` and ``.xlsx`` renderings, the API's lists and items
and the OpenAPI item schemas are renderings of the same datasets: here each dataset is read in
every format it is offered in and the rows, their keys and their values must be the same.
Values are compared exactly (JSON read with decimals, CSV and XLSX cells as text).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup
from openpyxl import load_workbook
from starlette.testclient import TestClient
from stores import KINDS, migrated_store

from iatiportal import i18n
from iatiportal.demo import demo_files
from iatiportal.profile import bundled, load_portal
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

ACTIVITY = "XM-DAC-41146-MLI_D_1.1"
YEAR = "year=2023"


@pytest.fixture(scope="module", params=KINDS)
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    with migrated_store(request.param, tmp_path_factory.mktemp("read-model")) as engine:
        assert not ingest(engine, [str(p) for p in demo_files()]).failed
        with TestClient(create_app(engine, load_portal([bundled("unwomen")]))) as c:
            yield c


ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?")


def value(v: Any) -> Any:
    """A cell as every format can say it: None, a boolean, an exact number or text."""
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    if isinstance(v, str) and ISO_TIME.fullmatch(v):
        v = dt.datetime.fromisoformat(v.removesuffix("Z"))
    if isinstance(v, dt.datetime):  # a worksheet holds a date as a time at midnight
        if v.time() == dt.time():
            return v.date().isoformat()
        # ... and a time to the millisecond, as a fraction of a day: compared to the second.
        return (v + dt.timedelta(microseconds=500_000)).isoformat(timespec="seconds")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, int | float | Decimal):
        return Decimal(str(v)).normalize()
    try:
        number = Decimal(v)
    except InvalidOperation:
        return v
    return number.normalize() if number.is_finite() else v


def rows_of(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: value(v) for k, v in r.items()} for r in rows]


def with_query(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}" if query else url


def rendering(client: TestClient, page: str, fmt: str) -> str:
    path, _sep, query = page.partition("?")
    path = (path.rstrip("/") or "/index") + f".{fmt}"
    return f"{path}?{query}" if query else path


def page_json(client: TestClient, page: str, table: str) -> tuple[list[str], list[dict[str, Any]]]:
    response = client.get(rendering(client, page, "json"))
    assert response.status_code == 200, (page, response.text[:300])
    found = json.loads(response.content, parse_float=Decimal)["tables"][table]
    keys = [c["key"] for c in found["columns"]]
    assert [c["label"] for c in found["columns"]] == keys, "one name per field"
    for row in found["rows"]:
        assert list(row) == keys, (page, table)
    return keys, found["rows"]


def page_csv(client: TestClient, page: str, table: str) -> tuple[list[str], list[dict[str, Any]]]:
    url = with_query(rendering(client, page, "csv"), f"table={table}")
    response = client.get(url)
    assert response.status_code == 200, url
    reader = csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def page_xlsx(client: TestClient, page: str, table: str) -> tuple[list[str], list[dict[str, Any]]]:
    response = client.get(rendering(client, page, "xlsx"))
    assert response.status_code == 200, page
    sheet = load_workbook(io.BytesIO(response.content), read_only=True)[table[:31]]
    lines = [list(r) for r in sheet.iter_rows(values_only=True)]
    keys = [str(k) for k in lines[0]]
    return keys, [padded(keys, line) for line in lines[1:]]


def padded(keys: list[str], line: list[Any]) -> dict[str, Any]:
    """A worksheet row as a dict (a row's empty cells at its end are not stored)."""
    assert len(line) <= len(keys)
    return dict(zip(keys, [*line, *[None] * (len(keys) - len(line))], strict=True))


def api_rows(client: TestClient, url: str, table: str | None) -> list[dict[str, Any]]:
    response = client.get(url if table else with_query(url, "per_page=1000"))
    assert response.status_code == 200, (url, response.text[:300])
    body = json.loads(response.content, parse_float=Decimal)
    if table is None:
        assert body["total"] == len(body["items"]), url
        return list(body["items"])
    return list(body["tables"][table])


ACT = quote(ACTIVITY, safe="")
CASES = [
    # (page, table, API URL or None, the API item's table or None for a list)
    (f"/?{YEAR}", "totals", None, None),
    (f"/?{YEAR}", "budget_and_expenditure_by_year", None, None),
    (f"/?{YEAR}", "countries", None, None),
    (f"/?{YEAR}", "sdgs", None, None),
    (f"/?{YEAR}", "counts", None, None),
    (f"/?{YEAR}", "impact_areas", None, None),
    (f"/?{YEAR}", "regions", None, None),
    (f"/?{YEAR}", "funding_partners", None, None),
    (f"/countries?{YEAR}", "countries", f"/api/v1/countries?{YEAR}", None),
    (f"/regions?{YEAR}", "regions", f"/api/v1/regions?{YEAR}", None),
    (f"/partners?{YEAR}", "funding_partners", f"/api/v1/partners?{YEAR}", None),
    (f"/strategic-plan?{YEAR}", "impact_areas", f"/api/v1/strategic-plan?{YEAR}", None),
    *(
        (f"/countries/ML?{YEAR}", t, f"/api/v1/countries/ML?{YEAR}", t)
        for t in (
            "budget_and_expenditure_by_year",
            "funding_partners",
            "impact_areas",
            "funding_partners_by_year",
            "sdgs",
        )
    ),
    (f"/countries/ML/results?{YEAR}", "outcomes", None, None),
    (f"/countries/ML/progress?{YEAR}", "outcomes", None, None),
    (f"/strategic-plan/D1?{YEAR}", "outcomes", None, None),
    (f"/strategic-plan/D1?{YEAR}", "budget_and_expenditure_by_year", None, None),
    *(
        (f"/activities/{ACT}", t, f"/api/v1/activities/{ACT}", t)
        for t in (
            "budget_and_expenditure_by_year",
            "budgets",
            "transactions",
            "indicator_periods",
            "transaction_totals",
            "core_and_non_core",
            "sdgs",
            "funding_partners_by_year",
        )
    ),
    ("/search?q=women", "results", "/api/v1/search?q=women", None),
    ("/activities?country=ML", "activities", None, None),
    ("/-/data-health", "files", None, None),
]


@pytest.mark.parametrize(("page", "table", "api", "item"), CASES)
def test_every_format_gives_the_same_rows_keys_and_values(
    client: TestClient, page: str, table: str, api: str | None, item: str | None
) -> None:
    keys, rows = page_json(client, page, table)
    assert rows, f"{page} {table}: the demo data should fill it"
    expected = rows_of(rows)
    for fmt, read in (("csv", page_csv), ("xlsx", page_xlsx)):
        found_keys, found = read(client, page, table)
        assert found_keys == keys, (fmt, page, table)
        assert rows_of(found) == expected, (fmt, page, table)
    if api is not None:
        items = api_rows(client, api, item)
        assert [list(i) for i in items] == [keys] * len(items), (api, item)
        assert rows_of(items) == expected, (api, item)


ROW_LISTS = [
    "/api/v1/activities?country=ML",
    f"/api/v1/transactions?country=ML&{YEAR}",
    "/api/v1/budgets?country=ML",
    "/api/v1/results?country=ML",
    f"/api/v1/transactions?activity={ACT}",
]


@pytest.mark.parametrize("url", ROW_LISTS)
def test_a_row_list_says_the_same_in_json_csv_jsonl_and_xlsx(client: TestClient, url: str) -> None:
    items = api_rows(client, url, None)
    assert items, url
    expected = rows_of(items)
    keys = list(items[0])
    response = client.get(with_query(url, "format=csv"))
    reader = csv.DictReader(io.StringIO(response.content.decode("utf-8")))
    assert list(reader.fieldnames or []) == keys
    assert rows_of(list(reader)) == expected
    jsonl = client.get(with_query(url, "format=jsonl")).content.decode("utf-8").splitlines()
    assert rows_of([json.loads(line, parse_float=Decimal) for line in jsonl]) == expected
    book = load_workbook(io.BytesIO(client.get(with_query(url, "format=xlsx")).content))
    lines = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    assert [str(k) for k in lines[0]] == keys
    assert rows_of([padded(keys, line) for line in lines[1:]]) == expected


def test_the_openapi_item_schemas_list_every_key_and_no_other(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()

    def loose(node: Any) -> list[Any]:
        found = []
        if isinstance(node, dict):
            if node.get("additionalProperties") is True:
                found.append(node)
            for v in node.values():
                found += loose(v)
        elif isinstance(node, list):
            for v in node:
                found += loose(v)
        return found

    assert loose(spec) == []
    for path, page, table in (
        ("/countries", f"/countries?{YEAR}", "countries"),
        ("/regions", f"/regions?{YEAR}", "regions"),
        ("/partners", f"/partners?{YEAR}", "funding_partners"),
        ("/strategic-plan", f"/strategic-plan?{YEAR}", "impact_areas"),
    ):
        schema = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        item = schema["schema"]["properties"]["items"]["items"]
        keys, _rows = page_json(client, page, table)
        assert list(item["properties"]) == keys == item["required"], path
        assert item["additionalProperties"] is False


HTML_CASES = [
    # (page, table, rows of its HTML table, the attribute naming a row, the key it holds)
    (f"/countries?{YEAR}&per_page=10", "countries", "table.countries tbody tr", "data-code",
     "country_code"),
    (f"/?{YEAR}", "countries", "table.country-money tbody tr", "data-code", "country_code"),
    (f"/?{YEAR}", "sdgs", "table.sdgs tbody tr", "data-code", "sdg"),
    (f"/?{YEAR}", "budget_and_expenditure_by_year", "table.by-year tbody tr", "data-year",
     "year"),
    (f"/countries/ML?{YEAR}", "budget_and_expenditure_by_year", "table.by-year tbody tr",
     "data-year", "year"),
    (f"/regions?{YEAR}", "regions", "table.regions tbody tr", "data-code", "region"),
    (f"/partners?{YEAR}&per_page=10", "funding_partners", "table.funding-partners tbody tr",
     "data-ref", "provider_org_ref"),
    (f"/strategic-plan?{YEAR}", "impact_areas", "table.impact-areas tbody tr[data-code]",
     "data-code", "impact_area"),
]  # fmt: skip


@pytest.mark.parametrize(("page", "table", "selector", "attribute", "key"), HTML_CASES)
def test_the_html_table_shows_the_datasets_rows(
    client: TestClient, page: str, table: str, selector: str, attribute: str, key: str
) -> None:
    _keys, rows = page_json(client, page, table)
    html = BeautifulSoup(client.get(page).text, "html.parser")
    shown = html.select(selector)
    assert shown, (page, selector)
    # The HTML shows the first rows of the dataset, in its order (pages show 10 at a time) ...
    assert [tr.get(attribute) or None for tr in shown] == [
        None if r[key] is None else str(r[key]) for r in rows[: len(shown)]
    ], page
    # ... with its figures: every money amount of a row, as the page formats it.
    checked = 0
    for tr, row in zip(shown, rows, strict=False):
        cells = [td.get_text(" ", strip=True) for td in tr.select("td")]
        for measure in ("budget", "expenditure", "incoming_funds"):
            if measure in row and row[measure] is not None:
                assert i18n.money(row[measure], row["currency"]) in cells, (page, measure, row)
                checked += 1
    assert checked, f"{page} {table}: no amount compared"
