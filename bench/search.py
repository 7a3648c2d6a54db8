"""Search benchmark: the statements of the search page and of ``/api/v1/activities?q=``, per query.

Times, on one store (--db: a SQLite file or an SQLAlchemy URL; --ingest FILE... fills it
first), what the search page runs for one page of hits (``store.search.search``: the match,
the total, every facet, the page's titles and snippets) and what the activities list of the
API runs for ``q`` (its count and its first 100 rows), for a common word, a rare word, two
words, a quoted phrase (searched as its words), and words in Arabic, Chinese and Russian.
Each call is repeated (--repeat) after one unmeasured warm-up call, and printed as p50 and
p99 of the wall time in milliseconds, and the CPU milliseconds a call took on average (this
process and, on PostgreSQL, the server process of its connection, from /proc): on a machine
that others share, the CPU time moves less than the wall time. Figures, not pass/fail.
For example:

    python /work/shared/tools/gen_iati.py 20000 /tmp/ps/g.xml
    python bench/search.py --db /tmp/ps/g.db --ingest /tmp/ps/g.xml \\
        tests/fixtures/narratives-ar-ru-zh.xml
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from pages import cpu_seconds, p99
from sqlalchemy import Connection, text

from iatiportal.store import listing, search
from iatiportal.store.db import open_store
from iatiportal.store.filters import Filters
from iatiportal.store.load import ingest

QUERIES = {
    "common word": "women",
    "rare word": "femmes",
    "two words": "gender equality",
    "phrase": '"violence prevention"',
    "Arabic": "المرأة",
    "Chinese": "妇女",
    "Russian": "женщин",
}
# The search page's sector facets when the portal has no strategic plan (web.pages.search).
FACETS = (("sdg", "7"),)


def timed(conn: Connection, call: Callable[[], object], repeat: int) -> tuple[list[float], float]:
    """The wall times of ``repeat`` calls (ms) and their mean CPU time (ms)."""
    call()  # warm-up: the database's caches, SQLAlchemy's statement cache
    server = (
        int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
        if conn.dialect.name == "postgresql"
        else None
    )

    def cpu() -> float:
        return time.process_time() + (cpu_seconds(server) if server else 0.0)

    times = []
    cpu_started = cpu()
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times, (cpu() - cpu_started) * 1000 / repeat


def search_page(conn: Connection, q: str) -> Callable[[], object]:
    return lambda: search.search(conn, q, Filters(), limit=10, facet_vocabularies=FACETS)


def api_list(conn: Connection, q: str) -> Callable[[], object]:
    resource = listing.resources(conn.dialect.name)["activities"]
    query = resource.select(Filters(q=q))
    return lambda: (listing.count(conn, query), listing.fetch(conn, query, 0, 100))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", required=True, help="SQLite file or SQLAlchemy URL")
    parser.add_argument("--ingest", nargs="+", default=[], help="IATI files to ingest first")
    parser.add_argument("--repeat", type=int, default=20, help="measured calls per query")
    args = parser.parse_args()
    engine = open_store(args.db)
    if args.ingest:
        started = time.perf_counter()
        ingest(engine, args.ingest, validate=False)
        print(f"ingested {len(args.ingest)} files in {time.perf_counter() - started:.0f} s")
    print(f"{engine.dialect.name}, {args.repeat} calls each (ms)")
    print(
        f"{'query':<13} {'hits':>6} {'search p50':>10} {'p99':>8} {'cpu':>8} "
        f"{'api?q p50':>10} {'p99':>8} {'cpu':>8}"
    )
    with engine.connect() as conn:
        for name, q in QUERIES.items():
            total = search.search(conn, q).total
            page, page_cpu = timed(conn, search_page(conn, q), args.repeat)
            api, api_cpu = timed(conn, api_list(conn, q), args.repeat)
            print(
                f"{name:<13} {total:>6} {statistics.median(page):>10.1f} {p99(page):>8.1f} "
                f"{page_cpu:>8.1f} {statistics.median(api):>10.1f} {p99(api):>8.1f} "
                f"{api_cpu:>8.1f}"
            )
    engine.dispose()


if __name__ == "__main__":
    main()
