"""The Starlette application: the route table, the request context, and the rendering of Pages.

Every page is a module of ``web.pages`` with a builder ``(conn, ctx, **path) -> Page``; the
table ``PAGES`` maps URLs to builders, and ``serve_page`` is the one endpoint behind them all:
it reads the request's Context (language, currency, filters, whole lists) once, builds the
page in the thread pool on one connection, and renders it as HTML or as data. The engine,
profile, cache and Jinja environment are on ``app.state``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context as JinjaContext
from markupsafe import Markup, escape
from sqlalchemy import Connection, Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from iatiportal import __version__, i18n
from iatiportal.datasets.context import Context
from iatiportal.exports import manifest as snapshot_manifest
from iatiportal.exports import names, snapshot
from iatiportal.profile import Portal
from iatiportal.store import activity as stored_activity
from iatiportal.store import queries
from iatiportal.store.search import MARK_END, MARK_START
from iatiportal.web import address, api, conditional, security, theme, vendor
from iatiportal.web.cache import PerVersion, ResponseCache, validators
from iatiportal.web.guard import InputGuard
from iatiportal.web.language import LanguageChoice
from iatiportal.web.pages import (
    about,
    activities,
    activity,
    countries,
    country,
    download,
    health,
    overview,
    partners,
    regions,
    search,
    strategic_plan,
)
from iatiportal.web.render import FORMATS, RENDERERS, HtmlRenderer, Page, split_format
from iatiportal.web.request import context_of
from iatiportal.web.stream import Stream, held

HERE = Path(__file__).resolve().parent
Builder = Callable[..., Page | None]


def highlight(value: str) -> Markup:
    """Publisher text, escaped, with the matched words of a search in <mark>."""
    escaped = str(escape(value))
    return Markup(  # noqa: S704 - escaped above; only our own markers become tags
        escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")
    )


def language_attributes(code: str | None) -> Markup:
    """`` lang="…" dir="…"`` for text in language ``code`` (a narrative's ``xml:lang``, None
    where the publisher gave none) inside a page in the page's language: nothing where they
    are the same language; ``dir="auto"`` (the browser reads the text) where the language is
    not known or not a language tag."""
    return _language_attributes(code, i18n.current_language.get())


@functools.lru_cache(maxsize=4096)
def _language_attributes(code: str | None, language: str) -> Markup:
    # Kept per (code, page language): a page shows up to hundreds of narratives (issue 14).
    if i18n.same_language(code, language):
        return Markup("")
    tag = i18n.language_tag(code)
    return Markup(' lang="{}" dir="{}"').format(tag or "und", i18n.direction(tag))


def narrative(item: tuple[str | None, str] | None, tag: str = "span", class_: str = "") -> Markup:
    """A narrative, (language, text) as the publisher gave it, as ``<tag>`` marked with its
    own ``lang`` and ``dir`` where its language is not the page's (language_attributes), so
    that an Arabic text reads right to left inside an English page and a French one is read
    as French inside an Arabic page; "(none published)" where there is none. Every
    narrative of every page is shown through it: in Python, not a Jinja macro, because a page
    shows hundreds and a macro call costs more than the rest of the work (issue 14). The
    text is escaped here (autoescape's ``escape``): it comes from a publisher's file."""
    tag_html = escape(tag)
    if item:
        attrs = f' class="{escape(class_)}"' if class_ else ""
        return Markup(  # noqa: S704 - every part escaped or ours
            f"<{tag_html}{attrs}{language_attributes(item[0])}>{escape(item[1])}</{tag_html}>"
        )
    missing = f"missing {escape(class_)}" if class_ else "missing"
    none = i18n.gettext("(none published)")  # a message of our catalogs: not escaped
    return Markup(f'<{tag_html} class="{missing}">{none}</{tag_html}>')  # noqa: S704 - ours


def _money_cells(env: Environment) -> Callable[[Any], Markup]:
    """``money_cells(lines)``: the Budget, Expenditure and Utilisation cells of a table row,
    a line per currency, each cell named after its column (``data-label``: a table of class
    "stacked" shows its rows as cards on a phone, each cell under its column's name,
    site.css). In Python, not a macro: a list renders it per row (issue 14). ``lines`` hold
    ``budget``, ``expenditure``, ``currency`` and ``utilisation_percent``, read as a template
    reads them (attribute, else key)."""
    field = env.getattr

    def cells(lines: Any) -> Markup:
        lines = list(lines)
        budget: list[str] = []
        spent: list[str] = []
        used: list[str] = []
        for m in lines:
            currency = field(m, "currency")
            budget.append(str(escape(i18n.money(field(m, "budget"), currency))))
            spent.append(str(escape(i18n.money(field(m, "expenditure"), currency))))
            used.append(str(escape(i18n.percent(field(m, "utilisation_percent")))))
        budget = [f'<span class="money">{b}</span>' for b in budget]
        spent = [f'<span class="money">{e}</span>' for e in spent]
        labels = (  # messages of our catalogs: not escaped, as Jinja's gettext
            i18n.gettext("Budget"),
            i18n.gettext("Expenditure"),
            i18n.gettext("Utilisation"),
        )
        return Markup(  # noqa: S704 - every value escaped above
            "\n".join(
                f'<td class="num" data-label="{label}">{"<br>".join(shown) or "–"}</td>'
                for label, shown in zip(labels, (budget, spent, used), strict=True)
            )
        )

    return cells


def isolated(value: Any, class_: str | None = "code") -> Markup:
    """An identifier or code inside running text: isolated, left to right, so that
    "XM-DAC-41146" or "1.2" keeps its order inside Arabic text (``class_``: of the ``<bdi>``,
    None for none). In Python, not a Jinja macro: lists show one per row (issue 14)."""
    attrs = f' class="{escape(class_)}"' if class_ else ""
    return Markup(f'<bdi dir="ltr"{attrs}>{escape(value)}</bdi>')  # noqa: S704 - escaped


def country_options(choices: Any, code: str | None) -> Markup:
    """The ``<option>`` of each (code, name) of a country page's selector, the one of ``code``
    selected: the options are built once per (language, choices) and kept (issue 14: every
    country page lists every country of the store, about 250 options through Jinja's loop)."""
    kept = _country_options(i18n.current_language.get(), tuple(choices))
    if code is None:
        return kept
    option = f'<option value="{escape(code)}">'
    html = str(kept)  # Markup's replace would escape the new option
    if option not in html:
        return kept
    return Markup(  # noqa: S704 - made of escaped parts only
        html.replace(option, f'<option value="{escape(code)}" selected>', 1)
    )


@functools.lru_cache(maxsize=64)
def _country_options(language: str, choices: tuple[tuple[str, str], ...]) -> Markup:
    # ``language`` is in the key because the names are: a list of the same codes differs by it.
    return Markup(  # noqa: S704 - every value escaped
        "".join(f'<option value="{escape(c)}">{escape(n)}</option>' for c, n in choices)
    )


def place_rows(points: Any, link: Callable[[str], str]) -> Markup:
    """The rows of a map's table of places (``charts.location_map``'s points: coordinates,
    names, activities), each activity a link to its page through the page's ``link``. In
    Python, not a Jinja loop: a country tab lists every located place of the country's
    activities, often hundreds (issue 14)."""
    language = i18n.current_language.get()
    latitude = _translated(language, True, "Latitude")
    longitude = _translated(language, True, "Longitude")
    activities = _translated(language, True, "Activities")
    rows = []
    for p in points:
        lat, lon = escape(p["lat"]), escape(p["lon"])
        names = " · ".join(str(escape(n)) for n in p["names"]) or "–"
        links = ", ".join(
            f'<a href="{escape(link("/activities/" + quote(str(a), safe="")))}">{escape(a)}</a>'
            for a in p["activities"]
        )
        rows.append(
            f'<tr data-lat="{lat}" data-lon="{lon}"><th scope="row">{names}</th>'
            f'<td class="num" dir="ltr" data-label="{latitude}">{lat}</td>'
            f'<td class="num" dir="ltr" data-label="{longitude}">{lon}</td>'
            f'<td data-label="{activities}">{links}</td></tr>'
        )
    return Markup("".join(rows))  # noqa: S704 - every value escaped above


def _outcome_rows(env: Environment, money_cells: Callable[[Any], Markup]) -> Callable[..., Markup]:
    """``outcome_rows(items, link, impact_area=True)``: the rows of a country's table of
    outcomes (its Results and Strategic plan tabs): identifier (a link to the activity, shown
    as the outcome code where there is one), statement, impact area (``impact_area``), and
    the money cells. In Python, not a Jinja loop: a tab lists up to 100 outcomes, and the
    loop was half of the tab's rendering (issue 14). ``items`` are read as a template reads
    them (attribute, else key)."""
    field = env.getattr

    def rows(items: Any, link: Callable[[str], str], impact_area: bool = True) -> Markup:
        language = i18n.current_language.get()
        identifier_label = _translated(language, True, "Identifier")
        statement_label = _translated(language, True, "Statement")
        plan_label = _translated(language, True, "Strategic plan")
        made = []
        for i in items:
            identifier = field(i, "iati_identifier")
            href = escape(link("/activities/" + quote(str(identifier), safe="")))
            shown = escape(field(i, "outcome_code") or identifier)
            area = (
                f'<td data-label="{plan_label}">{escape(field(i, "impact_area") or "–")}</td>'
                if impact_area
                else ""
            )
            made.append(
                f'<tr data-id="{escape(identifier)}"><td data-label="{identifier_label}">'
                f'<a href="{href}">{shown}</a></td>'
                f'<td data-label="{statement_label}">{narrative(field(i, "title"))}</td>'
                f"{area}{money_cells(field(i, 'money'))}</tr>"
            )
        return Markup("".join(made))  # noqa: S704 - every value escaped or ours

    return rows


@pass_context
def template_gettext(context: JinjaContext, message: str, **variables: Any) -> str:
    """Jinja's newstyle ``gettext`` (the message in the page's language, Markup under
    autoescape, always formatted with ``variables``), its answers without variables kept per
    language (issue 14: a tenth of a page's CPU went to Jinja's gettext wrappers)."""
    autoescape = context.eval_ctx.autoescape
    if not variables:
        return _translated(i18n.current_language.get(), autoescape, message)
    text = i18n.gettext(message)
    return (Markup(text) if autoescape else text) % variables  # noqa: S704 - as Jinja does


@functools.lru_cache(maxsize=8192)
def _translated(language: str, autoescape: bool, message: str) -> str:
    text = i18n.translations(language).gettext(message)
    return (Markup(text) if autoescape else text) % {}  # noqa: S704 - our catalogs, as Jinja


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,  # templates are part of the package: no stat of each per render
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    # ``_()`` and ``gettext()`` without Jinja's two indirections (the alias, then its
    # newstyle wrapper) and with the answer kept: a page calls them about 150 times.
    env.globals.update(_=template_gettext, gettext=template_gettext)
    env.filters.update(
        money=i18n.money,
        number=i18n.number,
        percent=i18n.percent,
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
        direction=i18n.direction,
        language_attributes=language_attributes,
        narrative=narrative,
        money_cells=(money_cells := _money_cells(env)),
        country_options=country_options,
        isolated=isolated,
        outcome_rows=_outcome_rows(env, money_cells),
        place_rows=place_rows,
        version=__version__,
        formats=FORMATS,
        vendor_available=vendor.available,
    )
    return env


# -- the route table --------------------------------------------------------------------------


@dataclass(frozen=True)
class PageRoute:
    """A page URL: ``{name}`` path values go to the builder as keywords; the last one may
    carry a format suffix (``/countries/ML.json``), and a path without values has its
    ``.json``, ``.csv`` and ``.xlsx`` (``/countries.json``; ``/`` has ``/index.json``)."""

    path: str
    build: Builder
    values: tuple[str, ...] = ()  # names of the path values, in order
    cached: bool = True  # False: the page shows more than the store (the snapshot's state)

    def routes(self) -> list[Route]:
        endpoint = PageEndpoint(self)
        pattern = self.path
        if self.values:
            last = self.values[-1]
            # The last value takes the rest of the path: identifiers hold slashes and dots.
            pattern = pattern.replace("{" + last + "}", "{" + last + ":path}")
            return [Route(pattern, endpoint, methods=["GET", "HEAD"])]
        dotted = "/index.{fmt}" if self.path == "/" else self.path + ".{fmt}"
        return [
            Route(self.path, endpoint, methods=["GET", "HEAD"]),
            Route(dotted, endpoint, methods=["GET", "HEAD"]),
        ]


PAGES = (
    PageRoute("/", overview.build),
    PageRoute("/activities", activities.build),
    PageRoute("/countries", countries.build),
    PageRoute("/countries/{code}/{tab}", country.build, ("code", "tab")),
    PageRoute("/countries/{code}", country.build, ("code",)),
    PageRoute("/regions", regions.build),
    PageRoute("/regions/{code}", regions.region, ("code",)),
    PageRoute("/partners", partners.build),
    PageRoute("/partners/{ref}", partners.partner, ("ref",)),
    PageRoute("/search", search.build),
    PageRoute("/strategic-plan", strategic_plan.build),
    PageRoute("/strategic-plan/{code}", strategic_plan.area, ("code",)),
    PageRoute("/-/data-health", health.build),
    DOWNLOAD := PageRoute("/-/download", download.build, cached=False),
    PageRoute("/about", about.build),
)
"""Every page (the activity page, with its raw XML, has its own endpoint)."""


class PageEndpoint:
    """The ASGI endpoint of one PageRoute (Starlette calls it with the matched scope)."""

    def __init__(self, route: PageRoute) -> None:
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        values = [request.path_params[name] for name in self.route.values]
        fmt = request.path_params.get("fmt", "html")
        if values:
            values[-1], fmt = split_format(values[-1])
            if "/" in values[-1] and len(self.route.values) > 1:
                raise HTTPException(404)
        if fmt != "html" and fmt not in FORMATS:
            raise HTTPException(404)
        named = dict(zip(self.route.values, values, strict=True))
        response = await serve_page(
            request,
            fmt,
            lambda conn, ctx: self.route.build(conn, ctx, **named),
            cached=self.route.cached,
        )
        await response(scope, receive, send)


# -- the request context and rendering --------------------------------------------------------


def render_html(request: Request, page: Page) -> str:
    """A page's template, with the helpers every template uses."""
    env: Environment = request.app.state.env
    language = i18n.current_language.get()
    own_path = security.own_path(request.url.path)

    # The language is in the URL once chosen (web.language): links and forms keep it.
    lang_in_url = "lang" in request.query_params or language != i18n.DEFAULT_LANGUAGE

    query = request.query_params.multi_items()
    made: dict[tuple[tuple[str, Any], ...], str] = {}  # pagination asks for each link twice

    def url_with(**changes: Any) -> str:
        """This page's URL with ``changes`` to its query (None: without that key); every
        other key and value is kept, in order, repeated ones too."""
        key = tuple(changes.items())
        found = made.get(key)
        if found is None:
            found = made[key] = _url_with(changes)
        return found

    def _url_with(changes: dict[str, Any]) -> str:
        params: list[tuple[str, str]] = []
        for k, v in query:
            if k not in changes:
                params.append((k, v))
            elif changes[k] is not None and all(k != kept for kept, _v in params):
                params.append((k, str(changes[k])))  # in its place
        kept = {k for k, _v in params}
        params += [(k, str(v)) for k, v in changes.items() if v is not None and k not in kept]
        return f"{own_path}?{urlencode(params)}" if params else own_path

    def link(path: str) -> str:
        """A link to another page of the portal that keeps the page's language."""
        if not lang_in_url:
            return path
        return f"{path}{'&' if '?' in path else '?'}lang={language}"

    base: str | None = request.app.state.public_url

    def absolute(url: str) -> str:
        """A link of the portal as an absolute URL under the configured public address (never
        the request's Host header: the client writes it); as it is without one."""
        return address.absolute(base, url)

    def data_url(fmt: str) -> str:
        path = own_path.rstrip("/") or "/index"
        query = f"?{request.url.query}" if request.url.query else ""
        return f"{path}.{fmt}{query}"

    template = env.get_template(page.template)
    return template.render(
        page=page,
        request=request,
        lang=language,
        lang_in_url=lang_in_url,
        languages=i18n.LANGUAGES,  # read here: a test may give other languages
        url_with=url_with,
        absolute=absolute,
        link=link,
        data_url=data_url,
        has_plan=strategic_plan.plan_of(request.app.state.portal) is not None,
        site=theme.site(request.app.state.portal, language),
        **page.context,
    )


HTML = HtmlRenderer(render_html)


def render(
    request: Request, fmt: str, build: Callable[[Connection, Context], Page | None]
) -> tuple[Response, Any]:
    """The page and the data version it was built from (read in the same transaction)."""
    engine: Engine = request.app.state.engine
    with held(engine.connect()) as (conn, hold):
        version = queries.data_version(conn)
        ctx = context_of(request, conn, whole_lists=fmt != "html", version=version)
        i18n.current_language.set(ctx.language)  # gettext in templates and builders
        page = build(conn, ctx)
        if page is None:
            raise HTTPException(404)
        if fmt == "html":
            page.context.setdefault(
                "data_status", ctx.kept("data status", lambda: queries.data_status(conn))
            )
            page.context.setdefault(
                "currency_choice",
                {"current": ctx.currency or "", "offered": ctx.rates_loaded},
            )
            page.context.setdefault("notices", ctx.notices)
        response = hold(RENDERERS[fmt](request, page, HTML))
    response.headers.update(validators(version))
    return response, version


async def serve_page(
    request: Request,
    fmt: str,
    build: Callable[[Connection, Context], Page | None],
    *,
    cached: bool = True,
) -> Response:
    """A cached rendering, else one rendered in the thread pool (database work blocks).
    Not ``cached``: rendered every time (the download page follows the snapshot's builds,
    which do not change the data version the cache follows)."""
    cache: ResponseCache = request.app.state.cache
    key = (request.url.path, request.url.query)
    found = await cache.get(key) if cached else None
    if found is not None:
        return found
    response, version = await run_in_threadpool(render, request, fmt, build)
    if cached:
        cache.put(key, response, version)
    return response


# -- endpoints that are not pages -------------------------------------------------------------


async def activity_endpoint(request: Request) -> Response:
    """``/activities/{identifier}``: the page (and its renderings), or ``.xml`` as published."""
    identifier, fmt = split_format(request.path_params["identifier"])
    if identifier.endswith(".xml"):
        return await run_in_threadpool(raw_xml, request, identifier.removesuffix(".xml"))
    return await serve_page(request, fmt, lambda conn, ctx: activity.build(conn, ctx, identifier))


def raw_xml(request: Request, identifier: str) -> Response:
    """The activity as published, streamed a megabyte at a time (it can be huge)."""
    with held(request.app.state.engine.connect()) as (conn, hold):
        found = stored_activity.raw_xml_size(conn, identifier)
        if found is None:
            raise HTTPException(404)

        def body() -> Iterator[bytes]:
            yield b'<?xml version="1.0" encoding="UTF-8"?>\n'
            yield from stored_activity.raw_xml_chunks(conn, *found)
            yield b"\n"

        disposition = security.inline_disposition(identifier, "xml")
        return hold(
            Stream(
                body(), media_type="application/xml", headers={"Content-Disposition": disposition}
            )
        )


def country_redirect(request: Request) -> Response:
    """The Country selector's target (a plain form works without JavaScript)."""
    code = request.query_params.get("code", "").upper()
    tab = request.query_params.get("tab", "overview")
    if not code.isalpha() or len(code) != 2 or tab not in country.TABS:
        raise HTTPException(404)
    params = {k: v for k in ("year", "lang") if (v := request.query_params.get(k))}
    path = f"/countries/{code}" + ("" if tab == "overview" else f"/{tab}")
    return RedirectResponse(f"{path}?{urlencode(params)}" if params else path, 303)


def snapshot_file(request: Request) -> Response:
    """One snapshot file, named for what and when; revalidated by its digest."""
    snapshots: Path = request.app.state.snapshots
    name = request.path_params["name"]
    # Twice at most: a build may switch snapshots (and remove this one's files) between the
    # reading of the manifest and the look at the file.
    for _attempt in range(2):
        manifest = snapshot_manifest.read_manifest(snapshots)
        listed = {f.name: f for f in manifest.files} if manifest else {}
        if manifest is None or name not in listed:
            raise HTTPException(404)
        path = snapshot.file_path(snapshots, manifest, name)
        try:
            stat = path.stat()
            break
        except FileNotFoundError:
            continue
    else:
        raise HTTPException(404)
    etag = f'"{listed[name].sha256[:32]}"'
    modified = formatdate(stat.st_mtime, usegmt=True)  # FileResponse's
    if conditional.not_modified(request.method, request.headers, etag, modified):
        return Response(status_code=304, headers={"ETag": etag, "Last-Modified": modified})
    day = manifest.built_at[:10]
    return FileResponse(
        path,
        stat_result=stat,
        filename=names.snapshot_filename(name, day),
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
    return RENDERERS["html"](request, page, HTML)


def error_page(
    request: Request, status: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """An error answer: the API's JSON error under /api/, else a page that says it."""
    if request.url.path.startswith("/api/"):
        response = api.error_response(status, message)
    else:
        i18n.current_language.set(i18n.choose_language(request.query_params.get("lang")))
        title = i18n.gettext("Method not allowed") if status == 405 else i18n.gettext("Bad request")
        page = Page("error.html", title, {"status": status}, status_code=status)
        response = RENDERERS["html"](request, page, HTML)
    response.headers.update(headers or {})
    return response


def method_not_allowed(request: Request, exc: Exception) -> Response:
    allowed = dict(exc.headers or {}) if isinstance(exc, HTTPException) else {}
    if request.url.path.startswith("/api/"):
        allowed["Allow"] = api.PREFLIGHT["Allow"]  # every API path answers OPTIONS too
    message = f"{request.method} is not allowed: use {allowed.get('Allow', 'GET')}"
    return error_page(request, 405, message, allowed)


def routes() -> list[BaseRoute]:
    """The whole URL space: the pages, the activity page, the API, the static files."""
    return [
        *(route for page in PAGES if page.path == "/" for route in page.routes()),
        Route("/activities/{identifier:path}", activity_endpoint, methods=["GET", "HEAD"]),
        Route("/countries/redirect", country_redirect),
        *(route for page in PAGES if page.path != "/" for route in page.routes()),
        Route("/-/download/", PageEndpoint(DOWNLOAD), methods=["GET", "HEAD"]),
        Route("/-/download/{name}", snapshot_file),
        Mount("/api/v1", routes=api.routes()),
        Route("/static/vendor/{name:path}", vendor.endpoint),
        Route("/static/theme.css", theme.stylesheet_endpoint, methods=["GET", "HEAD"]),
        Route("/static/brand/{name}", theme.image_endpoint, methods=["GET", "HEAD"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]


def create_app(
    engine: Engine,
    portal: Portal | None = None,
    *,
    recheck_data_every: float = 1.0,
    snapshot_dir: Path | None = None,
    frame_ancestors: str = security.DEFAULT_FRAME_ANCESTORS,
    public_url: str | None = None,
) -> Starlette:
    """The portal over the store that ``engine`` opens (migrated already), for the
    publishers of ``portal`` (None: every publisher, with neutral labels); the bulk snapshot
    is read from ``snapshot_dir`` (default: snapshot.default_dir of the store).

    Rendered pages are cached until the data changes, which is checked at most every
    ``recheck_data_every`` seconds. ``frame_ancestors`` (CSP sources, space-separated) says
    which sites may show the pages in a frame; ValueError when it is not valid.
    ``public_url`` (``https://portal.example.org``) makes the pages' hreflang alternates and
    canonical link absolute URLs (web.address); ValueError when it is not valid.
    """
    frame_ancestors = security.frame_ancestors(frame_ancestors)
    base = address.parse(public_url) if public_url is not None else None

    def data_version() -> Any:
        with engine.connect() as conn:
            return queries.data_version(conn)

    cache = ResponseCache(data_version, check_every=recheck_data_every)
    app = Starlette(
        routes=routes(),
        exception_handlers={404: not_found, 405: method_not_allowed},
        middleware=[
            Middleware(security.SecurityHeaders, frame_ancestors=frame_ancestors),
            Middleware(ServerTiming),
            Middleware(LanguageChoice),  # before the 304s: a bare URL varies by language
            Middleware(Revalidation, version=cache.version),
            Middleware(GZipMiddleware, minimum_size=1000),
            Middleware(InputGuard, refuse=error_page),
        ],
    )
    app.state.engine = engine
    app.state.portal = portal or Portal()
    app.state.cache = cache
    app.state.per_version = PerVersion()
    app.state.public_url = base
    app.state.env = _environment()
    app.state.snapshots = snapshot_dir or snapshot.default_dir(
        engine.url.render_as_string(hide_password=False)
    )
    return app


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
