"""Why a file as a whole could not be read. A module of its own, without lxml: the store and
the download code name this error on paths that never parse a file (an unchanged re-ingest)."""

from __future__ import annotations


class FileError(Exception):
    """The file as a whole cannot be read (not XML, not IATI, hostile)."""

    def __init__(self, rule: str, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.line = line
