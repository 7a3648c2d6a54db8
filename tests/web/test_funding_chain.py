"""Funding links in the API (``/api/v1/links``, its downloads, OpenAPI) and the activity page's
Funding chain section (issue 15), on the fixtures tests/fixtures/chains-*.xml.

Expected links are the hand-written ones of tests/store/test_chains.py; the linked identifiers
are hostile text (a file written here names an activity ``"><script>``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import Engine
from starlette.testclient import TestClient

from iatiportal.profile import bundled, load_portal
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HOSTILE = '"><script>alert(1)</script>'
ESCAPED = HOSTILE.replace('"', "&quot;").replace("<", "&lt;")
HOSTILE_FILE = f"""<?xml version="1.0" encoding="UTF-8"?>
<iati-activities version="2.03">
  <iati-activity default-currency="USD">
    <iati-identifier>XX-HOSTILE-1</iati-identifier>
    <reporting-org ref="XX-HOSTILE" type="10"><narrative>Hostile</narrative></reporting-org>
    <title><narrative>Hostile links</narrative></title>
    <transaction><transaction-type code="1"/><transaction-date iso-date="2022-01-01"/>
      <value>5</value><provider-org provider-activity-id="{ESCAPED}"/></transaction>
    <transaction><transaction-type code="3"/><transaction-date iso-date="2022-01-01"/>
      <value>5</value><receiver-org receiver-activity-id="javascript:alert(1)"/></transaction>
  </iati-activity>
</iati-activities>
"""


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    hostile = tmp_path / "chains-hostile.xml"
    hostile.write_text(HOSTILE_FILE, encoding="utf-8")
    files = [FIXTURES / n for n in ("chains-donor.xml", "chains-implementer.xml")]
    assert not ingest(engine, [str(p) for p in [*files, hostile]]).failed
    with TestClient(create_app(engine, load_portal([bundled("unwomen")]))) as c:
        yield c


def pairs(items: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(i["funder_identifier"], i["funded_identifier"]) for i in items]


def test_links_api_filters_by_activity_on_either_side_and_by_publisher(
    client: TestClient,
) -> None:
    body = client.get("/api/v1/links?activity=XX-DONOR-1").json()
    assert body["total"] == 2
    assert pairs(body["items"]) == [("XX-DONOR-1", "XX-IMPL-1"), ("XX-DONOR-1", "XX-NOWHERE-9")]
    first, missing = body["items"]
    assert (first["evidence"], first["amounts_agree"], first["funded_held"]) == ("both", True, True)
    assert (missing["funded_held"], missing["funder_value"]) == (False, 20000)
    upstream = client.get("/api/v1/links?activity=XX-IMPL-2").json()["items"]
    assert pairs(upstream) == [("XX-DONOR-2", "XX-IMPL-2")]
    assert (upstream[0]["funder_value"], upstream[0]["funded_value"]) == (50000, 40000)
    assert upstream[0]["amounts_agree"] is False
    by_org = client.get("/api/v1/links?reporting_org=XX-IMPL").json()
    assert by_org["total"] == 5 and all("XX-IMPL-" in b for _, b in pairs(by_org["items"]))
    everything = client.get("/api/v1/links?per_page=100").json()
    assert everything["total"] == 8  # six of the donor file, two of the hostile one


def test_links_download_is_the_same_rows(client: TestClient) -> None:
    response = client.get("/api/v1/links?activity=XX-DONOR-2&format=csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["funder_identifier"], r["funded_identifier"], r["evidence"]) for r in rows] == [
        ("XX-DONOR-2", "XX-IMPL-2", "both")
    ]
    assert (rows[0]["funder_value"], rows[0]["funder_currency"]) == ("50000.0000", "EUR")
    assert client.get("/api/v1/links?format=xml").status_code == 400
    spec = client.get("/api/v1/openapi.json").json()
    names = {p["name"] for p in spec["paths"]["/links"]["get"]["parameters"]}
    assert {"activity", "reporting_org"} <= names
    assert "country" not in names


def test_activity_page_shows_upstream_and_downstream(client: TestClient) -> None:
    page = BeautifulSoup(client.get("/activities/XX-DONOR-1").text, "html.parser")
    section = page.select_one("#funding-chain")
    assert section is not None
    assert section.select('table[data-direction="upstream"]') == []
    down = section.select('table[data-direction="downstream"] tbody tr')
    assert [r["data-evidence"] for r in down] == ["both", "funder"]
    held, missing = down
    anchor = held.select_one("th a")
    assert anchor is not None and anchor["href"] == "/activities/XX-IMPL-1"
    assert "agree" in held.select_one(".evidence").get_text()
    assert missing.select_one("th a") is None and missing.select_one(".not-held") is not None
    assert "Only the funder" in missing.select_one(".evidence").get_text()

    page = BeautifulSoup(client.get("/activities/XX-IMPL-2").text, "html.parser")
    up = page.select('#funding-chain table[data-direction="upstream"] tbody tr')
    assert [r.select_one("th a")["href"] for r in up] == ["/activities/XX-DONOR-2"]
    assert "differ" in up[0].select_one(".evidence").get_text()


def test_hostile_linked_identifiers_are_text(client: TestClient) -> None:
    response = client.get("/activities/XX-HOSTILE-1")
    page = BeautifulSoup(response.text, "html.parser")
    section = page.select_one("#funding-chain")
    assert section is not None
    assert section.select("script") == []
    others = [th.get_text(" ", strip=True) for th in section.select("tbody th")]
    assert any(HOSTILE in o for o in others) and any("javascript:alert(1)" in o for o in others)
    hrefs = [a["href"] for a in section.select("a[href]")]
    assert not [h for h in hrefs if h.startswith("javascript")]
    assert hrefs[-1] == f"/api/v1/links?activity={quote('XX-HOSTILE-1', safe='')}&format=csv"
