"""Conditional GET: whether a request's validators still hold, so 304 Not Modified answers it.

RFC 9110 §13.1.2 and §13.2.2: ``If-None-Match`` is ``*`` or a comma-separated list of entity
tags, compared weakly (``W/"x"`` and ``"x"`` match); when a request carries it,
``If-Modified-Since`` is ignored; both apply to GET and HEAD only (another method with a
failing ``If-None-Match`` would get 412, which nothing here answers).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.utils import parsedate_to_datetime

from starlette.datastructures import Headers

# An entity tag (§8.8.3): an optional weak prefix and a quoted opaque tag, which may hold a
# comma, so a list is read tag by tag rather than split at commas.
_ENTITY_TAG = re.compile(r'(?:W/)?"([^"]*)"')


def opaque_tags(values: Iterable[str]) -> set[str] | None:
    """The opaque tags of ``If-None-Match`` field values (None: ``*``, any tag); what is not
    an entity tag is skipped."""
    tags: set[str] = set()
    for value in values:
        if value.strip() == "*":
            return None
        tags.update(found.group(1) for found in _ENTITY_TAG.finditer(value))
    return tags


def weak_match(etag: str, matches: set[str] | None) -> bool:
    """Whether ``etag`` (as sent in ``ETag``) weakly matches any of ``matches`` (None: ``*``)."""
    if matches is None:
        return True
    found = _ENTITY_TAG.fullmatch(etag.strip())
    return found is not None and found.group(1) in matches


def not_modified(
    method: str, headers: Headers, etag: str | None, last_modified: str | None = None
) -> bool:
    """Whether a request with ``headers`` is answered 304 for a response with these
    validators (``etag`` as in ``ETag``, ``last_modified`` an HTTP date, None if absent)."""
    if method not in ("GET", "HEAD"):
        return False
    none_match = headers.getlist("if-none-match")
    if none_match:
        return etag is not None and weak_match(etag, opaque_tags(none_match))
    since = headers.get("if-modified-since")
    if since is None or last_modified is None:
        return False
    try:
        return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False  # §13.1.3: an invalid date is ignored
