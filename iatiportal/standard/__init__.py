"""Where the IATI schemas and codelists live on this machine, and whether they work.

The repository holds no copy of the IATI Standard: ``iatiportal standard fetch`` (run by
``make``; see ``fetch.py``) installs the schemas of versions 1.01-2.03 and the 2.03 codelists
into ``iatiportal/standard/data``, and a wheel carries that folder. An operator may point
``IATIPORTAL_STANDARD_DIR`` at another copy laid out the same way.

A schema that is missing or does not compile is an installation error (``check``), said once
at start with the file and the reason, never a problem recorded against a publisher's file.
"""

from __future__ import annotations

import functools
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lxml import etree

SCHEMA_VERSIONS = ("1.01", "1.02", "1.03", "1.04", "1.05", "2.01", "2.02", "2.03")
SCHEMA_KINDS = ("activities", "organisations")
CODELIST_VERSION = "2.03"
FETCH_HINT = "run `iatiportal standard fetch` (or `make`) to install a working copy"


def _parse(path: Path) -> etree._ElementTree:
    """``path`` read as XML without entities, network or DTD. lxml is imported here, not with
    the module: a command that finds its files unchanged never reads a schema or codelist."""
    from lxml import etree  # noqa: PLC0415 - see the docstring

    return etree.parse(
        str(path), etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    )


class StandardError(Exception):
    """The schemas and codelists are not usable: an installation error, not a data problem."""


class StandardMissingError(StandardError):
    """The schemas and codelists are not installed."""


class SchemaCompileError(StandardError):
    """An installed schema does not compile (libxml2 refuses it)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"the IATI schema {path} does not compile: {reason}; {FETCH_HINT}")
        self.path = path
        self.reason = reason


_PACKAGE_DATA = Path(__file__).resolve().parent / "data"
"""Resolved once: pages ask for code names many times a request, and an ingest for the
schema and codelists of every activity it validates (issue 14)."""


def data_dir() -> Path:
    """The folder holding ``schemas/<version>/`` and ``codelists/``."""
    env = os.environ.get("IATIPORTAL_STANDARD_DIR")
    return Path(env) if env else _PACKAGE_DATA


def schema_path(version: str, kind: str = "activities", base: Path | None = None) -> Path:
    """The XSD for ``version`` (one of SCHEMA_VERSIONS); kind is activities or organisations."""
    path = (base or data_dir()) / "schemas" / version / f"iati-{kind}-schema.xsd"
    if not path.is_file():
        raise StandardMissingError(f"the IATI schema {path} is missing: {FETCH_HINT}")
    return path


def codelist_dir(base: Path | None = None) -> Path:
    path = (base or data_dir()) / "codelists"
    if not path.is_dir():
        raise StandardMissingError(f"the IATI codelists {path} are missing: {FETCH_HINT}")
    return path


def is_installed() -> bool:
    base = data_dir()
    return (base / "codelists").is_dir() and all(
        (base / "schemas" / v / f"iati-{k}-schema.xsd").is_file()
        for v in SCHEMA_VERSIONS
        for k in SCHEMA_KINDS
    )


@functools.cache
def _compiled(path: Path, mtime_ns: int) -> etree.XMLSchema:
    from lxml import etree  # noqa: PLC0415 - see _parse

    try:
        return etree.XMLSchema(_parse(path))
    except (etree.XMLSchemaParseError, etree.XMLSyntaxError) as e:
        raise SchemaCompileError(path, str(e)) from e


def compiled_schema(version: str, kind: str = "activities") -> etree.XMLSchema:
    """The compiled XSD of ``version`` and ``kind`` (compiled once per file)."""
    path = schema_path(version, kind)
    return _compiled(path, path.stat().st_mtime_ns)


_Stamped = tuple[Path, int, int]
"""A file with its size and modification time (nanoseconds)."""


def check(base: Path | None = None) -> None:
    """Compile every schema and read every codelist under ``base`` (default: the installed
    copy); raise StandardMissingError or SchemaCompileError naming the file and the reason.
    Done once per state of the files in a process: a second call that finds every file as it
    was (same size and modification time) costs only their ``stat``."""
    base = base or data_dir()
    schemas, lists = present(base)
    _checked(tuple(_stamped(schemas)), tuple(_stamped(lists)))


def _stamped(paths: list[Path]) -> Iterator[_Stamped]:
    """Each path with its size and modification time (what ``_checked`` is cached on)."""
    for path in paths:
        got = path.stat()
        yield path, got.st_size, got.st_mtime_ns


@functools.cache
def _checked(
    schemas: tuple[tuple[Path, int, int], ...], lists: tuple[tuple[Path, int, int], ...]
) -> None:
    """``check``'s work for these files in this state (a failure is not cached, so it is
    raised again)."""
    for path, _size, mtime_ns in schemas:
        _compiled(path, mtime_ns)
    for path, _size, _mtime_ns in lists:
        from lxml import etree  # noqa: PLC0415 - see _parse

        try:
            _parse(path)
        except etree.XMLSyntaxError as e:
            raise StandardError(f"the IATI codelist {path} is not XML: {e}; {FETCH_HINT}") from e


def present(base: Path | None = None) -> tuple[list[Path], list[Path]]:
    """The schemas and the codelists under ``base`` (default: the installed copy); raise
    StandardMissingError when one is missing. What a command checks at start when it may not
    need to compile them (see ``check``)."""
    base = base or data_dir()
    schemas = [schema_path(v, k, base) for v in SCHEMA_VERSIONS for k in SCHEMA_KINDS]
    lists = sorted(codelist_dir(base).glob("*.xml"))
    if not lists:
        raise StandardMissingError(f"the IATI codelists in {base / 'codelists'} are missing")
    return schemas, lists


def source_note() -> str:
    """What the installed copy was made from (its SOURCE file)."""
    path = data_dir() / "SOURCE"
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def codelist_path(name: str) -> Path:
    return codelist_dir() / f"{name}.xml"


NAMES_DIR = _PACKAGE_DATA.parent / "names"


@functools.cache
def shipped_names(language: str) -> dict[str, dict[str, str]]:
    """Codelist -> code -> name in ``language`` from the portal's own translations
    (``names/<language>.toml``), for the codelists whose IATI copy lacks that language;
    empty for a language without a file."""
    path = NAMES_DIR / f"{language}.toml"
    if not path.is_file():
        return {}
    with path.open("rb") as f:
        data = tomllib.load(f)
    return {name: {str(c): str(n) for c, n in codes.items()} for name, codes in data.items()}


@functools.cache
def _code_names(path: Path, language: str) -> dict[str, str]:
    if not path.is_file():
        return {}
    lang_attr = "{http://www.w3.org/XML/1998/namespace}lang"
    shipped = shipped_names(language).get(path.stem, {})
    names: dict[str, str] = {}
    tree = _parse(path)
    for item in tree.iterfind(".//codelist-item"):
        code = (item.findtext("code") or "").strip()
        chosen = english = None
        for narrative in item.iterfind("name/narrative"):
            lang = (narrative.get(lang_attr) or "en").lower()
            if lang == language and narrative.text:
                chosen = narrative.text.strip()
            if lang == "en" and narrative.text and english is None:
                english = narrative.text.strip()
        if code:
            names[code] = chosen or shipped.get(code) or english or code
    return names


def code_names(name: str, language: str = "en") -> dict[str, str]:
    """Code -> name of a codelist in ``language``: the codelist's own narrative in that
    language, else the portal's translation (``names/<language>.toml``), else English;
    empty when the codelists are not installed (an ingest with --no-validate shows codes)."""
    return _code_names(data_dir() / "codelists" / f"{name}.xml", language)
