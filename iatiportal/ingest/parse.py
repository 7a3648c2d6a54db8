"""The one streaming parser for IATI activity and organisation files, every version.

``iter_file`` reads a file with an lxml pull parser and clears each activity after use, so memory
does not grow with file size; an activity with very many transactions has them read as they
are parsed (ingest.long_activity), so it does not grow with one activity's size either.
Hostile XML is refused before any activity is read: a file with a DOCTYPE (the carrier of
entity expansion, "billion laughs", and of external entities) is a file-level problem, and the
parser never expands entities, loads DTDs or touches the network.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Literal, cast

from lxml import etree

from iatiportal import standard
from iatiportal.ingest import records as r
from iatiportal.ingest import rulesets
from iatiportal.ingest.errors import FileError
from iatiportal.ingest.extract import clean, line_of, read_activity, read_organisation
from iatiportal.ingest.long_activity import LONG, LongActivity
from iatiportal.ingest.sanity import sanity_problems
from iatiportal.ingest.split import Part, open_part
from iatiportal.ingest.validate import codelist_problems, schema_problems
from iatiportal.ingest.versions import PILOT_VERSIONS

SAFE_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
}
_ROOTS = {
    "iati-activities": ("activities", "iati-activity"),
    "iati-activity": ("activities", "iati-activity"),
    "iati-organisations": ("organisations", "iati-organisation"),
    "iati-organisation": ("organisations", "iati-organisation"),
}


def _localname(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _doctype_line(path: Path) -> int | None:
    """The line of the DOCTYPE declaration (it precedes the root element)."""
    with path.open("rb") as f:
        head = f.read(1 << 16)
    at = head.find(b"<!DOCTYPE")
    return head.count(b"\n", 0, at) + 1 if at >= 0 else None


CHUNK = 32 * 1024
"""Bytes fed at a time to the parser. lxml 6.2's ``iterparse`` gives no event before it has
parsed a whole (large) buffer, so an error half-way lost the activities read before it and a
refused entity was reported as a broken root; a pull parser fed in pieces gives every event
completed before the error."""

HEADER_CHUNK = 512
"""Bytes fed at a time while looking for the root element, which is in the first few."""


def _events(
    f: IO[bytes] | io.RawIOBase,
    events: tuple[Literal["start", "end"], ...],
    tags: tuple[str, ...] | None = None,
    chunk: int = CHUNK,
) -> Iterator[tuple[str, etree._Element]]:
    """The ``events`` of elements (of ``tags``, or all) in ``f``, as they complete; an
    XMLSyntaxError is raised after every event that the well-formed part before it gave."""
    parser = etree.XMLPullParser(events=events, tag=tags, **SAFE_PARSER_OPTIONS)
    while True:
        data = f.read(chunk)
        failed: etree.XMLSyntaxError | None = None
        try:
            if data:
                parser.feed(data)
            else:
                parser.close()
        except etree.XMLSyntaxError as e:
            failed = e
        # Only element events are asked for (no namespace, comment or PI events).
        yield from cast(Iterator[tuple[str, etree._Element]], parser.read_events())
        if failed is not None:
            raise failed
        if not data:
            return


def _root_start(path: Path) -> etree._Element | None:
    """The root element of ``path`` as soon as its start tag is read (None if none is)."""
    with path.open("rb") as f:
        for _event, root in _events(f, ("start",), chunk=HEADER_CHUNK):
            return root
    return None


def _doctype_refused(path: Path, declared: str) -> FileError:
    return FileError(
        "xml-doctype",
        f"the file declares {declared}: DOCTYPE declarations (and the entities they carry) "
        "are refused in IATI files",
        _doctype_line(path),
    )


def read_header(path: Path) -> r.FileHeader:
    """What kind of IATI file ``path`` is; raises FileError when it is none."""
    if path.stat().st_size == 0:
        raise FileError("not-xml", "the file is empty")
    try:
        root = _root_start(path)
    except etree.XMLSyntaxError as e:
        if _doctype_line(path) is not None:  # lxml 6.2 refuses the entities before the root
            raise _doctype_refused(path, f"a DOCTYPE whose entities it refused ({e.msg})") from e
        raise FileError("not-xml", f"not well-formed XML: {e.msg}", e.lineno) from e
    if root is None:
        raise FileError("not-xml", "no root element")
    doctype = root.getroottree().docinfo.doctype  # type: ignore[attr-defined]
    if doctype:
        raise _doctype_refused(path, repr(doctype))
    name = _localname(root.tag)
    if name not in _ROOTS or "}" in root.tag:
        raise FileError(
            "not-iati",
            f"the root element is <{root.tag}>, not <iati-activities> or <iati-organisations>",
            line_of(root),
        )
    return r.FileHeader(
        _ROOTS[name][0],
        clean(root.get("version")),
        clean(root.get("generated-datetime")),
    )


def activity_version(el: etree._Element, file_version: str | None) -> str | None:
    """The activity's own version where an aggregator recorded it (d-portal writes
    ``iati-activities:version`` on each activity), else the file's."""
    for name, value in el.attrib.items():
        if str(name).endswith("}version"):
            return clean(str(value))
    return file_version


def activity_identifier(
    el: etree._Element, version: str | None
) -> tuple[str | None, list[r.Problem]]:
    """The iati-identifier, or for the 2010 pilot format one derived from other-identifier."""
    line = line_of(el)
    ident_el = el.find("iati-identifier")
    ident = clean(ident_el.text) if ident_el is not None else None
    if ident is not None:
        problems = []
        if ident_el is not None and ident != ident_el.text:
            problems.append(
                r.Problem(
                    "warning",
                    "identifier-whitespace",
                    f"iati-identifier {ident_el.text!r} has whitespace around it",
                    line,
                    ident,
                )
            )
        return ident, problems
    if version in PILOT_VERSIONS or version is None:
        other = el.find("other-identifier")
        other_id = clean(other.text) if other is not None else None
        reporter = el.find("reporting-org")
        owner = (
            (clean(reporter.get("ref")) or clean(reporter.text)) if reporter is not None else None
        )
        if other_id is not None and owner is not None:
            derived = f"{owner}-{other_id.lstrip(chr(39))}"
            return derived, [
                r.Problem(
                    "warning",
                    "identifier-derived",
                    f"no iati-identifier: identified as {derived!r} from reporting-org and "
                    "other-identifier (pilot format)",
                    line,
                    derived,
                )
            ]
    return None, [
        r.Problem(
            "error", "identifier-missing", "activity has no iati-identifier: skipped", line, None
        )
    ]


def read_activity_element(
    el: etree._Element,
    file_version: str | None,
    *,
    validate: bool,
    raw: bytes | None = None,
    line_offset: int = 0,
    long: LongActivity | None = None,
) -> r.Activity | list[r.Problem]:
    """One activity element to a record with its problems (or only problems when skipped).

    ``raw``: its XML (default: serialised here); ``long``: its transactions, read as they
    were parsed (ingest.long_activity). ``line_offset`` maps line numbers of a re-parsed
    fragment back to the file.
    """
    version = activity_version(el, file_version)
    ident, problems = activity_identifier(el, version)
    line = (line_of(el) or 1) + line_offset
    for p in problems:
        p.line = line
    if ident is None:
        return problems
    if raw is None:
        raw = (
            long.xml(el)
            if long is not None
            else etree.tostring(el, encoding="utf-8", with_tail=False)
        )
    act = read_activity(el, ident, version, line, long.transactions if long else None)
    if long is not None:
        act.problems.extend(long.problems(ident))
    if line_offset:
        for p in act.problems:
            if p.line is not None:
                p.line += line_offset
    act.problems[:0] = problems
    act.raw_xml = raw
    if validate:
        checked = long.schema if long is not None else None
        errors = schema_problems(el, version, ident, "activities", line_offset, checked)
        act.schema_valid = not errors
        act.problems.extend(errors)
        act.problems.extend(codelist_problems(act))
        act.problems.extend(sanity_problems(act))
        if rulesets.applies(version):
            act.problems += rulesets.activity_problems(
                el, ident, line_offset, transactions=long.rules if long is not None else None
            )
    return act


def read_organisation_element(
    el: etree._Element, file_version: str | None, *, validate: bool, raw: bytes
) -> r.Organisation | list[r.Problem]:
    line = line_of(el)
    ident = None
    for tag in ("organisation-identifier", "iati-identifier"):  # 2.0x, 1.0x
        ident_el = el.find(tag)
        if ident_el is not None and clean(ident_el.text):
            ident = clean(ident_el.text)
            break
    if ident is None:
        return [
            r.Problem(
                "error",
                "identifier-missing",
                "organisation has no organisation-identifier: skipped",
                line,
                None,
            )
        ]
    org = read_organisation(el, ident, file_version, line)
    org.raw_xml = raw
    if validate:
        errors = schema_problems(el, file_version, ident, "organisations")
        org.schema_valid = not errors
        org.problems.extend(errors)
        if rulesets.applies(file_version):
            org.problems += rulesets.organisation_problems(el, ident)
    return org


WHOLE = Part()

Item = r.FileHeader | r.Activity | r.Organisation | r.Problem


def iter_file(
    path: Path,
    *,
    validate: bool = True,
    progress: Callable[[int], None] | None = None,
    part: Part = WHOLE,
) -> Iterator[Item]:
    """Yield the header, then each activity or organisation record (or the problems of one
    that had to be skipped).

    ``part`` shares the file between processes (see ingest.split). Raises FileError for
    file-level failures, possibly after some records were yielded (a syntax error half-way):
    the caller decides what to keep.
    """
    header = read_header(path)
    yield header
    tag = "iati-activity" if header.kind == "activities" else "iati-organisation"
    stream, line_offset = open_part(path, part)
    with stream:
        yield from _iter_elements(
            stream,
            tag,
            header,
            validate=validate,
            progress=progress,
            part=part,
            line_offset=line_offset,
        )


def _iter_elements(
    f: IO[bytes] | io.RawIOBase,
    tag: str,
    header: r.FileHeader,
    *,
    validate: bool,
    progress: Callable[[int], None] | None,
    part: Part,
    line_offset: int,
) -> Iterator[Item]:
    # Transactions end events too: past LONG of them, an activity's are read as they come.
    tags = (tag, "transaction") if tag == "iati-activity" else (tag,)
    context = _events(f, ("end",), tags)
    every = 1 if part.cuts else part.count  # a byte range is all ours; else every n-th
    mine = 0 if part.cuts else part.index
    index = -1
    transactions = 0  # of the open activity, so far
    long: LongActivity | None = None
    failed: Exception | None = None  # reading the open activity's transactions failed
    try:
        for _event, el in context:
            if el.tag == "transaction":
                activity = el.getparent()
                if activity is None or activity.tag != tag or _depth(activity) > 1:
                    continue  # not a transaction of an activity (foreign content)
                transactions += 1
                if (index + 1) % every != mine or failed is not None:
                    activity.remove(el)  # another reader's activity, or one reported unreadable
                elif long is not None or transactions > LONG:
                    try:
                        if long is None:
                            version = activity_version(activity, header.iati_version)
                            long = LongActivity(activity, version, validate=validate)
                            # Those before this one and this one: the parser has read ahead,
                            # the ones after it may be incomplete (they have events to come).
                            earlier = []
                            for t in activity.iterchildren("transaction"):
                                earlier.append(t)
                                if t is el:
                                    break
                            for t in earlier:
                                long.take(t)
                        else:
                            long.take(el)
                    except Exception as e:  # noqa: BLE001 - reported with the activity
                        failed, long = e, None
                continue
            index += 1
            if index % every != mine:
                _release(el)
                transactions, long, failed = 0, None, None
                continue
            raw = (
                None if long is not None else etree.tostring(el, encoding="utf-8", with_tail=False)
            )
            try:
                if failed is not None:
                    raise failed
                if tag == "iati-activity":
                    result: r.Activity | r.Organisation | list[r.Problem] = read_activity_element(
                        el,
                        header.iati_version,
                        validate=validate,
                        raw=raw,
                        line_offset=line_offset,
                        long=long,
                    )
                else:
                    result = read_organisation_element(
                        el, header.iati_version, validate=validate, raw=raw or b""
                    )
            except standard.StandardError:
                raise  # the schemas are broken: an installation error, not this file's problem
            except Exception as e:  # noqa: BLE001 - one unreadable activity must not end the run
                ident = clean(
                    el.findtext("iati-identifier") or el.findtext("organisation-identifier")
                )
                result = [
                    r.Problem(
                        "error",
                        "activity-unreadable",
                        f"skipped: reading it failed with {type(e).__name__}: {e}",
                        (line_of(el) or 0) + line_offset,
                        ident,
                    )
                ]
            if isinstance(result, list):
                yield from result
            else:
                yield result
            if progress is not None:
                progress(f.tell())
            _release(el)
            transactions, long, failed = 0, None, None
    except etree.XMLSyntaxError as e:
        line = e.lineno + line_offset if e.lineno else None
        raise FileError("xml-syntax", f"not well-formed XML: {e.msg}", line) from e


def _depth(el: etree._Element) -> int:
    """How deep ``el`` is in its tree (the root is 0)."""
    depth = 0
    parent = el.getparent()
    while parent is not None:
        depth, parent = depth + 1, parent.getparent()
    return depth


def _release(el: etree._Element) -> None:
    """Free a read element and its earlier siblings: memory stays flat whatever the size."""
    el.clear()
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]
