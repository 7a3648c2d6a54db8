"""Which files an ingest reads: SOURCE arguments (file, directory or URL) to local files."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from iatiportal.ingest.parse import FileError

DOWNLOAD_TIMEOUT = 120


class SourceError(Exception):
    """A SOURCE argument names nothing: a usage error."""


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


@dataclass(frozen=True)
class Source:
    location: str  # the file's absolute path or the URL as given: private
    name: str  # how the public sees it


def redact(url: str) -> str:
    return url


def expand(sources: list[str]) -> list[Source]:
    """Files to read, in a stable order without repeats.

    A directory stands for every ``*.xml`` below it (any depth, sorted).
    """
    out: dict[str, Source] = {}
    for source in sources:
        if is_url(source):
            out.setdefault(source, Source(source, redact(source)))
            continue
        path = Path(source)
        if path.is_dir():
            for p in sorted(path.rglob("*")):
                if p.is_file() and p.suffix.lower() == ".xml":
                    name = f"{path.resolve().name}/{p.relative_to(path).as_posix()}"
                    out.setdefault(str(p.resolve()), Source(str(p.resolve()), name))
        elif path.is_file():
            out.setdefault(str(path.resolve()), Source(str(path.resolve()), path.name))
        else:
            raise SourceError(f"{source}: no such file, directory or http(s) URL")
    return list(out.values())


@contextlib.contextmanager
def local_copy(source: Source) -> Iterator[Path]:
    """The source as a local file: itself, or a download that is removed afterwards."""
    if not is_url(source.location):
        yield Path(source.location)
        return
    source_url = source.location
    fd, name = tempfile.mkstemp(prefix="iatiportal-", suffix=".xml")
    try:
        # Only http(s) reaches here (is_url), so urlopen cannot be steered to file: URLs.
        request = urllib.request.Request(source_url, headers={"User-Agent": "iatiportal"})  # noqa: S310
        try:
            with (
                os.fdopen(fd, "wb") as out,
                urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) as response,  # noqa: S310
            ):
                shutil.copyfileobj(response, out, 1 << 20)
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise FileError("download", f"could not download: {e}") from e
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
