"""Checks of one activity against the IATI schema of its version and the main codelists."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, cast

from lxml import etree

from iatiportal import standard
from iatiportal.ingest import records as r
from iatiportal.ingest.extract import line_of
from iatiportal.ingest.versions import LATEST_VERSION, SCHEMA_FOR_VERSION

MAX_SCHEMA_ERRORS = 5
"""Schema errors recorded per activity; the rest are counted in one message."""

_SAFE = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _schema(version: str, kind: str) -> etree.XMLSchema:
    # Compiled once per file; a schema that does not compile raises standard.StandardError,
    # an installation error that ends the run (never a problem recorded against the file).
    return standard.compiled_schema(version, kind)


def schema_version(version: str | None) -> str:
    """The schema that checks files claiming ``version``."""
    return SCHEMA_FOR_VERSION.get((version or "").strip(), LATEST_VERSION)


SchemaError = tuple[int | None, str]
"""(line, message) of one schema error."""


def _errors(schema: etree.XMLSchema, el: etree._Element) -> list[SchemaError]:
    if schema.validate(el):
        return []
    return [(e.line or None, e.message) for e in cast(Iterable[Any], schema.error_log)]


class SchemaCheck:
    """Elements checked one at a time against the schema of a version: the transactions that
    ingest.long_activity takes out of a long activity (an element the schema declares
    globally can be checked alone). Keeps the first MAX_SCHEMA_ERRORS errors, counts the rest.
    """

    def __init__(self, version: str | None, kind: str = "activities") -> None:
        self.schema = _schema(schema_version(version), kind)
        self.errors: list[SchemaError] = []
        self.more = 0

    def check(self, el: etree._Element) -> None:
        for error in _errors(self.schema, el):
            if len(self.errors) < MAX_SCHEMA_ERRORS:
                self.errors.append(error)
            else:
                self.more += 1


def schema_problems(
    el: etree._Element,
    version: str | None,
    identifier: str | None,
    kind: str = "activities",
    line_offset: int = 0,
    checked: SchemaCheck | None = None,
) -> list[r.Problem]:
    """Schema errors of ``el`` (validated as the root of its own document), with those of
    the elements ``checked`` apart from it, in document order."""
    errors = _errors(_schema(schema_version(version), kind), el)
    more = 0
    if checked is not None:
        errors = sorted([*errors, *checked.errors], key=lambda e: e[0] or 0)
        more = checked.more
    out = [
        r.Problem("error", "schema", message, (line + line_offset) if line else None, identifier)
        for line, message in errors[:MAX_SCHEMA_ERRORS]
    ]
    more += max(len(errors) - MAX_SCHEMA_ERRORS, 0)
    if more:
        out.append(
            r.Problem(
                "error",
                "schema",
                f"{more} more schema errors",
                line_of(el),
                identifier,
            )
        )
    return out


def codelist(name: str) -> frozenset[str]:
    """The codes of an IATI codelist (2.03 edition)."""
    return _codelist(name, os.environ.get("IATIPORTAL_STANDARD_DIR"))


@functools.cache
def _codelist(name: str, _standard_dir: str | None) -> frozenset[str]:
    # Found once per installed copy: finding the path resolves the package's folder on disk,
    # which cost more than all the rest of the validation (26 lists for each activity).
    return _codes(standard.codelist_path(name))


@functools.cache
def _codes(path: Path) -> frozenset[str]:
    tree = etree.parse(str(path), _SAFE)
    return frozenset(
        code.text.strip() for code in tree.iterfind(".//codelist-item/code") if code.text
    )


def _money(a: r.Activity) -> Iterator[str | None]:
    yield a.default_currency
    for b in a.budgets:
        yield b.currency
    for p in a.planned_disbursements:
        yield p.currency


def _orgs(a: r.Activity) -> Iterator[str | None]:
    yield a.reporting_org.type
    for p in a.participating_orgs:
        yield p.type


_CHECKS: list[tuple[str, Callable[[r.Activity], Iterable[str | None]]]] = [
    ("Currency", _money),
    ("ActivityStatus", lambda a: [a.activity_status]),
    ("ActivityScope", lambda a: [a.activity_scope]),
    ("CollaborationType", lambda a: [a.collaboration_type]),
    ("FlowType", lambda a: [a.default_flow_type]),
    ("FinanceType", lambda a: [a.default_finance_type]),
    ("TiedStatus", lambda a: [a.default_tied_status]),
    ("OrganisationType", _orgs),
    ("OrganisationRole", lambda a: (p.role for p in a.participating_orgs)),
    ("ActivityDateType", lambda a: (d.type for d in a.activity_dates)),
    ("DescriptionType", lambda a: (d.type for d in a.descriptions)),
    ("Country", lambda a: (c.code for c in a.recipient_countries)),
    ("Region", lambda a: (g.code for g in a.recipient_regions if g.vocabulary == "1")),
    ("Sector", lambda a: (s.code for s in a.sectors if s.vocabulary == "1")),
    ("SectorCategory", lambda a: (s.code for s in a.sectors if s.vocabulary == "2")),
    ("SectorVocabulary", lambda a: (s.vocabulary for s in a.sectors)),
    ("TransactionType", lambda a: ()),  # the transactions' codes only (below)
    ("BudgetType", lambda a: (b.type for b in a.budgets)),
    ("BudgetStatus", lambda a: (b.status for b in a.budgets)),
    ("PolicyMarker", lambda a: (p.code for p in a.policy_markers if p.vocabulary == "1")),
    ("PolicySignificance", lambda a: (p.significance for p in a.policy_markers)),
    ("ResultType", lambda a: (x.type for x in a.results)),
    ("IndicatorMeasure", lambda a: (i.measure for x in a.results for i in x.indicators)),
    ("DocumentCategory", lambda a: (c for d in a.document_links for c in d.categories)),
    ("RelatedActivityType", lambda a: (x.type for x in a.related_activities)),
    ("HumanitarianScopeType", lambda a: (h.type for h in a.humanitarian_scopes)),
]


_TRANSACTION_CODES: tuple[tuple[str, Callable[[r.Transaction], str | None]], ...] = (
    ("Currency", lambda t: t.currency),
    ("FlowType", lambda t: t.flow_type),
    ("FinanceType", lambda t: t.finance_type),
    ("TiedStatus", lambda t: t.tied_status),
    ("Country", lambda t: t.recipient_country_code),
    ("TransactionType", lambda t: t.transaction_type),
)
"""The codes of each transaction, checked in one pass over the transactions (which a long
activity reads back from a file: ingest.spill)."""


def codelist_problems(a: r.Activity) -> list[r.Problem]:
    """Codes that are not in their codelist, and money with no currency at all."""
    standard_dir = os.environ.get("IATIPORTAL_STANDARD_DIR")  # once, not per list (issue 14)
    found: dict[str, set[str]] = {name: set() for name, _code in _TRANSACTION_CODES}
    missing = 0
    for t in a.transactions:
        for name, code in _TRANSACTION_CODES:
            value = code(t)
            if value is not None:
                found[name].add(value)
        missing += t.currency is None and t.value is not None
    out: list[r.Problem] = []
    for name, values in _CHECKS:
        codes = _codelist(name, standard_dir)
        # Only the codes not in the list are collected: almost every code is in it.
        unknown = {v for v in values(a) if v not in codes and v is not None}
        if name in found:
            unknown.update(found[name] - codes)
        if not unknown:
            continue
        bad = sorted(unknown)
        out.extend(
            r.Problem(
                "warning",
                f"codelist-{name}",
                f"{v!r} is not a code of {name}",
                a.source_line,
                a.iati_identifier,
            )
            for v in bad
        )
    if a.default_currency is None:
        missing += sum(1 for b in a.budgets if b.currency is None and b.value is not None)
        if missing:
            out.append(
                r.Problem(
                    "error",
                    "currency-missing",
                    f"{missing} values have no currency and the activity has no default-currency",
                    a.source_line,
                    a.iati_identifier,
                )
            )
    return out
