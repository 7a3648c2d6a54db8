"""Serving a store for tests that need a real server: ``iatiportal serve`` on 127.0.0.1."""

from __future__ import annotations

import contextlib
import functools
import http.server
import itertools
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from starlette.types import ASGIApp

IATIPORTAL = Path(sys.executable).with_name("iatiportal")
PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


PORTS = range(20000, 32768)
"""Where the servers tests start listen: below Linux's ephemeral ports (32768-60999), which
the kernel hands to every client socket and to ``bind(0)``."""
_next_port = itertools.count()


def _worker_ports() -> range:
    """This process's share of PORTS: each worker of ``pytest -n`` has its own, so a port
    found free here is never found free by another worker before our server binds it (a
    server that lost the race would leave the test talking to the other worker's)."""
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    index = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    share = len(PORTS) // count
    return PORTS[index * share : (index + 1) * share]


def _free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on, from this worker's share (starting at a
    place that depends on the process, for two runs on one machine)."""
    ports = _worker_ports()
    start = os.getpid() % len(ports)
    for _ in range(len(ports)):
        port = ports[(start + next(_next_port)) % len(ports)]
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port of 127.0.0.1 in {ports}")


def _answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def without_proxies() -> dict[str, str]:
    """The environment for the portal's processes: loopback must not go through a proxy."""
    return {k: v for k, v in os.environ.items() if k not in PROXY_VARS}


@contextlib.contextmanager
def served(db: str, folder: Path, *options: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``iatiportal serve --db DB`` on a free port of 127.0.0.1: (base URL, process), stopped at
    the end; its output goes to ``folder/serve.log``, shown when it does not answer."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = folder / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [str(IATIPORTAL), "serve", "--db", db, "--host", "127.0.0.1", "--port", str(port),
             *options],
            stdout=log, stderr=subprocess.STDOUT, env=without_proxies(), cwd=folder,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while not _answers(base + "/about"):
                if server.poll() is not None or time.monotonic() > deadline:
                    log_text = log_path.read_text()
                    pytest.fail(f"iatiportal serve did not answer on {base}:\n{log_text}")
                time.sleep(0.1)
            yield base, server
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@contextlib.contextmanager
def app_served(app: ASGIApp) -> Iterator[str]:
    """``app`` served by uvicorn in a thread of this process, on a free port of 127.0.0.1 (a
    test can then read the app's state, e.g. its engine's pool): its base URL, stopped at the
    end (requests still running are given two seconds)."""
    port = _free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail(f"uvicorn did not start on 127.0.0.1:{port}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def files_served(folder: Path) -> Iterator[str]:
    """``folder`` served over HTTP on a free port of 127.0.0.1 (a publisher's site, without
    the internet): its base URL, stopped at the end."""
    handler = functools.partial(_QuietFiles, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
