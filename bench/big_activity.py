"""One huge activity: what ingesting and serving it costs (issue 10, "Safe on the public internet").

Generates one valid IATI 2.03 activity with --transactions transactions (default 100,000; plus
a few budgets, results and documents) into a temporary folder, then:

- runs `iatiportal ingest` on it as a whole command (validation, money facts, search text and
  bulk snapshot included) into a fresh store (SQLite unless --db), printing its wall time and
  peak memory: the process tree sampled every 50 ms (the ingest process and its parsing
  workers, summed) and the largest single process (getrusage of the waited children);
- serves the store with `iatiportal serve` and prints the activity page's server time, round
  trip and HTML size, the size of its second page of transactions, and the server's resident
  memory before, at its highest during and after four concurrent views (four distinct URLs, so
  none is answered from the page cache);
- downloads the page's transactions as CSV (`/activities/{id}.csv?table=transactions`) and
  prints its time, size, rows and the server's memory after it.

Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import http.client
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import escape

from ingest import _tree_rss
from pages import serving

IDENTIFIER = "XM-DAC-41146-BIG-1"
DONORS = (
    ("XM-DAC-41114", "UNDP"),
    ("GB-GOV-1", "UK FCDO"),
    ("SE-0", "Sweden Sida"),
    ("XM-DAC-903", "European Union"),
)


def _narrative(text: str) -> str:
    return f'<narrative xml:lang="en">{escape(text)}</narrative>'


def write_activity(path: Path, transactions: int, seed: int = 10) -> None:
    """One IATI 2.03 activity (elements in the schema's order) with ``transactions``
    transactions: incoming funds from four donors and monthly expenditure over ten years."""
    r = random.Random(seed)  # noqa: S311 - made-up amounts, not secrets
    with path.open("w", encoding="utf-8") as f:
        w = f.write
        w('<?xml version="1.0" encoding="UTF-8"?>\n')
        w('<iati-activities version="2.03" generated-datetime="2024-10-01T00:00:00Z">\n')
        w(
            '<iati-activity last-updated-datetime="2024-09-01T10:00:00Z" xml:lang="en" '
            'default-currency="USD" humanitarian="0">\n'
        )
        w(f"<iati-identifier>{IDENTIFIER}</iati-identifier>\n")
        w(f'<reporting-org ref="XM-DAC-41146" type="40">{_narrative("UN Women")}</reporting-org>\n')
        w(f"<title>{_narrative('One very large programme')}</title>\n")
        w(f'<description type="1">{_narrative("Ten years of monthly spending.")}</description>\n')
        for ref, name in DONORS:
            w(f'<participating-org ref="{ref}" role="1" type="40">{_narrative(name)}')
            w("</participating-org>\n")
        w('<participating-org ref="XM-DAC-41146" role="4" type="40">')
        w(f"{_narrative('UN Women')}</participating-org>\n")
        w('<activity-status code="2"/>\n')
        w('<activity-date iso-date="2015-01-01" type="1"/>\n')
        w('<activity-date iso-date="2015-01-01" type="2"/>\n')
        w('<activity-date iso-date="2024-12-31" type="3"/>\n')
        w('<activity-scope code="4"/>\n')
        w('<recipient-country code="ML" percentage="100"/>\n')
        w('<sector vocabulary="1" code="15170" percentage="100"/>\n')
        w('<default-flow-type code="10"/><default-finance-type code="110"/>\n')
        for year in range(2015, 2025):
            for status in ("1", "2"):
                w(
                    f'<budget type="1" status="{status}"><period-start iso-date="{year}-01-01"/>'
                    f'<period-end iso-date="{year}-12-31"/><value currency="USD" '
                    f'value-date="{year}-01-01">{r.randint(1_000_000, 9_000_000)}.00</value>'
                    "</budget>\n"
                )
        for k in range(transactions):
            year = 2015 + k % 10
            month = 1 + (k // 10) % 12
            day = 1 + (k // 120) % 28
            incoming = k % 5 == 0
            ref, name = DONORS[k % len(DONORS)]
            if incoming:
                kind = "1"
                provider = f'<provider-org ref="{ref}">{_narrative(name)}</provider-org>'
                receiver = f'<receiver-org ref="XM-DAC-41146">{_narrative("UN Women")}'
                receiver += "</receiver-org>"
            else:
                kind = "4"
                provider = f'<provider-org ref="XM-DAC-41146">{_narrative("UN Women")}'
                provider += "</provider-org>"
                receiver = f"<receiver-org>{_narrative(f'Partner {k % 900}')}</receiver-org>"
            w(
                f'<transaction ref="{IDENTIFIER}-T{k}"><transaction-type code="{kind}"/>'
                f'<transaction-date iso-date="{year}-{month:02d}-{day:02d}"/>'
                f'<value currency="USD" value-date="{year}-{month:02d}-{day:02d}">'
                f"{r.randint(100, 900_000)}.{r.randint(0, 99):02d}</value>"
                f"<description>{_narrative(f'Payment {k} of the programme')}</description>"
                f"{provider}{receiver}</transaction>\n"
            )
        w(
            '<document-link format="text/html" url="https://open.unwomen.org/en/project/BIG-1">'
            f"<title>{_narrative('Project page')}</title>"
            '<category code="A01"/><language code="en"/></document-link>\n'
        )
        w(f'<result type="2" aggregation-status="0"><title>{_narrative("An outcome")}</title>')
        w(f'<indicator measure="1" ascending="1"><title>{_narrative("Women reached")}</title>')
        w('<baseline year="2015" iso-date="2015-01-01" value="0"/>')
        for year in range(2015, 2025):
            w(
                f'<period><period-start iso-date="{year}-01-01"/>'
                f'<period-end iso-date="{year}-12-31"/><target value="{100 * (year - 2014)}"/>'
                f'<actual value="{90 * (year - 2014)}"/></period>'
            )
        w("</indicator></result>\n")
        w("</iati-activity>\n</iati-activities>\n")


def run_measured(cmd: list[str]) -> tuple[float, int, int]:
    """Run ``cmd``: (wall seconds, peak RSS of its process tree sampled every 50 ms, peak RSS
    of its largest single process from getrusage), in bytes."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.05)
    wall = time.perf_counter() - started
    if proc.returncode not in (0, 1):  # 1: some file had problems it could not read
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed ({proc.returncode}):\n{err}")
    largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of the children is the largest of any waited child, in KiB (Linux).
    return wall, peak, max(largest, before) * 1024


def rss(pid: int) -> int:
    return _tree_rss(pid)


def get(port: int, path: str) -> tuple[float, float, int, bytes]:
    """(server ms from Server-Timing, round-trip ms, status, body) of one GET."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    started = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    total = (time.perf_counter() - started) * 1000
    timing = response.getheader("Server-Timing", "app;dur=nan")
    conn.close()
    return float(timing.rsplit("=", 1)[1]), total, response.status, body


def mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--db", help="store URL (default: a fresh SQLite file in the temp folder)")
    parser.add_argument("--port", type=int, default=8393)
    args = parser.parse_args()
    command = shutil.which("iatiportal", path=str(Path(sys.executable).parent)) or "iatiportal"

    with tempfile.TemporaryDirectory(prefix="big-activity-") as tmp:
        xml = Path(tmp) / "big-activity.xml"
        write_activity(xml, args.transactions)
        print(
            f"generated one activity with {args.transactions:,} transactions: "
            f"{xml.stat().st_size / 1e6:.1f} MB"
        )
        db = args.db or f"sqlite:///{tmp}/big.db"
        snapshot_dir = f"{tmp}/snapshot"  # built before the command ends: its cost is included
        ingest = [command, "ingest", "-q", "--wait-snapshot", "--db", db]
        wall, tree, largest = run_measured([*ingest, "--snapshot-dir", snapshot_dir, str(xml)])
        print(
            f"iatiportal ingest (whole command, snapshot included): {wall:.1f} s, peak memory "
            f"{mib(tree)} (process tree, sampled), largest process {mib(largest)}"
        )

        page = f"/activities/{quote(IDENTIFIER, safe='')}"
        with serving(db, args.port) as server:
            get(args.port, "/about")  # templates and codelists loaded
            idle = rss(server.pid)
            srv, tot, status, body = get(args.port, page)
            print(
                f"activity page: HTTP {status}, server {srv / 1000:.2f} s, round trip "
                f"{tot / 1000:.2f} s, {len(body) / 1024:,.0f} KB of HTML"
            )
            srv, tot, status, body = get(args.port, page + "?transactions_page=2")
            print(
                f"its transactions page 2: HTTP {status}, server {srv / 1000:.2f} s, "
                f"{len(body) / 1024:,.0f} KB of HTML"
            )
            after_one = rss(server.pid)
            peak = [after_one]
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    peak[0] = max(peak[0], rss(server.pid))
                    time.sleep(0.05)

            sampler = threading.Thread(target=sample)
            sampler.start()
            times: list[float] = []
            # Distinct URLs: each is rendered, none comes from the page cache.
            views = [threading.Thread(
                target=lambda n=n: times.append(get(args.port, f"{page}?view={n}")[1])
            ) for n in range(4)]  # fmt: skip
            started = time.perf_counter()
            for v in views:
                v.start()
            for v in views:
                v.join()
            wall = time.perf_counter() - started
            done.set()
            sampler.join()
            time.sleep(1)
            print(
                f"four concurrent views: {wall:.2f} s for all (slowest {max(times) / 1000:.2f} s); "
                f"server memory {mib(idle)} before the first view, {mib(after_one)} after it, "
                f"{mib(peak[0])} at most during the four, {mib(rss(server.pid))} after them"
            )
            srv, tot, status, body = get(args.port, page + ".csv?table=transactions")
            rows = body.count(b"\n") - 1
            print(
                f"its transactions as CSV: HTTP {status}, {tot / 1000:.2f} s, "
                f"{len(body) / 1e6:.1f} MB, {rows:,} rows; server memory after it "
                f"{mib(rss(server.pid))}"
            )


if __name__ == "__main__":
    main()
