"""Development and humanitarian funds by partner and year: the dataset's fields in JSON, CSV
and the API, the outcome page's columns (English and French) and the partner page's. Expected
figures are worked out by hand from ``tests/fixtures/money-humanitarian.xml`` (its comment lists
them) and, for the demo, read from its XML with lxml."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup
from lxml import etree
from sqlalchemy import Engine
from starlette.testclient import TestClient

from iatiportal.demo import demo_files
from iatiportal.profile import bundled, load_portal
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "money-humanitarian.xml"
TABLE = "funding_partners_by_year"
D = Decimal
KEYS = [
    "provider_org",
    "provider_org_name",
    "year",
    "currency",
    "incoming_funds",
    "development",
    "humanitarian",
]


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    assert not ingest(engine, [str(FIXTURE)]).failed
    with TestClient(create_app(engine)) as c:
        yield c


def soup(client: TestClient, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, url
    return BeautifulSoup(response.text, "html.parser")


def number(v: Any) -> Decimal | None:
    return None if v is None or v == "" else Decimal(str(v))


def figures(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            r["provider_org"],
            int(r["year"]),
            number(r["incoming_funds"]),
            number(r["development"]),
            number(r["humanitarian"]),
        )
        for r in rows
    ]


def page_rows(client: TestClient, identifier: str) -> tuple[list[str], list[dict[str, Any]]]:
    found = json.loads(
        client.get(f"/activities/{quote(identifier, safe='')}.json").content, parse_float=Decimal
    )["tables"][TABLE]
    return [c["key"] for c in found["columns"]], found["rows"]


def csv_rows(client: TestClient, identifier: str) -> tuple[list[str], list[dict[str, Any]]]:
    response = client.get(f"/activities/{quote(identifier, safe='')}.csv?table={TABLE}")
    assert response.status_code == 200
    reader = csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


# Per activity: (partner, year, incoming funds, development, humanitarian); None: no funds of
# that kind (development is a flag of 0 or false, humanitarian of 1 or true).
EXPECTED = {
    "XX-HUM-1": [
        ("XX-DONOR-A", 2021, D(65), D(40), D(25)),
        ("XX-DONOR-A", 2022, D(10), D(10), None),
    ],
    "XX-HUM-2": [
        ("XX-DONOR-A", 2021, D(15), None, D(15)),
        ("XX-DONOR-B", 2021, D(20), D(20), None),
    ],
    "XX-HUM-3": [
        ("XX-DONOR-A", 2022, D(3), None, None),
        ("XX-DONOR-B", 2021, D(13), None, D(8)),
    ],
    "XX-HUM-4": [("XX-DONOR-B", 2023, D(12), None, None)],
}


@pytest.mark.parametrize("identifier", sorted(EXPECTED))
def test_development_and_humanitarian_fields_in_json_csv_and_the_api(
    client: TestClient, identifier: str
) -> None:
    keys, rows = page_rows(client, identifier)
    assert keys == KEYS
    assert figures(rows) == EXPECTED[identifier]
    csv_keys, in_csv = csv_rows(client, identifier)
    assert csv_keys == KEYS
    assert figures(in_csv) == EXPECTED[identifier]
    api = json.loads(client.get(f"/api/v1/activities/{identifier}").content, parse_float=Decimal)[
        "tables"
    ][TABLE]
    assert figures(api) == EXPECTED[identifier]


def test_the_openapi_describes_both_fields(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    answer = document["paths"]["/activities/{identifier}"]["get"]["responses"]["200"]
    tables = answer["content"]["application/json"]["schema"]["properties"]["tables"]
    properties = tables["properties"][TABLE]["items"]["properties"]
    assert list(properties) == KEYS
    assert "false" in properties["development"]["description"]
    assert "true" in properties["humanitarian"]["description"]


def _kind_table(page: BeautifulSoup) -> list[list[str]]:
    table = page.select_one("section#funding-partners table#partner-years.by-kind")
    assert table is not None
    return [[c.get_text(strip=True) for c in tr.select("th, td")] for tr in table.select("tr")]


@pytest.mark.parametrize(
    ("lang", "head", "amounts"),
    [
        ("en", ["Year", "Partner", "Currency", "Development", "Humanitarian", "Total"],
         ["$40", "$25", "$65", "$10", "–", "$10"]),
        ("fr", ["Année", "Partenaire", "Devise", "Développement", "Humanitaire", "Total"],
         ["40\u00a0$US", "25\u00a0$US", "65\u00a0$US", "10\u00a0$US", "–", "10\u00a0$US"]),
    ],
)  # fmt: skip
def test_the_outcome_page_shows_development_and_humanitarian_columns(
    client: TestClient, lang: str, head: list[str], amounts: list[str]
) -> None:
    page = soup(client, f"/activities/XX-HUM-1?lang={lang}")
    lines = _kind_table(page)
    assert lines[0] == head
    assert [line[:3] for line in lines[1:]] == [
        ["2021", "Donor A", "USD"],
        ["2022", "Donor A", "USD"],
    ]
    assert [cell for line in lines[1:] for cell in line[3:]] == amounts
    note = page.select_one("section#funding-partners p#partner-kinds-note")
    expected = {
        "en": "Funds that neither says are not stated: they count in the total only.",
        "fr": "sont non précisés : ils ne comptent que dans le total.",
    }
    assert note is not None and expected[lang] in note.get_text(" ", strip=True)


def test_rows_are_by_year_with_every_partner_of_the_year(client: TestClient) -> None:
    lines = _kind_table(soup(client, "/activities/XX-HUM-3"))
    assert [line[:2] + line[3:] for line in lines[1:]] == [
        ["2021", "Donor B", "–", "$8", "$13"],  # 5 not stated: in the total only
        ["2022", "Donor A", "–", "–", "$3"],
    ]


@pytest.mark.parametrize(
    ("lang", "note"),
    [
        ("en", "The publisher does not say which of these funds are development and which "
               "humanitarian."),
        ("fr", "L'éditeur ne dit pas lesquels de ces fonds sont de développement et lesquels "
               "humanitaires."),
    ],
)  # fmt: skip
def test_without_a_stated_flag_the_table_has_no_such_columns_and_says_why(
    client: TestClient, lang: str, note: str
) -> None:
    page = soup(client, f"/activities/XX-HUM-4?lang={lang}")
    section = page.select_one("section#funding-partners")
    assert section is not None
    assert section.select("table.by-kind") == []
    heads = [th.get_text(strip=True) for th in section.select("table#partner-years thead th")]
    assert heads[2:] == ["2023"]
    said = section.select_one("p#partner-kinds-note")
    assert said is not None and said.get_text(" ", strip=True) == note


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        # (year, development, humanitarian, incoming funds) as the page shows them
        ("XX-DONOR-A", [["2021", "$40", "$40", "$80"], ["2022", "$10", "–", "$13"]]),
        ("XX-DONOR-B", [["2021", "$20", "$8", "$33"], ["2023", "–", "–", "$12"]]),
    ],
)
def test_the_partner_page_shows_both_kinds_by_year(
    client: TestClient, ref: str, expected: list[list[str]]
) -> None:
    page = soup(client, f"/partners/{ref}")
    table = page.select_one("table#contributions")
    assert table is not None
    heads = [th.get_text(strip=True) for th in table.select("thead th")]
    assert heads == ["Year", "Development", "Humanitarian", "Incoming funds"]
    lines = [[c.get_text(strip=True) for c in tr.select("th, td")] for tr in table("tr")[1:]]
    assert lines == expected
    assert page.select_one("p#contribution-kinds-note") is not None
    rows = client.get(f"/partners/{ref}.json").json()["tables"]["contributions_by_year"]["rows"]
    assert [list(r) for r in rows] == [
        ["year", "currency", "incoming_funds", "development", "humanitarian"]
    ] * len(expected)


# -- the demo ----------------------------------------------------------------------------------


def _demo_kinds(identifier: str) -> dict[tuple[int, str], dict[str | None, Decimal]]:
    """Incoming funds of one demo activity per (year, provider ref) and kind, from its XML:
    the transaction's humanitarian flag, else the activity's (None: neither)."""
    path = next(p for p in demo_files() if "activities" in p.name)
    root = etree.parse(str(path)).getroot()
    act = next(a for a in root.iter("iati-activity") if a.findtext("iati-identifier") == identifier)
    out: dict[tuple[int, str], dict[str | None, Decimal]] = defaultdict(lambda: defaultdict(D))
    names = dict.fromkeys(("0", "false"), "development") | dict.fromkeys(
        ("1", "true"), "humanitarian"
    )
    for t in act.iter("transaction"):
        if t.find("transaction-type").get("code") != "1":
            continue
        flag = t.get("humanitarian", act.get("humanitarian"))
        year = int(t.find("transaction-date").get("iso-date")[:4])
        key = (year, t.find("provider-org").get("ref"))
        out[key][names.get(flag or "")] += D(t.findtext("value").strip())
    return out


def test_the_demo_outcome_has_both_kinds(engine: Engine) -> None:
    assert not ingest(engine, [str(p) for p in demo_files()]).failed
    identifier = "XM-DAC-41146-MLI_D_1.1"
    expected = _demo_kinds(identifier)
    kinds = {k for per_key in expected.values() for k in per_key}
    assert kinds == {"development", "humanitarian"}, "the demo shows both kinds on one outcome"
    with TestClient(create_app(engine, load_portal([bundled("unwomen")]))) as c:
        _keys, rows = page_rows(c, identifier)
        page = soup(c, f"/activities/{quote(identifier, safe='')}")
    assert {
        (r["year"], r["provider_org"]): {
            k: number(r[k]) for k in ("development", "humanitarian") if r[k] is not None
        }
        for r in rows
    } == {key: dict(per_kind) for key, per_kind in expected.items()}
    assert page.select_one("section#funding-partners table#partner-years.by-kind") is not None
