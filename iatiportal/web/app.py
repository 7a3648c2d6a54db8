"""The Starlette application: routes, the Jinja environment and the rendering of Pages."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterator, Mapping
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from sqlalchemy import Connection, Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from iatiportal import __version__, snapshot
from iatiportal.profile import Portal
from iatiportal.store import activity as stored_activity
from iatiportal.store import money, queries
from iatiportal.store.search import MARK_END, MARK_START
from iatiportal.web import (
    activity,
    activity_charts,
    api,
    conditional,
    countries,
    i18n,
    partners,
    security,
    vendor,
    views,
)
from iatiportal.web.cache import ResponseCache, validators
from iatiportal.web.guard import InputGuard
from iatiportal.web.render import FORMATS, RENDERERS, HtmlRenderer, Page, split_format

HERE = Path(__file__).resolve().parent
PageFunction = Callable[[Connection, Any], Page]


def highlight(value: str) -> Markup:
    """Publisher text, escaped, with the matched words of a search in <mark>."""
    escaped = str(escape(value))
    return Markup(  # noqa: S704 - escaped above; only our own markers become tags
        escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")
    )


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    env.filters.update(
        money=i18n.money,
        number=i18n.number,
        date=i18n.date,
        datetime=i18n.datetime,
        country=i18n.country_name,
        quote=lambda value: quote(str(value), safe=""),
        highlight=highlight,
        external_href=security.external_href,
    )
    env.globals.update(
        languages=i18n.LANGUAGES,
        language_name=i18n.language_name,
        version=__version__,
        formats=FORMATS,
        vendor_available=vendor.available,
    )
    return env


def create_app(
    engine: Engine,
    portal: Portal | None = None,
    *,
    recheck_data_every: float = 1.0,
    snapshot_dir: Path | None = None,
    frame_ancestors: str = security.DEFAULT_FRAME_ANCESTORS,
) -> Starlette:
    """The portal over the store that ``engine`` opens (migrated already), for the
    publishers of ``portal`` (None: every publisher, with neutral labels); the bulk snapshot
    is read from ``snapshot_dir`` (default: snapshot.default_dir of the store).

    Rendered pages are cached until the data changes, which is checked at most every
    ``recheck_data_every`` seconds. ``frame_ancestors`` (CSP sources, space-separated) says
    which sites may show the pages in a frame; ValueError when it is not valid.
    """
    frame_ancestors = security.frame_ancestors(frame_ancestors)
    env = _environment()
    portal = portal or Portal()
    snapshots = snapshot_dir or snapshot.default_dir(
        engine.url.render_as_string(hide_password=False)
    )

    def render_html(request: Request, page: Page) -> str:
        language = i18n.current_language.get()
        own_path = security.own_path(request.url.path)

        def url_with(**changes: Any) -> str:
            params = dict(request.query_params)
            params.update({k: str(v) for k, v in changes.items() if v is not None})
            for k, v in changes.items():
                if v is None:
                    params.pop(k, None)
            return f"{own_path}?{urlencode(params)}" if params else own_path

        def link(path: str) -> str:
            """A link to another page of the portal that keeps the page's language."""
            if language == i18n.DEFAULT_LANGUAGE:
                return path
            return f"{path}{'&' if '?' in path else '?'}lang={language}"

        def data_url(fmt: str) -> str:
            path = own_path.rstrip("/") or "/index"
            query = f"?{request.url.query}" if request.url.query else ""
            return f"{path}.{fmt}{query}"

        template = env.get_template(page.template)
        return template.render(
            page=page,
            request=request,
            lang=language,
            url_with=url_with,
            link=link,
            data_url=data_url,
            **page.context,
        )

    html = HtmlRenderer(render_html)

    def data_version() -> Any:
        with engine.connect() as conn:
            return queries.data_version(conn)

    cache = ResponseCache(data_version, check_every=recheck_data_every)

    def render(
        request: Request, fmt: str, build: Callable[[Connection], Page | None]
    ) -> tuple[Response, Any]:
        """The page and the data version it was built from (read in the same transaction)."""
        i18n.current_language.set(i18n.choose_language(request.query_params.get("lang")))
        views.WHOLE_LISTS.set(fmt != "html")  # data renderings hold every row of a list
        with held(engine.connect()) as (conn, hold):
            version = queries.data_version(conn)
            rates_loaded = queries.has_rates(conn)
            currency = views.chosen_currency(request.query_params, rates_loaded)
            money.PAGE_CURRENCY.set(currency)
            page = build(conn)
            if page is not None and fmt == "html":
                page.context.setdefault("data_status", queries.data_status(conn))
                page.context.setdefault(
                    "currency_choice", {"current": currency or "", "offered": rates_loaded}
                )
            if page is None:
                raise HTTPException(404)
            response = hold(RENDERERS[fmt](request, page, html))
        response.headers.update(validators(version))
        return response, version

    async def respond(
        request: Request, fmt: str, build: Callable[[Connection], Page | None]
    ) -> Response:
        """A cached rendering, else one rendered in the thread pool (database work blocks)."""
        key = (request.url.path, request.url.query)
        cached = await cache.get(key)
        if cached is not None:
            return cached
        response, version = await run_in_threadpool(render, request, fmt, build)
        cache.put(key, response, version)
        return response

    def page_route(path: str, function: PageFunction) -> list[Route]:
        async def endpoint(request: Request) -> Response:
            fmt = request.path_params.get("fmt", "html")
            if fmt not in FORMATS and fmt != "html":
                raise HTTPException(404)
            return await respond(request, fmt, lambda conn: function(conn, request.query_params))

        dotted = "/index.{fmt}" if path == "/" else path + ".{fmt}"
        return [Route(path, endpoint), Route(dotted, endpoint)]

    async def activity_endpoint(request: Request) -> Response:
        identifier, fmt = split_format(request.path_params["identifier"])
        if identifier.endswith(".xml"):
            return await run_in_threadpool(raw_xml, identifier.removesuffix(".xml"))
        return await respond(
            request,
            fmt,
            lambda conn: activity_charts.with_charts(
                conn, activity.page(conn, identifier, request.query_params), portal
            ),
        )

    async def countries_endpoint(request: Request) -> Response:
        fmt = request.path_params.get("fmt", "html")
        if fmt not in FORMATS and fmt != "html":
            raise HTTPException(404)
        return await respond(
            request, fmt, lambda conn: countries.countries(conn, request.query_params, portal)
        )

    async def country_endpoint(request: Request) -> Response:
        code, fmt = split_format(request.path_params["code"])
        tab = "overview"
        if "tab" in request.path_params:
            tab, fmt = split_format(request.path_params["tab"])
        return await respond(
            request,
            fmt,
            lambda conn: countries.country(conn, code, tab, request.query_params, portal),
        )

    def country_redirect(request: Request) -> Response:
        """The Country selector's target (a plain form works without JavaScript)."""
        code = request.query_params.get("code", "").upper()
        tab = request.query_params.get("tab", "overview")
        if not code.isalpha() or len(code) != 2 or tab not in countries.TABS:
            raise HTTPException(404)
        params = {k: v for k in ("year", "lang") if (v := request.query_params.get(k))}
        path = f"/countries/{code}" + ("" if tab == "overview" else f"/{tab}")
        return RedirectResponse(f"{path}?{urlencode(params)}" if params else path, 303)

    def portal_page(
        function: Callable[[Connection, str, Any, Portal], Page | None], name: str
    ) -> Callable[[Request], Any]:
        """An endpoint for ``/things/{name}`` (and its .json etc.) of a portal page."""

        async def endpoint(request: Request) -> Response:
            value, fmt = split_format(request.path_params[name])
            return await respond(
                request, fmt, lambda conn: function(conn, value, request.query_params, portal)
            )

        return endpoint

    def portal_list(
        function: Callable[[Connection, Any, Portal], Page],
    ) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            fmt = request.path_params.get("fmt", "html")
            if fmt not in FORMATS and fmt != "html":
                raise HTTPException(404)
            return await respond(
                request, fmt, lambda conn: function(conn, request.query_params, portal)
            )

        return endpoint

    def strategic_plan_page(conn: Connection, params: Any, portal: Portal) -> Page:
        page = countries.strategic_plan(conn, params, portal)
        if page is None:  # a portal without a strategic plan in its profile
            raise HTTPException(404)
        return page

    def raw_xml(identifier: str) -> Response:
        """The activity as published, streamed a megabyte at a time (it can be huge)."""
        with held(engine.connect()) as (conn, hold):
            found = stored_activity.raw_xml_size(conn, identifier)
            if found is None:
                raise HTTPException(404)

            def body() -> Iterator[bytes]:
                yield b'<?xml version="1.0" encoding="UTF-8"?>\n'
                yield from stored_activity.raw_xml_chunks(conn, *found)
                yield b"\n"

            disposition = security.inline_disposition(identifier, "xml")
            return hold(
                StreamingResponse(
                    body(),
                    media_type="application/xml",
                    headers={"Content-Disposition": disposition},
                )
            )

    def download_page(conn: Connection, params: Any) -> Page:
        return views.download(conn, snapshot.read_manifest(snapshots))

    def snapshot_file(request: Request) -> Response:
        """One snapshot file, named for what and when; revalidated by its digest."""
        name = request.path_params["name"]
        manifest = snapshot.read_manifest(snapshots)
        listed = {f.name: f for f in manifest.files} if manifest else {}
        if name not in listed or not (snapshots / name).is_file():
            raise HTTPException(404)
        etag = f'"{listed[name].sha256[:32]}"'
        modified = formatdate((snapshots / name).stat().st_mtime, usegmt=True)  # FileResponse's
        if conditional.not_modified(request.method, request.headers, etag, modified):
            return Response(status_code=304, headers={"ETag": etag, "Last-Modified": modified})
        day = manifest.built_at[:10] if manifest else "snapshot"
        stem, _dot, ext = name.partition(".")
        return FileResponse(
            snapshots / name,
            filename=f"{stem}-{day}.{ext}",
            headers={"ETag": etag, "Cache-Control": "no-cache"},
        )

    def not_found(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/api/"):
            return api.error_response(404, f"no API resource at {request.url.path}")
        i18n.current_language.set(i18n.choose_language(request.query_params.get("lang")))
        wanted = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        page = Page(
            "not_found.html", i18n.gettext("Page not found"), {"wanted": wanted}, status_code=404
        )
        return RENDERERS["html"](request, page, html)

    def error_page(
        request: Request, status: int, message: str, headers: Mapping[str, str] | None = None
    ) -> Response:
        """An error answer: the API's JSON error under /api/, else a page that says it."""
        if request.url.path.startswith("/api/"):
            response = api.error_response(status, message)
        else:
            i18n.current_language.set(i18n.choose_language(request.query_params.get("lang")))
            title = (
                i18n.gettext("Method not allowed") if status == 405 else i18n.gettext("Bad request")
            )
            page = Page("error.html", title, {"status": status}, status_code=status)
            response = RENDERERS["html"](request, page, html)
        response.headers.update(headers or {})
        return response

    def method_not_allowed(request: Request, exc: Exception) -> Response:
        allowed = dict(exc.headers or {}) if isinstance(exc, HTTPException) else {}
        if request.url.path.startswith("/api/"):
            allowed["Allow"] = api.PREFLIGHT["Allow"]  # every API path answers OPTIONS too
        message = f"{request.method} is not allowed: use {allowed.get('Allow', 'GET')}"
        return error_page(request, 405, message, allowed)

    def render_docs(spec: dict[str, Any]) -> str:
        return env.get_template("api_docs.html").render(spec=spec)

    download_routes = page_route("/-/download", download_page)
    routes = [
        *page_route("/", lambda conn, params: countries.overview(conn, params, portal)),
        *page_route("/activities", views.activities),
        Route("/activities/{identifier:path}", activity_endpoint),
        Route("/countries", countries_endpoint),
        Route("/countries.{fmt}", countries_endpoint),
        Route("/countries/redirect", country_redirect),
        Route("/countries/{code}", country_endpoint),
        Route("/countries/{code}/{tab}", country_endpoint),
        Route("/regions", portal_list(partners.regions)),
        Route("/regions.{fmt}", portal_list(partners.regions)),
        Route("/regions/{code:path}", portal_page(partners.region, "code")),
        Route("/partners", portal_list(partners.partners)),
        Route("/partners.{fmt}", portal_list(partners.partners)),
        Route("/partners/{ref:path}", portal_page(partners.partner, "ref")),
        Route("/search", portal_list(views.search)),
        Route("/search.{fmt}", portal_list(views.search)),
        Route("/strategic-plan", portal_list(strategic_plan_page)),
        Route("/strategic-plan.{fmt}", portal_list(strategic_plan_page)),
        Route("/strategic-plan/{code}", portal_page(countries.strategic_plan_area, "code")),
        *page_route("/-/data-health", views.data_health),
        *download_routes,
        Route("/-/download/", download_routes[0].endpoint),
        Route("/-/download/{name}", snapshot_file),
        *page_route("/about", views.about),
        Mount("/api/v1", routes=api.routes(engine, portal, cache, render_docs)),
        Route("/static/vendor/{name}", vendor.endpoint),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={404: not_found, 405: method_not_allowed},
        middleware=[
            Middleware(security.SecurityHeaders, frame_ancestors=frame_ancestors),
            Middleware(ServerTiming),
            Middleware(Revalidation, version=cache.version),
            Middleware(GZipMiddleware, minimum_size=1000),
            Middleware(InputGuard, refuse=error_page),
        ],
    )


class Revalidation:
    """ETag and Last-Modified from the data version on every page and API answer, so clients
    and caches revalidate: an ``If-None-Match`` or ``If-Modified-Since`` that still holds gets
    304 Not Modified without any work. (Static files and snapshot files carry their own.)"""

    def __init__(self, app: ASGIApp, version: Callable[[], Awaitable[Any]]) -> None:
        self.app = app
        self.version = version

    async def _validators(self) -> tuple[str, str | None]:
        found = validators(await self.version())
        return found["ETag"], found.get("Last-Modified")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or path.startswith(("/static/", "/-/download/"))
        ):
            await self.app(scope, receive, send)
            return
        etag, modified = await self._validators()
        if conditional.not_modified(scope["method"], Headers(scope=scope), etag, modified):
            headers = {"ETag": etag, **({"Last-Modified": modified} if modified else {})}
            await Response(status_code=304, headers=headers)(scope, receive, send)
            return

        async def send_with_validators(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                # A page carries the validators of the data it was built from (see render),
                # which may be newer than the version this request was checked against.
                headers = MutableHeaders(scope=message)
                if "etag" not in headers:
                    headers["ETag"] = etag
                    if modified:
                        headers["Last-Modified"] = modified
            await send(message)

        await self.app(scope, receive, send_with_validators)


@contextlib.contextmanager
def held(conn: Connection) -> Iterator[tuple[Connection, Callable[[Response], Response]]]:
    """A page's connection, and ``hold`` for its response: a streamed response keeps the
    connection (its read transaction, so every streamed row comes from the data the rest of the
    page was built from, whatever an ingest commits meanwhile) until its last chunk is sent or
    the client goes; any other response closes it here."""
    kept: list[StreamingResponse] = []

    def hold(response: Response) -> Response:
        if isinstance(response, StreamingResponse):
            kept.append(response)
            response.body_iterator = _closing(response.body_iterator, conn)
        return response

    try:
        yield conn, hold
    except BaseException:
        conn.close()
        raise
    if not kept:
        conn.close()


async def _closing(body: AsyncIterable[Any], conn: Connection) -> AsyncIterator[Any]:
    try:
        async for chunk in body:
            yield chunk
    finally:
        await run_in_threadpool(conn.close)


class ServerTiming:
    """Adds ``Server-Timing: app;dur=<ms>`` to every response (what bench/pages.py reads)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed = (time.perf_counter() - started) * 1000
                headers = MutableHeaders(scope=message)
                headers.append("Server-Timing", f"app;dur={elapsed:.2f}")
            await send(message)

        await self.app(scope, receive, timed_send)
