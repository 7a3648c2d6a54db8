"""A request's Context: read once from its query string, for pages and API alike."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request

from iatiportal import i18n
from iatiportal.datasets.context import Context
from iatiportal.store import queries
from iatiportal.web.cache import PerVersion
from iatiportal.web.params import (
    ParameterError,
    chosen_currency,
    parse_filters,
    wanted_currency,
    wanted_language,
)


def context_of(
    request: Request,
    conn: Connection,
    *,
    whole_lists: bool,
    strict: bool = False,
    version: Any = None,
) -> Context:
    """The request's Context: its language, currency, filters and paging, read once.
    ``strict``: a value that is not valid raises ParameterError (the API's 400); else it is
    ignored and named in ``notices`` (pages say it). ``version``: the data version ``conn``
    reads, for which what depends on the whole store only is kept (web.cache.PerVersion);
    None: nothing kept."""
    state = request.app.state
    kept: Callable[[Hashable, Callable[[], Any]], Any] | None = None
    if version is not None:
        per_version: PerVersion = state.per_version

        def kept(key: Hashable, compute: Callable[[], Any]) -> Any:
            return per_version.get(version, key, compute)

    params = request.query_params
    parsed = parse_filters(params, state.portal)
    errors = list(parsed.errors)
    try:
        wanted = wanted_currency(params)
    except ParameterError as error:
        errors.append(error)
        wanted = None
    if strict:  # a page shows English for a language it does not have; the API says so
        try:
            wanted_language(params)
        except ParameterError as error:
            errors.append(error)
    rates_loaded: bool = (
        kept("rates", lambda: queries.has_rates(conn)) if kept else queries.has_rates(conn)
    )
    if strict and errors:
        raise errors[0]
    return Context(
        portal=state.portal,
        language=i18n.choose_language(params.get("lang")),
        currency=chosen_currency(wanted, rates_loaded),
        whole_lists=whole_lists,
        filters=parsed.filters,
        params=params,
        notices=tuple(e.message for e in errors),
        snapshot_dir=state.snapshots,
        rates_loaded=rates_loaded,
        **({"kept": kept} if kept else {}),
    )
