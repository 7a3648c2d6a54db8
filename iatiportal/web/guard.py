"""Refuse requests whose address the store cannot be asked about (issue 10).

PostgreSQL text cannot hold a NUL character ("text fields cannot contain NUL": a 500 on about
30 routes, ``/activities/%00``, ``?reporting_org=%00``...), and no database driver can encode
a lone surrogate. Rather than a check per route, :class:`InputGuard` looks at the decoded path
and every query name and value, as the routes will see them, before any route runs, and
answers 400 through the app's own error rendering. So no such value reaches the store.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
"""Characters a text value of the store cannot hold: NUL (PostgreSQL) and lone surrogates
(not encodable as UTF-8)."""

TEXT_PATTERN = "^[^\\x00]*$"
"""What text the guard lets through, as a JSON Schema pattern (for the API's description: a
lone surrogate cannot be written in a URL's UTF-8 at all)."""

MESSAGE = "the address holds a character no text can hold (such as a NUL byte)"

Refusal = Callable[[Request, int, str], Response]
"""The app's error answer for a request, a status and a message (JSON under /api/, else a page)."""


def storable(text: str) -> bool:
    """Whether ``text`` can be stored and looked up as it is."""
    return UNSTORABLE.search(text) is None


def unstorable_input(scope: Scope) -> bool:
    """Whether the request's decoded path or query (names or values) holds such a character."""
    if not storable(scope.get("path", "")):
        return True
    query = QueryParams(scope.get("query_string", b""))  # decoded as request.query_params is
    return not all(storable(name) and storable(value) for name, value in query.multi_items())


class InputGuard:
    """ASGI middleware: 400 for a request with an unstorable character (see the module)."""

    def __init__(self, app: ASGIApp, refuse: Refusal) -> None:
        self.app = app
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and unstorable_input(scope):
            # The error page repeats its path in links: it must not repeat what no text holds.
            shown = {**scope, "path": UNSTORABLE.sub("\ufffd", scope.get("path", ""))}
            response = self.refuse(Request(shown), 400, MESSAGE)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
