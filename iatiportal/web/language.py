"""The language of a page is in its URL: a first visit is sent to the URL of its language.

Every page is served in the language its ``?lang=`` names, so each language's page has its own
URL, to share and to cache (by browsers, shared caches and the portal's own page cache alike,
which keep pages by path and query). A page URL without ``lang`` follows the browser's
``Accept-Language`` (``i18n.negotiate``): where that is another language than English, the
answer is a redirect (302, temporary: it depends on the header) to the same URL with
``lang=``; where it is English, the English page itself. Both answers carry
``Vary: Accept-Language``, so a cache that keeps them keeps them per header; the pages with
``lang=`` vary on nothing. That way the URL without ``lang`` only ever holds English content,
and no cache, ours included, can hand a French page to an English visitor.

Why a redirect rather than serving every language at the bare URL with ``Vary``: the portal's
cache key would have to include the negotiated language, shared caches would have to keep one
copy per distinct ``Accept-Language`` header (thousands of variants; many caches then do not
store at all), and the address a visitor copies would not say the language they read.

Data renderings (``.json``, ``.csv``, ``.xlsx``), the API, raw XML, snapshot files and static
files are not negotiated: scripts get the same answer wherever they run (English labels
unless they ask ``?lang=``).
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from starlette.datastructures import Headers, MutableHeaders, QueryParams
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from iatiportal import i18n
from iatiportal.web.render import split_format

NOT_PAGES = ("/api/", "/static/", "/-/download/")


def is_page(path: str) -> bool:
    """Whether ``path`` is an HTML page (not data, raw XML, a file or the API)."""
    if path.startswith(NOT_PAGES) and path != "/-/download/":
        return False
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if path.startswith("/activities/") and last.endswith(".xml"):
        return False
    return split_format(last)[1] == "html"


def with_language(scope: Scope, language: str) -> str:
    """The request's own path (as sent, percent-encoded) and query, with ``lang`` added; one
    leading slash, so that ``//evil.example`` cannot become a link to another site."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else quote(scope["path"])
    params = [*QueryParams(scope.get("query_string", b"")).multi_items(), ("lang", language)]
    return "/" + path.lstrip("/\\") + "?" + urlencode(params)


class LanguageChoice:
    """Sends a page request without ``?lang=`` to its language's URL (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not is_page(scope["path"])
            or "lang" in QueryParams(scope.get("query_string", b""))
        ):
            await self.app(scope, receive, send)
            return
        language = i18n.negotiate(Headers(scope=scope).get("accept-language"))
        if language != i18n.DEFAULT_LANGUAGE:
            redirect = RedirectResponse(with_language(scope, language), status_code=302)
            redirect.headers["Vary"] = "Accept-Language"
            await redirect(scope, receive, send)
            return

        async def send_varying(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).add_vary_header("Accept-Language")
            await send(message)

        await self.app(scope, receive, send_varying)
