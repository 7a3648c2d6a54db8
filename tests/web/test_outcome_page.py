"""The outcome (activity) page's sections as the model has them: resources with core and
non-core funds, SDGs, funding partners by year, the strategic plan, and ``?plan_period=``.
Expected figures are read from the demo XML with lxml here."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import quote

import pytest
from lxml import etree
from sqlalchemy import Engine
from starlette.testclient import TestClient

from iatiportal.demo import demo_files
from iatiportal.profile import bundled, load_portal
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

ACTIVITIES = next(p for p in demo_files() if "activities" in p.name)


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    assert not ingest(engine, [str(p) for p in demo_files()]).failed
    with TestClient(create_app(engine, load_portal([bundled("unwomen")]))) as c:
        yield c


def _incoming(identifier: str) -> tuple[Decimal, Decimal]:
    """(core, non-core) incoming funds of the activity in its XML: core is what UN Women
    (XM-DAC-41146) provides itself, as the bundled profile says."""
    root = etree.parse(str(ACTIVITIES)).getroot()
    act = next(a for a in root.iter("iati-activity") if a.findtext("iati-identifier") == identifier)
    core = other = Decimal(0)
    for t in act.iter("transaction"):
        if t.find("transaction-type").get("code") != "1":
            continue
        value = Decimal(t.findtext("value").strip())
        provider = t.find("provider-org")
        if provider is not None and provider.get("ref") == "XM-DAC-41146":
            core += value
        else:
            other += value
    return core, other


def _with_incoming() -> list[str]:
    root = etree.parse(str(ACTIVITIES)).getroot()
    return [
        a.findtext("iati-identifier")
        for a in root.iter("iati-activity")
        if any(t.find("transaction-type").get("code") == "1" for t in a.iter("transaction"))
    ]


def test_core_and_non_core_add_up_to_the_incoming_funds(client: TestClient) -> None:
    identifiers = _with_incoming()
    assert identifiers, "the demo data has incoming funds"
    some_core = False
    for identifier in identifiers:
        tables = client.get(f"/activities/{quote(identifier, safe='')}.json").json()["tables"]
        rows = tables["core_and_non_core"]["rows"]
        assert len(rows) == 1, identifier  # the demo activities are in one currency
        core, other = _incoming(identifier)
        assert Decimal(str(rows[0]["core"])) == core, identifier
        assert Decimal(str(rows[0]["non_core"])) == other, identifier
        assert Decimal(str(rows[0]["incoming_funds"])) == core + other, identifier
        some_core = some_core or core > 0
    assert some_core, "some demo activity is funded from core resources"


def test_the_plan_period_narrows_the_years(client: TestClient) -> None:
    identifier = quote("XM-DAC-41146-MLI_D_1.1", safe="")
    every = client.get(f"/activities/{identifier}.json").json()["tables"]
    years = {r["year"] for r in every["budget_and_expenditure_by_year"]["rows"]}
    assert len(years) > 1
    narrowed = client.get(f"/activities/{identifier}.json?plan_period=2022-2025").json()["tables"]
    shown = {r["year"] for r in narrowed["budget_and_expenditure_by_year"]["rows"]}
    assert shown == {y for y in years if y is not None and 2022 <= y <= 2025}
    earlier = client.get(f"/activities/{identifier}.json?plan_period=2018-2021").json()["tables"]
    assert earlier["budget_and_expenditure_by_year"]["rows"] == []  # the demo starts in 2022
    unknown = client.get(f"/activities/{identifier}.json?plan_period=1990-1991").json()["tables"]
    assert unknown["budget_and_expenditure_by_year"] == every["budget_and_expenditure_by_year"]
