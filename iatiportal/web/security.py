"""Safe on the public internet (issue 10): everything in an IATI file is hostile.

- Every response gets ``X-Content-Type-Options: nosniff``, a ``Referrer-Policy`` and a
  Content-Security-Policy: the portal's HTML pages run only the portal's own scripts and
  styles; everything else (raw IATI XML, JSON, CSV, XLSX, static and snapshot files) is data
  and gets a policy that runs nothing at all (``sandbox``, ``default-src 'none'``), so markup
  that a publisher put in a file (an XHTML ``script`` inside an activity) never runs on the
  portal's origin, even when a browser shows the file inline.
- Who may show the pages in a frame is the operator's choice (``frame-ancestors``), checked
  here before the portal starts.
- A URL from the data becomes a link only through :func:`external_href`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Starlette and the export names are imported where they are used: the command line reads this
# module's defaults and checks (``--frame-ancestors``), and a quiet ``iatiportal ingest`` of
# unchanged files loads no web framework (store.quick).

DEFAULT_FRAME_ANCESTORS = "'self'"
REFERRER_POLICY = "strict-origin-when-cross-origin"
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
"""The schemes of a URL from the data that may become a link: none of them runs script."""


def page_policy(frame_ancestors: str) -> str:
    """The policy of the portal's HTML pages. ``frame_ancestors`` is already checked."""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",  # no inline script: the pages' JSON data blocks are not script
            # Observable Plot puts <style> elements in its charts; static/js/charts.js removes
            # them before they reach the page (site.css has their rules), so no 'unsafe-inline'.
            "style-src 'self'",
            # data: for the empty favicon and for the chart image that "Save as PNG" draws.
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",  # the maps fetch their atlas
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        )
    )


def data_policy(frame_ancestors: str) -> str:
    """The policy of every response that is not one of the portal's pages: nothing runs, loads
    or submits, and the document gets an opaque origin (``sandbox`` without any allow-)."""
    return "; ".join(
        (
            "default-src 'none'",
            # Chromium's XML viewer styles the tree it shows with inline style (without it, raw
            # XML is an unreadable run of text). Style can neither run script nor, with nothing
            # else allowed to load (no image, font or fetch), send anything anywhere.
            "style-src 'unsafe-inline'",
            "base-uri 'none'",
            "form-action 'none'",
            f"frame-ancestors {frame_ancestors}",
            "sandbox",
        )
    )


# CSP 3 (https://www.w3.org/TR/CSP3/#grammardef-ancestor-source-list), narrowed to what a web
# page can be framed by: 'self', 'none' alone, http(s) schemes and hosts. No ";" or "," can get
# through, so the value cannot add a directive or a second policy.
_KEYWORD = re.compile(r"'(self|none)'", re.IGNORECASE)
_SCHEME = re.compile(r"https?:", re.IGNORECASE)
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_HOST = re.compile(
    rf"(?:https?://)?(?:\*|(?:\*\.)?{_LABEL}(?:\.{_LABEL})*)"
    r"(?::(?P<port>\d{1,5}|\*))?"
    r"(?:/[A-Za-z0-9._~%!$&()*+=:@/-]*)?",
    re.IGNORECASE,
)


def frame_ancestors(value: str) -> str:
    """``value`` as the sources of a ``frame-ancestors`` directive, space-separated, keywords in
    lower case; ValueError (saying what is wrong) for anything else."""
    sources = value.split()
    if not sources:
        raise ValueError("give at least one frame-ancestors source, such as 'self'")
    out = []
    for source in sources:
        keyword = _KEYWORD.fullmatch(source)
        host = _HOST.fullmatch(source)
        if keyword:
            out.append(f"'{keyword.group(1).lower()}'")
        elif _KEYWORD.fullmatch(f"'{source}'"):
            raise ValueError(f"write '{source}' with its quotes: it is a frame-ancestors keyword")
        elif _SCHEME.fullmatch(source):
            out.append(source.lower())
        elif host and (host["port"] in (None, "*") or int(host["port"]) <= 65535):
            out.append(source)
        else:
            raise ValueError(
                f"{source!r} is not a frame-ancestors source: give "
                "'self', 'none', https: or hosts such as https://example.org or *.example.org, "
                "separated by spaces"
            )
    if "'none'" in out and len(out) > 1:
        raise ValueError("frame-ancestors 'none' cannot be given with other sources")
    return " ".join(out)


class SecurityHeaders:
    """ASGI middleware: the headers above on every response of the app it wraps."""

    def __init__(self, app: ASGIApp, frame_ancestors: str = DEFAULT_FRAME_ANCESTORS) -> None:
        self.app = app
        self.page_policy = page_policy(frame_ancestors)
        self.data_policy = data_policy(frame_ancestors)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        from starlette.datastructures import MutableHeaders  # noqa: PLC0415 - see the imports

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = REFERRER_POLICY
                # A 304 updates the headers the browser stored with the response (RFC 9111,
                # 4.3.4) and knows nothing of its type: a page's policy on a revalidated raw
                # XML would lift its sandbox. So a 304 carries none and the stored one holds.
                if message["status"] != 304:
                    media_type = headers.get("content-type", "").partition(";")[0]
                    html = media_type.strip().lower() == "text/html"
                    policy = self.page_policy if html else self.data_policy
                    headers["Content-Security-Policy"] = policy
            await send(message)

        await self.app(scope, receive, send_with_headers)


# What a browser ignores in a URL (https://url.spec.whatwg.org/#concept-basic-url-parser):
# C0 controls and spaces around it, tabs and newlines anywhere ("java\tscript:" is javascript:).
_AROUND = "".join(chr(c) for c in range(0x21))
_INSIDE = re.compile("[\t\n\r]")
_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


def external_href(url: str | None) -> str | None:
    """The link target for a URL from the data, as a browser reads it, when it is an absolute
    http, https or mailto URL; None otherwise (show it as text). Relative and protocol-relative
    URLs are not links either: they would point at the portal, or at a host of no scheme."""
    if not url:
        return None
    cleaned = _INSIDE.sub("", url.strip(_AROUND))
    scheme = _URL_SCHEME.match(cleaned)
    if scheme is None or scheme.group(1).lower() not in LINK_SCHEMES:
        return None
    return cleaned


def own_path(path: str) -> str:
    """The request's path for a link back to it: one leading slash, so a request for
    ``//evil.example/x`` cannot make the page's links (languages, data formats, pages of a list)
    protocol-relative links to another site."""
    return "/" + path.lstrip("/\\")


def inline_disposition(stem: str, ext: str) -> str:
    """``Content-Disposition`` for a file shown in the browser, under a name of safe characters
    only (no quote, semicolon or line break of the data reaches the header)."""
    from iatiportal.exports import names  # noqa: PLC0415 - see the imports

    return f'inline; filename="{names.activity_filename(stem, ext)}"'
