"""The browser libraries the portal serves under ``/static/vendor/``, from ``node_modules``.

``make setup`` installs them with ``npm ci`` from the committed lockfile (never copied into the
repository, never loaded from a CDN). ``make wheel`` copies the files listed here (and their
licences) into ``iatiportal/web/npm/`` (git-ignored), so an installed wheel serves them too.
Only the files listed here are served. Where neither is there, pages leave the charts out and
show their tables only.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response

BUNDLED = Path(__file__).resolve().parent / "npm"
"""The copies a wheel carries (``make wheel``; see ``bundle``)."""
_CHECKOUT = Path(__file__).resolve().parents[2] / "node_modules"


def _node_modules() -> Path:
    # $IATIPORTAL_NODE_MODULES, else a checkout's node_modules, else the wheel's copies.
    env = os.environ.get("IATIPORTAL_NODE_MODULES")
    if env:
        return Path(env)
    return _CHECKOUT if _CHECKOUT.is_dir() else BUNDLED


NODE_MODULES = _node_modules()

FILES = {
    "pico.min.css": "@picocss/pico/css/pico.min.css",
    "noto-sans/index.css": "@fontsource-variable/noto-sans/index.css",
    "noto-sans-arabic/index.css": "@fontsource-variable/noto-sans-arabic/index.css",
    "noto-sans-sc/index.css": "@fontsource-variable/noto-sans-sc/index.css",
    "d3.min.js": "d3/dist/d3.min.js",
    "plot.min.js": "@observablehq/plot/dist/plot.umd.min.js",
    "d3-sankey.min.js": "d3-sankey/dist/d3-sankey.min.js",
    "topojson-client.min.js": "topojson-client/dist/topojson-client.min.js",
    "countries-110m.json": "world-atlas/countries-110m.json",
}
"""Served name -> path under node_modules: d3 (and Observable Plot on it) draw the charts,
d3-sankey (a d3 module: it lays out on the page's d3) the flow diagrams of money,
topojson-client turns world-atlas (Natural Earth, 1:110m) into country shapes for the maps;
Pico CSS is the design system site.css builds on; Fontsource's Noto Sans (Latin, Cyrillic,
Greek), Noto Sans Arabic and Noto Sans SC (Chinese in Simplified characters) are the type, their
CSS naming its font files as ``./files/...``: one per Unicode range (100 for Chinese), each
fetched by the browser only when a page shows one of its characters."""

FOLDERS = {
    "noto-sans/files/": "@fontsource-variable/noto-sans/files",
    "noto-sans-arabic/files/": "@fontsource-variable/noto-sans-arabic/files",
    "noto-sans-sc/files/": "@fontsource-variable/noto-sans-sc/files",
}
"""Served prefix -> folder under node_modules, of which only font files are served."""
_FONT_FILE = re.compile(r"[a-z0-9-]+\.woff2")

CHARTS = ("d3.min.js", "plot.min.js")
MAPS = ("d3.min.js", "topojson-client.min.js")
FLOWS = ("d3.min.js", "d3-sankey.min.js")


def path(name: str) -> Path | None:
    """The installed file served as ``name``, or None when it is unknown or not installed."""
    relative = FILES.get(name)
    if relative is None:
        prefix, _, file = name.rpartition("/")
        folder = FOLDERS.get(prefix + "/")
        if folder is None or not _FONT_FILE.fullmatch(file):
            return None
        relative = f"{folder}/{file}"
    found = NODE_MODULES / relative
    return found if found.is_file() else None


def available(*names: str) -> bool:
    """Whether every named file is installed (pages include their scripts only then)."""
    return all(path(n) is not None for n in names)


def bundle(source: Path = _CHECKOUT, dest: Path = BUNDLED) -> list[Path]:
    """Copy the served files, and each package's licence and package.json, from ``source``
    (node_modules, as ``npm ci`` left it) into ``dest``; the files written."""
    missing = [rel for rel in FILES.values() if not (source / rel).is_file()]
    if missing:
        raise FileNotFoundError(f"not in {source} (run `npm ci`): {', '.join(missing)}")
    if dest.exists():
        shutil.rmtree(dest)
    wanted = set(FILES.values())
    for rel in FILES.values():
        package = rel.split("/")[0] if not rel.startswith("@") else "/".join(rel.split("/")[:2])
        wanted.update(f"{package}/{name}" for name in ("LICENSE", "package.json"))
    for folder in FOLDERS.values():  # the fonts: only the files the portal serves
        wanted.update(
            f"{folder}/{f.name}"
            for f in (source / folder).glob("*.woff2")
            if _FONT_FILE.fullmatch(f.name)
        )
        package = "/".join(folder.split("/")[:2])
        wanted.update(f"{package}/{name}" for name in ("LICENSE", "package.json"))
    written = []
    for rel in sorted(wanted):
        if (source / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            written.append(Path(shutil.copyfile(source / rel, dest / rel)))
    return written


def endpoint(request: Request) -> Response:
    found = path(request.path_params["name"])
    if found is None:
        raise HTTPException(404)
    return FileResponse(found, headers={"Cache-Control": "public, max-age=86400"})


if __name__ == "__main__":
    # ``python -m iatiportal.web.vendor``: the step of ``make wheel`` that bundles the files.
    done = bundle()
    sys.stdout.write(f"{len(done)} files copied into {BUNDLED}\n")
