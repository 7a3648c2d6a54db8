"""``iatiportal serve --workers N``: every worker process answers, each with its own page cache,
and each drops that cache when an ingest changes the store (issue 14)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from serving import _answers, _free_port, without_proxies

from iatiportal.demo import demo_files
from iatiportal.store.db import open_store
from iatiportal.store.load import ingest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REPO = Path(__file__).resolve().parents[2]


def _serve_workers(
    db: str, folder: Path, port: int, workers: int, log: IO[str]
) -> subprocess.Popen[bytes]:
    env = without_proxies()
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "iatiportal.cli", "serve", "--db", db]
    return subprocess.Popen(
        [*command, "--port", str(port), "--workers", str(workers)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=folder,
    )


def _socket_owner(port: int, client_port: int, pids: list[int]) -> int | None:
    """The process among ``pids`` that holds the server end of the loopback connection from
    ``client_port`` to ``port`` (read from /proc: which worker accepted it)."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == port and int(remote.split(":")[1], 16) == client_port:
            inode = fields[9]
    if inode is None:
        return None
    for pid in pids:
        with_fds = Path(f"/proc/{pid}/fd")
        for fd in with_fds.iterdir():
            try:
                if str(fd.readlink()) == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    return None


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.fixture
def two_workers(db_url: str, tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    server = _serve_workers(db_url, tmp_path, port, 2, log)
    try:
        deadline = time.monotonic() + 60
        while not _answers(f"http://127.0.0.1:{port}/about"):
            if server.poll() is not None or time.monotonic() > deadline:
                log_text = (tmp_path / "serve.log").read_text()
                pytest.fail(f"serve --workers 2 did not answer:\n{log_text}")
            time.sleep(0.2)
        yield port, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _workers(server: int) -> list[int]:
    """The worker processes of ``server`` (multiprocessing's spawned children)."""
    return [
        pid
        for pid in _children(server)
        if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        and b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def _one_connection_per_worker(port: int, server: int) -> dict[int, http.client.HTTPConnection]:
    """A keep-alive connection accepted by each worker: worker pid -> its connection (a
    connection stays with the worker that accepted it). The kernel hands a new connection to
    whichever worker is waiting, so every other worker is paused (SIGSTOP) meanwhile."""
    workers = _workers(server)
    assert len(workers) == 2, workers
    by_worker: dict[int, http.client.HTTPConnection] = {}
    for pid in workers:
        others = [p for p in workers if p != pid]
        for other in others:
            os.kill(other, signal.SIGSTOP)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.connect()
            # Paused only until the connection is accepted: uvicorn restarts a worker that
            # does not answer its supervisor's pings for a few seconds.
            deadline = time.monotonic() + 10
            client_port = conn.sock.getsockname()[1]
            while _socket_owner(port, client_port, [pid]) is None:
                assert time.monotonic() < deadline, "the running worker did not accept"
                time.sleep(0.01)
        finally:
            for other in others:
                os.kill(other, signal.SIGCONT)
        conn.request("GET", "/about")
        assert conn.getresponse().read()
        by_worker[pid] = conn
    return by_worker


def _read(conn: http.client.HTTPConnection) -> tuple[str, str, set[str]]:
    """The ETags of a page and of an API list (of the data they were built from), and the
    identifiers the API lists."""
    conn.request("GET", "/countries/ML")
    page = conn.getresponse()
    assert page.status == 200 and page.read()
    conn.request("GET", "/api/v1/activities?per_page=1000")
    answer = conn.getresponse()
    assert answer.status == 200
    listed = {a["iati_identifier"] for a in json.loads(answer.read())["items"]}
    return page.getheader("ETag") or "", answer.getheader("ETag") or "", listed


@pytest.mark.slow
def test_every_worker_answers_with_the_new_data_after_an_ingest(
    db_url: str, tmp_path: Path, two_workers: tuple[int, subprocess.Popen[bytes]]
) -> None:
    port, server = two_workers
    engine = open_store(db_url)
    try:
        assert not ingest(engine, [str(p) for p in demo_files()]).failed
        workers = _one_connection_per_worker(port, server.pid)
        # Each worker renders and caches the pages of the demo data...
        time.sleep(1.5)  # past the cache's recheck of the version (once a second)
        before = {pid: _read(conn) for pid, conn in workers.items()}
        assert {pid: _read(conn) for pid, conn in workers.items()} == before  # from its cache
        for _etag, _total, listed in before.values():
            assert "XX-MONEY-P" not in listed
        # ... and after an ingest every worker answers with the new data.
        assert not ingest(engine, [str(FIXTURES / "money-hierarchy.xml")]).failed
        deadline = time.monotonic() + 30
        after = {}
        for pid, conn in workers.items():
            # A page may still come from the cache for up to a second after the API (which
            # reads the store in its own transaction) shows the new data: wait for both.
            while True:
                after[pid] = _read(conn)
                page_etag, _api_etag, listed = after[pid]
                renewed = "XX-MONEY-P" in listed and page_etag != before[pid][0]
                if renewed or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        for pid, (page_etag, api_etag, listed) in after.items():
            assert "XX-MONEY-P" in listed, f"worker {pid} still answers with the old data"
            assert page_etag != before[pid][0]  # the page too was rendered again
            assert api_etag != before[pid][1]
        for conn in workers.values():  # what the app's middleware adds, in every worker
            conn.request("GET", "/countries/ML", headers={"Accept-Language": "fr"})
            redirect = conn.getresponse()
            redirect.read()
            assert (redirect.status, redirect.getheader("Location")) == (
                302,
                "/countries/ML?lang=fr",
            )
            assert "frame-ancestors 'self'" in (redirect.getheader("Content-Security-Policy") or "")
        assert server.poll() is None
    finally:
        for conn in locals().get("workers", {}).values():
            conn.close()
        engine.dispose()
