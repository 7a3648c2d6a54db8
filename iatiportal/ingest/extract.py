"""Turn one ``iati-activity`` or ``iati-organisation`` element into a record.

Works on any IATI version: 1.0x text directly inside elements and 2.0x ``narrative`` children
are both read; text codes go through :mod:`iatiportal.ingest.versions`. Only the elements the
store keeps are visited (targeted extraction keeps ingest fast). Foreign-namespace elements have
a ``{namespace}`` tag and are skipped by the dispatch below.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from iatiportal.ingest import records as r
from iatiportal.ingest.spill import SpillList
from iatiportal.ingest.versions import ELEMENT_ALIASES, map_code

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
MAX_ABS_VALUE = Decimal("1e14")
"""Larger money values are data errors (and would not fit the store's exact type)."""

_TRUE = frozenset({"1", "true"})
_FALSE = frozenset({"0", "false"})


def clean(value: str | None) -> str | None:
    """Strip whitespace around a code or id; empty becomes None."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def line_of(el: etree._Element) -> int | None:
    """The element's line in its file (lxml's stubs type ``sourceline`` loosely)."""
    line: object = el.sourceline
    return line if isinstance(line, int) else None


class Reader:
    """Collects problems while reading one activity or organisation."""

    __slots__ = ("default_lang", "identifier", "problems")

    def __init__(self, default_lang: str | None) -> None:
        self.default_lang = default_lang
        self.identifier: str | None = None
        self.problems: list[r.Problem] = []

    def problem(self, severity: str, rule: str, message: str, el: etree._Element | None) -> None:
        self.problems.append(
            r.Problem(
                severity, rule, message, line_of(el) if el is not None else None, self.identifier
            )
        )

    # -- small values ---------------------------------------------------------------------

    def narratives(self, el: etree._Element | None) -> r.Narratives:
        if el is None:
            return []
        out: r.Narratives = []
        for n in el.iterchildren("narrative"):
            text = n.text
            if text is None:
                continue
            text = text.strip()  # once: this runs for every narrative of the file
            if not text:
                continue
            lang = n.get(XML_LANG)
            out.append((lang.strip().lower() if lang else self.default_lang, text))
        if not out:
            text = el.text
            if text is not None and text.strip():
                lang = el.get(XML_LANG)
                out.append((lang.strip().lower() if lang else self.default_lang, text.strip()))
        return out

    def date(self, value: str | None, el: etree._Element) -> dt.date | None:
        value = clean(value)
        if value is None:
            return None
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            self.problem("warning", "date-format", f"{value!r} is not an ISO date", el)
            return None

    def datetime(self, value: str | None, el: etree._Element) -> dt.datetime | None:
        value = clean(value)
        if value is None:
            return None
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            self.problem("warning", "datetime-format", f"{value!r} is not an ISO date-time", el)
            return None
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
        return moment

    def decimal(
        self,
        value: str | None,
        el: etree._Element,
        rule: str = "value-format",
        limit: Decimal = MAX_ABS_VALUE,
    ) -> Decimal | None:
        value = clean(value)
        if value is None:
            return None
        try:
            number = Decimal(value.replace(" ", ""))
        except InvalidOperation:
            self.problem("error", rule, f"{value!r} is not a number", el)
            return None
        if not number.is_finite() or abs(number) >= limit:
            self.problem("error", rule, f"{value!r} is out of range", el)
            return None
        return number

    def boolean(self, value: str | None) -> bool | None:
        value = clean(value)
        if value is None:
            return None
        value = value.lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        return None

    def org(self, el: etree._Element | None, activity_attr: str) -> r.OrgRef | None:
        if el is None:
            return None
        return r.OrgRef(
            clean(el.get("ref")),
            clean(el.get("type")),
            clean(el.get(activity_attr)),
            self.narratives(el),
        )

    def value(self, v: etree._Element | None) -> tuple[Decimal | None, str | None, dt.date | None]:
        """(value, currency, value date) of a ``value`` element."""
        if v is None:
            return None, None, None
        return (
            self.decimal(v.text, v),
            clean(v.get("currency")),
            self.date(v.get("value-date"), v),
        )

    def period(self, parent: etree._Element) -> tuple[dt.date | None, dt.date | None]:
        start = parent.find("period-start")
        end = parent.find("period-end")
        return (
            self.date(_date_attr(start), start) if start is not None else None,
            self.date(_date_attr(end), end) if end is not None else None,
        )


Handler = Callable[[Reader, r.Activity, etree._Element], None]


def _date_attr(el: etree._Element) -> str | None:
    """A date from ``iso-date`` (or, in 1.0x files, the element text)."""
    value = el.get("iso-date")
    return value if value is not None else el.text


def _code(el: etree._Element | None, attr: str = "code") -> str | None:
    # clean() inlined: this runs for almost every attribute the parser reads.
    if el is None:
        return None
    value = el.get(attr)
    if value is None:
        return None
    value = value.strip()
    return value or None


# -- activity ---------------------------------------------------------------------------------


def reader_for(el: etree._Element) -> Reader:
    """A Reader for the activity or organisation ``el`` (its default language)."""
    lang = el.get(XML_LANG)
    return Reader(lang.strip().lower() if lang else None)


def read_activity(
    el: etree._Element,
    identifier: str,
    version: str | None,
    source_line: int | None,
    transactions: SpillList[r.Transaction] | None = None,
) -> r.Activity:
    """Read an ``iati-activity`` element whose identifier the caller has established.

    ``transactions``: the activity's transactions, read already as the element was parsed
    (ingest.long_activity); its ``transaction`` children are then not read again.
    """
    reader = reader_for(el)
    reader.identifier = identifier
    act = r.Activity(iati_identifier=identifier, source_line=source_line, iati_version=version)
    handlers = _ACTIVITY_HANDLERS
    if transactions is not None:
        act.transactions = transactions
        handlers = {k: v for k, v in handlers.items() if k != "transaction"}
    act.default_lang = reader.default_lang
    act.default_currency = clean(el.get("default-currency"))
    hierarchy = clean(el.get("hierarchy"))
    if hierarchy is not None:
        try:
            act.hierarchy = int(hierarchy)
        except ValueError:
            reader.problem("warning", "hierarchy-format", f"hierarchy {hierarchy!r}", el)
    act.humanitarian = reader.boolean(el.get("humanitarian"))
    act.last_updated_datetime = reader.datetime(el.get("last-updated-datetime"), el)
    act.linked_data_uri = clean(el.get("linked-data-uri"))

    for child in el:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        tag = ELEMENT_ALIASES.get(tag, tag)
        handler = handlers.get(tag)
        if handler is not None:
            handler(reader, act, child)
    act.problems = reader.problems
    return act


def _reporting_org(rd: Reader, act: r.Activity, el: etree._Element) -> None:
    act.reporting_org = r.OrgRef(
        clean(el.get("ref")), clean(el.get("type")), None, rd.narratives(el)
    )
    act.secondary_reporter = rd.boolean(el.get("secondary-reporter"))


def _title(rd: Reader, act: r.Activity, el: etree._Element) -> None:
    act.titles.extend(rd.narratives(el))


def _description(rd: Reader, act: r.Activity, el: etree._Element) -> None:
    act.descriptions.append(r.Description(clean(el.get("type")) or "1", rd.narratives(el)))


def _activity_date(rd: Reader, act: r.Activity, el: etree._Element) -> None:
    kind = map_code("activity-date-type", clean(el.get("type")))
    if kind is None:
        rd.problem("warning", "activity-date-type", "activity-date without a type", el)
        return
    act.activity_dates.append(r.ActivityDate(kind, rd.date(_date_attr(el), el), rd.narratives(el)))


def _activity_status(rd: Reader, act: r.Activity, el: etree._Element) -> None:
    # The pilot format wrote the status as a word in @ref (activity-status ref="On Going").
    act.activity_status = map_code("activity-status", _code(el) or _code(el, "ref"))


def _simple(attr: str, kind: str | None = None) -> Handler:
    def handler(rd: Reader, act: r.Activity, el: etree._Element) -> None:
        value = _code(el) or clean(el.text)
        setattr(act, attr, map_code(kind, value) if kind else value)

    return handler


def _default_aid_type(rd: Reader, act: r.Activity, el: etree._Element) -> None:
    if act.default_aid_type is None:
        act.default_aid_type = _code(el)


def _participating_org(rd: Reader, act: r.Activity, el: etree._Element) -> None:
    act.participating_orgs.append(
        r.ParticipatingOrg(
            map_code("organisation-role", _code(el, "role")),
            _code(el, "ref"),
            _code(el, "type"),
            _code(el, "activity-id"),
            _code(el, "crs-channel-code"),
            rd.narratives(el),
        )
    )


def _recipient_country(rd: Reader, act: r.Activity, el: etree._Element) -> None:
    code = _code(el)
    if code is None:
        rd.problem("warning", "recipient-country-code", "recipient-country without a code", el)
        return
    act.recipient_countries.append(
        r.RecipientCountry(
            code.upper(),
            rd.decimal(el.get("percentage"), el, "percentage-format"),
            rd.narratives(el),
        )
    )


def _recipient_region(rd: Reader, act: r.Activity, el: etree._Element) -> None:
    code = _code(el)
    if code is None:
        rd.problem("warning", "recipient-region-code", "recipient-region without a code", el)
        return
    act.recipient_regions.append(
        r.RecipientRegion(
            code,
            map_code("region-vocabulary", _code(el, "vocabulary")) or "1",
            rd.decimal(el.get("percentage"), el, "percentage-format"),
            rd.narratives(el),
        )
    )


def _sector(rd: Reader, act: r.Activity, el: etree._Element) -> None:
    code = _code(el)
    if code is None:
        rd.problem("warning", "sector-code", "sector without a code", el)
        return
    act.sectors.append(
        r.Sector(
            code,
            map_code("sector-vocabulary", _code(el, "vocabulary")) or "1",
            _code(el, "vocabulary-uri"),
            rd.decimal(el.get("percentage"), el, "percentage-format"),
            rd.narratives(el),
        )
    )


def _tag(rd: Reader, act: r.Activity, el: etree._Element) -> None:
    code = _code(el)
    if code is not None:
        act.tags.append(
            r.Tag(code, _code(el, "vocabulary"), _code(el, "vocabulary-uri"), rd.narratives(el))
        )


def _policy_marker(rd: Reader, act: r.Activity, el: etree._Element) -> None:
    code = _code(el)
    if code is not None:
        act.policy_markers.append(
            r.PolicyMarker(
                code,
                map_code("policy-marker-vocabulary", _code(el, "vocabulary")) or "1",
                _code(el, "significance"),
                rd.narratives(el),
            )
        )


def _location(rd: Reader, act: r.Activity, el: etree._Element) -> None:
    lat = lon = None
    pos = el.find("point/pos")
    if pos is not None and pos.text:
        parts = pos.text.split()
        if len(parts) == 2:
            lat = rd.decimal(parts[0], pos, "location-point", Decimal(91))
            lon = rd.decimal(parts[1], pos, "location-point", Decimal(181))
        else:
            rd.problem("warning", "location-point", f"pos {pos.text!r} is not 'lat lon'", pos)
    else:
        coords = el.find("coordinates")  # 1.0x
        if coords is not None:
            lat = rd.decimal(coords.get("latitude"), coords, "location-point", Decimal(91))
            lon = rd.decimal(coords.get("longitude"), coords, "location-point", Decimal(181))
    loc_id = el.find("location-id")
    act.locations.append(
        r.Location(
            _code(el, "ref"),
            _code(el.find("location-reach")),
            _code(loc_id, "vocabulary"),
            _code(loc_id),
            rd.narratives(el.find("name")),
            rd.narratives(el.find("description")),
            lat,
            lon,
            _code(el.find("exactness")),
            _code(el.find("location-class")),
            _code(el.find("feature-designation")),
        )
    )


def _budget(rd: Reader, act: r.Activity, el: etree._Element) -> None:
    start, end = rd.period(el)
    value, currency, value_date = rd.value(el.find("value"))
    act.budgets.append(
        r.Budget(
            map_code("budget-type", _code(el, "type")),
            _code(el, "status"),
            start,
            end,
            value,
            currency,
            value_date,
        )
    )


def _planned_disbursement(rd: Reader, act: r.Activity, el: etree._Element) -> None:
    start, end = rd.period(el)
    value, currency, value_date = rd.value(el.find("value"))
    act.planned_disbursements.append(
        r.PlannedDisbursement(
            _code(el, "type"),
            start,
            end,
            value,
            currency,
            value_date,
            rd.org(el.find("provider-org"), "provider-activity-id"),
            rd.org(el.find("receiver-org"), "receiver-activity-id"),
        )
    )


def _first_children(el: etree._Element) -> dict[Any, etree._Element]:
    """The first child of each tag, in one pass (cheaper than a find() per tag)."""
    first: dict[Any, etree._Element] = {}
    for child in el:
        first.setdefault(child.tag, child)
    return first


def _transaction(rd: Reader, act: r.Activity, el: etree._Element) -> None:
    act.transactions.append(read_transaction(rd, el))


def read_transaction(rd: Reader, el: etree._Element) -> r.Transaction:
    """One ``transaction`` element (of the activity that ``rd`` reads)."""
    kids = _first_children(el)
    get = kids.get
    type_el = get("transaction-type")
    # 2.0x and 1.0x: transaction-type/@code; the pilot: transaction/@type="expenditure".
    raw_type = _code(type_el) if type_el is not None else _code(el, "type")
    ttype = map_code("transaction-type", raw_type)
    if ttype is None:
        rd.problem("error", "transaction-type", "transaction without a type", el)
    date_el = get("transaction-date")
    value, currency, value_date = rd.value(get("value"))
    if value is None:
        rd.problem("warning", "transaction-value", "transaction without a value", el)
    sector = get("sector")
    region = get("recipient-region")
    country = _code(get("recipient-country"))
    return r.Transaction(
        _code(el, "ref"),
        rd.boolean(el.get("humanitarian")),
        ttype,
        rd.date(_date_attr(date_el), date_el) if date_el is not None else None,
        value,
        currency,
        value_date,
        rd.narratives(get("description")),
        rd.org(get("provider-org"), "provider-activity-id"),
        rd.org(get("receiver-org"), "receiver-activity-id"),
        _code(get("disbursement-channel")),
        _code(sector),
        (map_code("sector-vocabulary", _code(sector, "vocabulary")) or "1")
        if sector is not None
        else None,
        country.upper() if country else None,
        _code(region),
        (_code(region, "vocabulary") or "1") if region is not None else None,
        _code(get("flow-type")),
        _code(get("finance-type")),
        _code(get("aid-type")),
        _code(get("tied-status")),
    )


def _indicator_value(rd: Reader, el: etree._Element) -> r.IndicatorValue:
    year = clean(el.get("year"))
    value = el.get("value")
    if value is None:
        # 1.0x wrote <actual value="..."> too, but some publishers use the element text.
        value = el.text
    return r.IndicatorValue(
        clean(value),
        rd.narratives(el.find("comment")),
        int(year) if year is not None and year.isdigit() else None,
        rd.date(el.get("iso-date"), el) if el.get("iso-date") else None,
    )


def _indicator(rd: Reader, el: etree._Element) -> r.Indicator:
    periods = []
    for p in el.iterchildren("period"):
        start, end = rd.period(p)
        periods.append(
            r.IndicatorPeriod(
                start,
                end,
                [_indicator_value(rd, t) for t in p.iterchildren("target")],
                [_indicator_value(rd, a) for a in p.iterchildren("actual")],
            )
        )
    return r.Indicator(
        map_code("indicator-measure", _code(el, "measure")),
        rd.boolean(el.get("ascending")),
        rd.boolean(el.get("aggregation-status")),
        rd.narratives(el.find("title")),
        rd.narratives(el.find("description")),
        [(_code(ref, "vocabulary"), _code(ref)) for ref in el.iterchildren("reference")],
        [_indicator_value(rd, b) for b in el.iterchildren("baseline")],
        periods,
    )


def _result(rd: Reader, act: r.Activity, el: etree._Element) -> None:
    act.results.append(
        r.Result(
            map_code("result-type", _code(el, "type")),
            rd.boolean(el.get("aggregation-status")),
            rd.narratives(el.find("title")),
            rd.narratives(el.find("description")),
            [_indicator(rd, i) for i in el.iterchildren("indicator")],
            [
                (_code(ref, "vocabulary"), _code(ref), clean(ref.get("vocabulary-uri")))
                for ref in el.iterchildren("reference")
            ],
        )
    )


def _document_link(rd: Reader, act: r.Activity, el: etree._Element) -> None:
    date_el = el.find("document-date")
    act.document_links.append(
        r.DocumentLink(
            clean(el.get("url")),
            clean(el.get("format")),
            rd.narratives(el.find("title")),
            [c for c in (_code(x) for x in el.iterchildren("category")) if c],
            [c for c in (_code(x) for x in el.iterchildren("language")) if c],
            rd.date(date_el.get("iso-date"), date_el) if date_el is not None else None,
        )
    )


def _related_activity(rd: Reader, act: r.Activity, el: etree._Element) -> None:
    ref = _code(el, "ref")
    if ref is not None:
        act.related_activities.append(r.RelatedActivity(ref, _code(el, "type")))


def _humanitarian_scope(rd: Reader, act: r.Activity, el: etree._Element) -> None:
    act.humanitarian_scopes.append(
        r.HumanitarianScope(
            _code(el, "type"),
            _code(el, "vocabulary"),
            _code(el, "vocabulary-uri"),
            _code(el),
            rd.narratives(el),
        )
    )


def _other_identifier(rd: Reader, act: r.Activity, el: etree._Element) -> None:
    owner = el.find("owner-org")
    act.other_identifiers.append(
        r.OtherIdentifier(
            _code(el, "ref") or clean(el.text),
            _code(el, "type"),
            _code(owner, "ref") if owner is not None else _code(el, "owner-ref"),
            rd.narratives(owner)
            if owner is not None
            else ([(None, el.get("owner-name", ""))] if el.get("owner-name") else []),
        )
    )


def _country_budget_items(rd: Reader, act: r.Activity, el: etree._Element) -> None:
    vocabulary = _code(el, "vocabulary")
    for item in el.iterchildren("budget-item"):
        act.country_budget_items.append(
            r.CountryBudgetItem(
                vocabulary,
                _code(item),
                rd.decimal(item.get("percentage"), item, "percentage-format"),
                rd.narratives(item.find("description")),
            )
        )


_ACTIVITY_HANDLERS: dict[str, Handler] = {
    "reporting-org": _reporting_org,
    "title": _title,
    "description": _description,
    "activity-date": _activity_date,
    "activity-status": _activity_status,
    "activity-scope": _simple("activity_scope"),
    "collaboration-type": _simple("collaboration_type"),
    "default-flow-type": _simple("default_flow_type", "flow-type"),
    "default-finance-type": _simple("default_finance_type"),
    "default-aid-type": _default_aid_type,
    "default-tied-status": _simple("default_tied_status", "tied-status"),
    "participating-org": _participating_org,
    "recipient-country": _recipient_country,
    "recipient-region": _recipient_region,
    "sector": _sector,
    "tag": _tag,
    "policy-marker": _policy_marker,
    "location": _location,
    "budget": _budget,
    "planned-disbursement": _planned_disbursement,
    "transaction": _transaction,
    "result": _result,
    "document-link": _document_link,
    "related-activity": _related_activity,
    "humanitarian-scope": _humanitarian_scope,
    "other-identifier": _other_identifier,
    "country-budget-items": _country_budget_items,
}


# -- organisation -----------------------------------------------------------------------------

_ORG_BUDGET_KINDS = {
    "total-budget": None,
    "recipient-org-budget": ("recipient-org", "ref"),
    "recipient-country-budget": ("recipient-country", "code"),
    "recipient-region-budget": ("recipient-region", "code"),
    "total-expenditure": None,
}


def read_organisation(
    el: etree._Element, identifier: str, version: str | None, source_line: int | None
) -> r.Organisation:
    rd = reader_for(el)
    rd.identifier = identifier
    org = r.Organisation(
        identifier,
        source_line,
        version,
        clean(el.get("default-currency")),
        rd.default_lang,
        rd.datetime(el.get("last-updated-datetime"), el),
    )
    for child in el:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        if tag == "name":
            org.name = rd.narratives(child)
        elif tag == "reporting-org":
            org.reporting_org = r.OrgRef(
                _code(child, "ref"), _code(child, "type"), None, rd.narratives(child)
            )
        elif tag in _ORG_BUDGET_KINDS:
            start, end = rd.period(child)
            value, currency, value_date = rd.value(child.find("value"))
            recipient = _ORG_BUDGET_KINDS[tag]
            ref = vocab = None
            if recipient is not None:
                rel = child.find(recipient[0])
                ref = _code(rel, recipient[1])
                vocab = _code(rel, "vocabulary")
            org.budget_lines.append(
                r.OrgBudgetLine(
                    tag, _code(child, "status"), start, end, value, currency, value_date, ref, vocab
                )
            )
    org.problems = rd.problems
    return org
