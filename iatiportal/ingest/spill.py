"""A list of records that keeps at most one chunk of them in memory: the rest wait in a
temporary file, so that one activity with 100,000 transactions does not hold 100,000
transaction records (about 1.6 KB each) at once (issue 10).
"""

from __future__ import annotations

import pickle
import tempfile
import weakref
from collections.abc import Iterator
from typing import IO, Generic, TypeVar

T = TypeVar("T")

CHUNK = 1000
"""Items kept in memory; each further chunk of this many is written to the file."""


class SpillList(Generic[T]):
    """Items in the order appended. Up to ``chunk`` of them it is a plain list in memory; then
    each full chunk is pickled to a temporary file (made when first needed, deleted when the
    list is closed or collected). Iterable any number of times, one chunk in memory at a time.
    """

    __slots__ = ("__weakref__", "_chunk", "_file", "_offsets", "_tail")

    def __init__(self, chunk: int = CHUNK) -> None:
        self._chunk = chunk
        self._tail: list[T] = []
        self._file: IO[bytes] | None = None
        self._offsets: list[int] = []  # where each written chunk starts in the file

    def append(self, item: T) -> None:
        self._tail.append(item)
        if len(self._tail) >= self._chunk:
            self._spill()

    def _spill(self) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
            # Closed with the list too: records are handed on and dropped, not closed.
            weakref.finalize(self, self._file.close)
        self._file.seek(0, 2)
        self._offsets.append(self._file.tell())
        pickle.dump(self._tail, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._tail = []

    def _chunk_at(self, n: int) -> list[T]:
        if self._file is None:
            raise IndexError(n)
        self._file.seek(self._offsets[n])
        chunk: list[T] = pickle.load(self._file)  # noqa: S301 - our own temporary file
        return chunk

    def __len__(self) -> int:
        return len(self._offsets) * self._chunk + len(self._tail)

    def __bool__(self) -> bool:
        return bool(self._offsets or self._tail)

    def __iter__(self) -> Iterator[T]:
        for n in range(len(self._offsets)):
            yield from self._chunk_at(n)
        yield from self._tail

    def __getitem__(self, index: int) -> T:
        size = len(self)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError(index)
        written = len(self._offsets) * self._chunk
        if index >= written:
            return self._tail[index - written]
        return self._chunk_at(index // self._chunk)[index % self._chunk]

    def close(self) -> None:
        """Delete the file (the items written to it are gone)."""
        if self._file is not None:
            self._file.close()
            self._file = None
            self._offsets = []

    def __repr__(self) -> str:
        return f"SpillList({len(self)} items, {len(self._offsets)} chunks written)"
