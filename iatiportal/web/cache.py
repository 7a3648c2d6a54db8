"""Rendered pages kept until the data changes.

The store changes only when an operator ingests, so a page rendered once is right until the
next ingest: responses are kept by URL (path and query, which includes the language) and
dropped as soon as the data version changes (checked at most once a second). Bounded by
entries and bytes, least recently used first out. Streamed responses (the data renderings of
long lists) are not kept.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from starlette.responses import Response, StreamingResponse

Key = tuple[str, str]


class ResponseCache:
    def __init__(
        self,
        version: Callable[[], Any],
        *,
        max_entries: int = 4096,
        max_bytes: int = 128 << 20,
        check_every: float = 1.0,
    ) -> None:
        self._version_of_data = version
        self._entries: OrderedDict[Key, tuple[int, bytes, list[tuple[bytes, bytes]]]] = (
            OrderedDict()
        )
        self._bytes = 0
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._check_every = check_every
        self._checked = 0.0
        self._version: Any = None
        self._lock = threading.Lock()

    def _current(self) -> None:
        now = time.monotonic()
        if now - self._checked < self._check_every:
            return
        self._checked = now
        version = self._version_of_data()
        if version != self._version:
            self._version = version
            self._entries.clear()
            self._bytes = 0

    def version(self) -> Any:
        """The data version (rechecked at most every ``check_every`` seconds)."""
        with self._lock:
            self._current()
            return self._version

    def get(self, key: Key) -> Response | None:
        with self._lock:
            self._current()
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
        status, body, headers = entry
        response = Response(body, status_code=status)
        response.raw_headers = list(headers)
        return response

    def put(self, key: Key, response: Response) -> None:
        if isinstance(response, StreamingResponse):
            return  # a streamed rendering of a long list: its size is not bounded
        body = bytes(response.body)
        if response.status_code != 200 or len(body) > self._max_bytes // 8:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old[1])
            self._entries[key] = (response.status_code, body, list(response.raw_headers))
            self._bytes += len(body)
            while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
                _key, (_status, dropped, _headers) = self._entries.popitem(last=False)
                self._bytes -= len(dropped)
