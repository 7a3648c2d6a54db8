"""Rendered pages kept until the data changes.

The store changes only when an operator runs a writer (ingest, rates or reference load), so a
page rendered once is right until the next: responses are kept by URL (path and query, which
includes the language: a page URL without ``lang`` is only ever English, web.language sends
other browsers to their language's URL) and dropped as soon as the store's version changes
(checked at most once a second, in the thread pool: the event loop never waits for the
database). Bounded by
entries and bytes, least recently used first out; an entry's bytes are those of its key, its
headers and its body (long URLs alone once grew the cache by 259 MB past its budget: issue 10).
Streamed responses (the data renderings of long lists) are not kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from iatiportal import __version__

Key = tuple[str, str]
Headers = list[tuple[bytes, bytes]]


def entry_bytes(key: Key, body: bytes, headers: Headers) -> int:
    """The bytes an entry counts against the budget: its key, its headers and its body."""
    path, query = key
    return (
        len(path.encode("utf-8", "surrogatepass"))
        + len(query.encode("utf-8", "surrogatepass"))
        + sum(len(name) + len(value) for name, value in headers)
        + len(body)
    )


def validators(version: Any) -> dict[str, str]:
    """``ETag`` and ``Last-Modified`` of a response built from the data at ``version``."""
    digest = hashlib.sha256(repr((__version__, version)).encode()).hexdigest()[:24]
    found = {"ETag": f'W/"{digest}"'}
    moments = [v for v in version or () if isinstance(v, dt.datetime)]
    if moments:
        modified = max(moments).replace(tzinfo=dt.UTC)
        found["Last-Modified"] = formatdate(modified.timestamp(), usegmt=True)
    return found


class PerVersion:
    """What every page reads of the whole store (its countries, its footer's file count,
    whether rates are loaded), kept for the data version it was read at (issue 14: read
    anew by every uncached page before). ``get`` is given the version read in the caller's
    own transaction, so an answer is only ever used with the data it was read from; a new
    version drops the old one's. Answers are shared: callers must not change them."""

    def __init__(self) -> None:
        # The version and its answers in one attribute, read and replaced at once: with two
        # attributes a thread of the pool could pair a new version with the old answers.
        self._kept: tuple[Any, dict[Any, Any]] = (None, {})

    def get(self, version: Any, key: Any, compute: Callable[[], Any]) -> Any:
        kept_version, kept = self._kept
        if version != kept_version:
            kept = {}
            self._kept = (version, kept)
        if key not in kept:
            kept[key] = compute()
        return kept[key]


class ResponseCache:
    """Pages by URL while the data version stays. Used from the event loop only: ``version``
    (a blocking database read) runs in the thread pool, at most one call at a time."""

    def __init__(
        self,
        version: Callable[[], Any],
        *,
        max_entries: int = 4096,
        max_bytes: int = 128 << 20,
        check_every: float = 1.0,
    ) -> None:
        self._version_of_data = version
        self._entries: OrderedDict[Key, tuple[int, bytes, Headers, int]] = OrderedDict()
        self._bytes = 0
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._check_every = check_every
        self._checked = -math.inf  # when the read of the version held began (monotonic)
        self._version: Any = None
        self._recheck: anyio.Event | None = None  # set when the recheck in flight is done

    async def _current(self) -> None:
        """Make the version held one read at most ``check_every`` seconds before this call."""
        asked = time.monotonic()
        while self._checked < asked - self._check_every:
            if self._recheck is not None:
                # Another request's recheck is in flight: wait for it, then see whether it
                # began late enough for this request (else recheck again).
                await self._recheck.wait()
                continue
            done = self._recheck = anyio.Event()
            started = time.monotonic()
            try:
                version = await run_in_threadpool(self._version_of_data)
                self._checked = started
                if version != self._version:
                    self._version = version
                    self._entries.clear()
                    self._bytes = 0
            finally:
                self._recheck = None
                done.set()

    @property
    def counted_bytes(self) -> int:
        """The bytes of the entries held (entry_bytes), at most ``max_bytes``."""
        return self._bytes

    async def version(self) -> Any:
        """The data version (rechecked at most every ``check_every`` seconds)."""
        await self._current()
        return self._version

    async def get(self, key: Key) -> Response | None:
        await self._current()
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        status, body, headers, _size = entry
        response = Response(body, status_code=status)
        response.raw_headers = list(headers)
        return response

    def put(self, key: Key, response: Response, version: Any) -> None:
        """Keep a response rendered from the data at ``version`` (read in the same transaction
        as the page): one rendered from another version than the cache's is not kept, or a
        page begun before an ingest and finished after the cache saw it would stay old. (The
        version is not rechecked here: a page newer than the cache's version is not kept
        either, and the next ``get`` rechecks.)"""
        if isinstance(response, StreamingResponse):
            return  # a streamed rendering of a long list: its size is not bounded
        body = bytes(response.body)
        headers = list(response.raw_headers)
        size = entry_bytes(key, body, headers)
        if response.status_code != 200 or size > self._max_bytes // 8:
            return
        if version != self._version:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old[3]
        self._entries[key] = (response.status_code, body, headers, size)
        self._bytes += size
        while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
            _key, (_status, _body, _headers, dropped) = self._entries.popitem(last=False)
            self._bytes -= dropped
