"""A character no text can hold (NUL, a lone surrogate) anywhere in the address is refused
with 400 before any route runs, and never reaches the store (issue 10: PostgreSQL answered
"text fields cannot contain NUL" as a 500 on about 30 routes)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from asgi_requests import get
from bs4 import BeautifulSoup
from sqlalchemy import Engine, event
from starlette.applications import Starlette
from starlette.testclient import TestClient

from iatiportal.demo import demo_files
from iatiportal.profile import bundled, load_portal
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

DEMO_ACTIVITY = "XM-DAC-41146-MLI_D_1.1"
PAGES = (
    "/activities/%00",
    "/activities/%00.json",
    "/activities/a%00b.xml",
    f"/activities/{DEMO_ACTIVITY}%00",
    "/countries/M%00",
    "/countries/ML/%00",
    "/regions/%00",
    "/partners/%00",
    "/partners/AU-5%00.csv",
    "/strategic-plan/%00",
    "/-/download/%00",
    "/static/vendor/%00",
    "/static/site.css%00",
    "/no-such-page/%00",
    "/search?q=a%00b",
    "/search?country=%00&q=women",
    "/search?partner=%00&q=women",
    "/search?region=%00&q=women",
    "/search?impact_area=%00&q=women",
    "/activities?country=%00",
    "/activities.csv?country=%00",
    "/countries/ML?year=%00",
    "/countries/ML/progress?page=1%00",
    "/partners/AU-5?currency=%00",
    "/?lang=%00",
    "/activities?%00=1",  # a name, not a value
)
API = (
    "/api/v1/activities/%00",
    "/api/v1/countries/%00",
    "/api/v1/activities?country=%00",
    "/api/v1/activities?reporting_org=%00",
    "/api/v1/activities?region=%00",
    "/api/v1/activities?partner=%00",
    "/api/v1/activities?sector=%00",
    "/api/v1/activities?sector_vocabulary=%00",
    "/api/v1/transactions?reporting_org=XM-DAC-41146,%00",
    "/api/v1/budgets?partner=%00&format=csv",
    "/api/v1/results?q=%00",
    "/api/v1/problems?activity=%00",
    "/api/v1/search?q=women&reporting_org=%00",
    "/api/v1/%00",
)


@pytest.fixture
def app(engine: Engine) -> Iterator[tuple[Starlette, list[Any]]]:
    """The app, and every parameter value the store was sent while it answered."""
    assert not ingest(engine, [str(p) for p in demo_files()]).failed
    sent: list[Any] = []

    def values(parameters: Any) -> Iterator[Any]:
        """Each value of a driver's parameters: a dict, a tuple, or a list of either."""
        if isinstance(parameters, dict):
            parameters = list(parameters.values())
        if isinstance(parameters, list | tuple):
            for value in parameters:
                yield from values(value)
        else:
            yield parameters

    def record(_conn: Any, _cursor: Any, _sql: str, parameters: Any, *_rest: Any) -> None:
        sent.extend(values(parameters))

    event.listen(engine, "before_cursor_execute", record)
    yield create_app(engine, load_portal([bundled("unwomen")])), sent
    event.remove(engine, "before_cursor_execute", record)


def test_nul_anywhere_is_refused_before_the_store(app: tuple[Starlette, list[Any]]) -> None:
    portal, sent = app
    with TestClient(portal) as client:
        assert client.get("/api/v1/activities?reporting_org=XM-DAC-41146").status_code == 200
        assert "XM-DAC-41146" in sent  # the store's parameters are seen
        for url in PAGES:
            response = client.get(url)
            assert response.status_code == 400, url
            assert response.headers["content-type"].startswith("text/html"), url
            page = BeautifulSoup(response.text, "html.parser")
            assert page.select_one("h1").get_text(strip=True) == "Bad request", url
        for url in API:
            response = client.get(url)
            assert response.status_code == 400, url
            assert response.headers["access-control-allow-origin"] == "*"
            assert response.json()["error"]["status"] == 400, url
        french = BeautifulSoup(client.get("/activities/%00?lang=fr").text, "html.parser")
        assert french.select_one("h1").get_text(strip=True) == "Requête incorrecte"
    reached = [v for v in sent if isinstance(v, str) and "\x00" in v]
    assert reached == []


def test_a_lone_surrogate_in_the_path_is_refused(app: tuple[Starlette, list[Any]]) -> None:
    # Not sendable through an HTTP client; an ASGI server could hand it over.
    portal, _sent = app
    for path in ("/activities/\ud800", "/partners/a\udfffb", "/api/v1/activities/\udc80"):
        answer = get(portal, "/activities/x", path=path)
        assert answer.status == 400, (path, answer.error)
    assert get(portal, "/activities/x", path="/activities/\u00e9\U0001f600").status == 404
