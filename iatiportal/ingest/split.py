"""Sharing one large activity file between parsing processes.

A file is cut at the first bytes of top-level ``<iati-activity`` elements near its 1/n points;
part k reads its byte range as a document of its own (the file's head up to the end of the
root start tag, the range, and a closing root tag), so no process parses what another reads.
Where no safe cut is found (another encoding, a cut that could fall in a comment or CDATA
section), parts take every n-th activity of the whole file instead.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

WINDOW = 1 << 20
"""Bytes searched for a cut after each 1/n point."""

_ACTIVITY_START = re.compile(rb"<iati-activity[\s>/]")
_ROOT_START = re.compile(rb"<iati-activities[\s>/]")


@dataclass(frozen=True)
class Part:
    """Which activities one reader takes: the ``index``-th of ``count`` parts.

    With ``cuts`` (count - 1 byte offsets, ascending) a part is a byte range; without, it is
    every count-th activity.
    """

    index: int = 0
    count: int = 1
    cuts: tuple[int, ...] = ()

    @property
    def whole(self) -> bool:
        return self.count == 1


def root_start_end(head: bytes) -> int | None:
    """The offset just after the root start tag ``<iati-activities ...>`` in ``head``."""
    found = _ROOT_START.search(head)
    if found is None:
        return None
    quote = None
    for i in range(found.end() - 1, len(head)):
        c = head[i : i + 1]
        if quote is not None:
            if c == quote:
                quote = None
        elif c in (b'"', b"'"):
            quote = c
        elif c == b">":
            return None if head[i - 1 : i] == b"/" else i + 1
    return None


def _safe_cut(window: bytes, at: int) -> bool:
    """Whether a cut at ``window[at]`` is outside comments and CDATA seen in the window."""
    before = window[:at]
    for opener, closer in ((b"<!--", b"-->"), (b"<![CDATA[", b"]]>")):
        last_open = before.rfind(opener)
        if last_open >= 0 and before.find(closer, last_open) < 0:
            return False
    return True


def find_cuts(path: Path, count: int) -> tuple[int, ...] | None:
    """Offsets that cut ``path`` into ``count`` parts at activity starts, or None."""
    size = path.stat().st_size
    cuts: list[int] = []
    with path.open("rb") as f:
        head = f.read(WINDOW)
        if root_start_end(head) is None:
            return None
        for i in range(1, count):
            target = size * i // count
            start = max(target - WINDOW, 0)
            f.seek(start)
            window = f.read(2 * WINDOW)
            found = _ACTIVITY_START.search(window, target - start)
            if found is None or not _safe_cut(window, found.start()):
                return None
            cut = start + found.start()
            if cuts and cut <= cuts[-1]:
                return None
            cuts.append(cut)
    return tuple(cuts)


class Spliced(io.RawIOBase):
    """A byte range of a file read as a document: ``prefix + file[start:end] + suffix``.

    ``tell()`` answers the position in the file, for progress.
    """

    def __init__(
        self, path: Path, start: int, end: int | None, prefix: bytes, suffix: bytes
    ) -> None:
        super().__init__()
        self._file = path.open("rb")
        self._file.seek(start)
        self._left = None if end is None else end - start
        self._prefix = prefix
        self._suffix = suffix

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        if self._prefix:
            n = min(len(view), len(self._prefix))
            view[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        if self._left is None or self._left > 0:
            want = len(view) if self._left is None else min(len(view), self._left)
            data = self._file.read(want)
            if data:
                view[: len(data)] = data
                if self._left is not None:
                    self._left -= len(data)
                return len(data)
            self._left = 0
        n = min(len(view), len(self._suffix))
        view[:n] = self._suffix[:n]
        self._suffix = self._suffix[n:]
        return n

    def tell(self) -> int:
        return self._file.tell()

    def close(self) -> None:
        self._file.close()
        super().close()


def open_part(path: Path, part: Part) -> tuple[io.RawIOBase | io.BufferedReader, int]:
    """The stream that part ``part`` parses, and the line offset of its elements in the file."""
    if part.whole or not part.cuts:
        return path.open("rb"), 0
    with path.open("rb") as f:
        head = f.read(WINDOW)
    root_end = root_start_end(head)
    if root_end is None:  # find_cuts checked this; the file changed underneath
        raise OSError(f"{path}: the root element moved while it was being read")
    start = 0 if part.index == 0 else part.cuts[part.index - 1]
    end = part.cuts[part.index] if part.index < len(part.cuts) else None
    prefix = b"" if part.index == 0 else head[:root_end]
    suffix = b"</iati-activities>" if end is not None else b""
    line_offset = _newlines_before(path, start) - prefix.count(b"\n") if start else 0
    return Spliced(path, start, end, prefix, suffix), line_offset


def _newlines_before(path: Path, offset: int) -> int:
    count = 0
    with path.open("rb") as f:
        left = offset
        while left > 0:
            chunk = f.read(min(left, 1 << 22))
            if not chunk:
                break
            count += chunk.count(b"\n")
            left -= len(chunk)
    return count
