"""Exports: one encoder, one writer per format, one file-name rule (iatiportal/exports/).

Stored figures leave exactly as stored, in every format and from every place (the API's
downloads, the page renderings): ``tests/fixtures/exports-exact-values.xml`` says which.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from iatiportal.exports import encode, names, writers
from iatiportal.store.filters import Filters
from iatiportal.store.load import ingest
from iatiportal.web import render
from iatiportal.web.app import create_app

FIXTURE = Path(__file__).parent / "fixtures" / "exports-exact-values.xml"
ACTIVITY = "XX-TEST-EXPORTS-1"
BIG = Decimal("12345678901234.56")
TENTH = Decimal("0.1")
TOO_LONG_FOR_A_DOUBLE = Decimal("98765432109876.5432")  # amounts are below 1e14

# As both stores give them back: NUMERIC(24, 4), or SQLite's integers of 1/10,000.
STORED = {
    "big": Decimal("12345678901234.5600"),
    "tenth": Decimal("0.1000"),
    "long": Decimal("98765432109876.5432"),
    "yes": True,
    "no": False,
    "none": None,
    "day": dt.date(2022, 1, 31),
    "time": dt.datetime(2022, 1, 31, 10, 0, 5),
}
KEYS = list(STORED)


def csv_rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


# -- the encoder and the writers ----------------------------------------------------------------


def test_json_writes_decimals_with_exactly_their_digits() -> None:
    text = encode.dumps(STORED)
    assert text == (
        '{"big":12345678901234.56,"tenth":0.1,"long":98765432109876.5432,"yes":true,'
        '"no":false,"none":null,"day":"2022-01-31","time":"2022-01-31T10:00:05Z"}'
    )
    exact = json.loads(text, parse_float=Decimal)
    assert (exact["big"], exact["tenth"], exact["long"]) == (BIG, TENTH, TOO_LONG_FOR_A_DOUBLE)
    assert json.loads(text)["big"] == 12345678901234.56  # a double reader: the nearest double
    assert (
        encode.dumps([Decimal("100.0000"), Decimal("-0.0000"), Decimal("1E+3")]) == "[100,0,1000]"
    )


def test_json_dates_times_and_what_json_cannot_hold() -> None:
    paris = dt.timezone(dt.timedelta(hours=2))
    assert encode.dumps(dt.datetime(2022, 6, 1, 12, 0, tzinfo=paris)) == '"2022-06-01T10:00:00Z"'
    assert encode.dumps(dt.datetime(2022, 6, 1, 12, 0, 0, 5)) == '"2022-06-01T12:00:00.000005Z"'
    assert encode.dumps([float("nan"), Decimal("Infinity"), 2.5]) == "[null,null,2.5]"
    assert encode.dumps({"é": 'a "quote"\n'}) == '{"é":"a \\"quote\\"\\n"}'
    nested = {"a": [1, {"b": Decimal("1.50")}], "c": {}, "d": []}
    assert encode.dumps(nested, indent=1) == json.dumps(
        {"a": [1, {"b": 1.5}], "c": {}, "d": []}, indent=1
    )
    # A key that is a number is written as text, as the standard library writes it.
    assert encode.dumps({1: "a number key"}) == '{"1":"a number key"}'
    with pytest.raises(TypeError):
        encode.dumps({"a": object()})


def test_csv_cells_are_as_stored() -> None:
    body = b"".join(writers.csv_chunks(KEYS, [STORED], bom=True))
    assert body.startswith(b"\xef\xbb\xbf")
    assert body.decode("utf-8-sig").splitlines()[1] == (
        "12345678901234.5600,0.1000,98765432109876.5432,true,false,,2022-01-31,2022-01-31T10:00:05Z"
    )
    [row] = csv_rows(
        b"".join(writers.csv_chunks(["tenth", "missing"], [STORED], header=["a", "b"]))
    )
    assert row == {"a": "0.1000", "b": ""}


def test_jsonl_writes_one_object_per_row_of_its_keys() -> None:
    rows = [STORED, {"big": Decimal("1.0000")}]
    lines = b"".join(writers.jsonl_chunks(["big", "yes"], rows)).decode().splitlines()
    assert lines == ['{"big":12345678901234.56,"yes":true}', '{"big":1,"yes":null}']


def test_xlsx_keeps_numbers_dates_and_text() -> None:
    rows = [{**STORED, "text": '=HYPERLINK("http://example.org")'}]
    spool = writers.xlsx_file([writers.Sheet("values", [*KEYS, "text"], rows)])
    data = spool.read()
    spool.close()
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<v>12345678901234.56</v>" in sheet_xml and "<v>0.1</v>" in sheet_xml
    sheet = load_workbook(io.BytesIO(data))["values"]
    header, cells = list(sheet.iter_rows(max_row=2))
    assert [c.value for c in header] == [*KEYS, "text"]
    got = dict(zip([*KEYS, "text"], cells, strict=True))
    assert got["big"].data_type == "n" and Decimal(repr(got["big"].value)) == BIG
    assert got["tenth"].value == 0.1
    assert (got["yes"].value, got["no"].value, got["none"].value) == (True, False, None)
    assert got["day"].is_date and got["day"].value == dt.datetime(2022, 1, 31)
    assert got["time"].is_date and got["time"].value == STORED["time"]
    # Publisher text that looks like a formula stays text.
    assert got["text"].data_type == "s" and got["text"].value == rows[0]["text"]


def test_a_workbook_without_tables_has_one_empty_sheet() -> None:
    spool = writers.xlsx_file([])
    assert load_workbook(spool).sheetnames == ["empty"]
    spool.close()


def test_one_file_name_rule() -> None:
    assert names.page_filename("/countries/ML.csv", {"year": "2022"}, "csv") == (
        "iatiportal-countries-ML-2022.csv"
    )
    assert names.page_filename("/", {}, "json") == "iatiportal-index.json"
    filters = Filters(country="ML", year=2022, humanitarian=False)
    assert names.list_filename("transactions", filters, "csv") == (
        "iatiportal-transactions-ML-2022-not-humanitarian.csv"
    )
    assert names.snapshot_filename("iatiportal-csv.zip", "2024-05-01") == (
        "iatiportal-csv-2024-05-01.zip"
    )
    assert names.activity_filename('XX "A"; B\r\n..', "xml") == "XX_A_B.xml"
    assert names.filename(["..", "/", ""], "csv") == "download.csv"
    long = names.page_filename("/search", {"q": "word " * 100}, "csv")
    assert len(long) == names.MAX_STEM + len(".csv")
    assert set(long) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


# -- the same figures from the API and from the pages, on both databases -------------------------


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    assert not ingest(engine, [str(FIXTURE)]).failed
    with TestClient(create_app(engine)) as test_client:
        yield test_client


def test_the_api_and_the_page_write_the_same_exact_figures(client: TestClient) -> None:
    api = f"/api/v1/transactions?activity={ACTIVITY}"
    page = f"/activities/{ACTIVITY}"
    expected = [BIG, TENTH, TOO_LONG_FOR_A_DOUBLE]

    items = json.loads(client.get(api).text, parse_float=Decimal)["items"]
    assert [i["value"] for i in items] == expected
    assert [i["humanitarian"] for i in items] == [True, False, None]
    lines = client.get(f"{api}&format=jsonl").text.splitlines()
    assert [json.loads(line, parse_float=Decimal)["value"] for line in lines] == expected
    tables = json.loads(client.get(f"{page}.json").text, parse_float=Decimal)["tables"]
    assert [r["value"] for r in tables["transactions"]["rows"]] == expected

    listed = csv_rows(client.get(f"{api}&format=csv").content)
    shown = csv_rows(client.get(f"{page}.csv?table=transactions").content)
    assert [r["value"] for r in listed] == [
        "12345678901234.5600",
        "0.1000",
        "98765432109876.5432",
    ]
    assert [r["humanitarian"] for r in listed] == ["true", "false", ""]
    shared = set(shown[0]) & set(listed[0])
    assert {"value", "transaction_date", "currency", "transaction_type_name"} <= shared
    assert [{k: r[k] for k in shared} for r in shown] == [{k: r[k] for k in shared} for r in listed]

    for url, sheet in ((f"{api}&format=xlsx", "transactions"), (f"{page}.xlsx", "transactions")):
        rows = list(load_workbook(io.BytesIO(client.get(url).content))[sheet].values)
        values = [row[rows[0].index("value")] for row in rows[1:]]
        assert [Decimal(repr(v)) for v in values[:2]] == [BIG, TENTH], url
        dates = [row[rows[0].index("transaction_date")] for row in rows[1:]]
        assert dates[0] == dt.datetime(2023, 2, 1), url  # a date cell, not text


def test_a_page_csv_writes_booleans_and_decimals_as_the_api_does() -> None:
    table = render.DataTable("flags", render.columns("flag", "amount", "missing"), [])
    table.rows = [{"flag": True, "amount": Decimal("0.1000")}, {"flag": False, "amount": None}]
    page = render.Page("none.html", "Flags", tables=[table])

    def endpoint(request: Request) -> Response:
        return render.RENDERERS["csv"](request, page, render.HtmlRenderer(lambda r, p: ""))

    with TestClient(Starlette(routes=[Route("/flags.csv", endpoint)])) as client:
        response = client.get("/flags.csv")
    assert response.text.splitlines() == ["flag,amount,missing", "true,0.1000,", "false,,"]
    disposition = response.headers["content-disposition"]
    assert disposition == 'attachment; filename="iatiportal-flags.csv"'


# -- the package's place ------------------------------------------------------------------------

WEB_MODULES = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
web = sorted(m for m in sys.modules if m == "iatiportal.web" or m.startswith("iatiportal.web."))
print(" ".join(web))
sys.exit(1 if web else 0)
"""


def web_modules_after_importing(*modules: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WEB_MODULES, *modules],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parents[1],
        timeout=60,
    )


def test_exports_import_nothing_from_the_web() -> None:
    exports = [f"iatiportal.exports.{m}" for m in ("encode", "writers", "names", "snapshot")]
    result = web_modules_after_importing("iatiportal.exports", *exports)
    assert result.returncode == 0, result.stdout + result.stderr
    # The check sees a web import when there is one.
    control = web_modules_after_importing("iatiportal.exports", "iatiportal.web.render")
    assert control.returncode == 1 and "iatiportal.web.render" in control.stdout.split()
