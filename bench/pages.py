"""Page benchmark: server times of each page type, and throughput under 32 connections.

Builds a database from all of shared/data/iati (or uses --db), serves it with
`iatiportal serve` (one worker, SQLite unless --db says otherwise), then from this second
process requests each page type over one keep-alive connection: first every sample URL once
(rendered: nothing cached), then many times (served from the page cache, which lasts until the
next ingest), printing the server's own time (the Server-Timing header) and the round trip;
then runs wrk (Debian's package) with 32 connections on --throughput-path.
With --uncached N (issue 14), only the uncached mix: N distinct URLs made from the store
(countries × years × tabs × languages, lists by page, partner, activity and search pages, API
lists), each asked for once through wrk at --connections (64) with a Lua script that walks the
list, printing requests/s, p50, p99 and errors; then the last 300 of them again, ten times
(served from the page cache).
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
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

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


# -- the uncached mix (issue 14): many distinct URLs, as crawlers ask for them --------------

WALK_LUA = """\
-- Walks the URL file once: thread k of T asks for URLs k, k+T, k+2T, ... and stops after its
-- share of answers, printing WALKED (bench/pages.py then stops wrk with SIGINT; wrk's own
-- duration, -d, is only a bound). Requests/s are answers divided by the time from the first
-- request to the last answer (clock_gettime through LuaJIT's ffi).
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } walk_timespec;
int clock_gettime(int clk_id, walk_timespec *tp);
]]
local function now()
  local t = ffi.new("walk_timespec")
  ffi.C.clock_gettime(1, t)
  return tonumber(t.tv_sec) + tonumber(t.tv_nsec) / 1e9
end

local threads = {}
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local paths, n, share = {}, 0, 0
answered, bad, started, finished = 0, 0, nil, nil
function init(args)
  local count = tonumber(os.getenv("WALK_THREADS"))
  for line in io.lines(os.getenv("WALK_URLS")) do
    if n % count == id then table.insert(paths, line) end
    n = n + 1
  end
  share = #paths
  n = 0
end

function request()
  if started == nil then started = now() end
  n = n + 1
  return wrk.format("GET", paths[(n - 1) % share + 1])
end

function response(status, headers, body)
  answered = answered + 1
  if status >= 400 then bad = bad + 1 end
  if answered == share then
    finished = now()
    io.write("WALKED\\n")
    io.stdout:flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local first, last, answers, bad_total, finished_all = nil, nil, 0, 0, true
  for _, t in ipairs(threads) do
    local s, f = t:get("started"), t:get("finished")
    if s and (first == nil or s < first) then first = s end
    if f == nil then finished_all = false elseif last == nil or f > last then last = f end
    answers = answers + (t:get("answered") or 0)
    bad_total = bad_total + (t:get("bad") or 0)
  end
  local seconds = summary.duration / 1e6
  if finished_all and first ~= nil then seconds = last - first end
  local e = summary.errors
  io.write(string.format(
    "WALK answers=%d seconds=%.3f p50=%.1f p99=%.1f errors=%d status_errors=%d walked=%s\\n",
    answers, seconds, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout, bad_total, tostring(finished_all)))
end
"""


def uncached_urls(db: str, wanted: int, seed: int = 14) -> list[str]:
    """``wanted`` distinct URLs over the data, as a crawler asks for them: country pages
    (countries × years × tabs × languages), the lists of countries, partners and activities by
    page, partner pages, activity pages and their JSON, search pages, and API lists
    (by country, year and page). Shuffled with ``seed``, every kind mixed with the others."""
    engine = open_store(db)
    with engine.connect() as conn:
        ids = (
            conn.execute(
                select(schema.activity.c.iati_identifier).where(
                    schema.activity.c.is_current.is_(True)
                )
            )
            .scalars()
            .all()
        )
        countries = sorted(c for c in queries.countries(conn) if c.isalpha() and len(c) == 2)
        years = sorted(
            y
            for y in conn.execute(select(schema.activity_year.c.year).distinct()).scalars()
            if y is not None and 2000 <= y <= 2030
        )
        partners = sorted(
            r
            for r in conn.execute(
                select(schema.money_total.c.provider_org_ref)
                .where(schema.money_total.c.measure == "incoming")
                .distinct()
            ).scalars()
            if r
        )
        words = [
            w.lower()
            for t in conn.execute(
                select(schema.narrative.c.text)
                .where(schema.narrative.c.element == "title")
                .limit(3000)
            ).scalars()
            for w in (t or "").split()
            if w.isalpha() and len(w) > 4
        ]
    engine.dispose()
    rnd = random.Random(seed)  # noqa: S311 - a repeatable sample, not a secret
    langs = ("en", "fr", "es", "ar", "ru", "zh")
    tabs = ("", "/results", "/progress", "/strategic-plan")

    def lang_query(lang: str, **params: object) -> str:
        pairs = [(k, str(v)) for k, v in params.items() if v is not None]
        if lang != "en":
            pairs.append(("lang", lang))
        return f"?{urlencode(pairs)}" if pairs else ""

    def pick(seq: list[Any]) -> Any:
        return seq[rnd.randrange(len(seq))]

    year_or_none = [None, *years]
    kinds: list[tuple[int, Callable[[], str]]] = [
        (
            40,
            lambda: (
                f"/countries/{pick(countries)}{pick(list(tabs))}"
                + lang_query(pick(list(langs)), year=pick(year_or_none))
            ),
        ),
        (
            5,
            lambda: (
                "/countries"
                + lang_query(pick(list(langs)), page=rnd.randint(1, 8), year=pick(year_or_none))
            ),
        ),
        (
            5,
            lambda: (
                "/activities"
                + lang_query(pick(list(langs)), page=rnd.randint(1, 200), year=pick(year_or_none))
            ),
        ),
        (
            4,
            lambda: "/partners" + lang_query(pick(list(langs)), year=pick(year_or_none)),
        ),
        (
            8,
            lambda: (
                f"/partners/{quote(pick(partners), safe='')}"
                + lang_query(pick(list(langs)), year=pick(year_or_none))
            ),
        ),
        (
            16,
            lambda: (
                f"/activities/{quote(pick(ids), safe='')}{pick(['', '', '', '.json'])}"
                + lang_query(pick(list(langs)))
            ),
        ),
        (
            8,
            lambda: (
                "/search" + lang_query(pick(list(langs)), q=pick(words), page=pick([None, None, 2]))
            ),
        ),
        (
            14,
            lambda: (
                f"/api/v1/{pick(['activities', 'transactions', 'budgets', 'results'])}"
                + lang_query(
                    "en",
                    country=pick([None, *countries]),
                    year=pick(year_or_none),
                    page=rnd.randint(1, 5),
                )
            ),
        ),
    ]
    if not partners:
        del kinds[4]  # partner pages
    weights = [w for w, _make in kinds]
    found: dict[str, None] = {}
    tries = 0
    while len(found) < wanted and tries < wanted * 50:
        tries += 1
        _w, make = rnd.choices(kinds, weights)[0]
        found.setdefault(make(), None)
    return list(found)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process ``pid`` and of its children still running (the
    workers of ``serve --workers N``), from /proc; 0 where /proc is not there."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after the command's name
        except OSError:
            continue  # gone meanwhile
        if stat.parent.name == str(pid) or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def uncached_mix(
    port: int, urls: list[str], connections: int, threads: int = 2, server: int | None = None
) -> None:
    """Every URL of ``urls`` once (nothing cached) through wrk at ``connections``: answers/s,
    latency p50 and p99, errors (sockets and timeouts; answers of status 400 and above), and
    the CPU time the server (process ``server`` and its workers) spent per answer: on a busy
    machine, a figure that other processes sway less than the wall-clock ones."""
    cpu_before = cpu_seconds(server) if server is not None else 0.0
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk): no figure for the uncached mix")
        return
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "urls.txt").write_text("".join(u + "\n" for u in urls))
        (Path(tmp) / "walk.lua").write_text(WALK_LUA)
        walker = subprocess.Popen(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                "-d600s",
                "--timeout",
                "30s",
                "-s",
                str(Path(tmp) / "walk.lua"),
                f"http://127.0.0.1:{port}",
            ],
            stdout=subprocess.PIPE,
            text=True,
            env={
                **os.environ,
                "WALK_URLS": str(Path(tmp) / "urls.txt"),
                "WALK_THREADS": str(threads),
            },
        )
        assert walker.stdout is not None
        walked, line = 0, None
        for out in walker.stdout:
            if out.startswith("WALKED"):
                walked += 1
                if walked == threads:
                    walker.send_signal(signal.SIGINT)  # wrk then reports at once
            elif out.startswith("WALK "):
                line = out
        walker.wait()
    if line is None:
        raise SystemExit(f"wrk printed no figures (exit status {walker.returncode})")
    got = dict(part.split("=", 1) for part in line.split()[1:])
    answers, seconds = int(got["answers"]), float(got["seconds"])
    cpu = (cpu_seconds(server) - cpu_before) if server is not None else 0.0
    print(
        f"{len(urls)} requests of {len(set(urls))} distinct URLs, wrk -t{threads} -c{connections}: "
        f"{answers / seconds:.1f} requests/s, p50 {float(got['p50']):.0f} ms, "
        f"p99 {float(got['p99']):.0f} ms, errors {got['errors']}, "
        f"HTTP >= 400: {got['status_errors']}"
        + (f", server CPU {cpu * 1000 / max(answers, 1):.1f} ms per answer" if server else "")
        + ("" if got["walked"] == "true" else " (the walk did not finish in 600 s)")
    )


@contextlib.contextmanager
def serving(
    db: str, port: int, workers: int = 1, threads: int | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``iatiportal serve --workers N [--threads T]`` over ``db`` on 127.0.0.1:``port``, ready
    (its process), stopped at the end."""
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "iatiportal.cli", "serve", "--db", db, "--port", str(port)),
            *(("--workers", str(workers)) if workers != 1 else ()),
            *(("--threads", str(threads)) if threads is not None else ()),
        ],
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
    parser.add_argument(
        "--uncached",
        type=int,
        metavar="N",
        help="only the uncached mix: N distinct URLs once each through wrk, then the last 300 "
        "of them again, 10 times (from the page cache)",
    )
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (mix)")
    parser.add_argument(
        "--workers", type=int, default=1, help="iatiportal serve --workers (0: one per core)"
    )
    parser.add_argument(
        "--threads", type=int, help="iatiportal serve --threads (default: the command's own)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or f"sqlite:///{tmp}/pages.db"
        if not args.db:
            build(db)
        if args.uncached:
            urls = uncached_urls(db, args.uncached)
            with serving(db, args.port, args.workers, args.threads) as server:
                measure(args.port, ["/about"], 5)
                threads = f" --threads {args.threads}" if args.threads is not None else ""
                print(f"iatiportal serve --workers {args.workers}{threads}")
                uncached_mix(args.port, urls, args.connections, server=server.pid)
                # The cache keeps 4,096 pages, 128 MB: the last 300 URLs walked are still there.
                print("the last 300 of them again, 10 times (from the page cache):")
                uncached_mix(args.port, urls[-300:] * 10, args.connections, server=server.pid)
            return
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
