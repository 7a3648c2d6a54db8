"""The public API on the demo data and a real UN Women file, checked against the XML.

Expected counts and sums come from lxml over the same files, written here; the API's own
figures are never the expectation.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from lxml import etree
from openpyxl import load_workbook
from starlette.testclient import TestClient
from stores import KINDS, migrated_store

from iatiportal import standard
from iatiportal.demo import demo_files
from iatiportal.profile import bundled, load_portal
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

UNWOMEN = "iati/unwomen/XM-DAC-41146_unwomen_dportal-covid19-extract_2021-06-15.xml"


@pytest.fixture(scope="module", params=KINDS)
def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, shared: Path
) -> Iterator[tuple[TestClient, list[Any]]]:
    """The API over one store per database for the whole module (the tests only read it)."""
    files = [*demo_files(), shared / UNWOMEN]
    activities = [
        act for path in files for act in etree.parse(str(path)).getroot().iterfind("iati-activity")
    ]
    with migrated_store(request.param, tmp_path_factory.mktemp("api")) as engine:
        assert not ingest(engine, [str(p) for p in files]).failed
        with TestClient(create_app(engine, load_portal([bundled("unwomen")]))) as client:
            yield client, activities


def get(client: TestClient, url: str, status: int = 200) -> Any:
    response = client.get(url)
    assert response.status_code == status, (url, response.text[:300])
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["access-control-allow-origin"] == "*"
    return response.json()


def all_items(client: TestClient, url: str) -> list[dict[str, Any]]:
    """Every item of a list, page by page (1,000 at a time)."""
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        sep = "&" if "?" in url else "?"
        body = get(client, f"{url}{sep}per_page=1000&page={page}")
        items += body["items"]
        if len(items) >= body["total"]:
            assert len(items) == body["total"]
            return items
        page += 1


def ident(act: Any) -> str:
    return (act.findtext("iati-identifier") or "").strip()


def countries_of(act: Any) -> set[str]:
    return {c.get("code") for c in act.iterfind("recipient-country")}


def test_lists_hold_what_the_files_hold(api: tuple[TestClient, list[Any]]) -> None:
    client, acts = api
    body = get(client, "/api/v1/activities?per_page=5&page=2")
    assert set(body) == {"total", "page", "per_page", "items"}
    assert (body["total"], body["page"], body["per_page"]) == (len(acts), 2, 5)
    assert len(body["items"]) == 5
    listed = [i["iati_identifier"] for i in all_items(client, "/api/v1/activities")]
    assert listed == sorted(ident(a) for a in acts)

    transactions = all_items(client, "/api/v1/transactions")
    assert len(transactions) == sum(len(a.findall("transaction")) for a in acts)
    budgets = all_items(client, "/api/v1/budgets")
    assert len(budgets) == sum(len(a.findall("budget")) for a in acts)
    # One item per indicator period; an indicator without periods or a result without
    # indicators is one item too.
    periods = 0
    for a in acts:
        for result in a.iterfind("result"):
            indicators = result.findall("indicator")
            periods += sum(max(1, len(i.findall("period"))) for i in indicators) or 1
    assert len(all_items(client, "/api/v1/results")) == periods


def test_money_is_exact_and_codes_come_with_names(api: tuple[TestClient, list[Any]]) -> None:
    client, acts = api
    expected: dict[str, Decimal] = {}
    for a in acts:
        if "ML" in countries_of(a):
            for t in a.iterfind("transaction"):
                if t.find("transaction-type").get("code") == "4":
                    currency = t.find("value").get("currency") or a.get("default-currency")
                    value = Decimal(t.findtext("value").strip())
                    expected[currency] = expected.get(currency, Decimal(0)) + value
    items = all_items(client, "/api/v1/transactions?country=ml")
    got: dict[str, Decimal] = {}
    for item in items:
        if item["transaction_type"] == "4":
            assert item["transaction_type_name"] == "Expenditure"
            got[item["currency"]] = got.get(item["currency"], Decimal(0)) + Decimal(
                str(item["value"])
            )
    assert got == expected and expected


def test_filters_select_what_the_xml_says(api: tuple[TestClient, list[Any]]) -> None:
    client, acts = api
    in_mali = {ident(a) for a in acts if "ML" in countries_of(a)}
    listed = {i["iati_identifier"] for i in all_items(client, "/api/v1/activities?country=ML")}
    assert listed == in_mali and in_mali

    d1 = {ident(a) for a in acts if "_D_1." in ident(a)}
    listed = {i["iati_identifier"] for i in all_items(client, "/api/v1/activities?impact_area=D1")}
    assert listed == d1 and d1

    def year_of(t: Any) -> int | None:
        date = t.find("transaction-date")
        when = date.get("iso-date") if date is not None else t.find("value").get("value-date")
        return int(when[:4]) if when else None

    in_2022 = sum(1 for a in acts for t in a.iterfind("transaction") if year_of(t) == 2022)
    assert get(client, "/api/v1/transactions?year=2022&per_page=1")["total"] == in_2022

    def partners_of(a: Any) -> set[str]:
        refs = {o.get("ref") for o in a.iterfind("participating-org") if o.get("role") == "1"}
        for t in a.iterfind("transaction"):
            provider = t.find("provider-org")
            if t.find("transaction-type").get("code") == "1" and provider is not None:
                refs.add(provider.get("ref"))
        return refs

    sweden = {ident(a) for a in acts if "SE-0" in partners_of(a)}
    listed = {i["iati_identifier"] for i in all_items(client, "/api/v1/activities?partner=SE-0")}
    assert listed == sweden and sweden

    newest = get(client, "/api/v1/budgets?sort=-value&per_page=3")["items"]
    values = [Decimal(str(b["value"])) for b in newest]
    assert values == sorted(values, reverse=True)
    assert values[0] == max(
        Decimal(b.findtext("value").strip()) for a in acts for b in a.iterfind("budget")
    )


@pytest.mark.parametrize(
    ("url", "status", "words"),
    [
        ("/api/v1/activities?year=20x1", 400, "year"),
        ("/api/v1/activities?per_page=1001", 400, "per_page"),
        ("/api/v1/activities?page=0", 400, "page"),
        ("/api/v1/activities?country=Mali", 400, "country"),
        ("/api/v1/activities?humanitarian=maybe", 400, "humanitarian"),
        ("/api/v1/activities?impact_area=Z9", 400, "impact_area"),
        ("/api/v1/activities?sdg=18", 400, "sdg"),
        ("/api/v1/transactions?sort=colour", 400, "sort"),
        ("/api/v1/activities/XX-NOT-THERE", 404, "XX-NOT-THERE"),
        ("/api/v1/countries/QQ", 404, "QQ"),
        ("/api/v1/widgets", 404, "widgets"),
    ],
)
def test_errors_are_json_with_the_right_status(
    api: tuple[TestClient, list[Any]], url: str, status: int, words: str
) -> None:
    client, _acts = api
    body = get(client, url, status)
    assert body["error"]["status"] == status
    assert words in body["error"]["message"]


def test_one_activity_and_one_country(api: tuple[TestClient, list[Any]]) -> None:
    client, acts = api
    real = next(a for a in acts if ident(a) == "XM-DAC-41146-PAP _O_1.1")
    body = get(client, "/api/v1/activities/XM-DAC-41146-PAP%20_O_1.1")
    assert body["iati_identifier"] == "XM-DAC-41146-PAP _O_1.1"
    assert body["title"] == real.find("title/narrative").text.strip()
    assert len(body["tables"]["transactions"]) == len(real.findall("transaction"))
    mali = get(client, "/api/v1/countries/ml?year=2023")
    assert mali["country"] == "ML" and mali["year"] == 2023 and mali["name"] == "Mali"
    years = {r["year"] for r in mali["tables"]["budget_and_expenditure_by_year"]}
    assert 2023 in years


def test_aggregates_are_the_pages_tables(api: tuple[TestClient, list[Any]]) -> None:
    client, _acts = api
    for name, table in (
        ("countries", "countries"),
        ("partners", "funding_partners"),
        ("regions", "regions"),
        ("strategic-plan", "impact_areas"),
    ):
        page = client.get(f"/{name}.json?year=2023").json()["tables"][table]["rows"]
        api_items = all_items(client, f"/api/v1/{name}?year=2023")
        assert api_items == page, name
        assert api_items, name


def test_search_ranks_and_counts(api: tuple[TestClient, list[Any]]) -> None:
    client, _acts = api
    body = get(client, "/api/v1/search?q=women+violence&per_page=5")
    page = client.get("/search.json?q=women+violence&per_page=5").json()
    assert body["total"] > 5
    assert [i["iati_identifier"] for i in body["items"]] == [
        r["iati_identifier"] for r in page["tables"]["results"]["rows"][:5]
    ]
    assert sum(n["count"] for n in body["facets"]["humanitarian"]) == body["total"]
    nothing = get(client, "/api/v1/search?q=%21%3F")  # no words: nothing matches
    assert (nothing["total"], nothing["items"]) == (0, [])


def test_openapi_describes_every_resource(api: tuple[TestClient, list[Any]]) -> None:
    client, _acts = api
    spec = get(client, "/api/v1/openapi.json")
    assert spec["openapi"].startswith("3.1")
    wanted = {
        "/activities", "/activities/{identifier}", "/transactions", "/budgets", "/results",
        "/countries", "/countries/{code}", "/regions", "/partners", "/strategic-plan",
        "/search", "/problems",
    }  # fmt: skip
    assert wanted <= set(spec["paths"])
    params = {p["name"] for p in spec["paths"]["/activities"]["get"]["parameters"]}
    assert {
        "country", "region", "year", "reporting_org", "partner", "sector", "sector_vocabulary",
        "impact_area", "sdg", "humanitarian", "q", "page", "per_page", "sort",
    } <= params  # fmt: skip
    item = spec["paths"]["/transactions"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]["properties"]["items"]["items"]
    first = get(client, "/api/v1/transactions?per_page=1")["items"][0]
    assert set(first) == set(item["properties"])
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and "<script" not in docs.text
    page = BeautifulSoup(docs.text, "html.parser")
    assert {s["data-path"] for s in page.select("section.endpoint")} == set(spec["paths"])
    assert page.select_one("link[rel=stylesheet]")["href"].startswith("/static/")


def test_a_path_no_route_takes_is_a_json_404(api: tuple[TestClient, list[Any]]) -> None:
    client, _acts = api
    body = get(client, "/api/v1/activities/%0Aline", 404)
    assert body["error"]["status"] == 404


# -- downloads --------------------------------------------------------------------------------


def test_downloads_hold_every_row_in_every_format(api: tuple[TestClient, list[Any]]) -> None:
    client, acts = api
    in_mali = [a for a in acts if "ML" in countries_of(a)]
    expected = sum(len(a.findall("transaction")) for a in in_mali)
    json_items = all_items(client, "/api/v1/transactions?country=ML")
    assert len(json_items) == expected

    response = client.get("/api/v1/transactions?country=ML&per_page=2&format=csv&bom=1")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert 'filename="iatiportal-transactions-ML.csv"' in disposition
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == expected  # every row, not one page
    assert {"transaction_type", "transaction_type_name"} <= set(rows[0])
    assert [r["iati_identifier"] for r in rows] == [i["iati_identifier"] for i in json_items]
    total = sum(Decimal(r["value"]) for r in rows if r["currency"] == "USD")
    assert total == sum(Decimal(str(i["value"])) for i in json_items if i["currency"] == "USD")

    lines = client.get("/api/v1/transactions?country=ML&format=jsonl").text.splitlines()
    assert [json.loads(line) for line in lines] == json_items

    book = load_workbook(
        io.BytesIO(client.get("/api/v1/transactions?country=ML&format=xlsx").content)
    )
    sheet = book["transactions"]
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    assert header == list(rows[0])
    assert sheet.max_row == expected + 1


def test_xml_download_is_valid_iati_of_the_listed_activities(
    api: tuple[TestClient, list[Any]],
) -> None:
    client, acts = api
    response = client.get("/api/v1/activities?country=ML&format=xml")
    assert response.status_code == 200
    assert 'filename="iatiportal-activities-ML.xml"' in response.headers["content-disposition"]
    root = etree.fromstring(response.content)
    assert root.tag == "iati-activities" and root.get("version") == "2.03"
    listed = [ident(a) for a in root.iterfind("iati-activity")]
    assert listed == sorted(ident(a) for a in acts if "ML" in countries_of(a))
    schema = etree.XMLSchema(etree.parse(str(standard.schema_path("2.03"))))
    assert schema.validate(root), schema.error_log.last_error
    bad = client.get("/api/v1/problems?format=xml")
    assert bad.status_code == 400 and "problems" in bad.json()["error"]["message"]
    assert client.get("/api/v1/activities?format=pdf").status_code == 400


def xml_rows(acts: list[Any], resource: str) -> tuple[int, dict[str, Decimal]]:
    """Rows of a list for the activities in Mali, and value sums per currency, from the XML."""
    count, sums = 0, {}
    for a in acts:
        if "ML" not in countries_of(a):
            continue
        if resource == "activities":
            count += 1
        elif resource == "results":
            for result in a.iterfind("result"):
                indicators = result.findall("indicator")
                count += sum(max(1, len(i.findall("period"))) for i in indicators) or 1
        else:
            element = resource.removesuffix("s")
            for e in a.iterfind(element):
                count += 1
                currency = e.find("value").get("currency") or a.get("default-currency")
                value = Decimal(e.findtext("value").strip())
                sums[currency] = sums.get(currency, Decimal(0)) + value
    return count, sums


@pytest.mark.parametrize("resource", ["activities", "transactions", "budgets", "results"])
def test_every_format_holds_the_same_rows(api: tuple[TestClient, list[Any]], resource: str) -> None:
    client, acts = api
    url = f"/api/v1/{resource}?country=ML"
    items = all_items(client, url)
    count, sums = xml_rows(acts, resource)
    assert len(items) == count > 0

    def plain(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(Decimal(str(value)).normalize()) if isinstance(value, float | int) else value

    as_json = [{k: plain(v) for k, v in i.items()} for i in items]
    as_csv = list(csv.DictReader(io.StringIO(client.get(f"{url}&format=csv").text)))
    as_csv = [
        {k: str(Decimal(v).normalize()) if k == "value" and v else v for k, v in r.items()}
        for r in as_csv
    ]
    as_jsonl = [
        {k: plain(v) for k, v in json.loads(line).items()}
        for line in client.get(f"{url}&format=jsonl").text.splitlines()
    ]
    sheet = load_workbook(io.BytesIO(client.get(f"{url}&format=xlsx").content))[resource]
    header, *cells = list(sheet.iter_rows(values_only=True))
    as_xlsx = [{h: plain(v) for h, v in zip(header, row, strict=True)} for row in cells]
    keys = ["iati_identifier", *(["value", "currency"] if sums else [])]
    for rendering in (as_csv, as_jsonl, as_xlsx):
        assert [[r[k] for k in keys] for r in rendering] == [[r[k] for k in keys] for r in as_json]
    if sums:
        got: dict[str, Decimal] = {}
        for r in as_csv:
            got[r["currency"]] = got.get(r["currency"], Decimal(0)) + Decimal(r["value"])
        assert got == sums
    if resource == "activities":
        html = BeautifulSoup(client.get("/activities?country=ML").text, "html.parser")
        showing = html.select_one(".showing").get_text(" ", strip=True)
        assert showing.endswith(f"of {count}"), showing
