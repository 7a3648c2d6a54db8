"""Abandoned downloads: what a client that goes away mid-download leaves the portal.

Writes one activity with --transactions transactions (bench/big_activity.py's), ingests it into
a fresh SQLite store, serves the portal with uvicorn in this process (so the engine's pool can
be read), then --downloads times asks for a download and closes the socket after the first
chunk of the body, printing after each the time to its headers and the connections the pool
has checked out once the server has seen the client go (up to a second); at the end, the time
a page takes to answer (--page; the pool's timeout is 30 s) and its status. Before issue
"leak" every abandoned download kept its connection: the pool (5 + 10 overflow) was empty after
fifteen, and every page then waited 30 s for an error. Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import socket
import struct
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import uvicorn
from big_activity import IDENTIFIER, write_activity
from sqlalchemy import Engine

from iatiportal.store.db import make_engine, migrate
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app


def abandon(port: int, path: str) -> tuple[float, str]:
    """Seconds to the headers of ``path`` and its status; the socket is reset after the first
    body bytes."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(60)
    started = time.monotonic()
    try:
        sock.connect(("127.0.0.1", port))
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
        got = b""
        while b"\r\n\r\n" not in got:
            got += sock.recv(4096)
        headers_after = time.monotonic() - started
        head, _, body = got.partition(b"\r\n\r\n")
        if not body:
            sock.recv(4096)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return headers_after, head.split(b" ", 2)[1].decode()
    finally:
        sock.close()


def settled(engine: Engine, wait: float = 1.0) -> int:
    """The pool's checked-out connections once none is or ``wait`` seconds have passed."""
    deadline = time.monotonic() + wait
    while engine.pool.checkedout() and time.monotonic() < deadline:
        time.sleep(0.02)
    return engine.pool.checkedout()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=10_000)
    parser.add_argument("--downloads", type=int, default=20)
    parser.add_argument("--path", default=f"/activities/{IDENTIFIER}.csv?table=transactions")
    parser.add_argument("--page", default="/activities")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / "big.xml"
        write_activity(source, args.transactions)
        engine = make_engine(f"sqlite:///{folder / 'store.db'}")
        migrate(engine)
        assert not ingest(engine, [str(source)]).failed
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        config = uvicorn.Config(
            create_app(engine), host="127.0.0.1", port=port, log_level="critical"
        )
        config.timeout_graceful_shutdown = 1
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        print(f"{args.path}, pool {engine.pool.size()} + overflow, {args.transactions:,} rows")
        for n in range(1, args.downloads + 1):
            try:
                seconds, status = abandon(port, args.path)
                answer = f"{status} after {seconds * 1000:7.0f} ms"
            except TimeoutError:
                answer = "no answer in 60 s"
            checked_out = settled(engine)
            print(f"abandoned {n:2}: {answer}, then checked out {checked_out}")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        started = time.monotonic()
        try:
            with opener.open(f"http://127.0.0.1:{port}{args.page}", timeout=60) as response:
                status = str(response.status)
        except urllib.error.HTTPError as error:
            status = str(error.code)
        except TimeoutError:
            status = "none in 60 s"
        print(f"then {args.page}: {status} after {time.monotonic() - started:.2f} s")
        server.should_exit = True
        thread.join(timeout=30)
        engine.dispose()


if __name__ == "__main__":
    main()
