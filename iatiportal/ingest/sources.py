"""Which files an ingest reads: SOURCE arguments (file, directory or URL) to local files.

Each source has a private ``location`` (what is read) and a public ``name`` (what pages,
problems and the store show): a URL's name is the URL without its credentials (``redact``),
a file's name never reveals where it sits on the machine.

Only http and https URLs are read, and a download from the public internet is bounded
(``DownloadLimits``): at most ``max_bytes`` on the wire and after gzip decoding (an endless
body or a gzip bomb is refused), an overall ``deadline`` that covers the headers too (a
server trickling a byte every few seconds ends), and a ``read_timeout`` for a server that
sends nothing. A body shorter than its Content-Length, a corrupt gzip body and a redirect to
another scheme are refused with a message saying so. ``user:password@`` in a URL is sent as
HTTP Basic auth, and never to another origin after a redirect. ``download`` can also make
the request conditional (``Validators``: ETag, Last-Modified; a 304 writes nothing) and refuse
servers at addresses that are not public (``public_only``), for URLs that others chose.

Downloads go to a folder of the process (``iatiportal-downloads-<pid>-*`` in the temporary
folder) and are removed when the file is done, on an exception, at exit and on SIGTERM once
``install_sigterm_exit`` is installed; the folders of processes that died without cleaning up
(kill -9) are removed by the next ``expand``, which every ingest starts with.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import dataclasses
import email.message
import hashlib
import http.client
import ipaddress
import os
import re
import shutil
import signal
import socket
import ssl
import tempfile
import threading
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any, BinaryIO, Protocol
from urllib.parse import unquote, unquote_plus, urljoin, urlsplit

from iatiportal.ingest.errors import FileError

REDACTED = "REDACTED"
DOWNLOAD_PREFIX = "iatiportal-downloads-"
_CHUNK = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip header and trailer around deflate data
_SECRET_NAMES = frozenset(
    {"token", "access_token", "api_key", "apikey", "key", "secret", "password", "passwd",
     "sig", "signature", "auth", "code"}
)  # fmt: skip
_SECRET_SUFFIXES = ("_token", "_key", "_secret", "_signature", "_password")
_URL_LIKE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


REGISTRY_URL = "https://iatiregistry.org"
"""The IATI Registry, whose API names the files of a publisher (``iatiportal refresh``)."""
REGISTRY_ENV = "IATIPORTAL_REGISTRY_URL"


class SourceError(Exception):
    """A SOURCE argument names nothing that can be read: a usage error."""


@dataclass(frozen=True)
class Source:
    """One file to read. ``str()`` and ``repr()`` show the public name only."""

    location: str = field(repr=False)
    """What is read: an absolute file path (symlinks resolved) or the URL as the operator gave
    it, credentials included. Private: never shown, never stored."""
    name: str
    """How the public sees the file and how the store keys it (see ``expand``)."""
    downloaded: str | None = field(default=None, repr=False, compare=False)
    """A local copy of the URL already downloaded (by ``download``, for a conditional GET):
    ``local_copy`` reads it instead of downloading again. The caller removes it."""

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class DownloadLimits:
    """Bounds on one download, so that a hostile or broken server cannot fill the disk or hold
    the ingest forever.

    Why the defaults: 1 GiB is over ten times the largest IATI file we know (69 MB in the
    shared data), yet no hostile server can fill the disk; 10 minutes lets 1 GiB arrive at
    1.8 MB/s, and a slower publisher is better mirrored than waited for; a server that sends
    nothing for a minute has stalled (a busy one answers within seconds).
    """

    max_bytes: int = 1 << 30
    """Largest body, counted on the wire and again after gzip decoding."""
    deadline: float = 600.0
    """Seconds for the whole download, from connecting to the last byte (headers included)."""
    read_timeout: float = 60.0
    """Seconds to wait for the connection and for each read."""

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.deadline <= 0 or self.read_timeout <= 0:
            raise ValueError(f"download limits must be positive: {self}")


# -- names -------------------------------------------------------------------------------------


def is_url(source: str) -> bool:
    """Whether ``source`` is an http(s) URL (any case of the scheme)."""
    return source[:8].lower().startswith(("http://", "https://"))


def _is_secret(name: str) -> bool:
    name = unquote_plus(name).lower().replace("-", "_")
    return name in _SECRET_NAMES or name.endswith(_SECRET_SUFFIXES)


def _redact_pairs(text: str) -> str:
    """``a=1&token=2`` to ``a=1&token=REDACTED``; everything else byte for byte."""
    pairs = []
    for pair in text.split("&"):
        name, equals, _ = pair.partition("=")
        pairs.append(f"{name}={REDACTED}" if equals and _is_secret(name) else pair)
    return "&".join(pairs)


@dataclass(frozen=True)
class _Parts:
    """A URL cut by hand, not by urllib: put together again it is exactly the URL, and a URL
    urllib refuses (``http://[::1/``) is cut as well."""

    start: str  # "https://", or "" when there is no authority
    userinfo: str | None  # before the last "@" of the authority
    host: str  # the rest of the authority: host and port
    path: str
    query: str | None  # after "?", None when there is no "?"
    fragment: str | None

    @classmethod
    def of(cls, url: str) -> _Parts:
        rest, hash_, fragment = url.partition("#")
        rest, question, query = rest.partition("?")
        scheme, slashes, after = rest.partition("://")
        start, path, userinfo, host = "", rest, None, ""
        if slashes:
            authority, slash, below = after.partition("/")
            start, path = f"{scheme}://", slash + below
            before, at, host = authority.rpartition("@")
            userinfo = before if at else None
        return cls(
            start, userinfo, host, path, query if question else None, fragment if hash_ else None
        )

    def url(self, userinfo: bool = True) -> str:
        """The URL again, without its userinfo unless ``userinfo``."""
        at = f"{self.userinfo}@" if userinfo and self.userinfo is not None else ""
        query = "" if self.query is None else f"?{self.query}"
        fragment = "" if self.fragment is None else f"#{self.fragment}"
        return f"{self.start}{at}{self.host}{self.path}{query}{fragment}"

    def secrets(self) -> list[str]:
        """The user name, password and secret parameter values, as given and decoded."""
        found: list[str] = []
        if self.userinfo:
            found += self.userinfo.split(":", 1)
        for text in (self.query, self.fragment):
            for pair in (text or "").split("&"):
                name, equals, value = pair.partition("=")
                if equals and _is_secret(name):
                    found.append(value)
        return found + [unquote_plus(s) for s in found]


def redact(url: str) -> str:
    """``url`` fit to be shown: without userinfo, and with the values of secret-like query (and
    fragment) parameters replaced by ``REDACTED``; the rest exactly as given.

    The whole userinfo goes, the user name too: a token is often given as the user name
    (``https://TOKEN@host/``), and the name of a file should not tell who fetched it.
    """
    parts = _Parts.of(url)
    return dataclasses.replace(
        parts,
        userinfo=None,
        query=None if parts.query is None else _redact_pairs(parts.query),
        fragment=None if parts.fragment is None else _redact_pairs(parts.fragment),
    ).url()


def _check_url(source: str) -> None:
    """Raise SourceError unless ``source`` is an http(s) URL that can be requested."""
    if not is_url(source):
        raise SourceError(f"{redact(source)}: only http(s) URLs are read")
    try:
        parts = urlsplit(source)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError as e:
        raise SourceError(f"{redact(source)}: not a valid URL ({e})") from None
    if not parts.hostname:
        raise SourceError(f"{redact(source)}: not a valid URL (no host)")


def _folder_name(folder: Path) -> str:
    """A folder's own name as given, "." and ".." resolved lexically (not through symlinks)."""
    return Path(os.path.normpath(folder.absolute())).name


def _sources_of(argument: str | Source) -> list[Source]:
    if isinstance(argument, Source):
        return [argument]
    if _URL_LIKE.match(argument):
        _check_url(argument)
        return [Source(argument, redact(argument))]
    path = Path(argument)
    if path.is_dir():
        prefix = _folder_name(path)
        return [
            # The name comes from the path below the folder as listed: a symlink a.xml to
            # /etc/passwd is "folder/a.xml", so the name never shows where the target is.
            Source(str(p.resolve()), "/".join(filter(None, (prefix, *p.relative_to(path).parts))))
            for p in sorted(path.rglob("*"))
            if p.is_file() and p.suffix.lower() == ".xml"
        ]
    if path.is_file():
        return [Source(str(path.resolve()), path.name)]
    raise SourceError(f"{argument}: no such file, directory or http(s) URL")


def _shown(argument: str | Source) -> str:
    return argument.name if isinstance(argument, Source) else redact(argument)


def location_key(source: Source) -> str:
    """Which file a source_file row stands for: the digest of its location (a URL's redacted
    form, so that a new token does not make it another file)."""
    basis = source.name if is_url(source.location) else source.location
    return hashlib.sha256(basis.encode()).hexdigest()


def expand(sources: Sequence[str | Source]) -> list[Source]:
    """The files that SOURCE arguments name, in a stable order, without repeats (by location).

    A URL is read as given and named ``redact(url)``; it must be http or https. A file is named
    by its base name, a directory stands for every ``*.xml`` below it (any depth, sorted), each
    named by the directory's own name and the path below it (``unwomen/sub/a.xml``). Raises
    SourceError for a path that does not exist, a URL of another scheme or no host, and two
    URLs that differ only in their credentials. Two files may share a name (two folders both
    called ``data``): the store tells them apart by their locations. A ``Source`` is taken as
    it is (``refresh`` passes the URLs it has downloaded so).

    Starting an ingest, it also removes the downloads of processes that died without removing
    them (``remove_stale_downloads``).
    """
    remove_stale_downloads()
    by_location: dict[str, Source] = {}
    argument_of: dict[str, int] = {}  # public name -> the argument it came from
    for i, argument in enumerate(sources):
        for source in _sources_of(argument):
            if source.location in by_location:
                continue
            # Files are told apart by their location (location_key), URLs by their
            # redacted form, so that a new token does not make another file: two URLs that
            # differ only in their secrets would be one file read twice.
            first = argument_of.setdefault(source.name, i) if is_url(source.location) else i
            if first != i:
                raise SourceError(
                    f"two URLs would have the public name {source.name!r} (from "
                    f"{_shown(sources[first])} and from {_shown(argument)}): they differ only "
                    "in their credentials"
                )
            by_location[source.location] = source
    return list(by_location.values())


# -- the download folder -----------------------------------------------------------------------

_folders: dict[tuple[int, str], Path] = {}
"""This process's download folder for each temporary folder (tests move the temporary folder);
keyed by pid too, so that a forked child never removes its parent's folder."""


def _download_folder() -> Path:
    key = (os.getpid(), tempfile.gettempdir())
    folder = _folders.get(key)
    if folder is None or not folder.is_dir():
        if not _folders:
            atexit.register(_remove_download_folders)
        folder = Path(tempfile.mkdtemp(prefix=f"{DOWNLOAD_PREFIX}{os.getpid()}-"))
        _folders[key] = folder
    return folder


def _remove_download_folders() -> None:
    for (pid, _), folder in _folders.items():
        if pid == os.getpid() and folder.is_dir():
            shutil.rmtree(folder)


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def remove_stale_downloads() -> None:
    """Remove the download folders of processes that are no longer running (killed with -9,
    or by a power cut) from the temporary folder."""
    pattern = re.compile(re.escape(DOWNLOAD_PREFIX) + r"(\d+)-")
    for entry in Path(tempfile.gettempdir()).iterdir():
        match = pattern.match(entry.name)
        if match is None or not entry.is_dir() or entry.is_symlink():
            continue
        pid = int(match.group(1))
        if pid == os.getpid() or _is_running(pid):
            continue
        try:
            shutil.rmtree(entry)
        except OSError:
            # Another user's folder in a sticky /tmp: theirs to remove, and no reason to
            # refuse this ingest.
            continue


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    raise SystemExit(128 + signum)


def install_sigterm_exit() -> None:
    """Make SIGTERM end the process as an exception does (``SystemExit(143)``), so that
    ``finally`` blocks, context managers (``local_copy``, transactions) and atexit run and the
    downloads are removed. Call it from the main thread (the CLI does)."""
    signal.signal(signal.SIGTERM, _exit_on_sigterm)


# -- downloading -------------------------------------------------------------------------------


class _RefusedError(Exception):
    """Why a download was given up (becomes FileError("download", ...) with the URL)."""


def _size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} bytes"


class _Watchdog:
    """Shuts the download's sockets down at the deadline: a per-read timeout alone never ends a
    server that sends a byte just often enough, in the headers or the body."""

    def __init__(self, seconds: float, public_only: bool = False) -> None:
        self.expired = False
        self.public_only = public_only  # the connections' business, kept here for them
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                self._shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked read; close() would not
        except OSError:
            return  # already closed: its download is over


class _Watched:
    """A connection that hands its socket to the download's watchdog once connected, so that
    the deadline covers the headers too; and, for a ``public_only`` download, closes it before
    a byte is sent when the peer is not a public address."""

    watchdog: _Watchdog
    sock: Any

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self.watchdog.watch(self.sock)
        if self.watchdog.public_only:
            # The address connected to, not the one a name resolved to before: a name that
            # resolves again to another address (DNS rebinding) is caught here too.
            address = ipaddress.ip_address(self.sock.getpeername()[0].split("%", 1)[0])
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
                address = address.ipv4_mapped
            if not address.is_global:
                self.sock.close()
                raise _RefusedError(f"the server is at {address}, which is not a public address")


class _WatchedHTTP(_Watched, http.client.HTTPConnection):
    pass


class _WatchedHTTPS(_Watched, http.client.HTTPSConnection):
    pass


def _watched(kind: type[_Watched], watchdog: _Watchdog) -> Callable[..., Any]:
    def connection(host: str, **kwargs: Any) -> Any:
        made = kind(host, **kwargs)  # type: ignore[call-arg]
        made.watchdog = watchdog
        return made

    return connection


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, watchdog: _Watchdog) -> None:
        super().__init__()
        self._watchdog = watchdog

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_watched(_WatchedHTTP, self._watchdog), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, watchdog: _Watchdog) -> None:
        super().__init__()
        self._watchdog = watchdog

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        # A context per download: it reads the system's CA certificates (and SSL_CERT_FILE).
        connection = _watched(_WatchedHTTPS, self._watchdog)
        return self.do_open(connection, req, context=ssl.create_default_context())


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or ""), parts.port or {"http": 80, "https": 443}.get(scheme)


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Redirects to http(s) only; the credentials go along only when the origin stays the same
    (or is upgraded from http to https on the default ports), as browsers do."""

    def http_error_302(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
    ) -> Any:
        target = headers.get("Location") or headers.get("URI")
        if target:
            absolute = urljoin(req.full_url, target)
            if not is_url(absolute):
                fp.close()
                raise _RefusedError(
                    f"redirected to {redact(absolute)}, which is not an http(s) URL"
                )
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        new = super().redirect_request(
            req, fp, code, msg, headers, _Parts.of(newurl).url(userinfo=False)
        )
        if new is not None and new.has_header("Authorization"):
            before, after = _origin(req.full_url), _origin(new.full_url)
            upgrade = before == ("http", after[1], 80) and after == ("https", after[1], 443)
            if before != after and not upgrade:
                new.remove_header("Authorization")
        return new


def _opener(watchdog: _Watchdog) -> urllib.request.OpenerDirector:
    """http(s) and nothing else (no file:, ftp: or data: handlers), proxies from the
    environment as urlopen has them."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        _HTTPHandler(watchdog),
        _HTTPSHandler(watchdog),
        _Redirects(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def _request(url: str, validators: Validators | None = None) -> urllib.request.Request:
    """The request for ``url``: its userinfo (which urllib would take for part of the host)
    becomes an HTTP Basic Authorization header; ``validators`` make it conditional."""
    parts = _Parts.of(url)
    headers = {"User-Agent": "iatiportal", "Accept-Encoding": "gzip"}
    if validators is not None and validators.etag is not None:
        headers["If-None-Match"] = validators.etag
    if validators is not None and validators.last_modified is not None:
        headers["If-Modified-Since"] = validators.last_modified
    request = urllib.request.Request(  # noqa: S310 (is_url checked the scheme: http(s) only)
        parts.url(userinfo=False), headers=headers
    )
    if parts.userinfo is not None:
        user, _, password = parts.userinfo.partition(":")
        pair = f"{unquote(user)}:{unquote(password)}"
        request.add_header("Authorization", "Basic " + base64.b64encode(pair.encode()).decode())
    return request


class _Stage(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]: ...
    def finish(self) -> Iterator[bytes]: ...


class _Gunzip:
    """Streamed gzip decoding (several members, zero padding between them allowed), at most
    ``_CHUNK`` bytes at a time and ``limit`` bytes in all: a 1 MB bomb that inflates to 1 GB
    never sits in memory and stops at the limit."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._out = 0
        self._inflate: Any = None  # zlib's decompress object (no public type); None between
        # members

    def feed(self, data: bytes) -> Iterator[bytes]:
        while True:
            if self._inflate is None:
                data = data.lstrip(b"\0")
                if not data:
                    return
                self._inflate = zlib.decompressobj(_GZIP_WBITS)
            try:
                out = self._inflate.decompress(data, _CHUNK)
            except zlib.error as e:
                raise _RefusedError(f"the body is not valid gzip ({e})") from None
            self._out += len(out)
            if self._out > self._limit:
                raise _RefusedError(
                    "the body, decoded from gzip, is larger than the download limit of "
                    f"{_size(self._limit)}"
                )
            if out:
                yield out
            if self._inflate.eof:  # the next member, if any, is in unused_data
                data, self._inflate = self._inflate.unused_data, None
                continue
            data = self._inflate.unconsumed_tail
            if not data and not out:
                return
            # Either input is left (the output hit _CHUNK) or zlib may hold output back.

    def finish(self) -> Iterator[bytes]:
        if self._inflate is not None:
            raise _RefusedError("the gzip data ends early (the body is cut short)")
        yield from ()


class _Plain:
    def feed(self, data: bytes) -> Iterator[bytes]:
        yield data

    def finish(self) -> Iterator[bytes]:
        yield from ()


class _Sniff:
    """The body as it is, or decoded when it is itself a gzip file (``.xml.gz``, served without
    a Content-Encoding): it starts with the gzip magic bytes, which no XML file does."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._head = b""
        self._inner: _Stage | None = None

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._inner is None:
            self._head += data
            if len(self._head) < len(_GZIP_MAGIC):
                return
            magic = self._head.startswith(_GZIP_MAGIC)
            self._inner = _Gunzip(self._limit) if magic else _Plain()
            data, self._head = self._head, b""
        yield from self._inner.feed(data)

    def finish(self) -> Iterator[bytes]:
        if self._inner is None:
            if self._head:
                yield self._head
            return
        yield from self._inner.finish()


class _Pipeline:
    """Stages one after another: what each yields is fed to the next."""

    def __init__(self, stages: list[_Stage]) -> None:
        self._stages = stages

    def feed(self, data: bytes, start: int = 0) -> Iterator[bytes]:
        if start == len(self._stages):
            yield data
            return
        for piece in self._stages[start].feed(data):
            yield from self.feed(piece, start + 1)

    def finish(self, start: int = 0) -> Iterator[bytes]:
        if start == len(self._stages):
            return
        for piece in self._stages[start].finish():
            yield from self.feed(piece, start + 1)
        yield from self.finish(start + 1)


def _decoder(encoding: str | None, limit: int) -> _Pipeline:
    codings = [c.strip().lower() for c in (encoding or "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    stages: list[_Stage] = []
    for coding in codings:
        if coding not in ("gzip", "x-gzip"):
            raise _RefusedError(
                f"the server sent Content-Encoding: {encoding}, which iatiportal does not read "
                "(it asks for gzip)"
            )
        stages.append(_Gunzip(limit))
    return _Pipeline([*stages, _Sniff(limit)])


def _copy(response: http.client.HTTPResponse, out: BinaryIO, limits: DownloadLimits) -> None:
    """The response's body into ``out``, decoded, within ``limits``."""
    too_large = f"the body is larger than the download limit of {_size(limits.max_bytes)}"
    length = response.headers.get("Content-Length")
    expected = int(length) if length and length.strip().isdigit() and not response.chunked else None
    if expected is not None and expected > limits.max_bytes:
        raise _RefusedError(too_large)
    decoder = _decoder(response.headers.get("Content-Encoding"), limits.max_bytes)
    wire = 0
    written = 0

    def write(pieces: Iterator[bytes]) -> None:
        nonlocal written
        for piece in pieces:
            written += len(piece)
            if written > limits.max_bytes:
                raise _RefusedError(too_large)
            out.write(piece)

    while True:
        try:
            chunk = response.read1(_CHUNK)
        except http.client.IncompleteRead:
            raise _RefusedError(
                f"the server closed the connection before the end of the body (after {wire} bytes)"
            ) from None
        if not chunk:
            break
        wire += len(chunk)
        if wire > limits.max_bytes:
            raise _RefusedError(too_large)
        write(decoder.feed(chunk))
    if expected is not None and wire < expected:
        raise _RefusedError(f"the server sent {wire} of {expected} bytes")
    write(decoder.finish())


def _scrub(text: str, url: str) -> str:
    """``text`` without the secrets of ``url`` (a library's message might quote them)."""
    text = text.replace(url, redact(url))
    # Short values are left alone: replacing "a" would mangle the message, and says little.
    secrets = {s for s in _Parts.of(url).secrets() if len(s) >= 4}
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def _reason(error: BaseException, limits: DownloadLimits) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError) and isinstance(error.reason, BaseException):
        error = error.reason
    if isinstance(error, TimeoutError):
        return f"the server sent nothing for {limits.read_timeout:g} s"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return str(error) or type(error).__name__


_VALIDATOR = re.compile(r"[\x20-\x7e]{1,1024}")


def _validator(value: str | None) -> str | None:
    """A header value fit to be stored and sent back: printable ASCII, at most 1 KiB (a
    hostile server's CR LF or megabyte of ETag is not repeated)."""
    return value if value is not None and _VALIDATOR.fullmatch(value) else None


@dataclass(frozen=True)
class Validators:
    """What a server said identifies the body it sent (RFC 9110, section 8.8), sent back on
    the next request so that it can answer 304 Not Modified."""

    etag: str | None = None
    last_modified: str | None = None

    @classmethod
    def of(cls, headers: email.message.Message) -> Validators:
        return cls(_validator(headers.get("ETag")), _validator(headers.get("Last-Modified")))


@dataclass(frozen=True)
class Fetched:
    """What ``download`` got: a body (written out), or 304 Not Modified (nothing written)."""

    not_modified: bool
    validators: Validators


class DownloadError(FileError):
    """FileError("download", ...), with the HTTP status when the server answered with one
    (``status`` None: no answer, a timeout, a refused or cut-short body)."""

    def __init__(self, message: str, status: int | None) -> None:
        super().__init__("download", message)
        self.status = status


def _proxied(url: str) -> bool:
    parts = urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme.lower())
    return bool(proxy) and not urllib.request.proxy_bypass(parts.hostname or "")


def download(
    url: str,
    out: BinaryIO,
    limits: DownloadLimits = DownloadLimits(),
    validators: Validators | None = None,
    *,
    public_only: bool = False,
) -> Fetched:
    """Write the body of ``url`` (decoded, within ``limits``) to ``out``. With ``validators``
    the request is conditional, and a 304 answer writes nothing. With ``public_only``, a
    server (or a redirect's) at a loopback, private, link-local or reserved address is refused
    before anything is sent (for URLs that others chose, such as the IATI Registry's: not the
    machine's own services); through a proxy, the proxy's rules apply instead. Raises
    DownloadError naming the redacted URL."""
    reason: str | None = None
    status: int | None = None
    fetched = Fetched(False, Validators())
    with _Watchdog(limits.deadline, public_only and not _proxied(url)) as watchdog:
        try:
            request = _request(url, validators)
            timeout = min(limits.read_timeout, limits.deadline)
            with _opener(watchdog).open(request, timeout=timeout) as response:
                fetched = Fetched(False, Validators.of(response.headers))
                _copy(response, out, limits)
        except _RefusedError as e:
            reason = str(e)
        except urllib.error.HTTPError as e:
            e.close()
            if e.code == 304 and validators is not None:
                # A 304 may leave out validators that did not change (RFC 9110, 15.4.5).
                sent = Validators.of(e.headers)
                fetched = Fetched(
                    True,
                    Validators(
                        sent.etag or validators.etag,
                        sent.last_modified or validators.last_modified,
                    ),
                )
            else:
                reason, status = _reason(e, limits), e.code
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
            reason = _reason(e, limits)
    if watchdog.expired:
        # Whatever the read saw when the watchdog shut its socket (an early end, a reset, a
        # shortfall, even a body that looked complete) is the deadline's doing.
        reason, status = f"not finished within the deadline of {limits.deadline:g} s", None
    if reason is None:
        return fetched
    # From None: the library's exception might quote the URL with its credentials.
    message = f"could not download {redact(url)}: {_scrub(reason, url)}"
    raise DownloadError(message, status) from None


@contextlib.contextmanager
def local_copy(source: Source, limits: DownloadLimits = DownloadLimits()) -> Iterator[Path]:
    """The source as a local file: the file itself, or a download (within ``limits``) that is
    removed afterwards, however the block ends (or the copy ``source.downloaded``, left as it
    is). Raises DownloadError when the download fails; what was written by then is removed."""
    if not is_url(source.location):
        yield Path(source.location)
        return
    if source.downloaded is not None:
        yield Path(source.downloaded)
        return
    with download_file() as path:
        with path.open("wb") as out:
            download(source.location, out, limits)
        yield path


@contextlib.contextmanager
def download_file() -> Iterator[Path]:
    """An empty file in this process's download folder, removed however the block ends (and
    at exit, or by the next process when this one is killed)."""
    fd, name = tempfile.mkstemp(suffix=".xml", dir=_download_folder())
    os.close(fd)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
