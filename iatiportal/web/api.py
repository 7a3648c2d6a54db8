"""The public JSON API under ``/api/v1/``: no key, the pages' filters, documented by OpenAPI.

Lists answer ``{"total": N, "page": p, "per_page": k, "items": [...]}``. Row lists
(activities, transactions, budgets, results, problems) come from ``store.listing``; the
aggregate lists (countries, regions, partners, the strategic plan) are the data tables of the
portal's own pages, so the API says what the pages say. Errors are JSON
(``{"error": {"status": 400, "message": ...}}``) with status 400 for a bad parameter value and
404 for an unknown id (405, with ``Allow``, for a method other than GET and HEAD). Every response
allows any origin (CORS) for GET, and OPTIONS answers preflights.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import islice
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from iatiportal import __version__, rates
from iatiportal.profile import Portal
from iatiportal.store import listing, money, queries
from iatiportal.store import search as store_search
from iatiportal.web import activity as activity_page
from iatiportal.web import countries, downloads, i18n, partners, views
from iatiportal.web.cache import ResponseCache, validators
from iatiportal.web.guard import TEXT_PATTERN
from iatiportal.web.params import MAX_PAGE, whole_number
from iatiportal.web.render import DataTable, Page

MAX_PER_PAGE = 1000
XLSX_MAX_ROWS = 1_048_575  # a worksheet's rows, less the header
DEFAULT_PER_PAGE = 100
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS"}
PREFLIGHT = {
    **CORS,
    "Access-Control-Allow-Headers": "Accept, Accept-Language, Content-Language, Content-Type, "
    "If-Modified-Since, If-None-Match",
    "Access-Control-Max-Age": "86400",
    "Allow": "GET, HEAD, OPTIONS",
}
"""The answer to a CORS preflight (OPTIONS) anywhere under the API: browsers keep it a day."""


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_response(body: Any, status: int = 200) -> Response:
    text = json.dumps(body, ensure_ascii=False, default=downloads.json_value, separators=(",", ":"))
    return Response(text, status_code=status, media_type="application/json", headers=CORS)


def error_response(status: int, message: str) -> Response:
    return json_response({"error": {"status": status, "message": message}}, status)


# -- parameters -------------------------------------------------------------------------------


def text() -> dict[str, Any]:
    """The schema of a text parameter: any text the guard lets through (no NUL)."""
    return {"type": "string", "pattern": TEXT_PATTERN}


@dataclass(frozen=True)
class Parameter:
    name: str
    description: str
    schema: dict[str, Any]


FILTERS = (
    Parameter(
        "country",
        "Recipient country, ISO 3166-1 alpha-2.",
        {"type": "string", "pattern": "^[A-Za-z]{2}$"},
    ),
    Parameter("region", "Recipient region code (any vocabulary).", text()),
    Parameter(
        "year",
        "Activities with budgets or transactions in the year; transactions and budgets of "
        "the year.",
        {"type": "integer", "minimum": 1900, "maximum": 2100},
    ),
    Parameter(
        "reporting_org",
        "Reporting organisation identifier(s), comma-separated.",
        text(),
    ),
    Parameter(
        "partner",
        "Funding partner: participating-org of role 1 or provider of incoming funds.",
        text(),
    ),
    Parameter(
        "sector",
        "Sector code (of sector_vocabulary, default 1 OECD DAC 5-digit).",
        text(),
    ),
    Parameter(
        "sector_vocabulary",
        "Sector vocabulary of `sector` (alone: activities with any sector of it).",
        text(),
    ),
    Parameter(
        "impact_area",
        "Impact area of the home publisher's strategic plan (e.g. D1).",
        text(),
    ),
    Parameter(
        "sdg",
        "Sustainable Development Goal (sector vocabulary 7).",
        {"type": "integer", "minimum": 1, "maximum": 17},
    ),
    Parameter(
        "humanitarian",
        "Humanitarian flag.",
        {"type": "string", "enum": ["true", "false", "1", "0"]},
    ),
    Parameter("q", "Full-text query: every word must match.", text()),
    Parameter(
        "currency",
        "Transactions and budgets: also give each value converted to USD or EUR at its value "
        "date, with the rate, its date and source (where rates are loaded).",
        {"type": "string", "enum": ["USD", "EUR", "published"]},
    ),
    Parameter(
        "activity",
        "One activity (its IATI identifier): its transactions, budgets or results, e.g. every "
        "transaction of an activity as `format=csv`.",
        {"type": "string"},
    ),
)
PAGING = (
    Parameter(
        "page",
        "Page number, from 1.",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
    ),
    Parameter(
        "per_page",
        f"Items per page, at most {MAX_PER_PAGE}.",
        {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE},
    ),
)


def _integer(params: Any, name: str, low: int, high: int) -> int | None:
    """A whole number parameter (params.whole_number): None when absent, 400 when not one."""
    value = params.get(name)
    if value is None or value == "":
        return None
    number = whole_number(value, low, high)
    if number is None:
        raise ApiError(400, f"{name} must be a whole number from {low} to {high}, not {value!r}")
    return number


def parse_filters(params: Any, portal: Portal) -> listing.ListFilters:
    country = params.get("country") or None
    if country is not None and not re.fullmatch(r"[A-Za-z]{2}", country):
        raise ApiError(400, f"country must be an ISO 3166-1 alpha-2 code, not {country!r}")
    sectors: list[tuple[str, str | None]] = []
    if params.get("sector") or params.get("sector_vocabulary"):
        sectors.append((params.get("sector_vocabulary") or "1", params.get("sector") or None))
    if params.get("impact_area"):
        plan = portal.home.strategic_plan
        area = plan.impact_area(params["impact_area"]) if plan is not None else None
        if plan is None or area is None or not plan.sector_vocabulary:
            raise ApiError(
                400, f"impact_area {params['impact_area']!r} is not in the strategic plan"
            )
        sectors.append((plan.sector_vocabulary, area.code))
    sdg = _integer(params, "sdg", 1, 17)
    if sdg is not None:
        sectors.append(("7", str(sdg)))
    humanitarian = params.get("humanitarian")
    flags = {"true": True, "1": True, "false": False, "0": False}
    if humanitarian not in (None, "") and humanitarian not in flags:
        raise ApiError(400, f"humanitarian must be true or false, not {humanitarian!r}")
    orgs = tuple(o.strip() for o in (params.get("reporting_org") or "").split(",") if o.strip())
    q = params.get("q")
    currency = params.get("currency") or None
    if currency not in (None, "USD", "EUR", "published"):
        raise ApiError(400, f"currency must be USD, EUR or published, not {currency!r}")
    return listing.ListFilters(
        currency=None if currency == "published" else currency,
        country=country.upper() if country else None,
        region=params.get("region") or None,
        year=_integer(params, "year", 1900, 2100),
        reporting_org=orgs,
        partner=params.get("partner") or None,
        sectors=tuple(sectors),
        humanitarian=flags.get(humanitarian or ""),
        q=q if q else None,
        activity=params.get("activity") or None,
    )


def parse_paging(params: Any) -> tuple[int, int]:
    page = _integer(params, "page", 1, MAX_PAGE) or 1
    per_page = _integer(params, "per_page", 1, MAX_PER_PAGE) or DEFAULT_PER_PAGE
    return page, per_page


def parse_sort(params: Any, resource: listing.Resource) -> list[str]:
    keys = [k.strip() for k in (params.get("sort") or "").split(",") if k.strip()]
    for key in keys:
        if key.lstrip("-") not in resource.sorts:
            allowed = ", ".join(sorted(resource.sorts))
            raise ApiError(400, f"sort {key!r} is not one of: {allowed} (prefix - to reverse)")
    return keys


# -- items ------------------------------------------------------------------------------------


def with_conversion(
    rows: Iterable[dict[str, Any]], convert: rates.Converter | None
) -> Iterator[dict[str, Any]]:
    """Rows of transactions and budgets with their value converted (rates.Converter)."""
    for row in rows:
        if convert is not None and "value" in row:
            day = row.get("value_date") or row.get("transaction_date") or row.get("period_start")
            done = convert(row["value"], row.get("currency"), day)
            row["converted_currency"] = convert.target
            if done is not None:
                row.update(
                    value_converted=done.value,
                    rate=done.rate,
                    rate_date=done.rate_date,
                    rate_source=done.source,
                )
        yield row


def _table_items(
    page: Page, table: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """The rows of a page's table (its first ``limit``)."""
    chosen: DataTable | None = next((t for t in page.tables if table in (None, t.name)), None)
    if chosen is None:
        return []
    with contextlib.closing(chosen.every_row()) as rows:
        return [{c.key: r.get(c.key) for c in chosen.columns} for r in islice(rows, limit)]


def paged(items: Sequence[dict[str, Any]], page: int, per_page: int) -> dict[str, Any]:
    start = (page - 1) * per_page
    return {
        "total": len(items),
        "page": page,
        "per_page": per_page,
        "items": list(items[start : start + per_page]),
    }


# -- routes -----------------------------------------------------------------------------------


def routes(
    engine: Engine,
    portal: Portal,
    cache: ResponseCache,
    render_docs: Callable[[dict[str, Any]], str],
) -> list[BaseRoute]:
    """The API's routes (to mount at /api/v1); ``render_docs`` renders the human docs page."""
    resources = listing.resources(engine.dialect.name)

    async def answer(request: Request, work: Callable[[Connection], Any]) -> Response:
        key = (request.url.path, request.url.query)
        cached = await cache.get(key)
        if cached is not None:
            return cached

        def run() -> tuple[Response, Any]:
            try:
                with engine.connect() as conn:
                    version = queries.data_version(conn)
                    body = work(conn)
            except ApiError as error:
                return error_response(error.status, error.message), None
            response = json_response(body)
            response.headers.update(validators(version))
            return response, version

        response, version = await run_in_threadpool(run)
        cache.put(key, response, version)
        return response

    async def download(
        resource: listing.Resource,
        filters: listing.ListFilters,
        sort: list[str],
        fmt: str,
        bom: bool,
    ) -> Response:
        """Every row of a list, streamed (XLSX: written to a temporary file, then sent)."""
        query = resource.select(filters, sort)

        def rows() -> Iterator[dict[str, Any]]:
            with engine.connect() as conn:
                convert = rates.Converter(conn, filters.currency) if filters.currency else None
                yield from with_conversion(listing.stream(conn, query), convert)

        headers = {
            **CORS,
            "Content-Disposition": "attachment; filename="
            f'"{downloads.filename(resource.name, filters, fmt)}"',
        }
        media_type = downloads.MEDIA_TYPES[fmt]
        if fmt == "csv":
            body: Iterator[bytes] = downloads.csv_chunks(resource, rows(), bom=bom)
        elif fmt == "jsonl":
            body = downloads.jsonl_chunks(resource, rows())
        elif fmt == "xlsx":

            def workbook() -> Any:
                with engine.connect() as conn:
                    n = listing.count(conn, query)
                if n > XLSX_MAX_ROWS:
                    raise ApiError(
                        400,
                        f"{n:,} rows do not fit a spreadsheet ({XLSX_MAX_ROWS:,} at most): "
                        "use format=csv or narrow the filters",
                    )
                return downloads.xlsx_file(resource, rows())

            body = downloads.file_chunks(await run_in_threadpool(workbook))
        else:
            if resource.name == "problems":
                raise ApiError(400, "format=xml gives activities: problems have none")

            def versions() -> list[str]:
                with engine.connect() as conn:
                    return listing.activity_versions(conn, filters)

            found = await run_in_threadpool(versions)
            version = found[0] if len(found) == 1 else "2.03"
            xml_query = listing.activity_xml(filters, engine.dialect.name)

            def raw() -> Iterator[bytes]:
                with engine.connect() as conn:
                    for row in listing.stream(conn, xml_query):
                        yield row["raw_xml"]

            body = downloads.xml_chunks(raw(), version, dt.datetime.now(dt.UTC))
        return StreamingResponse(body, media_type=media_type, headers=headers)

    def row_list(name: str) -> Callable[[Request], Any]:
        resource = resources[name]

        def chosen_filters(params: Any) -> listing.ListFilters:
            if name == "problems":
                return listing.ListFilters(activity=params.get("activity") or None)
            return parse_filters(params, portal)

        async def endpoint(request: Request) -> Response:
            params = request.query_params
            fmt = params.get("format") or "json"
            if fmt != "json":
                try:
                    if fmt not in downloads.FORMATS:
                        formats = ", ".join(("json", *downloads.FORMATS))
                        raise ApiError(400, f"format must be one of {formats}, not {fmt!r}")
                    filters = chosen_filters(params)
                    sort = parse_sort(params, resource)
                    return await download(
                        resource, filters, sort, fmt, params.get("bom") in ("1", "true")
                    )
                except ApiError as error:
                    return error_response(error.status, error.message)

            def work(conn: Connection) -> dict[str, Any]:
                filters = chosen_filters(params)
                page, per_page = parse_paging(params)
                query = resource.select(filters, parse_sort(params, resource))
                total = listing.count(conn, query)
                convert = rates.Converter(conn, filters.currency) if filters.currency else None
                page_rows = listing.fetch(conn, query, (page - 1) * per_page, per_page)
                label = downloads.Labeller(resource)
                return {
                    "total": total,
                    "page": page,
                    "per_page": per_page,
                    "items": [label(r) for r in with_conversion(page_rows, convert)],
                }

            return await answer(request, work)

        return endpoint

    def page_list(
        build: Callable[[Connection, Any], Page | None], table: str | None = None
    ) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            params = request.query_params

            def work(conn: Connection) -> dict[str, Any]:
                page, per_page = parse_paging(params)
                year = _integer(params, "year", 1900, 2100)
                views.WHOLE_LISTS.set(True)  # the page function's lists hold every row
                wanted = params.get("currency")
                if wanted not in (None, "", "USD", "EUR", "published"):
                    raise ApiError(400, f"currency must be USD, EUR or published, not {wanted!r}")
                money.PAGE_CURRENCY.set(
                    views.chosen_currency(params, queries.has_rates(conn)) if wanted else None
                )
                built = build(conn, {"year": str(year)} if year else {})
                if built is None:
                    raise ApiError(404, "this portal has no strategic plan in its profile")
                body = paged(_table_items(built, table), page, per_page)
                if year is None and "year" in built.context:
                    body["year"] = built.context["year"]
                return body

            return await answer(request, work)

        return endpoint

    async def activity(request: Request) -> Response:
        identifier = request.path_params["identifier"]

        def work(conn: Connection) -> dict[str, Any]:
            page = activity_page.page(conn, identifier, {})
            if page is None:
                raise ApiError(404, f"no activity {identifier!r}")
            resource = resources["activities"]
            query = resource.select(listing.ListFilters(activity=identifier))
            rows = listing.fetch(conn, query, 0, 1)
            # A long list is cut at MAX_PER_PAGE rows: every row is in its own paged list.
            quoted = quote(identifier, safe="")
            lists = {
                "budgets": f"/api/v1/budgets?activity={quoted}",
                "transactions": f"/api/v1/transactions?activity={quoted}",
                "indicator_periods": f"/api/v1/results?activity={quoted}",
            }
            return {
                **downloads.Labeller(resource)(rows[0]),
                "tables": {t.name: _table_items(page, t.name, MAX_PER_PAGE) for t in page.tables},
                "lists": {
                    t.name: {"total": t.total, "url": lists[t.name]}
                    for t in page.tables
                    if t.name in lists
                },
            }

        return await answer(request, work)

    async def country(request: Request) -> Response:
        code = request.path_params["code"]

        def work(conn: Connection) -> dict[str, Any]:
            if not re.fullmatch(r"[A-Za-z]{2}", code):
                raise ApiError(400, f"a country is an ISO 3166-1 alpha-2 code, not {code!r}")
            year = _integer(request.query_params, "year", 1900, 2100)
            page = countries.country(
                conn, code.upper(), "overview", {"year": str(year)} if year else {}, portal
            )
            if page is None:
                raise ApiError(404, f"no activities in country {code!r}")
            return {
                "country": code.upper(),
                "name": i18n.country_name(code.upper()),
                "year": page.context.get("year"),
                "tables": {t.name: _table_items(page, t.name) for t in page.tables},
            }

        return await answer(request, work)

    async def search(request: Request) -> Response:
        params = request.query_params

        def work(conn: Connection) -> dict[str, Any]:
            q = params.get("q") or ""
            page, per_page = parse_paging(params)
            filters = parse_filters(params, portal)
            coded = [(v, c) for v, c in filters.sectors if c is not None]
            found = store_search.search(
                conn,
                q,
                store_search.SearchFilters(
                    country=filters.country,
                    region=filters.region,
                    year=filters.year,
                    humanitarian=filters.humanitarian,
                    sector_vocabulary=coded[0][0] if coded else None,
                    sector=coded[0][1] if coded else None,
                    partner=filters.partner,
                    reporting_org=filters.reporting_org or portal.home_org_refs,
                ),
                offset=(page - 1) * per_page,
                limit=per_page,
                facet_vocabularies=[("sdg", "7")],
            )
            strip = str.maketrans("", "", store_search.MARK_START + store_search.MARK_END)
            return {
                "total": found.total,
                "page": page,
                "per_page": per_page,
                "items": [
                    {
                        "iati_identifier": h.iati_identifier,
                        "title": h.title.translate(strip),
                        "snippet": h.snippet.translate(strip),
                        "rank": h.rank,
                    }
                    for h in found.hits
                ],
                "facets": {
                    name: [{"value": v, "count": n} for v, n in values]
                    for name, values in found.facets.items()
                },
            }

        return await answer(request, work)

    async def openapi_json(request: Request) -> Response:
        return json_response(openapi(resources, portal))

    async def docs(request: Request) -> Response:
        return HTMLResponse(render_docs(openapi(resources, portal)), headers=CORS)

    async def not_found(request: Request) -> Response:
        return error_response(404, f"no API resource at {request.url.path}")

    async def preflight(request: Request) -> Response:
        return Response(status_code=204, headers=PREFLIGHT)

    def strategic_plan(conn: Connection, params: Any) -> Page | None:
        return countries.strategic_plan(conn, params, portal)

    return [
        Route("/openapi.json", openapi_json),
        Route("/docs", docs),
        *(Route(f"/{name}", row_list(name)) for name in resources),
        Route("/activities/{identifier:path}", activity),
        Route("/countries", page_list(lambda conn, p: countries.countries(conn, p, portal))),
        Route("/countries/{code}", country),
        Route("/regions", page_list(lambda conn, p: partners.regions(conn, p, portal))),
        Route("/partners", page_list(lambda conn, p: partners.partners(conn, p, portal))),
        Route("/strategic-plan", page_list(strategic_plan)),
        Route("/search", search),
        Route("/{rest:path}", not_found),
        # Last: a 405 names the Allow of the first route the path matched (Starlette).
        Route("/{rest:path}", preflight, methods=["OPTIONS"]),
    ]


# -- OpenAPI ----------------------------------------------------------------------------------

_JSON_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": ["string", "null"]},
    "integer": {"type": ["integer", "null"]},
    "number": {"type": ["number", "null"]},
    "boolean": {"type": ["boolean", "null"]},
    "date": {"type": ["string", "null"], "format": "date"},
    "datetime": {"type": ["string", "null"], "format": "date-time"},
}


def _item_schema(resource: listing.Resource) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for f in resource.fields:
        properties[f.name] = {**_JSON_TYPES[f.type], "description": f.description}
        if f.codelist:
            properties[f"{f.name}_name"] = {
                "type": ["string", "null"],
                "description": f"Name of the code in the IATI {f.codelist} codelist.",
            }
    return {"type": "object", "properties": properties, "required": list(properties)}


def _list_of(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["total", "page", "per_page", "items"],
        "properties": {
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1},
            "items": {"type": "array", "items": item},
        },
    }


def _parameter(p: Parameter) -> dict[str, Any]:
    return {
        "name": p.name,
        "in": "query",
        "required": False,
        "description": p.description,
        "schema": p.schema,
    }


def _operation(
    summary: str,
    parameters: Sequence[dict[str, Any]],
    schema: dict[str, Any],
    *,
    not_found: bool = False,
) -> dict[str, Any]:
    error = {"$ref": "#/components/responses/Error"}
    responses: dict[str, Any] = {
        "200": {"description": "OK", "content": {"application/json": {"schema": schema}}},
        "400": error,
    }
    if not_found:
        responses["404"] = error
    return {"get": {"summary": summary, "parameters": list(parameters), "responses": responses}}


def openapi(resources: dict[str, listing.Resource], portal: Portal) -> dict[str, Any]:
    """The OpenAPI 3.1 description of the API (impact areas: those of ``portal``'s plan)."""
    plan = portal.home.strategic_plan
    areas = (
        [a.code for a in plan.impact_areas] if plan is not None and plan.sector_vocabulary else []
    )
    filters = []
    for p in FILTERS:
        if p.name != "impact_area":
            filters.append(_parameter(p))
        elif areas:  # without a strategic plan the parameter is refused
            filters.append(_parameter(replace(p, schema={"type": "string", "enum": areas})))
    paging = [_parameter(p) for p in PAGING]
    paths: dict[str, Any] = {}
    for name, resource in resources.items():
        keys = "|".join(sorted(resource.sorts))
        sort = {
            "name": "sort",
            "in": "query",
            "required": False,
            "description": "Comma-separated sort keys, each optionally prefixed with - "
            "(descending): " + ", ".join(sorted(resource.sorts)) + ".",
            "schema": {"type": "string", "pattern": f"^(-?({keys}))(,-?({keys}))*$"},
        }
        extra = (
            [
                {
                    "name": "activity",
                    "in": "query",
                    "required": False,
                    "description": "Problems of one activity.",
                    "schema": text(),
                }
            ]
            if name == "problems"
            else filters
        )
        paths[f"/{name}"] = _operation(
            resource.description, [*extra, *paging, sort], _list_of(_item_schema(resource))
        )
    loose = {"type": "object", "additionalProperties": True}
    year = _parameter(FILTERS[2])
    currency = {
        "name": "currency",
        "in": "query",
        "required": False,
        "description": "USD or EUR: money converted at the value date (where rates are "
        "loaded); published (the default): per currency as published.",
        "schema": {"type": "string", "enum": ["USD", "EUR", "published"]},
    }
    for name, summary in (
        ("countries", "Recipient countries with the home publisher's money in a year."),
        ("regions", "Recipient regions with activities."),
        ("partners", "Funding partners and their contributions."),
        (
            "strategic-plan",
            "Impact areas of the strategic plan with outcomes, indicators and money.",
        ),
    ):
        schema = _list_of(loose)
        schema["properties"]["year"] = {"type": ["integer", "null"]}
        paths[f"/{name}"] = _operation(
            summary, [year, currency, *paging], schema, not_found=name == "strategic-plan"
        )
    identifier = {
        "name": "identifier",
        "in": "path",
        "required": True,
        "description": "The IATI identifier, URL-encoded.",
        "schema": text(),
    }
    paths["/activities/{identifier}"] = _operation(
        f"One activity with its budgets, transactions and indicator periods (each table cut at "
        f"{MAX_PER_PAGE} rows; `lists` gives each one's total and its list with every row).",
        [identifier],
        loose,
        not_found=True,
    )
    code = {
        "name": "code",
        "in": "path",
        "required": True,
        "description": "ISO 3166-1 alpha-2 code.",
        "schema": {"type": "string", "pattern": "^[A-Za-z]{2}$"},
    }
    paths["/countries/{code}"] = _operation(
        "One country's figures for a year, as on its page.", [code, year], loose, not_found=True
    )
    search_schema = _list_of(
        {
            "type": "object",
            "properties": {
                "iati_identifier": {"type": "string"},
                "title": {"type": "string"},
                "snippet": {"type": "string"},
                "rank": {"type": "number"},
            },
        }
    )
    search_schema["properties"]["facets"] = loose
    q = {
        "name": "q",
        "in": "query",
        "required": True,
        "description": "Words to find (every one must match).",
        "schema": text(),
    }
    paths["/search"] = _operation(
        "Full-text search, ranked, with facet counts.",
        [q, *[f for f in filters if f["name"] not in ("q", "activity")], *paging],
        search_schema,
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "iatiportal API",
            "version": __version__,
            "description": "Read-only, no key. Lists answer {total, page, per_page, items}. "
            "Money values are exact decimals in the currency of their row; amounts in two "
            "currencies are never added.",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "responses": {
                "Error": {
                    "description": "A bad parameter value (400) or an unknown id (404).",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["error"],
                                "properties": {
                                    "error": {
                                        "type": "object",
                                        "required": ["status", "message"],
                                        "properties": {
                                            "status": {"type": "integer"},
                                            "message": {"type": "string"},
                                        },
                                    }
                                },
                            }
                        }
                    },
                }
            }
        },
    }
