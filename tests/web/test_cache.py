"""The page cache's byte budget holds whatever the URLs (issue 10: it counted bodies only, and
5,000 long URLs added 259 MB); every writer of the store makes a running server's pages new."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from asgi_requests import run as run_to_end
from bs4 import BeautifulSoup
from serving import IATIPORTAL, served, without_proxies
from starlette.responses import Response

from iatiportal.demo import demo_files
from iatiportal.web.cache import Key, ResponseCache

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RECHECK = 1.0  # what ``iatiportal serve`` rechecks the data every (create_app's default)

BUDGET = 2 << 20
VERSION = "one version"


async def new_cache(**limits: int) -> ResponseCache:
    cache = ResponseCache(lambda: VERSION, **limits)
    await cache.version()  # as each request does first (app.Revalidation): the version is known
    return cache


async def held_bytes(cache: ResponseCache, keys: list[Key]) -> int:
    """The bytes of the entries still held, recomputed: key, headers and body of each."""
    total = 0
    for key in keys:  # in the order put, so the cache's own order is kept
        response = await cache.get(key)
        if response is not None:
            path, query = key
            headers = sum(len(name) + len(value) for name, value in response.raw_headers)
            total += len(path.encode()) + len(query.encode()) + headers + len(response.body)
    return total


def test_long_urls_count_against_the_budget() -> None:
    async def run() -> None:
        cache = await new_cache(max_entries=100_000, max_bytes=BUDGET)
        keys: list[Key] = []
        for n in range(3000):
            key = ("/search", f"q={n}&lang=fr&" + "w" * 20_000 + "é" * 100)  # a 20 KB query
            headers = {"Content-Disposition": "attachment; " + "h" * 300, "X-N": str(n)}
            cache.put(key, Response("<p>short</p>", headers=headers), VERSION)
            keys.append(key)
            assert cache.counted_bytes <= BUDGET
            if n % 500 == 499:
                assert cache.counted_bytes == await held_bytes(cache, keys)
        held = await held_bytes(cache, keys)
        assert held == cache.counted_bytes
        assert BUDGET - 21_000 < held <= BUDGET  # full, and never past it
        assert await cache.get(keys[-1]) is not None  # oldest out first
        assert await cache.get(keys[0]) is None

    run_to_end(run())


def test_an_entry_larger_than_an_eighth_of_the_budget_is_not_kept() -> None:
    async def run() -> None:
        cache = await new_cache(max_bytes=BUDGET)
        cache.put(("/search", "q=" + "w" * (BUDGET // 8)), Response("<p>short</p>"), VERSION)
        cache.put(("/", ""), Response("x" * (BUDGET // 8)), VERSION)
        assert cache.counted_bytes == 0
        cache.put(("/", "lang=fr"), Response("<p>short</p>"), VERSION)
        assert await cache.get(("/", "lang=fr")) is not None
        assert cache.counted_bytes == await held_bytes(cache, [("/", "lang=fr")])

    run_to_end(run())


def test_a_page_of_another_data_version_is_not_kept() -> None:
    """A page begun before an ingest and finished after the cache saw the new version is old:
    kept, it would be served until the next ingest (issue 10)."""

    async def run() -> None:
        current = ["before"]
        cache = ResponseCache(lambda: current[0], check_every=0)
        await cache.version()
        current[0] = "after"  # the ingest commits while the page renders
        assert await cache.version() == "after"
        cache.put(("/", ""), Response("<p>old figures</p>"), "before")
        assert await cache.get(("/", "")) is None
        cache.put(("/", ""), Response("<p>new figures</p>"), "after")
        cached = await cache.get(("/", ""))
        assert cached is not None and cached.body == b"<p>new figures</p>"

    run_to_end(run())


def test_the_version_is_read_off_the_event_loop_one_read_at_a_time() -> None:
    """A slow version read (a busy database) holds up no other request: it runs in the
    thread pool, and requests that arrive meanwhile wait for it instead of reading again."""
    reads: list[bool] = []  # per read: whether it ran on the event loop's thread
    reading = threading.Lock()
    overlapped: list[int] = []

    def slow_version() -> str:
        if not reading.acquire(blocking=False):
            overlapped.append(1)
            reading.acquire()
        try:
            reads.append(threading.current_thread() is threading.main_thread())
            time.sleep(0.3)
            return VERSION
        finally:
            reading.release()

    async def run() -> int:
        cache = ResponseCache(slow_version, check_every=60)
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            for _ in range(10):
                await asyncio.sleep(0.01)
                ticks += 1

        answers = await asyncio.gather(*(cache.version() for _ in range(20)), tick())
        assert answers[:20] == [VERSION] * 20
        return ticks

    ticks = run_to_end(run())
    assert reads == [False]  # one read, in another thread, for the twenty requests
    assert overlapped == []
    assert ticks == 10  # the loop went on while the version was read


def test_the_version_is_reread_after_the_interval_only() -> None:
    current = ["first"]
    reads: list[str] = []

    def version() -> str:
        reads.append(current[0])
        return current[0]

    async def run() -> None:
        cache = ResponseCache(version, check_every=0.2)
        assert await cache.version() == "first"
        current[0] = "second"
        assert await cache.version() == "first"  # within the interval: not read again
        await asyncio.sleep(0.25)
        assert await cache.version() == "second"

    run_to_end(run())
    assert reads == ["first", "second"]


def _cli(*args: str) -> None:
    done = subprocess.run(
        [str(IATIPORTAL), *args],
        capture_output=True, text=True, env=without_proxies(), timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def _fetch(url: str, etag: str | None = None) -> tuple[int, str, BeautifulSoup]:
    """(status, ETag, page) of a GET, conditional on ``etag`` when given."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    conditional = {"If-None-Match": etag} if etag else {}
    request = urllib.request.Request(url, headers=conditional)  # noqa: S310 (loopback http)
    try:
        with opener.open(request, timeout=30) as response:
            body = response.read().decode()
            return (
                int(response.status),
                response.headers["ETag"],
                BeautifulSoup(body, "html.parser"),
            )
    except urllib.error.HTTPError as e:
        return int(e.code), e.headers["ETag"], BeautifulSoup("", "html.parser")


@pytest.mark.slow
def test_a_running_server_shows_reference_and_rates_loads(
    db_url: str, shared: Path, tmp_path: Path
) -> None:
    """``reference load`` and ``rates load`` change what a running server answers (and its
    ETag) once the cache has rechecked the data: the reference load used to leave the old
    country header, and 304 for it, until the next ingest."""
    _cli("ingest", "--quiet", "--no-snapshot", "--db", db_url, *map(str, demo_files()))
    with served(db_url, tmp_path) as (base, _server):
        url = f"{base}/countries/ML"
        status, etag, page = _fetch(url)
        assert status == 200
        assert page.select_one("p.notice.reference-indicators") is not None  # none loaded
        assert page.select_one("form.selector.currency") is None  # no rates loaded
        assert _fetch(url, etag)[0] == 304

        _cli("reference", "load", str(shared / "reference"), "--db", db_url)
        time.sleep(RECHECK + 0.2)
        status, loaded_etag, page = _fetch(url, etag)
        assert status == 200 and loaded_etag != etag
        shown = {d["data-indicator"] for d in page.select("dl.reference-indicators > div")}
        assert {"income_group", "gii", "population"} <= shown

        _cli("rates", "load", str(FIXTURES / "rates.csv"), "--db", db_url)
        time.sleep(RECHECK + 0.2)
        status, rated_etag, page = _fetch(url, loaded_etag)
        assert status == 200 and rated_etag not in (etag, loaded_etag)
        assert page.select_one("form.selector.currency") is not None
        assert _fetch(url, rated_etag)[0] == 304
