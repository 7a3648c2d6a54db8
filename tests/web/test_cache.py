"""The page cache's byte budget holds whatever the URLs (issue 10: it counted bodies only, and
5,000 long URLs added 259 MB)."""

from __future__ import annotations

from starlette.responses import Response

from iatiportal.web.cache import Key, ResponseCache

BUDGET = 2 << 20
VERSION = "one version"


def new_cache(**limits: int) -> ResponseCache:
    cache = ResponseCache(lambda: VERSION, **limits)
    cache.version()  # as each request does first (app.Revalidation): the version is known
    return cache


def held_bytes(cache: ResponseCache, keys: list[Key]) -> int:
    """The bytes of the entries still held, recomputed: key, headers and body of each."""
    total = 0
    for key in keys:  # in the order put, so the cache's own order is kept
        response = cache.get(key)
        if response is not None:
            path, query = key
            headers = sum(len(name) + len(value) for name, value in response.raw_headers)
            total += len(path.encode()) + len(query.encode()) + headers + len(response.body)
    return total


def test_long_urls_count_against_the_budget() -> None:
    cache = new_cache(max_entries=100_000, max_bytes=BUDGET)
    keys: list[Key] = []
    for n in range(3000):
        key = ("/search", f"q={n}&lang=fr&" + "w" * 20_000 + "é" * 100)  # a 20 KB query
        headers = {"Content-Disposition": "attachment; " + "h" * 300, "X-N": str(n)}
        cache.put(key, Response("<p>short</p>", headers=headers), VERSION)
        keys.append(key)
        assert cache.counted_bytes <= BUDGET
        if n % 500 == 499:
            assert cache.counted_bytes == held_bytes(cache, keys)
    held = held_bytes(cache, keys)
    assert held == cache.counted_bytes
    assert BUDGET - 21_000 < held <= BUDGET  # full, and never past it
    assert cache.get(keys[-1]) is not None and cache.get(keys[0]) is None  # oldest out first


def test_an_entry_larger_than_an_eighth_of_the_budget_is_not_kept() -> None:
    cache = new_cache(max_bytes=BUDGET)
    cache.put(("/search", "q=" + "w" * (BUDGET // 8)), Response("<p>short</p>"), VERSION)
    cache.put(("/", ""), Response("x" * (BUDGET // 8)), VERSION)
    assert cache.counted_bytes == 0
    cache.put(("/", "lang=fr"), Response("<p>short</p>"), VERSION)
    assert cache.get(("/", "lang=fr")) is not None
    assert cache.counted_bytes == held_bytes(cache, [("/", "lang=fr")])


def test_a_page_of_another_data_version_is_not_kept() -> None:
    """A page begun before an ingest and finished after the cache saw the new version is old:
    kept, it would be served until the next ingest (issue 10)."""
    current = ["before"]
    cache = ResponseCache(lambda: current[0], check_every=0)
    cache.version()
    current[0] = "after"  # the ingest commits while the page renders
    cache.put(("/", ""), Response("<p>old figures</p>"), "before")
    assert cache.get(("/", "")) is None
    cache.put(("/", ""), Response("<p>new figures</p>"), "after")
    cached = cache.get(("/", ""))
    assert cached is not None and cached.body == b"<p>new figures</p>"
