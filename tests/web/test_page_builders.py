"""Page builders called without HTTP, one filter type with one meaning, and the bugs of the
read side that issue 11 names (each test failed before the fix)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from iatiportal.datasets import figures
from iatiportal.datasets.context import Context
from iatiportal.demo import demo_files
from iatiportal.profile import Portal, bundled, load_portal
from iatiportal.store import plan as contributions
from iatiportal.store import schema as s
from iatiportal.store.filters import Filters
from iatiportal.store.load import ingest
from iatiportal.web.app import PAGES, create_app
from iatiportal.web.pages import activity, country
from iatiportal.web.params import ParameterError, parse_filters
from iatiportal.web.render import Page

UNWOMEN = load_portal([bundled("unwomen")])


@pytest.fixture
def demo(engine: Engine) -> Iterator[Engine]:
    assert not ingest(engine, [str(p) for p in demo_files()]).failed
    yield engine


VALUES = {
    "code": "ML",
    "tab": "results",
    "ref": "SE-0",
    "identifier": "XM-DAC-41146-MLI_D_1.1",
}


def test_every_page_builds_without_http(demo: Engine) -> None:
    ctx = Context(portal=UNWOMEN, filters=Filters(year=2023))
    with demo.connect() as conn:
        built = {}
        for route in PAGES:
            values = {name: VALUES[name] for name in route.values}
            if route.path.startswith("/regions/"):
                values = {
                    "code": figures.regions(conn, ctx, ctx.money(), unspecified=False)[0]["region"]
                }
            if route.path.startswith("/strategic-plan/"):
                values = {"code": "D1"}
            page = route.build(conn, ctx, **values)
            assert isinstance(page, Page), route.path
            for t in page.tables:  # every table is a dataset: one key per column
                assert [c.key for c in t.columns] == [c.label for c in t.columns], route.path
            built[route.path] = page
        one = activity.build(conn, ctx, VALUES["identifier"])
    assert one is not None and [t.name for t in one.tables] == [d.name for d in activity.TABLES]
    assert built["/countries/{code}/{tab}"].context["tab"] == "results"
    assert built["/"].context["year"] == 2023
    # A builder's answer depends on its arguments only: another currency, another figure set.
    with demo.connect() as conn:
        as_published = country.build(conn, ctx, "ML")
        converted = country.build(conn, replace(ctx, currency="EUR"), "ML")
    assert as_published is not None and converted is not None
    assert as_published.context["totals"] != converted.context["totals"]


def test_whole_lists_are_an_argument_not_a_global(demo: Engine) -> None:
    ctx = Context(portal=UNWOMEN, params={"per_page": "5"})
    with demo.connect() as conn:
        listing = next(r for r in PAGES if r.path == "/activities")
        paged = listing.build(conn, ctx)
        whole = listing.build(conn, replace(ctx, whole_lists=True))
    assert len(paged.context["items"]) == 5
    assert len(whole.context["items"]) > 5


def test_one_meaning_per_filter_name() -> None:
    parsed = parse_filters({"impact_area": "D1", "sdg": "5", "humanitarian": "true"}, UNWOMEN)
    assert parsed.errors == ()
    # impact_area and sdg together keep both, everywhere.
    assert parsed.filters.sectors == (("99", "D1"), ("7", "5"))
    for flag, meant in (("1", True), ("true", True), ("0", False), ("false", False)):
        assert parse_filters({"humanitarian": flag}, UNWOMEN).filters.humanitarian is meant
    bad = parse_filters({"year": "²²²²", "humanitarian": "maybe", "country": "Mali"}, UNWOMEN)
    assert bad.filters == Filters()
    assert {e.name for e in bad.errors} == {"year", "humanitarian", "country"}
    with pytest.raises(ParameterError, match="country must be an ISO 3166-1 alpha-2 code"):
        bad.strict()


def test_partner_means_the_same_in_lists_search_and_pages(demo: Engine) -> None:
    with TestClient(create_app(demo, UNWOMEN)) as client:
        funders = client.get("/api/v1/search?q=women&per_page=1").json()["facets"]["partner"]
        assert funders, "the demo data has funding partners"
        for facet in funders:
            partner = facet["value"]
            listed = client.get(f"/api/v1/activities?partner={partner}&q=women&per_page=1000")
            searched = client.get(f"/api/v1/search?partner={partner}&q=women&per_page=1000")
            ids = {i["iati_identifier"] for i in listed.json()["items"]}
            assert ids == {i["iati_identifier"] for i in searched.json()["items"]}, partner
            assert len(ids) == facet["count"], partner
            page = client.get(f"/search?q=women&partner={partner}&per_page=10")
            assert page.status_code == 200


def test_the_sql_reading_of_the_plan_is_the_profiles(demo: Engine) -> None:
    plan = UNWOMEN.home.strategic_plan
    assert plan is not None
    with demo.connect() as conn:
        rows = conn.execute(contributions.contributions(plan, conn.dialect.name, ())).all()
        sectors: dict[int, list[Any]] = {}
        for aid, vocabulary, code in conn.execute(
            select(s.sector.c.activity_id, s.sector.c.vocabulary, s.sector.c.sector_code).order_by(
                s.sector.c.id
            )
        ):
            sectors.setdefault(aid, []).append((vocabulary, code))
    assert len(rows) > 5
    for r in rows:
        parts = plan.parse_identifier(r.iati_identifier)
        area = parts.impact_area_code if parts else None
        if area is None:
            area = next(
                (c for v, c in sectors.get(r.activity_id, []) if v == plan.sector_vocabulary), None
            )
        assert (r.impact_area, r.office, r.outcome_code) == (
            area,
            parts.office if parts else None,
            parts.outcome_code if parts else None,
        ), r.iati_identifier


def test_a_format_the_portal_does_not_offer_is_not_found(demo: Engine) -> None:
    with TestClient(create_app(demo, UNWOMEN), raise_server_exceptions=False) as client:
        for url in ("/countries.txt", "/regions.txt", "/index.txt", "/countries/ML.txt",
                    "/countries/ML/results.txt", "/partners.exe", "/about.xml"):  # fmt: skip
            response = client.get(url)
            assert response.status_code == 404, (url, response.status_code)


def test_without_a_strategic_plan_the_page_says_so(demo: Engine) -> None:
    with TestClient(create_app(demo, Portal())) as client:
        page = client.get("/strategic-plan")
        assert page.status_code == 200
        assert "names no strategic plan" in page.text
        home = client.get("/").text
        assert 'href="/strategic-plan"' not in home
        assert client.get("/api/v1/strategic-plan").status_code == 404
    with TestClient(create_app(demo, UNWOMEN)) as client:
        assert 'href="/strategic-plan"' in client.get("/").text


def test_a_value_that_is_not_valid_is_said_on_the_page(demo: Engine) -> None:
    with TestClient(create_app(demo, UNWOMEN)) as client:
        page = client.get("/search?q=women&humanitarian=maybe")
        assert page.status_code == 200
        assert "humanitarian must be true or false" in page.text
        api = client.get("/api/v1/search?q=women&humanitarian=maybe")
        assert api.status_code == 400
        assert api.json()["error"]["message"].startswith("humanitarian must be true or false")
