"""A client that goes away during a download gives the database connection the download holds
back to the pool, however it goes (after the headers, after the first chunk, a HEAD answer). The
pool is 5 + 10 overflow with a 30 s timeout: abandoned downloads that kept their connection hung
every page for everyone once fifteen were abandoned. The real app under uvicorn, in this process
so that the tests read its engine's pool; on SQLite and PostgreSQL."""

from __future__ import annotations

import gc
import http.client
import socket
import struct
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from big_activity import IDENTIFIER, write
from serving import app_served
from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from stores import KINDS, migrated_store

from iatiportal.store.db import make_engine
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app
from iatiportal.web.stream import Stream, held

TRANSACTIONS = 6000  # every download below is hundreds of kilobytes: many chunks
DOWNLOADS = 20  # more than the pool's 5 + 10 overflow
WAIT = 10.0
"""Seconds a request or the pool gets before the test fails (rather than hangs): a portal
whose pool is exhausted answers after the pool's 30 s timeout, with an error."""

DOWNLOAD_PATHS = [
    "/api/v1/transactions?format=csv",
    "/api/v1/transactions?format=jsonl",
    f"/activities/{IDENTIFIER}.csv?table=transactions",
    f"/activities/{IDENTIFIER}.json",
    f"/activities/{IDENTIFIER}.xml",
]


@pytest.fixture(scope="module", params=KINDS)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The URL of a store holding one activity with TRANSACTIONS transactions."""
    folder = tmp_path_factory.mktemp("disconnect")
    with migrated_store(request.param, folder) as engine:
        source = write(folder / "big.xml", TRANSACTIONS)
        assert not ingest(engine, [str(source)]).failed
        source.unlink()
        yield engine.url.render_as_string(hide_password=False)


@pytest.fixture
def portal(store: str) -> Iterator[tuple[str, Engine]]:
    """The portal served over the store (base URL, the app's engine: its own pool)."""
    engine = make_engine(store)
    try:
        with app_served(create_app(engine)) as base:
            yield base, engine
    finally:
        engine.dispose()


def _address(base: str) -> tuple[str, int]:
    host, port = base.removeprefix("http://").split(":")
    return host, int(port)


def abandon(
    base: str, path: str, *, method: str = "GET", first_chunk: bool = False, gzip: bool = False
) -> bytes:
    """Ask for ``path`` (``gzip``: accepting it, as browsers do) and close the socket once the
    headers (or, ``first_chunk``, some of the body too) have come; what came. The client's
    receive buffer is small, so the server is still writing when it goes; after the first
    chunk it resets the connection (as a killed process does), after the headers it closes it
    (as a browser's cancel does)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(WAIT)
        sock.connect(_address(base))
        accept = "Accept-Encoding: gzip, deflate\r\n" if gzip else ""
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: portal.test\r\n{accept}\r\n".encode())
        got = b""
        while b"\r\n\r\n" not in got:
            chunk = sock.recv(4096)
            if not chunk:
                break
            got += chunk
        head, _, body = got.partition(b"\r\n\r\n")
        if first_chunk:
            while not body:
                body += sock.recv(4096)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return head
    finally:
        sock.close()


def page_status(base: str, path: str) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(base + path, timeout=WAIT) as response:
        response.read()
        return int(response.status)


def checked_out_after(engine: Engine) -> int:
    """The engine's checked-out connections once they are 0 or WAIT seconds have passed (a
    connection goes back when the server has seen the client go, which takes a moment)."""
    deadline = time.monotonic() + WAIT
    while engine.pool.checkedout() and time.monotonic() < deadline:
        time.sleep(0.05)
    return engine.pool.checkedout()


def abandon_many(base: str, path: str, **how: object) -> None:
    for n in range(DOWNLOADS):
        try:
            head = abandon(base, path, **how)  # type: ignore[arg-type]
        except TimeoutError:
            pytest.fail(f"download {n + 1} of {path} had no answer in {WAIT} s after {n} abandoned")
        assert head.startswith(b"HTTP/1.1 200 "), (n, head[:200])
        if how.get("gzip"):
            assert b"\r\ncontent-encoding: gzip\r\n" in head.lower() + b"\r\n", head


HOW = {
    "after-headers": {},
    "after-first-chunk": {"first_chunk": True},
    "gzip-after-first-chunk": {"first_chunk": True, "gzip": True},
}


@pytest.mark.parametrize("path", DOWNLOAD_PATHS)
@pytest.mark.parametrize("how", HOW)
def test_abandoned_downloads_give_their_connection_back(
    portal: tuple[str, Engine], path: str, how: str
) -> None:
    base, engine = portal
    abandon_many(base, path, **HOW[how])
    try:
        status = page_status(base, "/activities")
    except TimeoutError:
        pytest.fail(f"no page in {WAIT} s after {DOWNLOADS} abandoned downloads of {path}")
    assert status == 200
    assert checked_out_after(engine) == 0


@pytest.mark.parametrize("path", DOWNLOAD_PATHS)
def test_head_answers_the_headers_and_gives_the_connection_back(
    portal: tuple[str, Engine], path: str
) -> None:
    base, engine = portal
    abandon_many(base, path, method="HEAD")
    host, port = _address(base)
    sock = socket.create_connection((host, port), timeout=WAIT)
    with sock:
        ask = f"HEAD {path} HTTP/1.1\r\nHost: portal.test\r\nConnection: close\r\n\r\n"
        sock.sendall(ask.encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert body == b""
    assert checked_out_after(engine) == 0


PRIVATE_PATH = "/srv/portal/store.py"  # what an error says must not reach the client


def _failing(request: Request) -> Response:
    """A download whose rows fail after the first chunk (as a query cut off does)."""
    engine: Engine = request.app.state.engine
    with held(engine.connect()) as (conn, hold):

        def chunks() -> Iterator[bytes]:
            yield conn.exec_driver_sql("SELECT 'first rows'").scalar_one().encode() + b"\n"
            raise RuntimeError(f"failed reading {PRIVATE_PATH}")

        return hold(Stream(chunks(), media_type="text/csv"))


def test_a_stream_that_fails_truncates_the_body_and_gives_the_connection_back(
    store: str,
) -> None:
    engine = make_engine(store)
    app = create_app(engine)
    app.router.routes.insert(0, Route("/-/failing", _failing))
    try:
        with app_served(app) as base:
            for _n in range(DOWNLOADS):
                conn = http.client.HTTPConnection(*_address(base), timeout=WAIT)
                conn.request("GET", "/-/failing")
                response = conn.getresponse()
                assert response.status == 200
                with pytest.raises(http.client.IncompleteRead) as cut:
                    response.read()
                conn.close()
                assert cut.value.partial == b"first rows\n"
            assert page_status(base, "/activities") == 200
            assert checked_out_after(engine) == 0
    finally:
        engine.dispose()


def _rows(conn: object) -> Iterator[bytes]:
    yield b"never sent"


def test_a_stream_never_sent_gives_its_connection_back(store: str) -> None:
    engine = make_engine(store)
    try:
        with held(engine.connect()) as (conn, hold):
            response = hold(Stream(_rows(conn)))
        assert engine.pool.checkedout() == 1
        del response
        gc.collect()
        assert engine.pool.checkedout() == 0
    finally:
        engine.dispose()


def test_a_held_connection_streams_through_a_stream_only(store: str) -> None:
    """A StreamingResponse would not give the connection back: ``hold`` refuses it."""
    engine = make_engine(store)
    try:
        with (
            pytest.raises(TypeError, match="must be a Stream"),
            held(engine.connect()) as (conn, hold),
        ):
            hold(StreamingResponse(_rows(conn)))
        assert engine.pool.checkedout() == 0
    finally:
        engine.dispose()


def test_the_store_is_big_enough(portal: tuple[str, Engine], tmp_path: Path) -> None:
    """Each download is many chunks of the server's writes: it cannot all be in the socket's
    buffers before the client goes."""
    base, _engine = portal
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for path in DOWNLOAD_PATHS:
        with opener.open(base + path, timeout=60) as response:
            assert len(response.read()) > 400_000, path
