"""Page benchmark: server times of each page type, and throughput under 32 connections.

Builds a database from all of shared/data/iati (or uses --db), serves it with
`iatiportal serve` (one worker, SQLite unless --db says otherwise), then from this second
process requests each page type over one keep-alive connection: first every sample URL once
(rendered: nothing cached), then many times (served from the page cache, which lasts until the
next ingest), printing the server's own time (the Server-Timing header) and the round trip;
then runs wrk (Debian's package) with 32 connections on --throughput-path.
Targets (issue 3): every page's median under 50 ms, p99 under 200 ms; the country page at
least 500 requests/s under 32 connections. Also prints the JavaScript and CSS weight of the
overview page, gzip-compressed as served (issue 5: under 400 KB). Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import contextlib
import html.parser
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import select

from iatiportal.store import queries, schema
from iatiportal.store.db import open_store
from iatiportal.store.load import ingest

SHARED = Path(os.environ.get("IATIPORTAL_SHARED_DATA", "../shared/data")).resolve()


def build(db: str) -> None:
    engine = open_store(db)
    started = time.perf_counter()
    summary = ingest(engine, [str(SHARED / "iati")])
    print(f"built {db} from {len(summary.files)} files in {time.perf_counter() - started:.0f} s")
    engine.dispose()


def sample_paths(db: str, per_type: int) -> dict[str, list[str]]:
    """Page type -> URLs to request (spread over the data)."""
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
    engine.dispose()
    step = max(1, len(ids) // per_type)
    chosen = ids[::step][:per_type]
    some = countries[:: max(1, len(countries) // 20)][:20]
    return {
        "overview": ["/"],
        "countries": ["/countries", *(f"/countries?page={n}" for n in range(2, 8))],
        "country": [f"/countries/{c}" for c in some],
        "country results": [f"/countries/{c}/results" for c in some],
        "country progress": [f"/countries/{c}/progress" for c in some],
        "country plan": [f"/countries/{c}/strategic-plan" for c in some],
        "activity list": [f"/activities?page={n}" for n in range(1, 40, 3)],
        "activity": [f"/activities/{quote(i, safe='')}" for i in chosen],
        "activity json": [f"/activities/{quote(i, safe='')}.json" for i in chosen],
        "data health": ["/-/data-health"],
        "about": ["/about"],
    }


def wait_ready(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/about")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


def measure(port: int, paths: list[str], requests: int) -> tuple[list[float], list[float]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    server: list[float] = []
    total: list[float] = []
    for n in range(requests):
        path = paths[n % len(paths)]
        started = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        total.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            raise SystemExit(f"{path}: HTTP {response.status}")
        timing = response.getheader("Server-Timing", "app;dur=nan")
        server.append(float(timing.rsplit("=", 1)[1]))
    conn.close()
    return server, total


class _Assets(html.parser.HTMLParser):
    """The scripts, stylesheets and map data (``data-atlas``) a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.found.append(("js", a["src"] or ""))
        elif tag == "link" and a.get("rel") == "stylesheet" and a.get("href"):
            self.found.append(("css", a["href"] or ""))
        elif a.get("data-atlas"):
            self.found.append(("map data", a["data-atlas"] or ""))


def page_weight(port: int, path: str = "/") -> None:
    """Print the gzip-compressed bytes of each script, stylesheet and map file of a page."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    assets = _Assets()
    assets.feed(conn.getresponse().read().decode())
    totals: dict[str, int] = {}
    print(f"Weight of {path} (gzip-compressed, as served):")
    for kind, url in dict.fromkeys(assets.found):
        conn.request("GET", url, headers={"Accept-Encoding": "gzip"})
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"{url}: HTTP {response.status}")
        encoding = response.getheader("Content-Encoding", "identity")
        totals[kind] = totals.get(kind, 0) + len(body)
        print(f"  {kind:<9} {url:<42} {len(body) / 1024:>7.1f} KB ({encoding})")
    conn.close()
    code = totals.get("js", 0) + totals.get("css", 0)
    print(
        f"  JS {totals.get('js', 0) / 1024:.1f} KB + CSS {totals.get('css', 0) / 1024:.1f} KB = "
        f"{code / 1024:.1f} KB (target under 400 KB); with the map data "
        f"{(code + totals.get('map data', 0)) / 1024:.1f} KB"
    )


def throughput(port: int, path: str) -> None:
    """Requests/s of ``path`` under 32 connections (wrk, Debian's package), printed."""
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk): no throughput figure")
        return
    done = subprocess.run(
        ["wrk", "-t2", "-c32", "-d10s", f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        text=True,
        check=True,
    )
    rate = [ln for ln in done.stdout.splitlines() if "Requests/sec" in ln]
    print(f"wrk -t2 -c32 -d10s {path}: {rate[0].split()[-1] if rate else '?'} requests/s")


@contextlib.contextmanager
def serving(db: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """``iatiportal serve`` over ``db`` on 127.0.0.1:``port``, ready (its process), stopped at
    the end."""
    server = subprocess.Popen(
        [sys.executable, "-m", "iatiportal.cli", "serve", "--db", db, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(port)
        yield server
    finally:
        server.terminate()
        server.wait()


def print_repeats(
    port: int, urls_by_name: dict[str, list[str]], requests: int, heading: str, width: int
) -> None:
    """Server time and round trip (p50, p99) of ``requests`` requests of each kind of URL."""
    print(
        f"{heading:<{width}} {'server p50':>10} {'server p99':>10} "
        f"{'total p50':>10} {'total p99':>10}"
    )
    for name, urls in urls_by_name.items():
        srv, tot = measure(port, urls, requests)
        print(
            f"{name:<{width}} {statistics.median(srv):>10.1f} {p99(srv):>10.1f} "
            f"{statistics.median(tot):>10.1f} {p99(tot):>10.1f}"
        )


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", help="database to serve (default: build one from shared data)")
    parser.add_argument("--requests", type=int, default=300, help="requests per page type")
    parser.add_argument("--port", type=int, default=8391)
    parser.add_argument(
        "--throughput-path", default=None, help="page for the wrk run (default: an activity page)"
    )
    parser.add_argument(
        "--weight-only", action="store_true", help="print the overview page's JS and CSS only"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or f"sqlite:///{tmp}/pages.db"
        if not args.db:
            build(db)
        paths = sample_paths(db, 50)
        with serving(db, args.port):
            measure(args.port, ["/about"], 5)  # templates and codelists loaded
            page_weight(args.port, "/?weight")  # another URL: "/" is first rendered below
            if args.weight_only:
                return
            print("Rendered (first request of each URL, nothing cached; ms):")
            print(f"{'page type':<16} {'URLs':>5} {'server p50':>10} {'server max':>10}")
            for name, urls in paths.items():
                srv, _tot = measure(args.port, urls, len(urls))
                print(
                    f"{name:<16} {len(urls):>5} {statistics.median(srv):>10.1f} {max(srv):>10.1f}"
                )
            print(f"Served again (the page cache; {args.requests} requests each; ms):")
            print_repeats(args.port, paths, args.requests, "page type", 16)
            target = args.throughput_path or next(
                (u for u in paths["country"] if u.endswith("/ML")), paths["country"][0]
            )
            throughput(args.port, target)


if __name__ == "__main__":
    main()
