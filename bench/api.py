"""API benchmark: server times of the main API calls, downloads, and throughput.

Builds a database from all of shared/data/iati (or uses --db), serves it with `iatiportal serve`
(one worker), then from this second process on 127.0.0.1 requests each API call over one
keep-alive connection: distinct URLs once each (answered from the database: nothing cached),
then repeats (answered from the response cache, which lasts until the next ingest), printing
the server's time (Server-Timing) and the round trip; times a full CSV download of every
transaction (first byte and whole); then runs wrk with 32 connections on one API list.
Figures, not pass/fail (issue 4).
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import tempfile
import time
from urllib.parse import quote

from pages import build, measure, p99, print_repeats, serving, throughput
from sqlalchemy import func, select

from iatiportal.store import queries, schema
from iatiportal.store.db import open_store


def sample_calls(db: str, per_call: int) -> dict[str, list[str]]:
    """API call -> distinct URLs to request."""
    engine = open_store(db)
    with engine.connect() as conn:
        ids = (
            conn.execute(
                select(schema.activity.c.iati_identifier)
                .where(schema.activity.c.is_current.is_(True))
                .order_by(schema.activity.c.id)
            )
            .scalars()
            .all()
        )
        countries = sorted(c for c in queries.countries(conn) if c.isalpha() and len(c) == 2)
        years = sorted(
            y for (y,) in conn.execute(select(func.distinct(schema.activity_year.c.year))) if y
        )
    engine.dispose()
    step = max(1, len(ids) // per_call)
    chosen = ids[::step][:per_call]
    some = countries[:: max(1, len(countries) // per_call)][:per_call]
    year = years[len(years) // 2] if years else 2020
    return {
        "activities": [f"/api/v1/activities?page={n}&per_page=100" for n in range(1, per_call + 1)],
        "activities?country": [f"/api/v1/activities?country={c}" for c in some],
        "activities/{id}": [f"/api/v1/activities/{quote(i, safe='')}" for i in chosen],
        "transactions?country&year": [
            f"/api/v1/transactions?country={c}&year={year}&per_page=100" for c in some
        ],
        "budgets?country": [f"/api/v1/budgets?country={c}&per_page=100" for c in some],
        "results?country": [f"/api/v1/results?country={c}&per_page=100" for c in some],
        "search?q": [
            f"/api/v1/search?q={w}"
            for w in ("women", "health", "water", "education", "violence", "climate", "food")
        ],
        # A word in (nearly) every activity, with a filter and on a later page: issue 14
        # measured 120 s for the first on 46,856 activities (each facet re-ran the match).
        "search?q=common": [
            "/api/v1/search?q=women",
            "/api/v1/search?q=women&humanitarian=1",
            "/api/v1/search?q=gender+women&page=3",
        ],
        "countries": [f"/api/v1/countries?year={y}" for y in years[-per_call:]]
        or ["/api/v1/countries"],
        "partners": ["/api/v1/partners"],
        "problems": [f"/api/v1/problems?page={n}" for n in range(1, per_call + 1)],
    }


def download(port: int, path: str) -> tuple[float, float, int]:
    """(ms to the first body bytes, ms in all, bytes) of one download."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    first = response.read1(65536)
    first_ms = (time.perf_counter() - started) * 1000
    size = len(first)
    while block := response.read1(1 << 20):
        size += len(block)
    conn.close()
    return first_ms, (time.perf_counter() - started) * 1000, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", help="database to serve (default: build one from shared data)")
    parser.add_argument("--requests", type=int, default=300, help="repeats per API call")
    parser.add_argument("--port", type=int, default=8392)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or f"sqlite:///{tmp}/api.db"
        if not args.db:
            build(db)
        calls = sample_calls(db, 20)
        with serving(db, args.port):
            measure(args.port, ["/api/v1/openapi.json"], 5)
            print("From the database (each URL once, nothing cached; ms):")
            print(f"{'API call':<28} {'URLs':>5} {'server p50':>10} {'server p99':>10}")
            for name, urls in calls.items():
                srv, _tot = measure(args.port, urls, len(urls))
                print(
                    f"{name:<28} {len(urls):>5} {statistics.median(srv):>10.1f} {p99(srv):>10.1f}"
                )
            print(f"Repeated ({args.requests} requests each, the response cache; ms):")
            print_repeats(args.port, calls, args.requests, "API call", 28)
            for fmt in ("csv", "jsonl"):
                first_ms, all_ms, size = download(args.port, f"/api/v1/transactions?format={fmt}")
                print(
                    f"download of every transaction as {fmt}: first bytes after {first_ms:.0f} ms, "
                    f"{size / 1e6:.1f} MB in {all_ms / 1000:.1f} s "
                    f"({size / 1e6 / (all_ms / 1000):.1f} MB/s)"
                )
            target = calls["activities?country"][0]
            throughput(args.port, target)


if __name__ == "__main__":
    main()
