"""Streamed responses, and the database connection a stream reads its rows on.

Every streamed answer of the portal (the data renderings of long lists, the API's downloads,
an activity's XML as published) is a :class:`Stream`, and the connection it reads on is given
to it by :func:`held`. A Stream gives back what it holds (its chunks' generator, and so the
files and result cursors that generator has open, and its connection) when it is done,
whatever ends it: the last chunk sent, the client gone after the headers or in the middle of
the body, an error while the chunks are made, a HEAD request (answered with the headers only),
or never being sent at all. Starlette's StreamingResponse does not close its body when the
client goes, and a close awaited in the task that the client's going cancels is cancelled in
turn: the pool (5 + 10 overflow) was empty after fifteen abandoned downloads, and every page
then waited for it.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Iterator, Mapping

import anyio
import anyio.to_thread
from sqlalchemy import Connection
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send


def _release(chunks: Iterator[bytes], connections: list[Connection]) -> None:
    """Close the chunks' generator (its ``finally`` and ``with`` blocks run), then the
    connections (their read transactions end, and they go back to the pool)."""
    try:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    finally:
        for conn in connections:
            conn.close()


class Stream(StreamingResponse):
    """A response streamed from ``chunks`` (a generator, run in the thread pool: its database
    reads block), which gives back what it holds whatever happens (see the module)."""

    def __init__(
        self,
        chunks: Iterator[bytes],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
    ) -> None:
        super().__init__(chunks, status_code, headers, media_type)
        self._connections: list[Connection] = []
        # Also when the response is dropped without being sent (an error after it was made).
        self._release = weakref.finalize(self, _release, chunks, self._connections)
        self._release.atexit = False

    def keep(self, conn: Connection) -> None:
        """Close ``conn`` when the stream is done (it reads its rows on it)."""
        self._connections.append(conn)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            if scope.get("method") == "HEAD":
                # The headers say what a GET would get; the body is not made at all.
                await send(
                    {
                        "type": "http.response.start",
                        "status": self.status_code,
                        "headers": self.raw_headers,
                    }
                )
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                await super().__call__(scope, receive, send)
        finally:
            # Shielded: when the client goes, this task is the one being cancelled.
            with anyio.CancelScope(shield=True):
                aclose = getattr(self.body_iterator, "aclose", None)
                if aclose is not None:
                    await aclose()  # the thread-pool wrapper around ``chunks``
                await anyio.to_thread.run_sync(self._release)


@contextlib.contextmanager
def held(conn: Connection) -> Iterator[tuple[Connection, Callable[[Response], Response]]]:
    """A page's connection, and ``hold`` for its response: a Stream keeps the connection (its
    read transaction, so every streamed row comes from the data the rest of the page was built
    from, whatever an ingest commits meanwhile) until it is done; any other response closes it
    here, as does an error."""
    kept = False

    def hold(response: Response) -> Response:
        nonlocal kept
        if isinstance(response, Stream):
            response.keep(conn)
            kept = True
        elif isinstance(response, StreamingResponse):
            raise TypeError("a response streamed on a held connection must be a Stream")
        return response

    try:
        yield conn, hold
    except BaseException:
        conn.close()
        raise
    if not kept:
        conn.close()
