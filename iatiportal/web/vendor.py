"""The browser libraries the portal serves under ``/static/vendor/``, from ``node_modules``.

``make setup`` installs them with ``npm ci`` from the committed lockfile (never copied into the
repository, never loaded from a CDN). Only the files listed here are served. Where
``node_modules`` is missing (a wheel installed without them), pages leave the charts out and
show their tables only.
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response

NODE_MODULES = Path(
    os.environ.get("IATIPORTAL_NODE_MODULES", Path(__file__).resolve().parents[2] / "node_modules")
)

FILES = {
    "d3.min.js": "d3/dist/d3.min.js",
    "plot.min.js": "@observablehq/plot/dist/plot.umd.min.js",
    "topojson-client.min.js": "topojson-client/dist/topojson-client.min.js",
    "countries-110m.json": "world-atlas/countries-110m.json",
}
"""Served name -> path under node_modules: d3 (and Observable Plot on it) draw the charts,
topojson-client turns world-atlas (Natural Earth, 1:110m) into country shapes for the maps."""

CHARTS = ("d3.min.js", "plot.min.js")
MAPS = ("d3.min.js", "topojson-client.min.js")


def path(name: str) -> Path | None:
    """The installed file served as ``name``, or None when it is unknown or not installed."""
    relative = FILES.get(name)
    if relative is None:
        return None
    found = NODE_MODULES / relative
    return found if found.is_file() else None


def available(*names: str) -> bool:
    """Whether every named file is installed (pages include their scripts only then)."""
    return all(path(n) is not None for n in names)


def endpoint(request: Request) -> Response:
    found = path(request.path_params["name"])
    if found is None:
        raise HTTPException(404)
    return FileResponse(found, headers={"Cache-Control": "public, max-age=86400"})
