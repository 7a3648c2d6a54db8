"""The portal's face from the home profile's ``[branding]`` (iatiportal/profile.py).

The colours reach the CSS as custom properties in a small generated stylesheet,
``/static/theme.css`` (site.css imports it; the Content-Security-Policy allows no inline
style), revalidated by an ETag of its text. The logo and favicon files next to the profile are
served as ``/static/brand/logo.{svg,png}`` and ``/static/brand/favicon.{svg,png,ico}``; a page
links to them only when the profile has them. ``site`` is what every template gets.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from iatiportal import i18n
from iatiportal.profile import IMAGE_TYPES, Branding, Portal
from iatiportal.web import conditional

NEUTRAL_FAVICON = "/static/favicon.svg"


def stylesheet(branding: Branding) -> str:
    """The theme's custom properties; site.css builds Pico's and the charts' colours on them."""
    return (
        "/* Generated from the profile's [branding] by iatiportal/web/theme.py. */\n"
        ":root {\n"
        f"  --brand: {branding.primary};\n"
        f"  --on-brand: {branding.on_primary};\n"
        f"  --accent: {branding.accent};\n"
        f"  --on-accent: {branding.on_accent};\n"
        "}\n"
    )


def stylesheet_endpoint(request: Request) -> Response:
    portal: Portal = request.app.state.portal
    body = stylesheet(portal.home.branding)
    etag = f'"{hashlib.sha256(body.encode()).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if conditional.not_modified(request.method, request.headers, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/css", headers=headers)


def _image(branding: Branding, kind: str) -> Path | None:
    return branding.logo if kind == "logo" else branding.favicon if kind == "favicon" else None


@functools.lru_cache(maxsize=8)
def _digest(path: Path, modified: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def image_url(kind: str, path: Path) -> str:
    """The URL of a brand image, versioned by its content: it can be cached for good."""
    version = _digest(path, path.stat().st_mtime_ns)
    return f"/static/brand/{kind}{path.suffix.lower()}?v={version}"


def image_endpoint(request: Request) -> Response:
    """``/static/brand/{logo|favicon}.{ext}``: the profile's file, when its suffix matches;
    pages link it with ``?v=`` its digest (image_url), so browsers keep it a year."""
    portal: Portal = request.app.state.portal
    kind, _, ext = request.path_params["name"].partition(".")
    found = _image(portal.home.branding, kind)
    if found is None or found.suffix.lower() != f".{ext.lower()}":
        raise HTTPException(404)
    cache = "public, max-age=31536000, immutable" if request.query_params.get("v") else "no-cache"
    return FileResponse(
        found, media_type=IMAGE_TYPES[found.suffix.lower()], headers={"Cache-Control": cache}
    )


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class Site:
    """The branding in the page's language, as the templates use it."""

    name: str
    organisation: str
    logo: str | None
    favicon: str
    introduction: str
    disclaimer: str
    data_licence: str
    data_licence_url: str | None
    links: tuple[Link, ...]


def site(portal: Portal, language: str) -> Site:
    home = portal.home
    branding = home.branding
    return Site(
        name=branding.portal_name.get(language) or i18n.gettext("IATI transparency portal"),
        organisation=home.name.get(language),
        logo=image_url("logo", branding.logo) if branding.logo else None,
        favicon=image_url("favicon", branding.favicon) if branding.favicon else NEUTRAL_FAVICON,
        introduction=branding.introduction.get(language),
        disclaimer=branding.disclaimer.get(language),
        data_licence=branding.data_licence.get(language),
        data_licence_url=branding.data_licence_url,
        links=tuple(Link(link.label.get(language), link.url) for link in branding.footer_links),
    )
