"""Every route of the app, asked with hostile values, answers without a server error (issue 10).

The routes come from the app's own route table (the API's mount included), so a new route is
swept as soon as it exists. Each is asked with hostile values in each path parameter, then with
every query parameter the portal reads set to the value at once (where the API refuses one by
name, the rest again without it), and with the values of ALONE in each query parameter alone.
No answer may be a 5xx, show a traceback or name a server path.

Requests go straight to the ASGI app (asgi_requests): the test client refuses URLs over
64 KB, and a server's limit on the request line is no defence of the app's own.
"""

from __future__ import annotations

import json
import shutil
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from asgi_requests import request, run
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route
from starlette.testclient import TestClient

import iatiportal
from iatiportal.demo import demo_files
from iatiportal.profile import bundled, load_portal
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

# Values as they are written in the URL (percent-encoded where they must be).
HOSTILE = {
    "nul": "%00",
    "invalid UTF-8": "%FF%FE",
    "huge number": "9" * 30,
    "beyond bigint": str(2**63),
    "superscript digits": "%C2%B2%C2%B2%C2%B2%C2%B2",  # ²²²²
    "Arabic-Indic digit": "%D9%A3",  # ٣
    "100 KB": "x" * 100_000,
    "negative": "-1",
    "dot dot": "%2E%2E",
    "traversal": "%2E%2E%2F%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "unknown format": "txt",
    "markup": "%3Cscript%3E%27%22",
}
ALONE = ("nul",)
"""Values also sent in each query parameter alone, on every route: together, one parameter can
spare the store the others (``q`` without words is answered without a query), and a NUL is
what the store must never receive. (Every value alone in every parameter of every route is
ten thousand requests, over a minute per database.)"""
QUERY_PARAMETERS = (
    *("country", "region", "year", "page", "per_page", "sort", "q", "partner"),
    *("reporting_org", "sector", "sector_vocabulary", "impact_area", "sdg", "humanitarian"),
    *("currency", "lang", "tab", "format", "code", "table", "activity", "bom"),
)
# A value each path parameter takes when another parameter is the hostile one; by the route's
# path where one name means different things.
VALID = {
    "identifier": "XM-DAC-41146-MLI_D_1.1",
    "code": "ML",
    "tab": "results",
    "fmt": "json",
    "ref": "AU-5",
    "name": "iatiportal.sqlite.gz",
    "rest": "elsewhere",
    "path": "site.css",
}
VALID_BY_ROUTE = {("/regions/{code}", "code"): "289", ("/strategic-plan/{code}", "code"): "D1"}
SERVER_PATHS = {
    str(Path(iatiportal.__file__).resolve().parents[1]),
    sys.prefix,
    sysconfig.get_paths()["purelib"],
}


@dataclass(frozen=True)
class Swept:
    path: str  # the path format, such as /countries/{code}/{tab}
    parameters: tuple[str, ...]


def swept_routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[Swept]:
    """Every route of the table, the routes of mounted routers included; a mounted app
    (static files) is one route with its ``{path}``."""
    for route in routes:
        if isinstance(route, Mount) and route.routes:
            yield from swept_routes(route.routes, prefix + route.path)
        elif isinstance(route, Route | Mount):
            yield Swept(prefix + route.path_format, tuple(route.param_convertors))
        else:
            raise AssertionError(f"a route the sweep does not know: {route!r}")


def url(route: Swept, values: dict[str, str], query: str = "") -> str:
    path = route.path
    for name in route.parameters:
        path = path.replace("{" + name + "}", values[name])
    return path + (f"?{query}" if query else "")


def valid_values(route: Swept) -> dict[str, str]:
    return {
        name: VALID_BY_ROUTE.get((route.path.removeprefix("/api/v1"), name), VALID[name])
        for name in route.parameters
    }


def refused_parameter(body: bytes) -> str | None:
    """The query parameter an API error names ("year must be ..."), else None."""
    try:
        message = json.loads(body)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return None
    named = str(message).split(" ", 1)[0]
    return named if named in QUERY_PARAMETERS else None


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Starlette:
    # Ingested from a copy: the data health page names the files read, which are not code.
    data = tmp_path / "data"
    data.mkdir()
    copies = [shutil.copy(p, data / p.name) for p in demo_files()]
    assert not ingest(engine, [str(p) for p in copies]).failed
    return create_app(engine, load_portal([bundled("unwomen")]), snapshot_dir=tmp_path / "none")


@dataclass
class Sweep:
    """Requests to the app, and what was wrong with their answers."""

    app: Starlette
    problems: list[str] = field(default_factory=list)
    asked: int = 0

    async def check(self, address: str) -> tuple[int, bytes]:
        answer = await request(self.app, address)
        self.asked += 1
        text = answer.text
        shown = address if len(address) < 160 else address[:160] + "…"
        leaked = [p for p in SERVER_PATHS if p in text]
        if answer.status >= 500 or "Traceback" in text or leaked:
            problem = repr(answer.error) if answer.error else text[:300]
            self.problems.append(f"{answer.status} {shown} {leaked or ''}: {problem}")
        return answer.status, answer.body

    async def every_parameter(self, route: Swept, label: str) -> int:
        """Every query parameter set to the hostile value; the status of the first request.

        While the API refuses a parameter by name, it is dropped and the rest asked again (it
        was read). A refusal that names none (a page's 404, the guard's 400) and the values of
        ALONE have each parameter asked alone too.
        """
        value, valid = HOSTILE[label], valid_values(route)
        asked = list(QUERY_PARAMETERS)
        statuses: list[int] = []
        alone = label in ALONE
        while asked:
            query = "&".join(f"{p}={value}" for p in asked)
            status, body = await self.check(url(route, valid, query))
            statuses.append(status)
            refused = refused_parameter(body) if status == 400 else None
            if status == 200:
                break
            if refused not in asked:
                alone = True
                break
            asked.remove(refused)
        for parameter in QUERY_PARAMETERS if alone else ():
            await self.check(url(route, valid, f"{parameter}={value}"))
        return statuses[0]

    async def run(self) -> dict[str, set[int]]:
        """Every route with every hostile value; the statuses of the combined requests."""
        statuses: dict[str, set[int]] = {}
        for route in swept_routes(self.app.routes):
            valid = valid_values(route)
            for name in route.parameters:
                for value in (*HOSTILE.values(), valid[name] + ".txt"):
                    await self.check(url(route, {**valid, name: value}))
            for label in HOSTILE:
                statuses.setdefault(label, set()).add(await self.every_parameter(route, label))
        return statuses


def test_no_route_answers_a_hostile_value_with_a_server_error(app: Starlette) -> None:
    routes = {r.path for r in swept_routes(app.routes)}
    assert len(routes) > 40
    assert {"/countries/{code}/{tab}", "/api/v1/activities", "/static/{path}"} <= routes
    sweep = Sweep(app)
    statuses = run(sweep.run())
    found = len(sweep.problems)
    assert found == 0, "\n".join([f"{found} of {sweep.asked} answers:", *sweep.problems[:50]])
    assert statuses["nul"] == {400}  # refused before any route runs
    assert 200 in statuses["huge number"]  # pages read past huge numbers


def test_unknown_formats_are_not_found(app: Starlette) -> None:
    with TestClient(app) as client:
        for address in ("/countries.txt", "/activities.txt", "/countries/ML.txt"):
            response = client.get(address)
            assert response.status_code == 404, address
            assert response.headers["content-type"].startswith("text/html")
