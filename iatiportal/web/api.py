"""The public JSON API under ``/api/v1/``: no key, the pages' filters, documented by OpenAPI.

Lists answer ``{"total": N, "page": p, "per_page": k, "items": [...]}``. Row lists
(activities, transactions, budgets, results, problems, links) come from ``store.listing``; the
aggregate lists (countries, regions, partners, the strategic plan) and the country and
activity items are the same datasets the pages show (``iatiportal.datasets``), under the same
keys. Every parameter is read once into the request's Context (``web.params``); a value that
is not valid answers 400. Errors are JSON (``{"error": {"status": 400, "message": ...}}``):
400 for a bad parameter value, 404 for an unknown id (405, with ``Allow``, for a method other
than GET and HEAD). Every response allows any origin (CORS) for GET, and OPTIONS answers
preflights. The OpenAPI description (``openapi``) is generated from the same parameters and
dataset fields.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import islice
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from iatiportal import __version__, i18n, rates
from iatiportal.datasets import Dataset, of_resource
from iatiportal.datasets import figures as f
from iatiportal.datasets import organisation as org_files
from iatiportal.datasets.context import Context
from iatiportal.exports import encode, names, writers
from iatiportal.store import activity as stored_activity
from iatiportal.store import listing, queries
from iatiportal.store.filters import Filters
from iatiportal.web.cache import ResponseCache, validators
from iatiportal.web.pages import activity as activity_page
from iatiportal.web.pages import search as search_page
from iatiportal.web.params import (
    CURRENCY,
    FILTERS,
    MAX_PER_PAGE,
    PAGING,
    Parameter,
    ParameterError,
    language_parameter,
    paging,
)
from iatiportal.web.render import DataTable
from iatiportal.web.request import context_of
from iatiportal.web.stream import Stream, held

XLSX_MAX_ROWS = 1_048_575  # a worksheet's rows, less the header
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
    text = encode.dumps(body)
    return Response(text, status_code=status, media_type="application/json", headers=CORS)


def error_response(status: int, message: str) -> Response:
    return json_response({"error": {"status": status, "message": message}}, status)


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


def paged(items: Sequence[dict[str, Any]], page: int, per_page: int) -> dict[str, Any]:
    start = (page - 1) * per_page
    return {
        "total": len(items),
        "page": page,
        "per_page": per_page,
        "items": list(items[start : start + per_page]),
    }


def _first_rows(table: DataTable, limit: int) -> list[dict[str, Any]]:
    with contextlib.closing(table.every_row()) as rows:
        return [{c.key: r.get(c.key) for c in table.columns} for r in islice(rows, limit)]


# -- answering --------------------------------------------------------------------------------


def _context(request: Request, conn: Connection, version: Any = None) -> Context:
    ctx = context_of(request, conn, whole_lists=True, strict=True, version=version)
    i18n.current_language.set(ctx.language)
    return ctx


def _wanted_currency(ctx: Context) -> str | None:
    """The currency a row list converts its values to: only the one asked for."""
    asked = (ctx.params.get("currency") or "").upper()
    return ctx.currency if asked in ("USD", "EUR") else None


async def answer(request: Request, work: Callable[[Connection, Context], Any]) -> Response:
    """A cached JSON answer, else ``work`` run in the thread pool on one connection."""
    cache: ResponseCache = request.app.state.cache
    key = (request.url.path, request.url.query)
    cached = await cache.get(key)
    if cached is not None:
        return cached
    engine: Engine = request.app.state.engine

    def run() -> tuple[Response, Any]:
        try:
            with engine.connect() as conn:
                version = queries.data_version(conn)
                body = work(conn, _context(request, conn, version))
        except ParameterError as error:
            return error_response(400, error.message), None
        except ApiError as error:
            return error_response(error.status, error.message), None
        response = json_response(body)
        response.headers.update(validators(version))
        return response, version

    response, version = await run_in_threadpool(run)
    if version is not None:
        cache.put(key, response, version)
    return response


# -- row lists --------------------------------------------------------------------------------


def _sort(params: Any, resource: listing.Resource) -> list[str]:
    keys = [k.strip() for k in (params.get("sort") or "").split(",") if k.strip()]
    for key in keys:
        if key.lstrip("-") not in resource.sorts:
            allowed = ", ".join(sorted(resource.sorts))
            raise ApiError(400, f"sort {key!r} is not one of: {allowed} (prefix - to reverse)")
    return keys


def _list_filters(resource: listing.Resource, ctx: Context) -> Filters:
    if resource.name == "problems":
        return Filters(activity=ctx.filters.activity)
    if resource.name == "links":
        return Filters(activity=ctx.filters.activity, reporting_org=ctx.filters.reporting_org)
    return replace(ctx.filters, currency=_wanted_currency(ctx))


class RowList:
    """``/api/v1/{name}`` of a store.listing resource: a page of JSON, or every row as
    ``?format=csv|xlsx|jsonl|xml``."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def __call__(self, request: Request) -> Response:
        resource = listing.resources(request.app.state.engine.dialect.name)[self.name]
        fmt = request.query_params.get("format") or "json"
        if fmt != "json":
            try:
                return await self.download(request, resource, fmt)
            except (ApiError, ParameterError) as error:
                status = error.status if isinstance(error, ApiError) else 400
                return error_response(status, error.message)

        def work(conn: Connection, ctx: Context) -> dict[str, Any]:
            filters = _list_filters(resource, ctx)
            page, per_page = paging(ctx.params)
            query = resource.select(filters, _sort(ctx.params, resource))
            total = listing.count(conn, query)
            convert = rates.Converter(conn, filters.currency) if filters.currency else None
            page_rows = listing.fetch(conn, query, (page - 1) * per_page, per_page)
            label = writers.Labeller(resource.fields, ctx.language)
            return {
                "total": total,
                "page": page,
                "per_page": per_page,
                "items": [label(r) for r in with_conversion(page_rows, convert)],
            }

        return await answer(request, work)

    async def download(self, request: Request, resource: listing.Resource, fmt: str) -> Response:
        """Every row of the list, streamed (XLSX: written to a temporary file, then sent)."""
        if fmt not in writers.FORMATS:
            formats = ", ".join(("json", *writers.FORMATS))
            raise ApiError(400, f"format must be one of {formats}, not {fmt!r}")
        return await run_in_threadpool(self._download, request, resource, fmt)

    def _download(self, request: Request, resource: listing.Resource, fmt: str) -> Response:
        """The download, read on one connection (one read transaction) that the stream holds
        until it is done (web.stream), as a page's data renderings are."""
        engine: Engine = request.app.state.engine
        with held(engine.connect()) as (conn, hold):
            ctx = _context(request, conn)
            filters = _list_filters(resource, ctx)
            query = resource.select(filters, _sort(ctx.params, resource))
            bom = request.query_params.get("bom") in ("1", "true")
            convert = rates.Converter(conn, filters.currency) if filters.currency else None

            def rows() -> Iterator[dict[str, Any]]:
                yield from with_conversion(listing.stream(conn, query), convert)

            headers = {
                **CORS,
                "Content-Disposition": "attachment; filename="
                f'"{names.list_filename(resource.name, filters, fmt)}"',
            }
            media_type = writers.MEDIA_TYPES[fmt]
            # The keys are the same in every language; the names of codes are in ``?lang=``'s.
            keys = writers.columns(resource.fields)
            label = writers.Labeller(resource.fields, ctx.language)
            if fmt == "csv":
                body: Iterator[bytes] = writers.csv_chunks(keys, map(label, rows()), bom=bom)
            elif fmt == "jsonl":
                body = writers.jsonl_chunks(keys, map(label, rows()))
            elif fmt == "xlsx":
                n = listing.count(conn, query)
                if n > XLSX_MAX_ROWS:
                    raise ApiError(
                        400,
                        f"{n:,} rows do not fit a spreadsheet ({XLSX_MAX_ROWS:,} at most): "
                        "use format=csv or narrow the filters",
                    )
                sheet = writers.Sheet(resource.name, keys, map(label, rows()))
                body = writers.file_chunks(writers.xlsx_file([sheet]))
            else:
                if resource.name in ("problems", "links"):
                    raise ApiError(400, f"format=xml gives activities: {resource.name} have none")
                found = listing.activity_versions(conn, filters)
                version = found[0] if len(found) == 1 else "2.03"
                xml_query = listing.activity_xml(filters, engine.dialect.name)

                def raw() -> Iterator[bytes]:
                    for row in listing.stream(conn, xml_query):
                        yield row["raw_xml"]

                body = writers.xml_chunks(raw(), version, dt.datetime.now(dt.UTC))
            response = Stream(body, media_type=media_type, headers=headers)
            # A workbook is written whole before it is sent: its file needs no connection.
            return response if fmt == "xlsx" else hold(response)


# -- aggregate lists, items, search -----------------------------------------------------------


def _countries(conn: Connection, ctx: Context) -> tuple[list[dict[str, Any]], int | None]:
    _years, year = f.years(conn, ctx, ctx.money())
    return f.flat(f.countries(conn, ctx, year)), year


def _regions(conn: Connection, ctx: Context) -> tuple[list[dict[str, Any]], int | None]:
    _years, year = f.years(conn, ctx, ctx.money())
    return f.regions(conn, ctx, ctx.money(year=year), unspecified=False), year


def _partners(conn: Connection, ctx: Context) -> tuple[list[dict[str, Any]], int | None]:
    _years, year = f.years(conn, ctx, ctx.money(), ("incoming",))
    return f.funding_partners(conn, ctx, ctx.money(year=year)), year


def _plan(conn: Connection, ctx: Context) -> tuple[list[dict[str, Any]], int | None]:
    plan = ctx.portal.home.strategic_plan
    if plan is None or not plan.sector_vocabulary:
        raise ApiError(404, "this portal has no strategic plan in its profile")
    _years, year = f.years(conn, ctx, ctx.money())
    areas, _unlinked = f.plan_areas(conn, ctx, plan, year)
    return f.flat(areas), year


def _organisation_budgets(
    conn: Connection, ctx: Context
) -> tuple[list[dict[str, Any]], int | None]:
    """Every period of the organisation files (the year's only when one is asked for)."""
    filters = ctx.money(year=ctx.filters.year)
    return org_files.organisation_budgets(conn, ctx, filters), ctx.filters.year


@dataclass(frozen=True)
class Aggregate:
    """``/api/v1/{path}``: one page of a dataset's rows for the year asked for (else the
    year the page shows by default), with that ``year``."""

    path: str
    summary: str
    dataset: Dataset
    rows: Callable[[Connection, Context], tuple[list[dict[str, Any]], int | None]]

    async def __call__(self, request: Request) -> Response:
        def work(conn: Connection, ctx: Context) -> dict[str, Any]:
            page, per_page = paging(ctx.params)
            rows, year = self.rows(conn, ctx)
            body = paged(list(self.dataset.shaped(rows)), page, per_page)
            body["year"] = year
            return body

        return await answer(request, work)


AGGREGATES = (
    Aggregate(
        "countries",
        "Recipient countries with the home publisher's activities and money in a year.",
        f.COUNTRIES,
        _countries,
    ),
    Aggregate("regions", "Recipient regions with money in a year.", f.REGIONS, _regions),
    Aggregate(
        "partners", "Funding partners and their incoming funds in a year.", f.PARTNERS, _partners
    ),
    Aggregate(
        "organisation-budgets",
        "What the home publisher (or the reporting_org asked for) says in its organisation "
        "file, each line beside the sum of its activities for the same period and recipient.",
        org_files.ORGANISATION_BUDGETS,
        _organisation_budgets,
    ),
    Aggregate(
        "strategic-plan",
        "Impact areas of the strategic plan with outcomes, indicators and money.",
        f.PLAN,
        _plan,
    ),
)


async def activity(request: Request) -> Response:
    """One activity: its row of the activities list, and its data tables (each cut at
    MAX_PER_PAGE rows; ``lists`` gives each long list's total and the list with every row)."""
    identifier = request.path_params["identifier"]

    def work(conn: Connection, ctx: Context) -> dict[str, Any]:
        act = stored_activity.current(conn, identifier)
        if act is None:
            raise ApiError(404, f"no activity {identifier!r}")
        resource = listing.resources(conn.dialect.name)["activities"]
        row = listing.fetch(conn, resource.select(Filters(activity=identifier)), 0, 1)[0]
        tables = activity_page.data_tables(conn, ctx, act, stored_activity.counts(conn, act["id"]))
        quoted = quote(identifier, safe="")
        lists = {
            "budgets": f"/api/v1/budgets?activity={quoted}",
            "transactions": f"/api/v1/transactions?activity={quoted}",
            "indicator_periods": f"/api/v1/results?activity={quoted}",
        }
        return {
            **writers.Labeller(resource.fields, ctx.language)(row),
            "tables": {t.name: _first_rows(t, MAX_PER_PAGE) for t in tables},
            "lists": {
                t.name: {"total": t.total, "url": lists[t.name]} for t in tables if t.name in lists
            },
        }

    return await answer(request, work)


async def country(request: Request) -> Response:
    """One country's overview tables for a year, as on its page."""
    code = request.path_params["code"]

    def work(conn: Connection, ctx: Context) -> dict[str, Any]:
        if not re.fullmatch(r"[A-Za-z]{2}", code):
            raise ApiError(400, f"a country is an ISO 3166-1 alpha-2 code, not {code!r}")
        upper = code.upper()
        if upper not in ctx.countries(conn):
            raise ApiError(404, f"no activities in country {code!r}")
        _years, year = f.years(conn, ctx, ctx.money(country=upper))
        found = f.country_overview(conn, ctx, upper, year)
        return {
            "country": upper,
            "name": i18n.country_name(upper),
            "year": year,
            "tables": {d.name: list(d.shaped(found[d.name])) for d in f.COUNTRY_TABLES},
        }

    return await answer(request, work)


async def search(request: Request) -> Response:
    def work(conn: Connection, ctx: Context) -> dict[str, Any]:
        page, per_page = paging(ctx.params)
        found = search_page.hits(conn, ctx, (page - 1) * per_page, per_page)
        return {
            "total": found.total,
            "page": page,
            "per_page": per_page,
            "items": [search_page.plain(h) for h in found.hits],
            "facets": {
                name: [{"value": v, "count": n} for v, n in values]
                for name, values in found.facets.items()
            },
        }

    return await answer(request, work)


async def openapi_json(request: Request) -> Response:
    return json_response(openapi(request))


async def docs(request: Request) -> Response:
    env = request.app.state.env
    return HTMLResponse(
        env.get_template("api_docs.html").render(spec=openapi(request)), headers=CORS
    )


async def not_found(request: Request) -> Response:
    return error_response(404, f"no API resource at {request.url.path}")


async def preflight(request: Request) -> Response:
    return Response(status_code=204, headers=PREFLIGHT)


ROW_LISTS = ("activities", "transactions", "budgets", "results", "problems", "links")


def routes() -> list[BaseRoute]:
    """The API's routes (to mount at /api/v1)."""
    return [
        Route("/openapi.json", openapi_json),
        Route("/docs", docs),
        *(Route(f"/{name}", RowList(name).__call__) for name in ROW_LISTS),
        Route("/activities/{identifier:path}", activity),
        *(Route(f"/{a.path}", a.__call__) for a in AGGREGATES),
        Route("/countries/{code}", country),
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


def item_schema(dataset: Dataset, *, labelled: bool = False) -> dict[str, Any]:
    """The JSON Schema of a dataset's row: every field, nothing else (``labelled``: with the
    ``<field>_name`` of each coded field, as the row lists give them)."""
    properties: dict[str, Any] = {}
    for field in dataset.fields:
        properties[field.name] = {**_JSON_TYPES[field.type], "description": field.description}
        if labelled and field.codelist:
            properties[f"{field.name}_name"] = {
                "type": ["string", "null"],
                "description": f"Name of the code in the IATI {field.codelist} codelist.",
            }
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _object(properties: dict[str, Any], required: Sequence[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties if required is None else required),
        "additionalProperties": False,
    }


def _list_of(item: dict[str, Any], **more: Any) -> dict[str, Any]:
    return _object(
        {
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1},
            "items": {"type": "array", "items": item},
            **more,
        }
    )


def _parameter(p: Parameter, *, where: str = "query", required: bool = False) -> dict[str, Any]:
    return {
        "name": p.name,
        "in": where,
        "required": required,
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


def _tables(datasets: Sequence[Dataset]) -> dict[str, Any]:
    return _object({d.name: {"type": "array", "items": item_schema(d)} for d in datasets})


def openapi(request: Request) -> dict[str, Any]:
    """The OpenAPI 3.1 description of the API, generated from the parameters (web.params)
    and the datasets' fields (impact areas: those of the portal's plan)."""
    portal = request.app.state.portal
    resources = listing.resources(request.app.state.engine.dialect.name)
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
    currency = _parameter(CURRENCY)
    pages = [_parameter(p) for p in PAGING]
    paths: dict[str, Any] = {}
    for name in ROW_LISTS:
        resource = resources[name]
        keys = "|".join(sorted(resource.sorts))
        sort = {
            "name": "sort",
            "in": "query",
            "required": False,
            "description": "Comma-separated sort keys, each optionally prefixed with - "
            "(descending): " + ", ".join(sorted(resource.sorts)) + ".",
            "schema": {"type": "string", "pattern": f"^(-?({keys}))(,-?({keys}))*$"},
        }
        if name == "problems":
            chosen = [f for f in filters if f["name"] == "activity"]
        elif name == "links":
            chosen = [f for f in filters if f["name"] in listing.LINK_FILTERS]
        else:
            chosen = [*filters, currency]
        paths[f"/{name}"] = _operation(
            resource.description,
            [*chosen, *pages, sort],
            _list_of(item_schema(of_resource(resource), labelled=True)),
        )
    for aggregate in AGGREGATES:
        paths[f"/{aggregate.path}"] = _operation(
            aggregate.summary,
            [*filters, currency, *pages],
            _list_of(item_schema(aggregate.dataset), year={"type": ["integer", "null"]}),
            not_found=aggregate.path == "strategic-plan",
        )
    identifier = {
        "name": "identifier",
        "in": "path",
        "required": True,
        "description": "The IATI identifier, URL-encoded.",
        "schema": {"type": "string"},
    }
    activity_row = item_schema(of_resource(resources["activities"]), labelled=True)
    lists = _object(
        {
            name: _object({"total": {"type": ["integer", "null"]}, "url": {"type": "string"}})
            for name in ("budgets", "transactions", "indicator_periods")
        }
    )
    paths["/activities/{identifier}"] = _operation(
        f"One activity with its budgets, transactions and indicator periods (each table cut at "
        f"{MAX_PER_PAGE} rows; `lists` gives each one's total and its list with every row).",
        [identifier, currency],
        _object(
            {
                **activity_row["properties"],
                "tables": _tables(activity_page.TABLES),
                "lists": lists,
            }
        ),
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
        "One country's figures for a year, as on its page.",
        [code, *filters, currency],
        _object(
            {
                "country": {"type": "string"},
                "name": {"type": "string"},
                "year": {"type": ["integer", "null"]},
                "tables": _tables(f.COUNTRY_TABLES),
            }
        ),
        not_found=True,
    )
    facet = {
        "type": "array",
        "items": _object({"value": {"type": "string"}, "count": {"type": "integer"}}),
    }
    facets = {
        "type": "object",
        "additionalProperties": facet,
        "description": "Counts of the matching activities per value of each filter.",
    }
    paths["/search"] = _operation(
        "Full-text search, ranked, with facet counts: the filters AND every word of q.",
        [
            *[
                {**f, "required": True, "description": "Words to find (every one must match)."}
                if f["name"] == "q"
                else f
                for f in filters
                if f["name"] != "activity"
            ],
            *pages,
        ],
        _list_of(item_schema(search_page.HITS), facets=facets),
    )
    language = _parameter(language_parameter())
    for operation in paths.values():
        operation["get"]["parameters"].append(language)  # every answer names codes
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
                            "schema": _object(
                                {
                                    "error": _object(
                                        {
                                            "status": {"type": "integer"},
                                            "message": {"type": "string"},
                                        }
                                    )
                                }
                            )
                        }
                    },
                }
            }
        },
    }
