"""Downloads of 100,000+ rows stream: the first bytes come at once and the server's memory
stays flat. A real server (``iatiportal serve``) over a store of generated activities."""

from __future__ import annotations

import http.client
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from serving import served, without_proxies

from iatiportal.store.db import make_engine, migrate
from iatiportal.store.load import ingest

GENERATOR = Path(__file__).resolve().parents[2].parent / "shared" / "tools" / "gen_iati.py"
ACTIVITIES = 8_500  # 12 transactions each: 102,000 transactions


def rss_kib(pid: int, field: str) -> int:
    """VmRSS (now) or VmHWM (peak) of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for process {pid}")


@pytest.fixture(scope="module")
def big_portal(
    tmp_path_factory: pytest.TempPathFactory, shared: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    folder = tmp_path_factory.mktemp("streaming")
    source = folder / "generated.xml"
    generator = shared.parent / "tools" / "gen_iati.py"
    generator = generator if generator.is_file() else GENERATOR
    subprocess.run(
        [sys.executable, str(generator), str(ACTIVITIES), str(source)],
        check=True, env=without_proxies(), timeout=300,
    )  # fmt: skip
    db = folder / "big.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    assert not ingest(engine, [str(source)]).failed
    engine.dispose()
    source.unlink()
    with served(str(db), folder) as running:
        yield running


def stream(base: str, path: str) -> tuple[float, int, int, bytes, bytes]:
    """(seconds to the first body bytes, bytes in all, lines, first chunk, last chunk)."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    started = time.monotonic()
    conn.request("GET", path)
    response = conn.getresponse()
    assert response.status == 200, response.read()[:300]
    first = response.read1(65536)
    first_after = time.monotonic() - started
    size, lines, last = len(first), first.count(b"\n"), first
    while chunk := response.read1(1 << 20):
        size += len(chunk)
        lines += chunk.count(b"\n")
        last = chunk
    conn.close()
    return first_after, size, lines, first, last


@pytest.mark.slow
def test_a_large_csv_streams_with_flat_memory(
    big_portal: tuple[str, subprocess.Popen[bytes]],
    record_property: Callable[[str, object], None],
) -> None:
    base, server = big_portal
    stream(base, "/api/v1/transactions?per_page=1000")  # warm: code, codelists, caches
    before = rss_kib(server.pid, "VmHWM")
    first_after, size, lines, first, _last = stream(base, "/api/v1/transactions?format=csv")
    grown_mib = (rss_kib(server.pid, "VmHWM") - before) / 1024
    figures = (
        f"csv of {lines - 1:,} rows, {size / 1e6:.1f} MB: first bytes after "
        f"{first_after * 1000:.0f} ms, the server's peak memory grew {grown_mib:.1f} MiB"
    )
    record_property("streaming", figures)
    assert first.startswith(b"iati_identifier,")
    assert lines - 1 == ACTIVITIES * 12, figures
    assert first_after < 1.0, figures
    assert grown_mib < 40, figures


@pytest.mark.slow
def test_jsonl_and_xml_stream_every_row(
    big_portal: tuple[str, subprocess.Popen[bytes]],
) -> None:
    base, _server = big_portal
    first_after, _size, lines, _first, _last = stream(base, "/api/v1/transactions?format=jsonl")
    assert first_after < 1.0
    assert lines == ACTIVITIES * 12
    first_after, _size, _lines, first, last = stream(base, "/api/v1/activities?format=xml")
    assert first_after < 1.0
    assert first.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<iati-activities ')
    assert last.endswith(b"</iati-activities>\n")
