"""Checks of one activity against the IATI schema of its version and the main codelists."""

from __future__ import annotations

import functools
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


@functools.cache
def _schema(version: str, kind: str) -> etree.XMLSchema:
    path = standard.schema_path(version, kind)
    return etree.XMLSchema(etree.parse(str(path), _SAFE))


def schema_version(version: str | None) -> str:
    """The schema that checks files claiming ``version``."""
    return SCHEMA_FOR_VERSION.get((version or "").strip(), LATEST_VERSION)


def schema_problems(
    el: etree._Element,
    version: str | None,
    identifier: str | None,
    kind: str = "activities",
    line_offset: int = 0,
) -> list[r.Problem]:
    """Schema errors of ``el`` (validated as the root of its own document)."""
    schema = _schema(schema_version(version), kind)
    if schema.validate(el):
        return []
    errors: list[Any] = list(cast(Iterable[Any], schema.error_log))
    out = [
        r.Problem(
            "error", "schema", e.message, (e.line + line_offset) if e.line else None, identifier
        )
        for e in errors[:MAX_SCHEMA_ERRORS]
    ]
    if len(errors) > MAX_SCHEMA_ERRORS:
        out.append(
            r.Problem(
                "error",
                "schema",
                f"{len(errors) - MAX_SCHEMA_ERRORS} more schema errors",
                line_of(el),
                identifier,
            )
        )
    return out


@functools.cache
def codelist(name: str) -> frozenset[str]:
    """The codes of an IATI codelist (2.03 edition)."""
    path: Path = standard.codelist_dir() / f"{name}.xml"
    tree = etree.parse(str(path), _SAFE)
    return frozenset(
        code.text.strip() for code in tree.iterfind(".//codelist-item/code") if code.text
    )


def _money(a: r.Activity) -> Iterator[str | None]:
    yield a.default_currency
    for t in a.transactions:
        yield t.currency
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
    ("FlowType", lambda a: [a.default_flow_type, *(t.flow_type for t in a.transactions)]),
    ("FinanceType", lambda a: [a.default_finance_type, *(t.finance_type for t in a.transactions)]),
    ("TiedStatus", lambda a: [a.default_tied_status, *(t.tied_status for t in a.transactions)]),
    ("OrganisationType", _orgs),
    ("OrganisationRole", lambda a: (p.role for p in a.participating_orgs)),
    ("ActivityDateType", lambda a: (d.type for d in a.activity_dates)),
    ("DescriptionType", lambda a: (d.type for d in a.descriptions)),
    (
        "Country",
        lambda a: [
            *(c.code for c in a.recipient_countries),
            *(t.recipient_country_code for t in a.transactions),
        ],
    ),
    ("Region", lambda a: (g.code for g in a.recipient_regions if g.vocabulary == "1")),
    ("Sector", lambda a: (s.code for s in a.sectors if s.vocabulary == "1")),
    ("SectorCategory", lambda a: (s.code for s in a.sectors if s.vocabulary == "2")),
    ("SectorVocabulary", lambda a: (s.vocabulary for s in a.sectors)),
    ("TransactionType", lambda a: (t.transaction_type for t in a.transactions)),
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


def codelist_problems(a: r.Activity) -> list[r.Problem]:
    """Codes that are not in their codelist, and money with no currency at all."""
    out: list[r.Problem] = []
    for name, values in _CHECKS:
        codes = codelist(name)
        bad = sorted({v for v in values(a) if v is not None and v not in codes})
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
        missing = sum(1 for t in a.transactions if t.currency is None and t.value is not None)
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
