"""One file-name rule for every download.

A download is named ``iatiportal-<what>-<what narrows it>.<ext>``: the page or list, then the
values that narrow it, in a fixed order (``iatiportal-countries-ML-2022.csv``,
``iatiportal-transactions-ML.csv``), or for a snapshot file the day it was built
(``iatiportal-csv-2024-05-01.zip``). An activity's published XML keeps its identifier
(``XM-DAC-41146-MLI_D_1.1.xml``). Every name is made by ``filename``: only ``A-Z a-z 0-9 . _ -``
(so no quote, semicolon or line break of the data reaches a ``Content-Disposition`` header),
at most ``MAX_STEM`` characters before the extension.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from iatiportal.store.filters import Filters

PREFIX = "iatiportal"
MAX_STEM = 150
FALLBACK = "download"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_EDGES = "._-"  # no part starts or ends with these: no hidden files, no "..", no "--"

PAGE_PARAMETERS = (
    "country",
    "region",
    "year",
    "plan_period",
    "partner",
    "impact_area",
    "sdg",
    "q",
    "table",
)
"""The query parameters of a page whose values name its renderings, in this order."""


def safe_part(text: str) -> str:
    """A piece of a file name: runs of other characters become ``_``; edges trimmed."""
    return _UNSAFE.sub("_", text).strip(_EDGES)


def filename(parts: Iterable[str | None], ext: str) -> str:
    """``part-part-part.ext`` of the non-empty parts, each made safe, cut to MAX_STEM."""
    pieces = [safe_part(p) for p in parts if p]
    stem = "-".join(p for p in pieces if p)[:MAX_STEM].rstrip(_EDGES) or FALLBACK
    return f"{stem}.{safe_part(ext) or FALLBACK}"


def page_filename(path: str, params: Mapping[str, str], ext: str) -> str:
    """A page rendering's name: ``/countries/ML.csv?year=2022`` ->
    ``iatiportal-countries-ML-2022.csv`` (``/`` is ``index``)."""
    path = path.strip("/")
    if path.endswith(f".{ext}"):
        path = path[: -len(ext) - 1]
    values = [params.get(name) for name in PAGE_PARAMETERS]
    return filename([PREFIX, *(path or "index").split("/"), *values], ext)


def list_filename(what: str, filters: Filters, ext: str) -> str:
    """A list download's name: ``iatiportal-activities-ML-2022.csv``, the list then the
    filters that narrow it."""
    parts = [what, filters.country, filters.region]
    if filters.year is not None:
        parts.append(str(filters.year))
    if filters.years is not None:
        parts.append("{}-{}".format(*filters.years))
    parts += filters.reporting_org
    parts.append(filters.partner)
    parts += [code or vocabulary for vocabulary, code in filters.sectors]
    if filters.humanitarian is not None:
        parts.append("humanitarian" if filters.humanitarian else "not-humanitarian")
    parts += [filters.q, filters.activity]
    return filename([PREFIX, *parts], ext)


def snapshot_filename(name: str, day: str) -> str:
    """A snapshot file's download name: ``iatiportal-csv.zip`` built on 2024-05-01 ->
    ``iatiportal-csv-2024-05-01.zip`` (``iatiportal.sqlite.gz`` ->
    ``iatiportal-2024-05-01.sqlite.gz``)."""
    stem, _dot, ext = name.partition(".")
    return filename([stem, day], ext)


def activity_filename(identifier: str, ext: str) -> str:
    """An activity's published XML, under its identifier made safe."""
    return filename([identifier], ext)
