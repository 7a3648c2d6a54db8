"""The IATI Standard rulesets (IATI/IATI-Rulesets, ``rulesets/standard.json`` of version 2.03),
checked at ingest on each activity and organisation of a 2.0x file.

Each rule is recorded under the IATI Validator's identifier (``11.1.2``), with the severity the
rule set gives it and the rule set's message, followed by what was found. A rule broken by
several elements of one activity (three transactions dated in the future) is one problem, on
the line of the first, with the count. The rule set's conditions are written here as XPath on
the lxml element, compiled once; nothing is parsed again. Dates are compared as calendar
dates; "the future" is after today (UTC).

Implemented (activities): 1.1.3, 1.1.21, 1.3.1, 1.3.13, 1.4.1, 1.5.1, 1.6.1, 1.7.1, 1.8.1,
1.8.13, 1.9.1, 1.10.1, 1.10.13, 1.11.1, 1.11.13, 1.14.1, 1.14.8, 1.14.13, 1.15.1, 1.15.13,
1.16.1, 2.1.1, 2.1.2, 2.1.4, 2.2.1, 3.1.1, 3.1.2, 3.1.4, 3.4.1, 3.4.2, 3.4.4, 3.6.2, 3.7.1,
3.7.2, 4.1.1, 4.3.1, 4.4.1, 6.2.2, 6.6.2, 6.7.2, 6.8.1, 6.9.1, 6.9.2, 6.10.1, 6.11.1, 6.13.1,
6.14.1, 7.5.3, 7.8.1, 7.9.1, 7.9.2, 7.9.4, 8.6.1, 8.6.3, 8.8.1, 8.8.2, 8.8.3, 8.9.1, 8.9.2,
8.9.3, 8.10.1, 8.10.2, 8.10.3, 8.11.1, 11.1.1, 11.1.2, 11.1.3, 11.1.4, 11.1.5, 11.2.1, 11.2.2,
12.1.1, 12.2.1, 12.3.1, 102.1.1, 107.1.1, 107.1.2, 107.2.1, 107.2.2.
Implemented (organisations): 1.12.1, 1.12.13, 1.17.1, 1.18.1, 1.18.8, 1.18.13, 4.3.1, 4.4.1,
4.5.1, 7.5.3, 7.8.2, 8.6.3, 11.3.1, 11.4.1.

The rules about transactions (6.2.2, 6.6.2, 6.7.2, 3.6.2, 3.7.1, 3.7.2, 107.2.1, 107.2.2,
11.2.1, 11.2.2 and those on provider-org and receiver-org of transactions) read each
transaction once, in ``TransactionRules``: those of a small activity from its element, those
of an activity with very many transactions (ingest.long_activity) as each is parsed, most of
them never in the element together. Both give the same problems (rule, count, first line); what
is kept does not grow with the number of transactions.

1.14.8 and 1.18.8 (the reporting organisation's identifier starts with a registration agency
prefix): the prefix is the identifier's first two hyphen-separated parts, as the Validator reads
it, and must be a code of the OrganisationRegistrationAgency codelist we ship (withdrawn codes
included: identifiers made with them stay valid). The Validator spares identifiers of
publishers registered with the IATI Registry (``NOT_EXISTING_ORG_ID``): the ingest finds the
problem on every identifier, and iatiportal.store.registry removes those of registered
publishers from the store (``iatiportal registry publishers`` loads their list); without a list
each such problem says so. The severity (error) and the message are written here: the rule
set's own wording for these two was not at hand.

Left out, and why:

- The same registry condition on the ``/ & | ?`` rules (1.x.13) only spares a registered
  identifier that holds one of these symbols: we apply those rules to every identifier (a known
  difference).
- The link check (a linked activity that no file defines) needs every file: not a per-activity
  rule, so not here.
- Activity files of versions 1.0x are checked by the Validator against other rule sets (other
  identifiers, no ``narrative``): no rule of this module runs on them.
"""

# ruff: noqa: E501  (the rule set's messages, kept whole)
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from iatiportal.ingest import records as r
from iatiportal.ingest.validate import codelist

GUIDANCE = "https://iatistandard.org/en/guidance/standard-guidance/"
REFERENCE = "https://iatistandard.org/en/iati-standard/203/"


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: str  # "error" | "warning", as the rule set says
    message: str
    link: str  # the guidance or reference page the rule set points to


def _rules(*rows: tuple[str, str, str, str]) -> dict[str, Rule]:
    out = {}
    for ident, severity, message, link in rows:
        url = link if link.startswith("https://") else REFERENCE + link
        out[ident] = Rule(ident, severity, message, url)
    return out


_DATES = GUIDANCE + "activity-dates-status/"
_SECTORS = GUIDANCE + "activity-thematic-focus/"
_GEO = GUIDANCE + "countries-regions/"
_TRANSACTIONS = GUIDANCE + "financial-transactions/"
_CLASSIFICATIONS = GUIDANCE + "activity-classifications/"
_ORG_BUDGETS = GUIDANCE + "organisation-budgets-spend/"
_BUDGETS = GUIDANCE + "activity-budgets/"
_ORG_ID = (
    "https://iatistandard.org/en/guidance/preparing-organisation/organisation-account/"
    "how-to-create-your-iati-organisation-identifier/"
)
_ACT = "activity-standard/iati-activities/iati-activity/"
_ORG = "organisation-standard/iati-organisations/iati-organisation/"
_SYMBOLS = "must not contain any of the symbols /, &, | or ?."
_SPACES = "should not start or end with spaces or newlines."
_PREFIX = (
    "must start with the prefix of a registration agency on the OrganisationRegistrationAgency "
    "codelist (e.g. GB-COH-), unless it is that of a publisher registered with the IATI Registry."
)
_NON_QUALITATIVE = "non-qualitative (e.g. 1 = unit, 2 = percentage, 3 = nominal, 4 = ordinal)."

RULES: dict[str, Rule] = _rules(
    (
        "1.1.3",
        "error",
        "The activity identifier must be different to the organisation identifier of the reporting organisation.",
        _ACT + "iati-identifier/",
    ),
    (
        "1.1.21",
        "warning",
        "The activity identifier should begin with your IATI organisation identifier (either the current IATI Organisation identifier for the reporting organisation or a previous version included in other-identifier element) followed by a unique string for the activity separated by a hyphen",
        _ACT + "iati-identifier/",
    ),
    ("1.3.1", "warning", f"The iati-identifier {_SPACES}", _ACT + "iati-identifier/"),
    ("1.3.13", "warning", f"The iati-identifier {_SYMBOLS}", _ACT + "iati-identifier/"),
    (
        "1.4.1",
        "warning",
        f"The provider-org activity identifier {_SPACES}",
        _ACT + "transaction/provider-org/",
    ),
    (
        "1.5.1",
        "warning",
        f"The receiver-org activity identifier {_SPACES}",
        _ACT + "transaction/receiver-org/",
    ),
    ("1.6.1", "warning", f"The previous activity identifier {_SPACES}", _ACT + "other-identifier/"),
    ("1.7.1", "warning", f"The related activity identifier {_SPACES}", _ACT + "related-activity/"),
    (
        "1.8.1",
        "warning",
        f"The participating-org identifier {_SPACES}",
        _ACT + "participating-org/",
    ),
    ("1.8.13", "warning", f"The receiver-org identifier {_SYMBOLS}", _ACT + "participating-org/"),
    (
        "1.9.1",
        "warning",
        f"The participating-org activity identifier {_SPACES}",
        _ACT + "participating-org/",
    ),
    (
        "1.10.1",
        "warning",
        f"The provider organisation identifier {_SPACES}",
        _ACT + "transaction/provider-org/",
    ),
    (
        "1.10.13",
        "warning",
        f"The provider organisation identifier {_SYMBOLS}",
        _ACT + "transaction/provider-org/",
    ),
    (
        "1.11.1",
        "warning",
        f"The owner organisation identifier {_SPACES}",
        _ACT + "other-identifier/owner-org/",
    ),
    (
        "1.11.13",
        "warning",
        f"The owner organisation identifier {_SYMBOLS}",
        _ACT + "other-identifier/owner-org/",
    ),
    ("1.12.1", "warning", f"The organisation-identifier {_SPACES}", _ORG_ID),
    ("1.12.13", "warning", f"The organisation-identifier {_SYMBOLS}", _ORG_ID),
    ("1.14.1", "warning", f"The reporting-org identifier {_SPACES}", _ORG_ID),
    ("1.14.13", "warning", f"The reporting-org identifier {_SYMBOLS}", _ORG_ID),
    ("1.14.8", "error", f"The reporting-org identifier {_PREFIX}", _ORG_ID),
    (
        "1.15.1",
        "warning",
        f"The receiver-org identifier {_SPACES}",
        _ACT + "transaction/receiver-org/",
    ),
    (
        "1.15.13",
        "warning",
        f"The receiver-org identifier {_SYMBOLS}",
        _ACT + "transaction/receiver-org/",
    ),
    (
        "1.16.1",
        "warning",
        f"The previous reporting organisation identifier {_SPACES}",
        _ACT + "other-identifier/",
    ),
    (
        "1.17.1",
        "warning",
        f"The recipient organisation identifier {_SPACES}",
        _ORG + "recipient-org-budget/recipient-org/",
    ),
    ("1.18.1", "warning", f"The reporting-org identifier {_SPACES}", _ORG_ID),
    ("1.18.13", "warning", f"The reporting-org identifier {_SYMBOLS}", _ORG_ID),
    ("1.18.8", "error", f"The reporting-org identifier {_PREFIX}", _ORG_ID),
    (
        "2.1.1",
        "error",
        "When multiple sectors, within a vocabulary (e.g. 1 - OECD DAC) are declared, each must have a percentage.",
        _SECTORS,
    ),
    (
        "2.1.2",
        "error",
        "Percentage values for sectors, within a vocabulary (e.g. 1 - OECD DAC), must add up to 100%.",
        _SECTORS,
    ),
    (
        "2.1.4",
        "error",
        "When a single sector is declared, the percentage must either be omitted, or set to 100.",
        _SECTORS,
    ),
    (
        "2.2.1",
        "error",
        "When using a reporting organisation sector code (vocabulary 98 or 99), it must include a narrative.",
        _SECTORS,
    ),
    (
        "3.1.1",
        "error",
        "When multiple recipient countries are declared, each must have a percentage.",
        _GEO,
    ),
    ("3.1.2", "error", "Percentage values for recipient countries, must add up to 100%.", _GEO),
    (
        "3.1.4",
        "error",
        "When a single recipient country is declared, the percentage must either be omitted, or set to 100.",
        _GEO,
    ),
    (
        "3.4.1",
        "error",
        "When multiple recipient countries or regions are declared, each must have a percentage.",
        _GEO,
    ),
    (
        "3.4.2",
        "error",
        "Percentage values for recipient countries or regions, must add up to 100%.",
        _GEO,
    ),
    (
        "3.4.4",
        "error",
        "When a single recipient region in a vocabulary is declared, the percentage must either be omitted, or set to 100.",
        _GEO,
    ),
    (
        "3.6.2",
        "error",
        "Recipient countries or regions must only be declared at activity level OR for all transactions.",
        _TRANSACTIONS,
    ),
    (
        "3.7.1",
        "error",
        "Recipient country or recipient region should be declared for either the activity or for all transactions.",
        _GEO,
    ),
    (
        "3.7.2",
        "error",
        "Recipient country or recipient region should be declared for either the activity or for all transactions.",
        _GEO,
    ),
    (
        "4.1.1",
        "error",
        "The activity should specify a default language OR the language must be specified for each narrative element.",
        "codelists/Language/",
    ),
    ("4.3.1", "error", "The title must contain narrative content.", _ACT + "title/"),
    ("4.4.1", "error", "The description must contain narrative content.", _ACT + "description/"),
    (
        "4.5.1",
        "error",
        "The organisation should specify a default language, or the language should be specified for each narrative element.",
        "codelists/Language/",
    ),
    (
        "6.2.2",
        "error",
        "Each activity must have a specified sector, either at activity level OR for all transactions.",
        _SECTORS,
    ),
    (
        "6.6.2",
        "error",
        "Sectors must only be declared at activity level OR for all transactions.",
        _SECTORS,
    ),
    (
        "6.7.2",
        "error",
        "If sector is declared at transaction level, a sector must be declared for all transactions.",
        _SECTORS,
    ),
    (
        "6.8.1",
        "error",
        "The owner organisation must have an identifier or a narrative.",
        _ACT + "other-identifier/owner-org/narrative",
    ),
    (
        "6.9.1",
        "error",
        "The provider organisation must have an organisation identifier or a narrative.",
        _ACT + "transaction/provider-org/narrative/",
    ),
    (
        "6.9.2",
        "error",
        "The receiver organisation must have an organisation identifier or a narrative.",
        _ACT + "transaction/receiver-org/narrative/",
    ),
    (
        "6.10.1",
        "error",
        "The participating organisation must have an identifier or a narrative.",
        GUIDANCE + "activity-participants/",
    ),
    (
        "6.11.1",
        "error",
        "The activity must have a planned start date or an actual start date.",
        _DATES,
    ),
    (
        "6.13.1",
        "error",
        "When using a reporting organisation policy marker code (vocabulary 99), it must include a narrative.",
        _CLASSIFICATIONS,
    ),
    (
        "6.14.1",
        "error",
        "When using a policy marker code for vocabulary 1, it must include a significance.",
        _CLASSIFICATIONS,
    ),
    ("7.5.3", "error", "Budget Period must not be longer than one year.", _BUDGETS),
    (
        "7.8.1",
        "error",
        "The activity should specify a default currency OR the currency must be specified for each monetary value.",
        "codelists/Currency/",
    ),
    (
        "7.8.2",
        "error",
        "The financial value must have a specified currency, or the organisation must declare a default currency.",
        "codelists/Currency/",
    ),
    (
        "7.9.1",
        "warning",
        "When multiple budget items are declared, each must have a percentage.",
        _ACT + "country-budget-items/budget-item/",
    ),
    (
        "7.9.2",
        "warning",
        "Percentage values for budget items, should add up to 100%.",
        _ACT + "country-budget-items/budget-item/",
    ),
    (
        "7.9.4",
        "warning",
        "When a single budget item is declared, the percentage must either be omitted, or set to 100.",
        _ACT + "country-budget-items/budget-item/",
    ),
    (
        "8.6.1",
        "error",
        "The start date of the indicator period must be before the end date of the indicator period.",
        _ACT + "result/indicator/period/period-start/",
    ),
    (
        "8.6.3",
        "error",
        "The start of the period must be before the end of the period.",
        _ORG_BUDGETS,
    ),
    (
        "8.8.1",
        "error",
        f"The baseline must have a value when the indicator measure is {_NON_QUALITATIVE}",
        _ACT + "result/indicator/baseline/",
    ),
    (
        "8.8.2",
        "warning",
        "The baseline value should be a valid number for all non-qualitative measures (e.g. 1 = unit, 2 = percentage, 3 = nominal, 4 = ordinal).",
        _ACT + "result/indicator/baseline/",
    ),
    (
        "8.8.3",
        "warning",
        "The baseline value should be omitted for qualitative measures.",
        _ACT + "result/indicator/baseline/",
    ),
    (
        "8.9.1",
        "error",
        f"The target must have a value when indicator measure is {_NON_QUALITATIVE}",
        _ACT + "result/indicator/period/target/",
    ),
    (
        "8.9.2",
        "warning",
        "The target value should be a valid number for all non-qualitative measures (e.g. 1 = unit, 2 = percentage, 3 = nominal, 4 = ordinal).",
        _ACT + "result/indicator/period/target/",
    ),
    (
        "8.9.3",
        "warning",
        "The target value should be omitted for qualitative measures.",
        _ACT + "result/indicator/period/target/",
    ),
    (
        "8.10.1",
        "error",
        f"The actual must have a value when the indicator measure is {_NON_QUALITATIVE}",
        _ACT + "result/indicator/period/actual/",
    ),
    (
        "8.10.2",
        "warning",
        "The actual value should be a valid number for all non-qualitative indicator measures (e.g. 1 = unit, 2 = percentage, 3 = nominal, 4 = ordinal).",
        _ACT + "result/indicator/period/actual/",
    ),
    (
        "8.10.3",
        "warning",
        "The actual value should be omitted for qualitative indicator measures.",
        _ACT + "result/indicator/period/actual/",
    ),
    (
        "8.11.1",
        "error",
        "A reference code must only be declared at result OR result indicator level.",
        _ACT + "result/indicator/reference/",
    ),
    (
        "11.1.1",
        "error",
        "The last updated datetime of the activity must not be in the future.",
        _ACT,
    ),
    (
        "11.1.2",
        "error",
        "The planned start date of the activity must be before the planned end date.",
        _DATES,
    ),
    (
        "11.1.3",
        "error",
        "The actual start date of the activity must be before the actual end date.",
        _DATES,
    ),
    ("11.1.4", "error", "The actual start date of the activity must not be in the future.", _DATES),
    ("11.1.5", "error", "The actual end date of the activity must not be in the future.", _DATES),
    ("11.2.1", "error", "The transaction date must not be in the future.", _TRANSACTIONS),
    ("11.2.2", "error", "The transaction value date must not be in the future.", _TRANSACTIONS),
    (
        "11.3.1",
        "error",
        "The budget line value date must be within the budget period.",
        _ORG_BUDGETS,
    ),
    (
        "11.4.1",
        "error",
        "The last updated datetime of the organisation must not be in the future.",
        _ORG,
    ),
    (
        "12.1.1",
        "error",
        "The country/region percentage value must be between 0.0 and 100.0 (inclusive).",
        _GEO,
    ),
    (
        "12.2.1",
        "error",
        "The percentage value must be between 0.0 and 100.0 (inclusive).",
        _ACT + "capital-spend/",
    ),
    (
        "12.3.1",
        "error",
        "The sector percentage value must be between 0.0 and 100.0 (inclusive).",
        _SECTORS,
    ),
    (
        "102.1.1",
        "warning",
        "When a non OECD DAC sector vocabulary is used, sector vocabulary 1 - OECD DAC should also be used.",
        _SECTORS,
    ),
    (
        "107.1.1",
        "warning",
        "The activity should also declare an aid type code from aid type vocabulary 1 - OECD DAC.",
        _CLASSIFICATIONS,
    ),
    (
        "107.1.2",
        "warning",
        "Each activity should only contain one default aid type code per aid type vocabulary (e.g. 1 - OECD DAC)",
        _CLASSIFICATIONS,
    ),
    (
        "107.2.1",
        "warning",
        "The transaction should also contain a code from the OECD DAC aid type vocabulary.",
        _CLASSIFICATIONS,
    ),
    (
        "107.2.2",
        "warning",
        "Each transaction should only contain one aid type code per aid type vocabulary (e.g. 1 - OECD DAC)",
        _CLASSIFICATIONS,
    ),
)


Children = dict[Any, list[etree._Element]]
"""An element's children by tag (comments under their function), in document order."""

_HEAD = re.compile(r"([a-z][a-z-]*)(?:[/\[]|$)")
"""The child element a path starts from (``sector`` of ``sector/@percentage``)."""


class X:
    """An XPath expression compiled once, giving a list (node sets are all the rules use).

    ``children``: ``el``'s children by tag, in document order, when the caller has them: a
    path that starts from a child element not among them finds nothing, and a path that is
    only a child's name is those children; neither is evaluated (the XPath call is most of
    the cost of a rule, and most rules are about elements an activity does not have).
    """

    __slots__ = ("head", "path", "whole")

    def __init__(self, path: str) -> None:
        self.path = etree.XPath(path)
        head = _HEAD.match(path) if "|" not in path else None
        self.head = head.group(1) if head is not None else None
        self.whole = path == self.head

    def __call__(self, el: Any, children: Children | None = None, **variables: str) -> list[Any]:
        if children is not None and self.head is not None:
            if self.head not in children:
                return []
            if self.whole:
                return list(children[self.head])
        found = self.path(el, **variables)
        return found if isinstance(found, list) else []


DAC_VOCABULARY = "[@vocabulary = '1' or @vocabulary = '' or not(@vocabulary)]"
NUMBER = re.compile(r"\s*-?(?:\d+(?:\.\d*)?|\.\d+)\s*")
"""A number as XPath's ``number()`` reads one (the rule set's ``number(@value) = @value``)."""
SYMBOLS = re.compile(r"[^/&|?]+")
HUNDRED = Decimal(100)


def _line(node: Any) -> int | None:
    """The line of an element, or of the element that holds an attribute or text."""
    el = node if isinstance(node, etree._Element) else getattr(node, "getparent", lambda: None)()
    line = getattr(el, "sourceline", None)
    return line if isinstance(line, int) else None


def _text(node: Any) -> str:
    return (node.text or "") if isinstance(node, etree._Element) else str(node)


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


def _decimal(value: Any) -> Decimal | None:
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


class _Found:
    """The rules an element broke: per rule, how often, the first line and what was found."""

    def __init__(
        self,
        ident: str | None,
        line: int | None,
        line_offset: int,
        children: Children | None = None,
    ) -> None:
        self.ident, self.line, self.offset = ident, line, line_offset
        self.children = children  # the element's, by tag (see X)
        self.hits: dict[str, list[Any]] = {}

    def fail(self, rule: str, node: Any = None, detail: str = "") -> None:
        hit = self.hits.get(rule)
        if hit is not None:
            hit[0] += 1
            return
        line = _line(node) if node is not None else None
        self.hits[rule] = [1, line + self.offset if line is not None else self.line, detail]

    def hit(self, rule: str, line: int | None, detail: str = "", n: int = 1) -> None:
        """``n`` hits of ``rule`` found elsewhere (the first at ``line`` of the element,
        without the line offset)."""
        hit = self.hits.get(rule)
        if hit is not None:
            hit[0] += n
            return
        self.hits[rule] = [n, line + self.offset if line is not None else self.line, detail]

    def problems(self) -> list[r.Problem]:
        out = []
        for ident, (n, line, detail) in self.hits.items():
            rule = RULES[ident]
            message = rule.message
            if detail:
                message += f" Found: {detail}."
            if n > 1:
                message += f" ({n} times in all)"
            out.append(r.Problem(rule.severity, ident, message, line, self.ident))
        return out


def _no_spaces(found: _Found, rule: str, nodes: Iterable[Any]) -> None:
    for node in nodes:
        value = _text(node)
        if value != value.strip():
            found.fail(rule, node, repr(value))


def _symbols(found: _Found, rule: str, nodes: Iterable[Any]) -> None:
    for node in nodes:
        value = _text(node)
        if not SYMBOLS.fullmatch(value):
            found.fail(rule, node, repr(value))


def _not_future(found: _Found, rule: str, nodes: Iterable[Any], today: dt.date) -> None:
    for node in nodes:
        d = _date(node)
        if d is not None and d > today:
            found.fail(rule, node, str(d))


def _first_date(el: etree._Element, tag: str) -> tuple[dt.date | None, Any]:
    """The date of the first ``tag`` child with an ``iso-date`` (``tag/@iso-date``), and that
    child (which gives the line)."""
    for child in el.iterchildren(tag):
        value = child.get("iso-date")
        if value is not None:
            return _date(value), child
    return None, None


def _dated(el: etree._Element | None) -> dt.date | None:
    return _date(el.get("iso-date")) if el is not None else None


def _order(
    found: _Found, rule: str, less: etree._Element | None, more: etree._Element | None
) -> None:
    """The first date of one kind (``less``, an element with ``iso-date``) is not after the
    first of another (``more``)."""
    start, end = _dated(less), _dated(more)
    if start is not None and end is not None and start > end:
        found.fail(rule, less, f"{start} after {end}")


def _one_year_on(d: dt.date) -> dt.date:
    try:
        return d.replace(year=d.year + 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year + 1, day=28)


def _period(found: _Found, el: etree._Element, *, order: str, limit: bool) -> None:
    """``period-start`` before ``period-end`` (rule ``order``) and, with ``limit``, not more
    than a year apart (7.5.3)."""
    start, node = _first_date(el, "period-start")
    end, _ = _first_date(el, "period-end")
    if start is None or end is None:
        return
    if start > end:
        found.fail(order, node, f"{start} after {end}")
    elif limit and end > _one_year_on(start):
        found.fail("7.5.3", node, f"{start} to {end}")


def _sum(found: _Found, rule: str, el: etree._Element, nodes: list[Any]) -> None:
    """The given percentages add up to exactly 100 (the rule set's strict sum)."""
    values = [_decimal(n) for n in nodes]
    if not values or None in values:
        return  # none given (another rule says so) or not numbers (the schema says so)
    total = sum(v for v in values if v is not None)
    if total != HUNDRED:
        found.fail(rule, nodes[0], f"{total}")


def _single(found: _Found, rule: str, nodes: list[Any]) -> None:
    """One element: its percentage omitted or 100."""
    for node in nodes:
        given = node.get("percentage")
        if given is not None and _decimal(given) != HUNDRED:
            found.fail(rule, node, f"percentage {given!r}")


def _each_has_percentage(found: _Found, rule: str, nodes: list[Any]) -> None:
    lacking = [n for n in nodes if n.get("percentage") is None]
    if len(nodes) > 1 and lacking:
        found.fail(rule, lacking[0], f"{len(lacking)} of {len(nodes)} without a percentage")


def _range(found: _Found, rule: str, nodes: Iterable[Any]) -> None:
    for node in nodes:
        d = _decimal(node)
        if d is not None and not Decimal(0) <= d <= HUNDRED:
            found.fail(rule, node, str(node))


_DAC_VOCABULARY = (None, "1", "")
"""DAC_VOCABULARY, for elements at hand: vocabulary 1, empty or none."""


def _dac(elements: list[etree._Element]) -> list[etree._Element]:
    """Those of ``elements`` in the DAC vocabulary (the path's ``DAC_VOCABULARY``)."""
    return [e for e in elements if e.get("vocabulary") in _DAC_VOCABULARY]


def _attributes(elements: list[etree._Element], name: str) -> list[str]:
    """The attribute ``name`` of those of ``elements`` that have it (the path's ``/@name``,
    as strings: for the rules that need no line)."""
    return [value for e in elements if (value := e.get(name)) is not None]


def _vocabularies(nodes: Iterable[Any], dac: str = "1") -> list[str]:
    """The vocabularies other than ``dac`` (and other than empty), once each, in order."""
    return list(dict.fromkeys(str(v) for v in nodes if str(v) not in ("", dac)))


def _narratives(found: _Found, el: etree._Element) -> None:
    for rule, path in (("4.3.1", EMPTY_TITLES), ("4.4.1", EMPTY_DESCRIPTIONS)):
        for node in path(el):
            found.fail(rule, node)


def _org_refs(found: _Found, orgs: Iterable[etree._Element], rules: tuple[str, ...]) -> None:
    """atleast_one (@ref or narrative), no symbols, no spaces in @ref, no spaces in the
    activity id attribute: the rules of provider-org, receiver-org, participating-org."""
    some, symbols, spaces, activity_spaces, attribute = rules
    for org in orgs:
        ref = org.get("ref")
        if ref is None and next(org.iterchildren("narrative"), None) is None:
            found.fail(some, org)
        if ref is not None:
            _symbols_at(found, symbols, org, ref)
            if ref != ref.strip():
                found.fail(spaces, org, repr(ref))
        activity_id = org.get(attribute)
        if activity_id is not None and activity_id != activity_id.strip():
            found.fail(activity_spaces, org, repr(activity_id))


PROVIDER_RULES = ("6.9.1", "1.10.13", "1.10.1", "1.4.1", "provider-activity-id")
RECEIVER_RULES = ("6.9.2", "1.15.13", "1.15.1", "1.5.1", "receiver-activity-id")
_ORG_RULES = frozenset(PROVIDER_RULES[:4] + RECEIVER_RULES[:4])


def _count(seen: list[Any], el: etree._Element) -> None:
    """One more in ``seen`` (how many, the line of the first)."""
    if not seen[0]:
        seen[1] = _line(el)
    seen[0] += 1


class TransactionRules:
    """The rules about transactions, fed one ``transaction`` element at a time.

    Every activity's transactions go through here: those of a small activity from its
    element, those of a long one (ingest.long_activity) as they are parsed, most of them
    never in the element at once. What is kept does not grow with their number: per rule,
    the count, the first line and what was found; for the rules that compare transactions
    with the activity (sectors, countries and regions, aid types), how many transactions
    have or lack one and the first line of each. Lines are the element's own (the
    activity's line offset is added when merged).
    """

    def __init__(self, today: dt.date) -> None:
        self.today = today
        self.found = _Found(None, None, 0)
        self.count = 0
        # (how many, the line of the first): transactions with a sector and without one, with
        # a recipient country or region and without, aid-type elements.
        self.with_sector: list[Any] = [0, None]
        self.no_sector: list[Any] = [0, None]
        self.located: list[Any] = [0, None]
        self.unlocated: list[Any] = [0, None]
        self.aid_types: list[Any] = [0, None]
        self.dac_aid_type = False

    @classmethod
    def of(cls, el: etree._Element, today: dt.date) -> TransactionRules:
        """The transactions of an activity element, all in it."""
        rules = cls(today)
        for transaction in el.iterchildren("transaction"):
            rules.add(transaction)
        return rules

    def add(self, t: etree._Element) -> None:
        """One transaction of the activity, in the order of the file."""
        self.count += 1
        found = self.found
        sector: etree._Element | None = None
        located = False
        vocabularies: set[str] = set()
        for child in t:  # one pass over the children (comments too: their tag is no name)
            tag = child.tag
            if tag == "transaction-date":
                self._not_future("11.2.1", child, child.get("iso-date"))
            elif tag == "value":
                self._not_future("11.2.2", child, child.get("value-date"))
            elif tag == "provider-org":
                _org_refs(found, (child,), PROVIDER_RULES)
            elif tag == "receiver-org":
                _org_refs(found, (child,), RECEIVER_RULES)
            elif tag == "sector":
                sector = child if sector is None else sector
            elif tag in ("recipient-country", "recipient-region"):
                located = True
            elif tag == "aid-type":
                _count(self.aid_types, child)
                vocabulary = child.get("vocabulary") or "1"
                if vocabulary == "1":  # DAC_VOCABULARY: "1", "" or none
                    self.dac_aid_type = True
                if vocabulary in vocabularies:
                    found.fail("107.2.2", child)
                vocabularies.add(vocabulary)
        if sector is None:
            _count(self.no_sector, t)
        else:
            _count(self.with_sector, sector)
        _count(self.located if located else self.unlocated, t)

    def _not_future(self, rule: str, el: etree._Element, value: str | None) -> None:
        d = _date(value) if value is not None else None
        if d is not None and d > self.today:
            self.found.fail(rule, el, str(d))

    def sectors(self, found: _Found, el: etree._Element, declared: bool) -> None:
        """6.2.2, 6.6.2, 6.7.2: sectors on the activity or on every transaction."""
        if not declared and not self.with_sector[0]:
            found.fail("6.2.2", el)
        if declared and self.with_sector[0]:
            found.hit("6.6.2", self.with_sector[1])
        n, line = self.no_sector
        if not declared and n:
            found.hit("6.7.2", line, f"{n} transaction(s) without a sector")

    def geography(self, found: _Found, el: etree._Element, declared: bool) -> None:
        """3.6.2, 3.7.1, 3.7.2: countries or regions on the activity or on every transaction."""
        if declared:
            if self.located[0]:
                found.hit("3.6.2", self.located[1])
            return
        if not self.located[0]:
            found.fail("3.7.1", el)
        n, line = self.unlocated
        if n:
            found.hit("3.7.2", line, f"{n} transaction(s) without one")

    def merge(self, found: _Found, *, orgs: bool) -> None:
        """What the transactions broke, into the activity's: the rules on their provider-org
        and receiver-org (``orgs``), else the others."""
        if not orgs and self.aid_types[0] and not self.dac_aid_type:
            found.hit("107.2.1", self.aid_types[1])
        for rule, (n, line, detail) in self.found.hits.items():
            if (rule in _ORG_RULES) == orgs:
                found.hit(rule, line, detail, n)


def _agency_prefix(found: _Found, rule: str, refs: Iterable[Any]) -> None:
    """The identifier's first two parts (``GB-COH`` of ``GB-COH-123``) are a code of the
    OrganisationRegistrationAgency codelist, as the Validator reads a prefix (an identifier
    without a hyphen has none). Registered publishers are spared when the problems are stored
    (iatiportal.store.registry)."""
    agencies = codelist("OrganisationRegistrationAgency")
    for node in refs:
        value = _text(node)
        parts = value.split("-", 2)
        if len(parts) < 2 or f"{parts[0]}-{parts[1]}" not in agencies:
            found.fail(rule, node, repr(value))


def _symbols_at(found: _Found, rule: str, org: etree._Element, value: str) -> None:
    if not SYMBOLS.fullmatch(value):
        found.fail(rule, org, repr(value))


IDENTIFIER = X("iati-identifier")
REPORTING_REF = X("reporting-org/@ref")
PREVIOUS_REPORTING_REF = X("other-identifier[@type='B1']/@ref")
PREVIOUS_ACTIVITY_REF = X("other-identifier[@type='A3']/@ref")
RELATED_REF = X("related-activity/@ref")
OWNER_ORG = X("other-identifier/owner-org")
LAST_UPDATED = X("@last-updated-datetime")
SECTORS = X("sector")
DAC_SECTOR_PERCENTAGES = X(f"sector{DAC_VOCABULARY}/@percentage")
SECTORS_OF = X("sector[@vocabulary = $v]")
SECTOR_PERCENTAGES_OF = X("sector[@vocabulary = $v]/@percentage")
SECTOR_PERCENTAGES = X("sector/@percentage")
COUNTRIES = X("recipient-country")
REGIONS = X("recipient-region")
COUNTRY_PERCENTAGES = X("recipient-country/@percentage")
REGION_PERCENTAGES = X("recipient-region/@percentage")
REGIONS_OF = X("recipient-region[@vocabulary = $v]")
REGION_PERCENTAGES_OF = X("recipient-region[@vocabulary = $v]/@percentage")
CAPITAL_SPEND = X("capital-spend/@percentage")
BUDGET_ITEM_PERCENTAGES = X("country-budget-items/budget-item/@percentage")
BUDGET_ITEM_VOCABULARIES = X("country-budget-items/@vocabulary")
BUDGET_ITEMS_OF = X("country-budget-items[@vocabulary = $v]/budget-item")
BUDGET_ITEM_PERCENTAGES_OF = X("country-budget-items[@vocabulary = $v]/budget-item/@percentage")
AID_TYPES = X("default-aid-type")
AID_TYPES_OF = X("default-aid-type[@vocabulary = $v]")
NARRATIVES = X("descendant::narrative")
LANG = "{http://www.w3.org/XML/1998/namespace}lang"
VALUES = X("descendant::value | descendant::forecast | descendant::loan-status")
PLANNED_ORGS = X("planned-disbursement/provider-org")
PLANNED_RECEIVERS = X("planned-disbursement/receiver-org")
PARTICIPATING = X("participating-org")
POLICY_MARKERS = X("policy-marker")
NARRATIVE = X("narrative")
EMPTY_TITLES = X("descendant-or-self::title[not(narrative/text())]")
EMPTY_DESCRIPTIONS = X("descendant-or-self::description[not(narrative/text())]")
PLANNED_DISBURSEMENTS = X("planned-disbursement")
BUDGETS = X("budget")
INDICATORS = X("result/indicator")


def _measured(
    found: _Found, el: etree._Element, measure: str | None, rules: tuple[str, str, str]
) -> None:
    """A baseline, target or actual: a number for measures 1 to 4, none for 5 (qualitative)."""
    needed, number, omitted = rules
    value = el.get("value")
    if measure in ("1", "2", "3", "4"):
        if value is None:
            found.fail(needed, el)
        elif not NUMBER.fullmatch(value):
            found.fail(number, el, repr(value))
    elif measure == "5" and value is not None:
        found.fail(omitted, el, repr(value))


MEASURED = {
    "baseline": ("8.8.1", "8.8.2", "8.8.3"),
    "target": ("8.9.1", "8.9.2", "8.9.3"),
    "actual": ("8.10.1", "8.10.2", "8.10.3"),
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """Today (UTC): a date after it is in the future."""
    return _now().date()


def _last_updated(found: _Found, rule: str, el: etree._Element, now: dt.datetime) -> None:
    for value in LAST_UPDATED(el):
        try:
            when = dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            return  # the schema says so
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        if when > now:
            found.fail(rule, el, str(value))


def _identifiers(found: _Found, el: etree._Element) -> None:
    children = found.children
    idents = IDENTIFIER(el, children)
    reporting = REPORTING_REF(el, children)
    previous = PREVIOUS_REPORTING_REF(el, children)
    refs = [str(v) for v in reporting]
    _no_spaces(found, "1.3.1", idents)
    _symbols(found, "1.3.13", idents)
    _no_spaces(found, "1.14.1", reporting)
    _symbols(found, "1.14.13", reporting)
    _agency_prefix(found, "1.14.8", reporting)
    _no_spaces(found, "1.16.1", previous)
    _no_spaces(found, "1.6.1", PREVIOUS_ACTIVITY_REF(el, children))
    _no_spaces(found, "1.7.1", RELATED_REF(el, children))
    if not idents:
        return
    ident = _text(idents[0]).strip()
    if any(ref.strip() == ident for ref in refs):
        found.fail("1.1.3", idents[0], repr(ident))
    prefixes = [p.strip() for p in [*refs, *map(str, previous)] if p.strip()]
    if prefixes and not any(ident.startswith(p + "-") for p in prefixes):
        found.fail("1.1.21", idents[0], f"{ident!r}, reporting-org {prefixes[0]!r}")
    for owner in OWNER_ORG(el, children):
        ref = owner.get("ref")
        if ref is None and not NARRATIVE(owner):
            found.fail("6.8.1", owner)
        if ref is not None:
            _no_spaces(found, "1.11.1", [ref] if ref != ref.strip() else [])
            _symbols_at(found, "1.11.13", owner, ref)


def _sectors(found: _Found, el: etree._Element, transactions: TransactionRules) -> None:
    sectors = SECTORS(el, found.children)
    transactions.sectors(found, el, bool(sectors))
    if not sectors:
        return  # every rule below is about sectors
    dac = _dac(sectors)
    if len(dac) > 1:
        _each_has_percentage(found, "2.1.1", dac)
        percentages = DAC_SECTOR_PERCENTAGES(el)
        if len(percentages) > 1:
            _sum(found, "2.1.2", el, percentages)
    elif len(dac) == 1:
        _single(found, "2.1.4", dac)
    for vocabulary in _vocabularies(_attributes(sectors, "vocabulary")):
        of = SECTORS_OF(el, v=vocabulary)
        if len(of) > 1:
            _each_has_percentage(found, "2.1.1", of)
            _sum(found, "2.1.2", el, SECTOR_PERCENTAGES_OF(el, v=vocabulary))
        else:
            _single(found, "2.1.4", of)
    reporter = [x for x in sectors if x.get("vocabulary") in ("98", "99")]
    if sum(len(NARRATIVE(s)) for s in reporter) < len(reporter):
        found.fail("2.2.1", next(s for s in reporter if not NARRATIVE(s)))
    if sectors and not dac:
        found.fail("102.1.1", sectors[0])
    _range(found, "12.3.1", SECTOR_PERCENTAGES(el))


def _geography(found: _Found, el: etree._Element, transactions: TransactionRules) -> None:
    children = found.children
    countries, regions = COUNTRIES(el, children), REGIONS(el, children)
    transactions.geography(found, el, bool(countries or regions))
    country_percentages = COUNTRY_PERCENTAGES(el, children) if countries else []
    if not regions:
        if len(countries) > 1:
            _each_has_percentage(found, "3.1.1", countries)
            _sum(found, "3.1.2", el, country_percentages)
        elif len(countries) == 1:
            _single(found, "3.1.4", countries)
    for vocabulary in dict.fromkeys(_attributes(regions, "vocabulary")):
        of = REGIONS_OF(el, v=vocabulary)
        if len(of) > 1:
            _each_has_percentage(found, "3.4.1", of)
        if len(of) == 1 and not countries:
            _single(found, "3.4.4", of)
        if len(of) + len(countries) > 1:
            _sum(
                found,
                "3.4.2",
                el,
                REGION_PERCENTAGES_OF(el, v=vocabulary) + country_percentages,
            )
    _range(found, "12.1.1", country_percentages)
    _range(found, "12.1.1", REGION_PERCENTAGES(el, children))


def _budget_items(found: _Found, el: etree._Element) -> None:
    children = found.children
    _range(found, "12.2.1", CAPITAL_SPEND(el, children))
    if children is not None and "country-budget-items" not in children:
        return
    _range(found, "12.2.1", BUDGET_ITEM_PERCENTAGES(el))
    for vocabulary in dict.fromkeys(map(str, BUDGET_ITEM_VOCABULARIES(el))):
        items = BUDGET_ITEMS_OF(el, v=vocabulary)
        if len(items) > 1:
            given = BUDGET_ITEM_PERCENTAGES_OF(el, v=vocabulary)
            if not given:
                found.fail("7.9.1", items[0])
            _sum(found, "7.9.2", el, given)
        elif len(items) == 1:
            _single(found, "7.9.4", items)


def _aid_types(
    found: _Found,
    el: etree._Element,
    paths: tuple[X, X],
    rules: tuple[str | None, str],
) -> None:
    every, of = paths
    also_dac, only_one = rules
    elements = every(el, found.children)
    if not elements:
        return  # each rule is about some of these
    dacs = _dac(elements)
    if also_dac is not None and not dacs:
        found.fail(also_dac, elements[0])
    if len(dacs) > 1:
        found.fail(only_one, dacs[1])
    for vocabulary in _vocabularies(_attributes(elements, "vocabulary")):
        if len(found_ := of(el, v=vocabulary)) > 1:
            found.fail(only_one, found_[1])


def _results(found: _Found, el: etree._Element) -> None:
    for indicator in INDICATORS(el, found.children):
        result = indicator.getparent()
        if (
            next(indicator.iterchildren("reference"), None) is not None
            and result is not None
            and next(result.iterchildren("reference"), None) is not None
        ):
            found.fail("8.11.1", indicator)
        measure = indicator.get("measure")
        for baseline in indicator.iterchildren("baseline"):
            _measured(found, baseline, measure, MEASURED["baseline"])
        for period in indicator.iterchildren("period"):
            _period(found, period, order="8.6.1", limit=False)
            for value in period.iterchildren("target", "actual"):
                _measured(found, value, measure, MEASURED[str(value.tag)])


def activity_problems(
    el: etree._Element,
    ident: str | None,
    line_offset: int = 0,
    *,
    transactions: TransactionRules | None = None,
    now: dt.datetime | None = None,
) -> list[r.Problem]:
    """The rules of the rule set that an activity element (of a 2.0x file) breaks.

    ``transactions``: its transactions, already read one by one (a long activity, whose
    element keeps only some of them: ingest.long_activity); by default those of ``el``.
    """
    now = now or _now()
    today = now.date()
    line = _line(el)
    children: Children = {}
    for child in el:
        tag = child.tag
        same = children.get(tag)
        if same is None:
            children[tag] = [child]
        else:
            same.append(child)
    found = _Found(ident, line + line_offset if line is not None else None, line_offset, children)
    _identifiers(found, el)
    started = False
    first: dict[str | None, etree._Element] = {}  # by type, the first activity-date with a date
    for date in children.get("activity-date", ()):
        kind = date.get("type")
        started = started or kind in ("1", "2")
        if kind not in first and date.get("iso-date") is not None:
            first[kind] = date
    if not started:
        found.fail("6.11.1", el)
    if el.get("default-currency") is None:
        lacking = [v for v in VALUES(el) if v.get("currency") is None]
        if lacking:
            found.fail("7.8.1", lacking[0], f"{len(lacking)} value(s) without a currency")
    if el.get(LANG) is None:
        lacking = [n for n in NARRATIVES(el) if n.get(LANG) is None]
        if lacking:
            found.fail("4.1.1", lacking[0], f"{len(lacking)} narrative(s) without a language")
    _last_updated(found, "11.1.1", el, now)
    _order(found, "11.1.2", first.get("1"), first.get("3"))
    _order(found, "11.1.3", first.get("2"), first.get("4"))
    for rule, kind in (("11.1.4", "2"), ("11.1.5", "4")):
        d = _dated(first.get(kind))
        if d is not None and d > today:
            found.fail(rule, first[kind], str(d))
    if transactions is None:
        transactions = TransactionRules.of(el, today)
    _sectors(found, el, transactions)
    _geography(found, el, transactions)
    _budget_items(found, el)
    _aid_types(
        found,
        el,
        (AID_TYPES, AID_TYPES_OF),
        ("107.1.1", "107.1.2"),
    )
    transactions.merge(found, orgs=False)
    _org_refs(found, PLANNED_ORGS(el, children), PROVIDER_RULES)
    _org_refs(found, PLANNED_RECEIVERS(el, children), RECEIVER_RULES)
    transactions.merge(found, orgs=True)
    _org_refs(
        found, PARTICIPATING(el, children), ("6.10.1", "1.8.13", "1.8.1", "1.9.1", "activity-id")
    )
    for marker in POLICY_MARKERS(el, children):
        vocabulary = marker.get("vocabulary") or "1"
        if vocabulary == "1" and marker.get("significance") is None:
            found.fail("6.14.1", marker)
        if vocabulary == "99" and not NARRATIVE(marker):
            found.fail("6.13.1", marker)
    for budget in PLANNED_DISBURSEMENTS(el, children):
        _period(found, budget, order="8.6.3", limit=False)
    for budget in BUDGETS(el, children):
        _period(found, budget, order="8.6.3", limit=True)
    _results(found, el)
    _narratives(found, el)
    return found.problems()


ORG_IDENTIFIER = X("organisation-identifier")
RECIPIENT_ORG_REF = X("recipient-org-budget/recipient-org/@ref")
ORG_BUDGETS = X(
    "total-budget | recipient-org-budget | recipient-country-budget | recipient-region-budget"
    " | total-expenditure"
)
BUDGET_LINE_DATES = X("budget-line/value/@value-date")


def organisation_problems(
    el: etree._Element, ident: str | None, *, now: dt.datetime | None = None
) -> list[r.Problem]:
    """The rules of the rule set that an organisation element (of a 2.0x file) breaks."""
    now = now or _now()
    found = _Found(ident, _line(el), 0)
    _symbols(found, "1.12.13", ORG_IDENTIFIER(el))
    _no_spaces(found, "1.12.1", ORG_IDENTIFIER(el))
    _symbols(found, "1.18.13", REPORTING_REF(el))
    _no_spaces(found, "1.18.1", REPORTING_REF(el))
    _agency_prefix(found, "1.18.8", REPORTING_REF(el))
    _no_spaces(found, "1.17.1", RECIPIENT_ORG_REF(el))
    _last_updated(found, "11.4.1", el, now)
    if el.get(LANG) is None:
        lacking = [n for n in NARRATIVES(el) if n.get(LANG) is None]
        if lacking:
            found.fail("4.5.1", lacking[0], f"{len(lacking)} narrative(s) without a language")
    if el.get("default-currency") is None:
        lacking = [v for v in VALUES(el) if v.get("currency") is None]
        if lacking:
            found.fail("7.8.2", lacking[0], f"{len(lacking)} value(s) without a currency")
    for budget in ORG_BUDGETS(el):
        _period(found, budget, order="8.6.3", limit=True)
        if budget.tag == "recipient-country-budget":
            start, _ = _first_date(budget, "period-start")
            end, _ = _first_date(budget, "period-end")
            if start is not None and end is not None:
                for value in BUDGET_LINE_DATES(budget):
                    d = _date(value)
                    if d is not None and not start <= d <= end:
                        found.fail("11.3.1", value, f"{d} outside {start} – {end}")
    _narratives(found, el)
    return found.problems()


def applies(version: str | None) -> bool:
    """The rule set is that of 2.0x: files of 1.0x are checked by others."""
    return (version or "").strip().startswith("2.")
