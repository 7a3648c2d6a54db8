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
from pathlib import Path

from iatiportal.ingest.parse import FileError

DOWNLOAD_TIMEOUT = 120


class SourceError(Exception):
    """A SOURCE argument names nothing: a usage error."""


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def expand(sources: list[str]) -> list[str]:
    """Files to read, as absolute paths or URLs, in a stable order without repeats.

    A directory stands for every ``*.xml`` below it (any depth, sorted).
    """
    out: list[str] = []
    for source in sources:
        if is_url(source):
            out.append(source)
            continue
        path = Path(source)
        if path.is_dir():
            out.extend(
                str(p.resolve())
                for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix.lower() == ".xml"
            )
        elif path.is_file():
            out.append(str(path.resolve()))
        else:
            raise SourceError(f"{source}: no such file, directory or http(s) URL")
    return list(dict.fromkeys(out))


@contextlib.contextmanager
def local_copy(source: str) -> Iterator[Path]:
    """The source as a local file: itself, or a download that is removed afterwards."""
    if not is_url(source):
        yield Path(source)
        return
    fd, name = tempfile.mkstemp(prefix="iatiportal-", suffix=".xml")
    try:
        # Only http(s) reaches here (is_url), so urlopen cannot be steered to file: URLs.
        request = urllib.request.Request(source, headers={"User-Agent": "iatiportal"})  # noqa: S310
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
