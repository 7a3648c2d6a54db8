"""SOURCE arguments to files: public names, URL redaction, and downloads from misbehaving servers.

Every server here is local: a raw-socket HTTP server (``RawServer``) hands each request to a
handler that writes whatever bytes the case needs (endless, trickling, short, gzip, redirects).
"""

from __future__ import annotations

import base64
import gzip
import io
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from iatiportal.ingest.errors import FileError
from iatiportal.ingest.sources import (
    DownloadError,
    DownloadLimits,
    Source,
    SourceError,
    Validators,
    download,
    expand,
    local_copy,
    redact,
)

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "v201-hierarchy-parent-child.xml"
PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")
XML = (
    b'<?xml version="1.0"?>\n<iati-activities version="2.03">'
    + b" " * 5000
    + b"</iati-activities>\n"
)
MiB = 1 << 20
DEFAULTS = DownloadLimits()
PROMPTLY = 4
"""Seconds within which a refused download has ended: the servers that test it would keep it
going for 5 s or more, and a loaded machine (two workers of ``pytest -n`` on two cores) can
add a second or two to starting the server and the download."""


# -- a local HTTP server that misbehaves on request --------------------------------------------


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]  # names in lower case


@dataclass
class RawServer:
    """HTTP on 127.0.0.1 (or HTTPS with ``tls``): each request's socket goes to ``handler``."""

    handler: Callable[[socket.socket, Request, RawServer], None]
    tls: ssl.SSLContext | None = None
    requests: list[Request] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._threads = [threading.Thread(target=self._accept, daemon=True)]

    @property
    def origin(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def __enter__(self) -> RawServer:
        self._threads[0].start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in list(self._threads):
            thread.join(5)
        self._listener.close()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            head = b""
            while b"\r\n\r\n" not in head:
                data = conn.recv(65536)
                if not data:
                    return
                head += data
            lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            request = Request(method, target, headers)
            self.requests.append(request)
            self.handler(conn, request, self)
        except OSError:
            return  # the client went away (refused the body, hit its deadline, was killed)
        finally:
            conn.close()


def head(status: str = "200 OK", **headers: str | int) -> bytes:
    lines = [f"HTTP/1.1 {status}", "Connection: close"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def send(body: bytes, status: str = "200 OK", **headers: str | int) -> Callable[..., None]:
    """A handler that answers every request with ``body``."""

    def handler(conn: socket.socket, request: Request, server: RawServer) -> None:
        conn.sendall(head(status, Content_Length=len(body), **headers) + body)

    return handler


def trickle(prefix: bytes, byte: bytes, every: float, up_to: float) -> Callable[..., None]:
    """A handler that sends ``prefix`` then ``byte`` every ``every`` s for ``up_to`` s."""

    def handler(conn: socket.socket, request: Request, server: RawServer) -> None:
        conn.sendall(prefix)
        end = time.monotonic() + up_to
        while time.monotonic() < end and not server.stop.wait(every):
            conn.sendall(byte)

    return handler


@pytest.fixture
def downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder downloads go below (instead of the machine's); no proxies."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    return folder


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if not p.is_dir()]


def fetch(url: str, limits: DownloadLimits = DEFAULTS) -> bytes:
    with local_copy(Source(url, redact(url)), limits) as path:
        return path.read_bytes()


def refusal(url: str, limits: DownloadLimits = DEFAULTS) -> str:
    """The message of the FileError that downloading ``url`` raises."""
    with pytest.raises(FileError) as caught:
        fetch(url, limits)
    assert caught.value.rule == "download"
    return caught.value.message


# -- names and locations -----------------------------------------------------------------------


def test_a_file_named_on_the_command_line_is_named_by_its_base_name(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.xml").write_bytes(XML)
    (tmp_path / "link.xml").symlink_to(tmp_path / "real" / "a.xml")

    assert expand([str(tmp_path / "real" / "a.xml"), str(tmp_path / "link.xml")]) == [
        Source(str(tmp_path / "real" / "a.xml"), "a.xml")
    ]


def test_files_below_a_folder_are_named_by_the_folder_and_the_path_below_it(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "unwomen"
    (folder / "sub").mkdir(parents=True)
    for name in ("sub/b.xml", "a.XML", "notes.txt", "sub/c.xml.bak"):
        (folder / name).write_bytes(XML)

    assert expand([str(folder)]) == [
        Source(str(folder / "a.XML"), "unwomen/a.XML"),
        Source(str(folder / "sub" / "b.xml"), "unwomen/sub/b.xml"),
    ]


def test_a_symlink_below_a_folder_is_named_by_its_link_not_its_target(tmp_path: Path) -> None:
    secret = tmp_path / "private" / "passwd"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0\n")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "a.xml").symlink_to(secret)

    assert expand([str(tmp_path / "folder")]) == [Source(str(secret), "folder/a.xml")]


def test_a_folder_given_as_dot_is_named_by_its_own_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "unwomen"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.xml").write_bytes(XML)
    monkeypatch.chdir(folder / "sub")

    assert [s.name for s in expand(["."])] == ["sub/a.xml"]
    assert [s.name for s in expand([".."])] == ["unwomen/sub/a.xml"]


def test_repeats_are_dropped_by_location_keeping_the_first_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.xml").write_bytes(XML)
    (folder / "b.xml").write_bytes(XML)
    monkeypatch.chdir(tmp_path)

    assert expand(["data/b.xml", "data", "./data/b.xml", "data/../data/a.xml"]) == [
        Source(str(folder / "b.xml"), "b.xml"),
        Source(str(folder / "a.xml"), "data/a.xml"),
    ]


@pytest.mark.parametrize(
    "paths", [["one/data", "two/data"], ["one/data/a.xml", "two/data/a.xml"]], ids=["dirs", "files"]
)
def test_two_files_with_one_public_name_are_both_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, paths: list[str]
) -> None:
    """Two folders called ``data``: the store tells the files apart by their locations."""
    for parent in ("one", "two"):
        (tmp_path / parent / "data").mkdir(parents=True)
        (tmp_path / parent / "data" / "a.xml").write_bytes(XML)
    monkeypatch.chdir(tmp_path)

    found = expand(paths)
    name = "data/a.xml" if paths[0].endswith("data") else "a.xml"
    assert [s.name for s in found] == [name, name]
    assert [s.location for s in found] == [
        str(tmp_path / "one/data/a.xml"), str(tmp_path / "two/data/a.xml")
    ]  # fmt: skip


def test_two_urls_that_differ_only_in_credentials_are_a_usage_error() -> None:
    with pytest.raises(SourceError) as caught:
        expand(["https://h.example/a.xml?token=one", "https://u:pw@h.example/a.xml?token=two"])
    assert str(caught.value) == (
        "two URLs would have the public name 'https://h.example/a.xml?token=REDACTED' (from "
        "https://h.example/a.xml?token=REDACTED and from https://h.example/a.xml?token=REDACTED)"
        ": they differ only in their credentials"
    )


def test_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        expand([str(tmp_path / "none.xml")])
    assert str(caught.value) == f"{tmp_path / 'none.xml'}: no such file, directory or http(s) URL"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("ftp://user:pw@example.org/a.xml", "ftp://example.org/a.xml: only http(s) URLs are read"),
        ("file:///etc/passwd", "file:///etc/passwd: only http(s) URLs are read"),
        ("FTP://example.org/a.xml", "FTP://example.org/a.xml: only http(s) URLs are read"),
        ("gopher://example.org/?token=t0", "gopher://example.org/?token=REDACTED: only http(s) "
         "URLs are read"),
        ("http:///a.xml", "http:///a.xml: not a valid URL (no host)"),
        ("http://u:pw@[::1/a.xml", "http://[::1/a.xml: not a valid URL (Invalid IPv6 URL)"),
        ("http://u:pw@example.org:port/a.xml", "http://example.org:port/a.xml: not a valid URL "
         "(Port could not be cast to integer value as 'port')"),
    ],
)  # fmt: skip
def test_only_valid_http_and_https_urls_are_read(source: str, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        expand([source])
    assert str(caught.value) == message


def test_a_url_is_read_as_given_and_named_redacted() -> None:
    url = "HTTPS://user:pw@example.org/a.xml?key=k1&page=2"
    assert expand([url, url]) == [Source(url, "HTTPS://example.org/a.xml?key=REDACTED&page=2")]


def test_a_source_shows_its_name_only() -> None:
    source = Source("https://user:s3cret@example.org/a.xml", "https://example.org/a.xml")
    assert str(source) == "https://example.org/a.xml"
    assert "s3cret" not in repr(source)


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("https://example.org/a.xml", "https://example.org/a.xml"),
        ("https://user:pw@example.org/a.xml", "https://example.org/a.xml"),
        ("https://ghp_T0KEN@example.org/a.xml", "https://example.org/a.xml"),
        ("http://u:p@[::1]:8080/a.xml", "http://[::1]:8080/a.xml"),
        ("https://e.org/a.xml?token=abc&page=2", "https://e.org/a.xml?token=REDACTED&page=2"),
        ("https://e.org/?API_KEY=a&Sig=b&format=xml&Code=c",
         "https://e.org/?API_KEY=REDACTED&Sig=REDACTED&format=xml&Code=REDACTED"),
        ("https://e.org/?access_token=a&apikey=b&key=c&secret=d&password=e&passwd=f",
         "https://e.org/?access_token=REDACTED&apikey=REDACTED&key=REDACTED&secret=REDACTED"
         "&password=REDACTED&passwd=REDACTED"),
        ("https://e.org/?signature=a&auth=b&api_key=c",
         "https://e.org/?signature=REDACTED&auth=REDACTED&api_key=REDACTED"),
        ("https://e.org/?github_token=a&aws_secret=b&private_key=c&monkey=d&keys=e",
         "https://e.org/?github_token=REDACTED&aws_secret=REDACTED&private_key=REDACTED"
         "&monkey=d&keys=e"),
        ("https://e.org/?X-Amz-Security-Token=a&X-Amz-Signature=b&X-Amz-Date=c&api-key=d",
         "https://e.org/?X-Amz-Security-Token=REDACTED&X-Amz-Signature=REDACTED&X-Amz-Date=c"
         "&api-key=REDACTED"),
        ("https://e.org/?api%5Fkey=a%20b&token=&token&q=a+b",
         "https://e.org/?api%5Fkey=REDACTED&token=REDACTED&token&q=a+b"),
        ("https://e.org/cb#access_token=a&state=s", "https://e.org/cb#access_token=REDACTED&state=s"),
        ("https://e.org/a.xml#section-2", "https://e.org/a.xml#section-2"),
        ("http://u:pw@[::1/a.xml?token=t", "http://[::1/a.xml?token=REDACTED"),
    ],
)  # fmt: skip
def test_redact(url: str, redacted: str) -> None:
    assert redact(url) == redacted


# -- downloads ---------------------------------------------------------------------------------


def test_a_download_goes_to_the_ingests_folder_and_is_removed_afterwards(downloads: Path) -> None:
    with RawServer(send(XML)) as server, local_copy(Source(f"{server.origin}/a.xml", "a")) as path:
        assert path.read_bytes() == XML
        assert path.parent.parent == downloads
        assert path.parent.name.startswith(f"iatiportal-downloads-{os.getpid()}-")
    assert leftovers(downloads) == []


def test_a_conditional_download_sends_the_validators_and_takes_304_as_not_modified(
    downloads: Path,
) -> None:
    etag, modified = '"v1"', "Mon, 30 Nov 2026 10:00:00 GMT"
    sent = Validators(etag, modified)
    with RawServer(send(b"", "304 Not Modified", ETag='"v2"')) as server:
        out = io.BytesIO()
        fetched = download(f"{server.origin}/a.xml", out, validators=sent)
    assert server.requests[0].headers["if-none-match"] == etag
    assert server.requests[0].headers["if-modified-since"] == modified
    # A 304 may leave out a validator that did not change: the one sent is kept.
    assert fetched.not_modified and fetched.validators == Validators('"v2"', modified)
    assert out.getvalue() == b""
    # A 304 to an unconditional GET is an error.
    with RawServer(send(b"", "304 Not Modified")) as server, pytest.raises(DownloadError) as caught:
        download(f"{server.origin}/a.xml", io.BytesIO())
    assert (caught.value.rule, caught.value.status) == ("download", 304)


def test_a_public_only_download_refuses_a_loopback_server_before_sending(downloads: Path) -> None:
    with RawServer(send(XML)) as server:
        with pytest.raises(DownloadError) as caught:
            download(f"{server.origin}/a.xml", io.BytesIO(), public_only=True)
        assert download(f"{server.origin}/a.xml", io.BytesIO()).not_modified is False
    assert caught.value.message == (
        f"could not download {server.origin}/a.xml: the server is at 127.0.0.1, which is not a "
        "public address"
    )
    assert len(server.requests) == 1  # the second download's only


@pytest.mark.parametrize(
    ("headers", "piece"),
    [
        ({}, b"x" * 65536),
        ({"Content_Length": 10 << 30}, b"x" * 65536),
        # gzip members of nothing: the decoded body stays empty, the wire count does not
        ({"Content_Encoding": "gzip"}, gzip.compress(b"") * 3000),
    ],
    ids=["no-length", "length-10-GiB", "empty-gzip-members"],
)
def test_an_endless_body_is_refused_at_the_size_limit_and_deleted(
    downloads: Path, headers: dict[str, str | int], piece: bytes
) -> None:
    def endless(conn: socket.socket, request: Request, server: RawServer) -> None:
        conn.sendall(head(**headers))
        for _ in range(32 * MiB // len(piece)):  # "endless" for a 1 MiB limit, yet it ends
            conn.sendall(piece)

    with RawServer(endless) as server:
        url = f"{server.origin}/a.xml?token=t0"
        message = refusal(url, DownloadLimits(max_bytes=MiB))
    assert message == (
        f"could not download {server.origin}/a.xml?token=REDACTED: the body is larger than the "
        "download limit of 1 MiB"
    )
    assert leftovers(downloads) == []


def test_a_content_length_above_the_limit_is_refused_before_the_body(downloads: Path) -> None:
    with RawServer(trickle(head(Content_Length=2 * MiB), b"", every=5, up_to=5)) as server:
        started = time.monotonic()
        message = refusal(f"{server.origin}/a.xml", DownloadLimits(max_bytes=MiB))
        elapsed = time.monotonic() - started
    assert message == (
        f"could not download {server.origin}/a.xml: the body is larger than the download limit "
        "of 1 MiB"
    )
    assert elapsed < PROMPTLY  # did not wait for a body


@pytest.mark.parametrize(
    "answer",
    [
        trickle(head(), b"<", every=0.1, up_to=8),
        trickle(b"HTTP/1.1 200 OK\r\nX-Slow: ", b"x", every=0.1, up_to=8),
    ],
    ids=["body", "headers"],
)
def test_a_trickling_server_ends_at_the_deadline(
    downloads: Path, answer: Callable[..., None]
) -> None:
    with RawServer(answer) as server:
        started = time.monotonic()
        message = refusal(f"{server.origin}/a.xml", DownloadLimits(deadline=1, read_timeout=5))
        elapsed = time.monotonic() - started
    assert message == (
        f"could not download {server.origin}/a.xml: not finished within the deadline of 1 s"
    )
    assert elapsed < PROMPTLY
    assert leftovers(downloads) == []


def test_a_silent_server_ends_at_the_read_timeout(downloads: Path) -> None:
    with RawServer(trickle(head(), b"", every=5, up_to=5)) as server:
        started = time.monotonic()
        message = refusal(f"{server.origin}/a.xml", DownloadLimits(read_timeout=0.5))
        elapsed = time.monotonic() - started
    assert message == f"could not download {server.origin}/a.xml: the server sent nothing for 0.5 s"
    assert elapsed < PROMPTLY


def test_a_body_shorter_than_its_content_length_says_how_short(downloads: Path) -> None:
    def short(conn: socket.socket, request: Request, server: RawServer) -> None:
        conn.sendall(head(Content_Length=1000) + XML[:10])

    with RawServer(short) as server:
        message = refusal(f"{server.origin}/a.xml")
    assert message == f"could not download {server.origin}/a.xml: the server sent 10 of 1000 bytes"
    assert leftovers(downloads) == []


def test_a_chunked_body_cut_short_says_so(downloads: Path) -> None:
    def cut(conn: socket.socket, request: Request, server: RawServer) -> None:
        conn.sendall(head(Transfer_Encoding="chunked") + b"a\r\n0123456789\r\n64\r\nshort")

    with RawServer(cut) as server:
        message = refusal(f"{server.origin}/a.xml")
    assert message == (
        f"could not download {server.origin}/a.xml: the server closed the connection before the "
        "end of the body (after 15 bytes)"
    )


def test_gzip_content_encoding_is_asked_for_and_decoded(downloads: Path) -> None:
    with RawServer(send(gzip.compress(XML), Content_Encoding="gzip")) as server:
        assert fetch(f"{server.origin}/a.xml") == XML
    assert "gzip" in server.requests[0].headers["accept-encoding"].split(", ")


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        (gzip.compress(XML), None),
        (gzip.compress(XML[:100]) + b"\0\0" + gzip.compress(XML[100:]), None),
        (gzip.compress(gzip.compress(XML)), "gzip"),
    ],
    ids=["gzip-file", "gzip-file-two-members", "gzip-file-sent-gzip-encoded"],
)
def test_a_body_that_is_a_gzip_file_is_decoded(
    downloads: Path, body: bytes, encoding: str | None
) -> None:
    headers = {"Content_Encoding": encoding} if encoding else {}
    with RawServer(send(body, Content_Type="application/gzip", **headers)) as server:
        assert fetch(f"{server.origin}/a.xml.gz") == XML


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        (gzip.compress(bytes(16 * MiB), 9), "gzip"),
        (gzip.compress(bytes(16 * MiB), 9), None),
        (gzip.compress(gzip.compress(bytes(16 * MiB), 9), 9), "gzip"),
    ],
    ids=["encoding", "file", "file-in-encoding"],
)
def test_gzip_bombs_are_refused_at_the_size_limit(
    downloads: Path, body: bytes, encoding: str | None
) -> None:
    headers = {"Content_Encoding": encoding} if encoding else {}
    with RawServer(send(body, **headers)) as server:
        message = refusal(f"{server.origin}/a.xml", DownloadLimits(max_bytes=MiB))
    assert len(body) < MiB
    assert message == (
        f"could not download {server.origin}/a.xml: the body, decoded from gzip, is larger than "
        "the download limit of 1 MiB"
    )
    assert leftovers(downloads) == []


@pytest.mark.parametrize("encoding", ["gzip", None])
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\x1f\x8b\x08\x00garbage, not deflate data at all" * 10, "the body is not valid gzip"),
        (gzip.compress(os.urandom(5000))[:2500], "the gzip data ends early"),
        (gzip.compress(XML) + b"trailing rubbish", "the body is not valid gzip"),
    ],
    ids=["garbage", "truncated", "trailing-rubbish"],
)
def test_corrupt_gzip_is_a_clear_error(
    downloads: Path, body: bytes, reason: str, encoding: str | None
) -> None:
    headers = {"Content_Encoding": encoding} if encoding else {}
    with RawServer(send(body, **headers)) as server:
        message = refusal(f"{server.origin}/a.xml")
    assert message.startswith(f"could not download {server.origin}/a.xml: {reason}")
    assert leftovers(downloads) == []


def test_an_encoding_that_was_not_asked_for_is_a_clear_error(downloads: Path) -> None:
    with RawServer(send(b"\x0b\x02\x80data", Content_Encoding="br")) as server:
        message = refusal(f"{server.origin}/a.xml")
    assert message == (
        f"could not download {server.origin}/a.xml: the server sent Content-Encoding: br, "
        "which iatiportal does not read (it asks for gzip)"
    )


def test_errors_name_the_redacted_url(downloads: Path) -> None:
    with RawServer(send(b"missing", "404 Not Found")) as server:
        url = f"http://user:s3cret@127.0.0.1:{server.port}/a.xml?token=t0k3n&page=2"
        message = refusal(url)
    assert message == (
        f"could not download http://127.0.0.1:{server.port}/a.xml?token=REDACTED&page=2: "
        "HTTP 404 Not Found"
    )

    url = f"http://user:s3cret@127.0.0.1:{server.port}/a.xml?token=t0k3n"  # closed by now
    message = refusal(url)
    assert message.startswith(
        f"could not download http://127.0.0.1:{server.port}/a.xml?token=REDACTED: "
    )
    assert "s3cret" not in message and "t0k3n" not in message


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _requires(authorization: str) -> Callable[..., None]:
    def handler(conn: socket.socket, request: Request, server: RawServer) -> None:
        if request.headers.get("authorization") == authorization:
            send(XML)(conn, request, server)
        else:
            send(b"who are you?", "401 Unauthorized")(conn, request, server)

    return handler


def test_userinfo_is_sent_as_basic_auth_not_in_the_request(downloads: Path) -> None:
    with RawServer(_requires(_basic("user", "p@ss:w"))) as server:
        assert fetch(f"http://us%65r:p%40ss:w@127.0.0.1:{server.port}/a.xml") == XML
    assert [r.target for r in server.requests] == ["/a.xml"]
    assert server.requests[0].headers["host"] == f"127.0.0.1:{server.port}"


def test_credentials_follow_redirects_on_the_same_origin_only(downloads: Path) -> None:
    with RawServer(_requires(_basic("user", "pw"))) as other:

        def redirects(conn: socket.socket, request: Request, server: RawServer) -> None:
            if request.target == "/away":
                send(b"", "302 Found", Location=f"{other.origin}/a.xml")(conn, request, server)
            elif request.target == "/here":
                send(b"", "301 Moved Permanently", Location="/a.xml")(conn, request, server)
            else:
                _requires(_basic("user", "pw"))(conn, request, server)

        with RawServer(redirects) as server:
            origin = f"http://user:pw@127.0.0.1:{server.port}"
            assert fetch(f"{origin}/here") == XML
            message = refusal(f"{origin}/away")
    assert message == f"could not download {server.origin}/away: HTTP 401 Unauthorized"
    assert [("authorization" in r.headers) for r in server.requests] == [True, True, True]
    assert [("authorization" in r.headers) for r in other.requests] == [False]


@pytest.mark.parametrize(
    "status",
    [
        "301 Moved Permanently",
        "302 Found",
        "303 See Other",
        "307 Temporary Redirect",
        "308 Permanent Redirect",
    ],
)
@pytest.mark.parametrize("target", ["ftp://127.0.0.1/a.xml", "file:///etc/passwd"])
def test_a_redirect_to_another_scheme_is_refused(downloads: Path, target: str, status: str) -> None:
    with RawServer(send(b"", status, Location=target)) as server:
        message = refusal(f"{server.origin}/a.xml")
    assert message == (
        f"could not download {server.origin}/a.xml: redirected to {target}, which is not an "
        "http(s) URL"
    )


# -- https -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made by openssl), and its key."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A server context for the certificate, which the client trusts (SSL_CERT_FILE)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def test_an_https_download_with_credentials(downloads: Path, tls: ssl.SSLContext) -> None:
    with RawServer(_requires(_basic("user", "pw")), tls=tls) as server:
        assert fetch(f"https://user:pw@127.0.0.1:{server.port}/a.xml") == XML


def test_a_trickling_https_body_ends_at_the_deadline(downloads: Path, tls: ssl.SSLContext) -> None:
    with RawServer(trickle(head(), b"<", every=0.1, up_to=8), tls=tls) as server:
        started = time.monotonic()
        message = refusal(f"{server.origin}/a.xml", DownloadLimits(deadline=1, read_timeout=5))
        elapsed = time.monotonic() - started
    assert message == (
        f"could not download {server.origin}/a.xml: not finished within the deadline of 1 s"
    )
    assert elapsed < PROMPTLY


# -- temporary files of killed ingests ---------------------------------------------------------

DOWNLOADER = """
import sys
from iatiportal.ingest.sources import Source, install_sigterm_exit, local_copy
install_sigterm_exit()
with local_copy(Source(sys.argv[1], "trickle")) as path:
    print(path.read_bytes())
"""


@pytest.fixture
def downloader(tmp_path: Path) -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    """Start ``python -c DOWNLOADER URL`` with TMPDIR tmp_path/tmp; each is killed at the end."""
    started: list[subprocess.Popen[bytes]] = []
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
    env.update(TMPDIR=str(tmp_path / "tmp"), PYTHONPATH=str(ROOT))
    (tmp_path / "tmp").mkdir(exist_ok=True)

    def start(url: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen([sys.executable, "-c", DOWNLOADER, url], env=env)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def _wait_for(condition: Callable[[], object], seconds: float = 20) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


@pytest.mark.slow
def test_sigterm_mid_download_removes_the_download(
    tmp_path: Path, downloader: Callable[[str], subprocess.Popen[bytes]]
) -> None:
    with RawServer(trickle(head(), b"<", every=0.05, up_to=60)) as server:
        process = downloader(f"{server.origin}/a.xml")
        _wait_for(lambda: server.requests and leftovers(tmp_path / "tmp"))
        time.sleep(0.3)  # well into the body
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 128 + signal.SIGTERM
    assert list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.slow
def test_downloads_of_killed_ingests_are_removed_at_the_next_start(
    tmp_path: Path,
    downloader: Callable[[str], subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tmp = tmp_path / "tmp"
    with RawServer(trickle(head(), b"<", every=0.05, up_to=60)) as server:
        process = downloader(f"{server.origin}/a.xml")
        _wait_for(lambda: server.requests and leftovers(tmp))
        process.kill()
        assert process.wait(10) == -signal.SIGKILL
    assert len(list(tmp.iterdir())) == 1  # kill -9 leaves it
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as alive:
        try:
            living = tmp / f"iatiportal-downloads-{alive.pid}-x"
            living.mkdir()
            monkeypatch.setattr(tempfile, "tempdir", str(tmp))

            expand([str(FIXTURE)])

            assert list(tmp.iterdir()) == [living]
        finally:
            alive.kill()
