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

A Stream's chunks are made in threads of its own limiter (``STREAM_THREADS`` per event loop),
not of the default one the pages render in: ``iatiportal serve --threads`` bounds the pages'
threads, and a stream waiting for one of those while it holds its connection could leave the
pages that hold them waiting for a connection (with 2 threads and the activities' JSON of
the crawler's mix, both workers stood still).
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Mapping

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar
from sqlalchemy import Connection
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

STREAM_THREADS = 40
"""Threads at once for the chunks of streams (anyio's default limiter, which they used before
the pages' threads were bounded)."""

_stream_limiter: RunVar[anyio.CapacityLimiter] = RunVar("iatiportal_stream_limiter")


def stream_limiter() -> anyio.CapacityLimiter:
    """The limiter of the streams' threads in this event loop."""
    try:
        return _stream_limiter.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(STREAM_THREADS)
        _stream_limiter.set(limiter)
        return limiter


class _NoMoreChunksError(Exception):
    """The chunks are all made (StopIteration cannot cross a thread's future)."""


async def _chunks_in_threads(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """``chunks``, each made in a thread of the streams' limiter (as Starlette's
    iterate_in_threadpool does with the default one)."""

    def following() -> bytes:
        try:
            return next(chunks)
        except StopIteration:
            raise _NoMoreChunksError from None

    while True:
        try:
            yield await anyio.to_thread.run_sync(following, limiter=stream_limiter())
        except _NoMoreChunksError:
            break


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
        super().__init__(_chunks_in_threads(iter(chunks)), status_code, headers, media_type)
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
                await anyio.to_thread.run_sync(self._release, limiter=stream_limiter())


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
