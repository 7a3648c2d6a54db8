"""Requests straight to an ASGI app, as a server hands them over.

The test client cannot send everything a server may pass on: it refuses URLs over 64 KB, and
its paths are always valid text. Here the path is percent-decoded as servers do (or given
decoded, lone surrogates and all) and the query string is passed as sent.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote

from starlette.types import ASGIApp, Message

T = TypeVar("T")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    error: BaseException | None = None  # what the app raised (after answering 500)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


async def request(
    app: ASGIApp, address: str, *, method: str = "GET", path: str | None = None
) -> Answer:
    """``method address`` (``path``: the decoded path as given instead of decoding it)."""
    raw_path, _sep, query = address.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(raw_path) if path is None else path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    sent: list[Message] = []
    answered = asyncio.Event()
    asked = False

    async def receive() -> Message:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await answered.wait()  # a streamed answer listens for the client going away
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            answered.set()

    error = None
    try:
        await app(scope, receive, send)
    except Exception as raised:  # noqa: BLE001 - Starlette re-raises after answering 500
        error = raised
    start = next((m for m in sent if m["type"] == "http.response.start"), None)
    if start is None:
        return Answer(500, {}, b"", error)
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Answer(500 if error else start["status"], headers, body, error)


def run(work: Coroutine[Any, Any, T]) -> T:
    """A coroutine run to its end from synchronous code, in a thread of its own: a test may run
    where an event loop is already running (Playwright's sync API leaves one in the session)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


def get(app: ASGIApp, address: str, *, path: str | None = None) -> Answer:
    """``GET address`` from synchronous code."""
    return run(request(app, address, path=path))
