"""The HTTP path of ``iatiportal serve`` (issue 14): each worker renders in a bounded thread
pool (``--threads``), and uvicorn logs no access line and chooses its own HTTP parser."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
import pytest
import uvicorn
from click.testing import CliRunner
from serving import app_served
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from iatiportal.cli import main
from iatiportal.web import workers
from iatiportal.web.stream import Stream
from iatiportal.web.workers import SETTINGS_VAR, ServeSettings, ThreadLimit


def _counting_app() -> tuple[Starlette, dict[str, int]]:
    """An app whose one page holds a pool thread for 0.3 s; ``seen`` counts the most threads
    busy at once."""
    seen = {"busy": 0, "most": 0}
    lock = threading.Lock()

    def work() -> None:
        with lock:
            seen["busy"] += 1
            seen["most"] = max(seen["most"], seen["busy"])
        time.sleep(0.3)
        with lock:
            seen["busy"] -= 1

    async def page(request: Request) -> JSONResponse:
        await run_in_threadpool(work)
        tokens = anyio.to_thread.current_default_thread_limiter().total_tokens
        return JSONResponse({"tokens": tokens})

    return Starlette(routes=[Route("/", page)]), seen


def _get_all_at_once(base: str, clients: int) -> list[dict[str, Any]]:
    where = urlsplit(base)
    answers: list[dict[str, Any]] = []

    def one() -> None:
        conn = http.client.HTTPConnection(where.hostname or "", where.port, timeout=30)
        conn.request("GET", "/")
        answers.append(json.loads(conn.getresponse().read()))
        conn.close()

    asking = [threading.Thread(target=one) for _ in range(clients)]
    for t in asking:
        t.start()
    for t in asking:
        t.join()
    return answers


def test_thread_limit_bounds_the_pool_under_uvicorn() -> None:
    app, seen = _counting_app()
    with app_served(ThreadLimit(app, 2)) as base:
        answers = _get_all_at_once(base, 8)
    assert answers == [{"tokens": 2}] * 8
    assert seen["most"] == 2  # anyio's default limiter would have let all 8 run at once


def test_thread_limit_refuses_no_threads() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ThreadLimit(Starlette(), 0)


def _served_by(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, dict[str, Any]]]:
    """uvicorn.run replaced: the app and options each call was given."""
    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append((app, options)))
    monkeypatch.delenv(SETTINGS_VAR, raising=False)  # put back as it was after the test
    return calls


def test_serve_bounds_the_pool_and_logs_no_access_line(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _served_by(monkeypatch)
    result = CliRunner().invoke(main, ["serve", "--db", sqlite_url, "--threads", "3"])
    assert result.exit_code == 0, result.output
    [(app, options)] = calls
    assert isinstance(app, ThreadLimit) and app.threads == 3
    assert options["access_log"] is False
    assert options.get("http", "auto") == "auto"  # httptools where installed, else h11
    assert options.get("loop", "auto") == "auto"  # uvloop where installed, else asyncio

    calls.clear()
    assert CliRunner().invoke(main, ["serve", "--db", sqlite_url]).exit_code == 0
    assert calls[0][0].threads == workers.DEFAULT_THREADS


def test_every_worker_gets_the_thread_count(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _served_by(monkeypatch)
    command = ["serve", "--db", sqlite_url, "--workers", "2", "--threads", "4"]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 0, result.output
    [(factory, options)] = calls
    assert factory == "iatiportal.web.workers:app" and options["workers"] == 2
    assert options["access_log"] is False
    assert ServeSettings.from_environment().threads == 4
    app = workers.app()  # what each worker process builds from those settings
    assert isinstance(app, ThreadLimit) and app.threads == 4
    app.app.state.engine.dispose()  # type: ignore[attr-defined]


def test_a_stream_needs_no_thread_of_the_pages() -> None:
    """A stream holds its connection between chunks: were its chunks made in the pages'
    threads, a page holding the only one while it waits for a connection (here: for the
    stream's first chunk) would wait for ever."""
    streamed = threading.Event()

    def chunks() -> Iterator[bytes]:
        streamed.set()
        yield b"first "
        yield b"last"

    def waits_for_the_stream() -> bool:
        return streamed.wait(timeout=5)

    async def page(request: Request) -> JSONResponse:
        return JSONResponse({"streamed": await run_in_threadpool(waits_for_the_stream)})

    async def stream(request: Request) -> Stream:
        return Stream(chunks(), media_type="text/plain")

    app = Starlette(routes=[Route("/page", page), Route("/stream", stream)])
    with app_served(ThreadLimit(app, 1)) as base:
        where = urlsplit(base)
        waiting = http.client.HTTPConnection(where.hostname or "", where.port, timeout=30)
        waiting.request("GET", "/page")
        time.sleep(0.3)  # the page holds the only thread
        other = http.client.HTTPConnection(where.hostname or "", where.port, timeout=30)
        other.request("GET", "/stream")
        assert other.getresponse().read() == b"first last"
        assert json.loads(waiting.getresponse().read()) == {"streamed": True}
        waiting.close()
        other.close()
