"""Money that adds up: every total the portal shows is computed here, from precomputed facts.

How each figure is computed (the methodology page quotes this text):

**Which activities.** Only the current copy of each activity identifier counts (when an
identifier is published twice, the later ``last-updated-datetime`` wins). Figures are per
currency: the currency of the value, else the activity's ``default-currency``; amounts in two
currencies are never added together (amounts with no currency at all are their own group).

**Budget.** From ``budget`` elements. Within one activity and budget period (same start and
end dates) a revised budget (type 2) replaces an original one (type 1) of the same status, and
a committed budget (status 2) replaces an indicative one (status 1, also assumed when the
status is missing), unless the publisher's profile says to count only committed or only
indicative budgets. A budget's year is the calendar year of its period; a period that spans
several calendar years (a fiscal year from April to March, a multi-year budget) is shared
between them in proportion to its days in each. A budget without period dates is counted in
the all-years totals only; one whose end is before its start counts in the year of its start.

**Expenditure.** Transactions of type 4 (expenditure), plus type 3 (disbursement) for
publishers whose profile says so (but not the money they pass on to an activity we hold that
spends it: see "Money passed between activities"), in the calendar year of the transaction
date (or of the value date when the transaction has no date; with neither, in the all-years
totals only). **Incoming funds** are transactions of type 1, **commitments** type 2,
**disbursements** type 3. What a publisher **passed on** (the flow of funds) is its
disbursements and expenditure, each transaction once, whatever its profile says.

**Development and humanitarian.** A transaction is humanitarian or development money as its
own ``humanitarian`` attribute says (1 or true: humanitarian; 0 or false: development), else as
its activity's says; a budget as its activity's. Where neither says, the money is "not
stated": it counts in every total but in neither the development nor the humanitarian figure,
so a total less those two is the money whose kind is not stated.

**Funding partners.** The provider organisation of incoming funds (type 1), by its
reference (or by its name when it has no reference). Activities that publish no incoming funds
name their funding partners as participating organisations of role 1 (funding): these are
listed without amounts (for a year, those of activities whose budgets and transactions span
it; for a country, region or sector, those of activities that name it).

**Implementing partners.** The receiver organisation of commitments (type 2), disbursements
(type 3) and expenditure (type 4), by its reference (or by its name when it has no reference;
a receiver of one reference published under several names is shown with its most frequent
name). The name is the receiver's first published narrative. Spending whose transaction names
no receiver is "not named", so that the receivers' amounts add up to the expenditure.

**Parent and child activities.** Where activities are linked as parent and child (a
``related-activity`` of type 1 or 2, between activities of the same reporting organisation,
followed through any depth of hierarchy), a parent's figures of one measure and year are left
out when any of its descendants reports figures of that measure and year: the children's
figures are used, so nothing is counted twice. For budgets this holds per status: where the
children publish a year's budget only as indicative and the parent as committed, a profile
that counts committed budgets only keeps the parent's, one that prefers committed budgets takes
the children's. Links that form a cycle are ignored, and listed on the data health page
(rule ``hierarchy-cycle``). The money of an activity asked for by name (its own page, a result
that names it, a line of a list of activities) is its own figures and those of all its
descendants, after the rule above: the parent's figures that its children replaced are not
counted, the children's are counted once, so an outcome whose outputs are child activities
shows what its outputs carry. A child activity is listed under its parent, not as an outcome of
its own.

**Money passed between activities.** When activity A disburses (or commits) money to activity B
and B publishes the same money as incoming funds from A (a funding link, see the activity
page's Funding chain), that is one flow seen from both sides: A's disbursements and B's incoming
funds are different measures, and no total adds them together, so a total over both activities
counts the flow once under each measure. Where A's profile counts disbursements as
expenditure, a disbursement whose receiver names an activity we hold
(``receiver-activity-id``) that reports disbursements or expenditure of its own is not counted
as A's expenditure: it stays A's disbursement, shown in its Funding chain, and the money is
counted as expenditure where it is spent, by B. A disbursement to an activity we do not hold,
or to one that reports no spending, is A's expenditure as before. The rule holds in every
total, also in one over A alone, so that the money is never counted twice and the totals of
the publishers, countries or sectors still add up to the whole. The links, with both sides'
amounts and whether they agree, are listed by the API and never added to these totals.

**Countries, regions and sectors.** Money broken down by recipient country or region is split
by the activity's ``percentage`` attributes; a transaction that names its own recipient country
or region goes wholly to it. Regions of one vocabulary are used per activity (the lowest
vocabulary code: 1 OECD DAC before 2 UN before 99 the publisher's own). Sector breakdowns are
made per sector vocabulary in the same way (a transaction's own sector replaces the activity's
sectors of that vocabulary). Missing percentages share equally what the given ones leave of
100 % (a single country or sector without percentage gets 100 %); percentages that do not add
up to 100 % are used in proportion to their sum; negative ones count as 0 and ones above 100
as 100. Money of an activity with no recipient country or region, or no sector in the chosen
vocabulary, is shown as "not specified", so that every breakdown adds up to its total.

**One currency.** Where exchange rates are loaded (``iatiportal rates load``), every amount can
also be shown in US dollars (the default) or euros: each budget and transaction is converted at
its value date (else its transaction date, or its budget period's start), with the latest rate
of its currency at most 45 days old, through the US dollar (rates are US dollars per unit).
The converted amounts are then split and summed by the same rules as above, and rounded to
1/10,000. An amount with no such rate is not converted: it is left out of the converted totals
and shown beside them, per currency, as not converted; it is never dropped silently.

**Organisation files.** What an organisation says in its organisation file (``total-budget``,
``recipient-org-budget``, ``recipient-country-budget``, ``recipient-region-budget``,
``total-expenditure``) is shown beside the money of its own activities (those it reports), never
added to it. A budget line is compared with the budgets of its activities, an expenditure line
with their expenditure, both by the rules above, for the same period and, for a country or
region line, for that recipient. Of the lines of one period and recipient, a committed budget
replaces an indicative one, as for activities. Lines are converted by the same rates as
activities, at their value date (else their period's start).

**Comparing with the activities.** The activities' money is kept per calendar year, so a line is
compared only when its period is whole calendar years (1 January to 31 December, one year or
several); other periods (a fiscal year from April to March) are shown as "not comparable", as
are budgets for a recipient organisation (activity budgets do not say who receives them), lines
whose activity money is in other currencies (choose a currency) or has amounts without a rate,
and organisations none of whose activities are held. The difference is the published amount
less the activities' sum.

**Rounding.** Amounts are exact to 1/10,000 of the currency unit. The parts of a split (a
budget over years, money over countries or sectors) are differences of cumulative shares
truncated to that precision, taken in the order the elements are published: every part is
within 1/10,000 of its exact share, and the parts add up exactly to the whole.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Literal, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.sql.expression import BindParameter, Executable

from iatiportal.profile import BudgetStatusRule, Portal, Profile
from iatiportal.store import schema as s
from iatiportal.store import statements
from iatiportal.store.filters import Filters, selected_ids, usually_true

Measure = Literal["budget", "expenditure", "incoming", "commitment", "disbursement", "outgoing"]
MEASURES: tuple[Measure, ...] = (
    "budget", "expenditure", "incoming", "commitment", "disbursement", "outgoing"
)  # fmt: skip
"""``outgoing``: disbursements and expenditure, each transaction once whatever the profiles
say (what left the publishers: the flow of funds)."""
Dimension = Literal[
    "year",
    "country",
    "region",
    "sector",
    "provider",
    "receiver",
    "activity",
    "reporting_org",
    "humanitarian",
]

T = TypeVar("T")


@dataclass(frozen=True)
class _Money:
    """A question's filters as the money facts answer them: the dimensions of the facts
    (``sector``: the one sector whose share is counted), and ``chosen``, the filters that
    select activities (partner, humanitarian, text, further sectors), or None."""

    reporting_org: tuple[str, ...] = ()
    country: str | None = None
    region: str | None = None
    region_vocabulary: str | None = None
    year: int | None = None
    years: tuple[int, int] | None = None
    identifiers: tuple[str, ...] = ()
    sector_vocabulary: str | None = None
    sector: str | None = None
    provider_org: str | None = None
    currency: str | None = None
    without_rate: bool = False
    chosen: Filters | None = None
    dialect: str = "sqlite"


def _money(filters: Filters | None, dialect: str, sector_vocabulary: str | None = None) -> _Money:
    """The facts' view of ``filters``. The sector whose share is counted is the one of the
    breakdown's ``sector_vocabulary``, else the first with a code; every other sector filter
    keeps the activities that have that sector."""
    filters = filters or Filters()
    coded = [(v, c) for v, c in filters.sectors if c is not None]
    share = next((p for p in coded if p[0] == sector_vocabulary), None)
    if share is None and sector_vocabulary is None and coded:
        share = coded[0]
    others = tuple(p for p in filters.sectors if p != share)
    chosen = Filters(
        partner=filters.partner, sectors=others, humanitarian=filters.humanitarian, q=filters.q
    )
    return _Money(
        reporting_org=filters.reporting_org,
        country=filters.country,
        region=filters.region,
        region_vocabulary=filters.region_vocabulary,
        year=filters.year,
        years=filters.years,
        identifiers=filters.identifiers,
        sector_vocabulary=share[0] if share else None,
        sector=share[1] if share else None,
        provider_org=filters.provider_org,
        currency=filters.currency,
        without_rate=filters.without_rate,
        chosen=chosen if chosen != Filters() else None,
        dialect=dialect,
    )


@dataclass(frozen=True)
class MoneyRow:
    """One sum of one measure in one currency; the dimensions not asked for are None.

    In a breakdown, None in an asked-for dimension means "not specified" (money of
    activities without recipient country, without a sector of that vocabulary, ...).
    """

    measure: Measure
    currency: str | None
    value: Decimal
    year: int | None = None
    recipient_country_code: str | None = None
    recipient_region_vocabulary: str | None = None
    recipient_region_code: str | None = None
    sector_vocabulary: str | None = None
    sector_code: str | None = None
    provider_org_ref: str | None = None
    provider_org_name: str | None = None
    receiver_org_ref: str | None = None
    receiver_org_name: str | None = None
    iati_identifier: str | None = None
    reporting_org_ref: str | None = None
    humanitarian: bool | None = None  # asked for: None is "not stated"


@dataclass(frozen=True)
class FundingPartner:
    """A funding partner's incoming funds in one currency, or, for a partner named only as a
    participating organisation (role 1), no amount (``currency`` and ``value`` None)."""

    provider_org_ref: str | None
    provider_org_name: str | None
    currency: str | None
    value: Decimal | None
    source: Literal["incoming-funds", "participating-org"]


_DIMENSION_COLUMNS: dict[str, tuple[str, ...]] = {
    "year": ("year",),
    "country": ("recipient_country_code",),
    "region": ("recipient_region_vocabulary", "recipient_region_code"),
    "sector": ("sector_vocabulary", "sector_code"),
    "provider": ("provider_org_ref", "provider_org_name"),
    "receiver": ("receiver_org_ref", "receiver_org_name"),
    "reporting_org": ("reporting_org_ref",),
    "humanitarian": ("humanitarian",),
}


def _portal(rules: Portal | Profile | None) -> Portal:
    if rules is None:
        return Portal()
    if isinstance(rules, Profile):
        return Portal((rules,)) if rules.reporting_org_refs else Portal(default=rules)
    return rules


def _per_publisher(
    portal: Portal,
    fact: Table,
    setting: Callable[[Profile], T],
    condition: Callable[[T], ColumnElement[bool]],
) -> ColumnElement[bool]:
    """``condition(setting)`` for each fact's reporting org, by the profile of that org."""
    default = setting(portal.default)
    special: dict[T, list[str]] = defaultdict(list)
    for profile in portal.profiles:
        value = setting(profile)
        if value != default:
            special[value].extend(profile.reporting_org_refs)
    if not special:
        return condition(default)
    ref = fact.c.reporting_org_ref
    listed = [r for refs in special.values() for r in refs]
    clauses = [and_(ref.in_(refs), condition(value)) for value, refs in special.items()]
    clauses.append(and_(or_(ref.is_(None), ref.not_in(listed)), condition(default)))
    return or_(*clauses)


def _budget_status(fact: Table, rule: BudgetStatusRule) -> ColumnElement[bool]:
    if rule == "committed":
        return fact.c.budget_status == "2"
    if rule == "indicative":
        return fact.c.budget_status == "1"
    return fact.c.budget_superseded == false()


def _measure_condition(portal: Portal, fact: Table, measure: Measure) -> ColumnElement[bool]:
    if measure == "budget":
        return and_(
            fact.c.measure == "budget",
            _per_publisher(
                portal,
                fact,
                lambda p: p.money.budget_status,
                lambda rule: _budget_status(fact, rule),
            ),
        )
    if measure == "expenditure":
        spent = fact.c.measure == "expenditure"
        rules = (portal.default, *portal.profiles)
        if not any(p.money.disbursements_are_expenditure for p in rules):
            # No publisher's disbursements count: one condition, which an index on the measure
            # serves (with "OR 0 = 1" SQLite read the whole table: 28 ms for the list of
            # countries on the store of all shared files, issue 14).
            return spent
        return or_(
            spent,
            and_(
                fact.c.measure == "disbursement",
                # Passed on to an activity we hold that spends it: counted there (the module
                # docstring, "Money passed between activities").
                fact.c.passed_on.is_(false()),
                _per_publisher(
                    portal,
                    fact,
                    lambda p: p.money.disbursements_are_expenditure,
                    lambda counts: true() if counts else false(),
                ),
            ),
        )
    if measure == "outgoing":
        return fact.c.measure.in_(("disbursement", "expenditure"))
    return fact.c.measure == measure


def _scope() -> Any:
    """(``root_id``, ``member_id``): each named current activity (the bound parameter
    ``money_identifiers``) with itself and with each of its descendants
    (``activity_descendant``), whose money is counted as the named one's."""
    a, d = s.activity, s.activity_descendant
    named = and_(
        a.c.iati_identifier.in_(bindparam("money_identifiers", expanding=True)),
        a.c.is_current.is_(True),
    )
    return union_all(
        select(a.c.id.label("root_id"), a.c.id.label("member_id")).where(named),
        select(a.c.id, d.c.descendant_id).join(d, d.c.ancestor_id == a.c.id).where(named),
    ).subquery("scope")


def _members() -> Select[Any]:
    """The ids of the named current activities and of their descendants."""
    return select(_scope().c.member_id)


def _per_activity(query: Select[Any], fact: Table, filters: _Money) -> Select[Any]:
    """``query`` joined to the activity each fact is counted for: the named one (with its
    descendants' money) when the filters name activities, else the fact's own."""
    if filters.identifiers:
        scope = _scope()
        return query.join(scope, scope.c.member_id == fact.c.activity_id).join(
            s.activity, s.activity.c.id == scope.c.root_id
        )
    return query.join(s.activity, s.activity.c.id == fact.c.activity_id)


@dataclass(frozen=True)
class _Source:
    """Where a question's money is read: a table of dimensions and, for sector questions, the
    table of sector shares (the same table for the sums over activities)."""

    dims: Table
    sectors: Table | None = None

    @property
    def value(self) -> Any:
        return (self.sectors if self.sectors is not None else self.dims).c.value

    @property
    def sector_table(self) -> Table:
        if self.sectors is None:
            raise ValueError("this question reads no sector shares")
        return self.sectors

    def from_clause(self) -> Any:
        if self.sectors is None or self.sectors is self.dims:
            return self.dims
        return self.sectors.join(self.dims, self.dims.c.id == self.sectors.c.money_fact_id)


def _source(*, per_activity: bool, by_sector: bool, orgs: bool = True) -> _Source:
    """Per-activity questions read the facts; the others their sums over activities, and
    those that name no provider or receiver organisation (``orgs`` False) these sums summed
    over the organisations (``money_summary``: a row per group, where the totals keep about
    a row per transaction's receiver)."""
    if per_activity:
        return _Source(s.money_fact, s.money_fact_sector if by_sector else None)
    if by_sector:
        table = s.money_total_sector if orgs else s.money_summary_sector
        return _Source(table, table)
    return _Source(s.money_total if orgs else s.money_summary)


_ORG_DIMENSIONS = frozenset({"provider", "receiver"})


def _names_orgs(by: Sequence[Dimension], filters: _Money) -> bool:
    """Whether a question groups or filters by a provider or receiver organisation."""
    return filters.provider_org is not None or not _ORG_DIMENSIONS.isdisjoint(by)


# -- statements built once per shape of question ----------------------------------------------
#
# A page asks a dozen money questions, and building their statements (SQLAlchemy Core objects,
# then their cache keys) cost more CPU than the queries themselves (issue 14: profile in
# docs/serving.md). A statement depends on which filters are set, not on their values: it is
# built once per shape of question (``_shape``) with the values as bound parameters
# (``_parameters``), and kept in ``_STATEMENTS``. The values of the filters that select
# activities (``chosen``: partner, humanitarian flag, search words, further sectors) are part
# of the statement (store.filters builds it) and of its key.


def _shape(filters: _Money) -> _Money:
    """``filters`` with each set value replaced by one placeholder: what a statement is built
    from (it binds every value by name, ``_parameters``), and the key it is kept under."""
    return replace(
        filters,
        reporting_org=("",) if filters.reporting_org else (),
        country=None if filters.country is None else "",
        region=None if filters.region is None else "",
        region_vocabulary=None if filters.region_vocabulary is None else "",
        year=None if filters.year is None else 0,
        years=None if filters.years is None else (0, 0),
        identifiers=("",) if filters.identifiers else (),
        sector_vocabulary=None if filters.sector_vocabulary is None else "",
        sector=None if filters.sector is None else "",
        provider_org=None if filters.provider_org is None else "",
        currency=None if filters.currency is None else "",
    )


def _parameters(filters: _Money) -> dict[str, Any]:
    """The values the statements of ``_filter_conditions`` bind, by name."""
    first, last = filters.years if filters.years is not None else (None, None)
    return {
        "money_currency": filters.currency,
        "money_reporting_org": list(filters.reporting_org),
        "money_country": filters.country,
        "money_region": filters.region,
        "money_region_vocabulary": filters.region_vocabulary,
        "money_year": filters.year,
        "money_first_year": first,
        "money_last_year": last,
        "money_identifiers": list(filters.identifiers),
        "money_provider_org": filters.provider_org,
        "money_sector_vocabulary": filters.sector_vocabulary,
        "money_sector": filters.sector,
    }


def _rules_key(portal: Portal) -> tuple[Any, ...]:
    """What of ``portal`` the money statements depend on (``_measure_condition``): each
    profile's reporting orgs and money rules."""
    return tuple(
        (p.reporting_org_refs, p.money.budget_status, p.money.disbursements_are_expenditure)
        for p in (portal.default, *portal.profiles)
    )


def _filter_conditions(src: _Source, filters: _Money) -> list[ColumnElement[bool]]:
    """The conditions of the set filters, their values bound by name (``_parameters``)."""
    c = src.dims.c
    out: list[ColumnElement[bool]] = []
    currency: BindParameter[Any] = bindparam("money_currency")
    if filters.currency is None:
        out.append(c.converted_to.is_(None))
    elif filters.without_rate:
        out.append(and_(c.converted_to == currency, c.rate_missing.is_(true())))
    else:
        out.append(
            or_(
                and_(c.converted_to.is_(None), c.currency == currency),
                and_(c.converted_to == currency, c.rate_missing.is_(false())),
            )
        )
    if filters.reporting_org:
        out.append(c.reporting_org_ref.in_(bindparam("money_reporting_org", expanding=True)))
    # Named activities are few: their facts are found by activity, not all the facts of
    # their country (and year) searched for theirs (SQLite; a country tab's outcomes by
    # activity read every fact of the country in the year).
    if filters.country is not None:
        country = c.recipient_country_code == bindparam("money_country")
        out.append(usually_true(country, filters.dialect) if filters.identifiers else country)
    if filters.region is not None:
        region = c.recipient_region_code == bindparam("money_region")
        out.append(usually_true(region, filters.dialect) if filters.identifiers else region)
        if filters.region_vocabulary is not None:
            out.append(c.recipient_region_vocabulary == bindparam("money_region_vocabulary"))
    if filters.year is not None:
        out.append(c.year == bindparam("money_year"))
    if filters.years is not None:
        out.append(c.year.between(bindparam("money_first_year"), bindparam("money_last_year")))
    if filters.identifiers:
        out.append(c.activity_id.in_(_members()))
    if filters.chosen is not None:
        out.append(c.activity_id.in_(selected_ids(filters.chosen, filters.dialect)))
    if filters.provider_org is not None:
        out.append(c.provider_org_ref == bindparam("money_provider_org"))
    if filters.sector is not None:
        out.append(src.sector_table.c.sector_vocabulary == bindparam("money_sector_vocabulary"))
        out.append(src.sector_table.c.sector_code == bindparam("money_sector"))
    return out


def breakdown(
    conn: Connection,
    rules: Portal | Profile | None,
    by: Sequence[Dimension] = (),
    filters: Filters | None = None,
    measures: Sequence[Measure] = ("budget", "expenditure"),
    *,
    sector_vocabulary: str | None = None,
) -> list[MoneyRow]:
    """Sums of ``measures`` per currency and per value of each dimension in ``by``.

    ``rules`` gives the publishers' money rules (a Portal, one Profile, or None for the
    neutral defaults). A ``sector`` breakdown needs ``sector_vocabulary``; it includes the
    money without a sector of that vocabulary as a row with ``sector_code`` None. Rows are
    ordered by dimensions, measure and currency (None first).
    """
    portal = _portal(rules)
    if "sector" in by:
        if sector_vocabulary is None:
            raise ValueError("a sector breakdown needs sector_vocabulary")
    elif sector_vocabulary is not None:
        raise ValueError("sector_vocabulary is only for a sector breakdown")
    for measure in measures:
        if measure not in MEASURES:
            raise ValueError(f"unknown measure {measure!r}")
    if not measures:
        return []
    money = _money(filters, conn.dialect.name, sector_vocabulary)
    return _breakdown(conn, portal, by, money, measures, sector_vocabulary)


def _breakdown(
    conn: Connection,
    portal: Portal,
    by: Sequence[Dimension],
    filters: _Money,
    measures: Sequence[Measure],
    sector_vocabulary: str | None,
) -> list[MoneyRow]:
    # Money of chosen activities is read per activity: the sums over activities have no ids.
    per_activity = bool(filters.identifiers) or filters.chosen is not None or "activity" in by
    unclassified = "sector" in by and filters.sector is None
    src = _source(
        per_activity=per_activity,
        by_sector="sector" in by or filters.sector is not None,
        orgs=_names_orgs(by, filters),
    )
    shape = _shape(filters)

    def build() -> Executable:
        selects = [
            _measure_select(portal, src, measure, by, shape, sector_vocabulary)
            for measure in measures
        ]
        if unclassified and per_activity:
            selects += [
                _unclassified_select(portal, measure, by, shape, sector_vocabulary or "")
                for measure in measures
            ]
        return _union(selects)

    key = ("breakdown", _rules_key(portal), tuple(by), shape, tuple(measures), sector_vocabulary)
    statement = statements.kept(key, build)
    result = [_row(row, by) for row in conn.execute(statement, _parameters(filters)).all()]
    if unclassified and per_activity:
        result = _without_empty_unclassified(result)
    if unclassified and not per_activity:
        result += _unclassified_rows(
            conn, portal, by, filters, measures, sector_vocabulary or "", result
        )
    result.sort(key=lambda r: _sort_key(r, by, measures))
    return result


def _union(selects: Sequence[Select[Any]]) -> Executable:
    return union_all(*selects) if len(selects) > 1 else selects[0]


def _group_key(row: MoneyRow) -> MoneyRow:
    return replace(row, sector_vocabulary=None, sector_code=None, value=Decimal(0))


def _without_empty_unclassified(rows: list[MoneyRow]) -> list[MoneyRow]:
    """Drop "not specified" rows of 0 beside classified money of the same group (as the sums
    over activities, which only see a difference, do)."""
    classified = {_group_key(r) for r in rows if r.sector_code is not None}
    return [
        r
        for r in rows
        if r.sector_code is not None or r.value != 0 or _group_key(r) not in classified
    ]


def _unclassified_rows(
    conn: Connection,
    portal: Portal,
    by: Sequence[Dimension],
    filters: _Money,
    measures: Sequence[Measure],
    vocabulary: str,
    classified: list[MoneyRow],
) -> list[MoneyRow]:
    """Totals less classified money, per group: the money without a sector of the
    vocabulary (sums over activities keep no per-activity trace of it)."""
    others = [d for d in by if d != "sector"]
    shape = _shape(filters)
    statement = statements.kept(
        ("unclassified", _rules_key(portal), tuple(others), shape, tuple(measures)),
        lambda: _union(
            [
                _measure_select(
                    portal,
                    _source(per_activity=False, by_sector=False, orgs=_names_orgs(others, shape)),
                    m,
                    others,
                    shape,
                    None,
                )
                for m in measures
            ]
        ),
    )
    totals = [_row(row, others) for row in conn.execute(statement, _parameters(filters)).all()]
    spread: dict[MoneyRow, Decimal] = defaultdict(Decimal)
    for row in classified:
        spread[_group_key(row)] += row.value
    out = []
    for total in totals:
        key = _group_key(total)
        if key not in spread or total.value != spread[key]:
            out.append(
                replace(
                    total,
                    value=total.value - spread.get(key, Decimal(0)),
                    sector_vocabulary=vocabulary,
                )
            )
    return out


def _group_columns(src: _Source, by: Sequence[Dimension]) -> list[Any]:
    columns: list[Any] = []
    for dim in by:
        if dim == "activity":
            columns.append(s.activity.c.iati_identifier)
        elif dim == "sector":
            columns.extend(src.sector_table.c[name] for name in _DIMENSION_COLUMNS[dim])
        else:
            columns.extend(src.dims.c[name] for name in _DIMENSION_COLUMNS[dim])
    return columns


def _measure_select(
    portal: Portal,
    src: _Source,
    measure: Measure,
    by: Sequence[Dimension],
    filters: _Money,
    sector_vocabulary: str | None,
) -> Select[Any]:
    groups = _group_columns(src, by)
    query = (
        select(
            literal(measure).label("measure"),
            src.dims.c.currency,
            *groups,
            func.sum(src.value).label("value"),
        )
        .select_from(src.from_clause())
        .where(_measure_condition(portal, src.dims, measure), *_filter_conditions(src, filters))
    )
    if "activity" in by:
        query = _per_activity(query, src.dims, filters)
    if sector_vocabulary is not None and filters.sector is None:
        vocabulary = src.sector_table.c.sector_vocabulary == sector_vocabulary
        if src.dims is s.money_fact:
            # The facts of the chosen activities by their activity, their sectors by their
            # fact: searched by the vocabulary, SQLite walked every sector fact of it in the
            # store to keep one activity's (13 ms instead of 0.2 for an activity page's SDG
            # table on the store of all shared files, issue 14).
            vocabulary = usually_true(vocabulary, filters.dialect)
        query = query.where(vocabulary)
    return query.group_by(src.dims.c.currency, *groups)


def _unclassified_select(
    portal: Portal,
    measure: Measure,
    by: Sequence[Dimension],
    filters: _Money,
    sector_vocabulary: str,
) -> Select[Any]:
    """Facts with no sector of the vocabulary, as sector rows with code None."""
    src = _Source(s.money_fact)
    fact = src.dims
    columns: list[Any] = []
    groups: list[Any] = []
    for dim in by:
        if dim == "sector":
            columns += [
                literal(sector_vocabulary).label("sector_vocabulary"),
                literal(None, s.money_fact_sector.c.sector_code.type).label("sector_code"),
            ]
        elif dim == "activity":
            columns.append(s.activity.c.iati_identifier)
            groups.append(s.activity.c.iati_identifier)
        else:
            for name in _DIMENSION_COLUMNS[dim]:
                columns.append(fact.c[name])
                groups.append(fact.c[name])
    classified = exists().where(
        s.money_fact_sector.c.money_fact_id == fact.c.id,
        s.money_fact_sector.c.sector_vocabulary == sector_vocabulary,
    )
    query = select(
        literal(measure).label("measure"),
        fact.c.currency,
        *columns,
        func.sum(fact.c.value).label("value"),
    ).where(
        _measure_condition(portal, fact, measure),
        *_filter_conditions(src, filters),
        ~classified,
    )
    if "activity" in by:
        query = _per_activity(query, fact, filters)
    return query.group_by(fact.c.currency, *groups)


def _row(row: Any, by: Sequence[Dimension]) -> MoneyRow:
    values: dict[str, Any] = {}
    mapping = row._mapping
    for dim in by:
        names = ("iati_identifier",) if dim == "activity" else _DIMENSION_COLUMNS[dim]
        for name in names:
            values[name] = mapping[name]
    if "year" in values and values["year"] is not None:
        values["year"] = int(values["year"])
    if "humanitarian" in values and values["humanitarian"] is not None:
        values["humanitarian"] = bool(values["humanitarian"])
    return MoneyRow(
        measure=mapping["measure"],
        currency=mapping["currency"],
        value=mapping["value"] if mapping["value"] is not None else Decimal(0),
        **values,
    )


def _none_first(value: Any) -> tuple[bool, Any]:
    return (value is not None, value if value is not None else 0)


def _sort_key(row: MoneyRow, by: Sequence[Dimension], measures: Sequence[Measure]) -> Any:
    key: list[Any] = []
    for dim in by:
        names = ("iati_identifier",) if dim == "activity" else _DIMENSION_COLUMNS[dim]
        key.extend(_none_first(getattr(row, name)) for name in names)
    key.append(measures.index(row.measure))
    key.append(_none_first(row.currency))
    return tuple(key)


# -- named breakdowns ------------------------------------------------------------------------


def totals(
    conn: Connection,
    rules: Portal | Profile | None,
    filters: Filters | None = None,
    measures: Sequence[Measure] = ("budget", "expenditure", "incoming"),
) -> list[MoneyRow]:
    """One sum per measure and currency (for one year when ``filters.year`` is set)."""
    return breakdown(conn, rules, (), filters, measures)


def by_year(
    conn: Connection,
    rules: Portal | Profile | None,
    filters: Filters | None = None,
    measures: Sequence[Measure] = ("budget", "expenditure"),
) -> list[MoneyRow]:
    """Sums per year (None: undated), measure and currency."""
    return breakdown(conn, rules, ("year",), filters, measures)


def by_country(
    conn: Connection,
    rules: Portal | Profile | None,
    filters: Filters | None = None,
    measures: Sequence[Measure] = ("budget", "expenditure"),
) -> list[MoneyRow]:
    """Sums per recipient country (None: regional or unspecified), measure and currency."""
    return breakdown(conn, rules, ("country",), filters, measures)


def by_region(
    conn: Connection,
    rules: Portal | Profile | None,
    filters: Filters | None = None,
    measures: Sequence[Measure] = ("budget", "expenditure"),
) -> list[MoneyRow]:
    """Sums per recipient region (vocabulary and code; None: by country or unspecified)."""
    return breakdown(conn, rules, ("region",), filters, measures)


def by_sector(
    conn: Connection,
    rules: Portal | Profile | None,
    sector_vocabulary: str,
    filters: Filters | None = None,
    measures: Sequence[Measure] = ("budget", "expenditure"),
) -> list[MoneyRow]:
    """Sums per sector of one vocabulary (code None: no sector of that vocabulary).

    For a strategic plan's impact areas pass ``profile.strategic_plan.sector_vocabulary``.
    """
    return breakdown(
        conn, rules, ("sector",), filters, measures, sector_vocabulary=sector_vocabulary
    )


def by_activity(
    conn: Connection,
    rules: Portal | Profile | None,
    filters: Filters | None = None,
    measures: Sequence[Measure] = ("budget", "expenditure"),
) -> list[MoneyRow]:
    """Sums per activity (``iati_identifier``), measure and currency. When ``filters`` name
    the activities, each one's sums hold its descendants' money too (the module docstring)."""
    return breakdown(conn, rules, ("activity",), filters, measures)


def by_provider(
    conn: Connection,
    rules: Portal | Profile | None,
    filters: Filters | None = None,
    *,
    per_year: bool = False,
    humanitarian: bool = False,
) -> list[MoneyRow]:
    """Incoming funds per provider organisation (ref and name as published) and currency;
    ``per_year``: and per year; ``humanitarian``: and per humanitarian flag (None: not
    stated)."""
    dims: tuple[Dimension, ...] = ("provider", "year") if per_year else ("provider",)
    if humanitarian:
        dims += ("humanitarian",)
    return breakdown(conn, rules, dims, filters, ("incoming",))


def years(
    conn: Connection,
    rules: Portal | Profile | None,
    filters: Filters | None = None,
    measures: Sequence[Measure] = ("budget", "expenditure"),
) -> list[int]:
    """The years that have money of ``measures`` (for a Year selector), ascending."""
    rows = breakdown(conn, rules, ("year",), filters, measures)
    return sorted({r.year for r in rows if r.year is not None})


def funding_partners(
    conn: Connection, rules: Portal | Profile | None, filters: Filters | None = None
) -> list[FundingPartner]:
    """Funding partners with their incoming funds per currency, largest first, then the
    partners named only as funding participating organisations (without amounts).

    Incoming funds of one provider ref published under several names are one partner, shown
    with its most frequent name.
    """
    money = _money(filters, conn.dialect.name)
    src = _source(
        per_activity=bool(money.identifiers) or money.chosen is not None,
        by_sector=money.sector is not None,
    )
    fact = src.dims
    portal = _portal(rules)
    shape = _shape(money)
    statement = statements.kept(
        ("funding_partners", _rules_key(portal), shape),
        lambda: (
            select(
                fact.c.provider_org_ref,
                fact.c.provider_org_name,
                fact.c.currency,
                func.sum(src.value).label("value"),
                func.count().label("n"),
            )
            .select_from(src.from_clause())
            .where(_measure_condition(portal, fact, "incoming"), *_filter_conditions(src, shape))
            .group_by(fact.c.provider_org_ref, fact.c.provider_org_name, fact.c.currency)
        ),
    )
    rows = conn.execute(statement, _parameters(money)).all()
    amounts: dict[tuple[str, str | None], Decimal] = defaultdict(Decimal)
    names: dict[str, dict[str | None, int]] = defaultdict(lambda: defaultdict(int))
    refs: dict[str, str | None] = {}
    for row in rows:
        key = _partner_key(row.provider_org_ref, row.provider_org_name)
        refs[key] = row.provider_org_ref
        amounts[(key, row.currency)] += row.value if row.value is not None else Decimal(0)
        names[key][row.provider_org_name] += int(row.n)
    partners = [
        FundingPartner(refs[key], _most_frequent(names[key]), currency, value, "incoming-funds")
        for (key, currency), value in amounts.items()
    ]
    partners.sort(key=lambda p: (-(p.value or 0), p.provider_org_name or "", p.currency or ""))
    if money.provider_org is None:
        partners += _participating_funders(conn, money, set(refs))
    return partners


@dataclass(frozen=True)
class Receiver:
    """An implementing partner's share of ``measure`` in one currency: the receiver-org of the
    transactions (``ref`` and ``name`` None: spending that names no receiver)."""

    receiver_org_ref: str | None
    receiver_org_name: str | None
    currency: str | None
    value: Decimal


def receivers(
    conn: Connection,
    rules: Portal | Profile | None,
    filters: Filters | None = None,
    measure: Measure = "expenditure",
) -> list[Receiver]:
    """``measure`` (the page's expenditure by default) per receiver organisation and currency,
    largest first, the money that names no receiver included (one per currency): per
    currency the values add up to ``totals`` of the same filters. One ref published under
    several names is one receiver, with its most frequent name (counted in facts: one per
    activity, year and country), ties in text order."""
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}")
    money = _money(filters, conn.dialect.name)
    src = _source(
        per_activity=bool(money.identifiers) or money.chosen is not None,
        by_sector=money.sector is not None,
    )
    fact = src.dims
    rows = conn.execute(
        select(
            fact.c.receiver_org_ref,
            fact.c.receiver_org_name,
            fact.c.currency,
            func.sum(src.value).label("value"),
            # How many facts (an activity's money of a year) name it so: on the sums over
            # activities, the facts each sum holds.
            func.count().label("n")
            if "fact_count" not in fact.c
            else func.sum(fact.c.fact_count).label("n"),
        )
        .select_from(src.from_clause())
        .where(_measure_condition(_portal(rules), fact, measure), *_filter_conditions(src, money))
        .group_by(fact.c.receiver_org_ref, fact.c.receiver_org_name, fact.c.currency),
        _parameters(money),
    ).all()
    amounts: dict[tuple[str, str | None], Decimal] = defaultdict(Decimal)
    names: dict[str, dict[str | None, int]] = defaultdict(lambda: defaultdict(int))
    refs: dict[str, str | None] = {}
    for row in rows:
        ref, name = row.receiver_org_ref, row.receiver_org_name
        # No ref and no name (or an empty one): the money that names no receiver.
        key = "" if ref is None and not name else _partner_key(ref, name)
        refs[key] = ref
        amounts[(key, row.currency)] += row.value if row.value is not None else Decimal(0)
        names[key][name or None] += int(row.n or 0)
    found = [
        Receiver(refs[key], _most_frequent(names[key]) if key else None, currency, value)
        for (key, currency), value in amounts.items()
    ]
    found.sort(key=lambda r: (-r.value, r.receiver_org_name or "", r.currency or ""))
    return found


def _partner_key(ref: str | None, name: str | None) -> str:
    return f"ref:{ref}" if ref is not None else f"name:{name or ''}"


def _most_frequent(counts: dict[str | None, int]) -> str | None:
    named = [(n, name) for name, n in counts.items() if name is not None]
    if not named:
        return None
    return min(named, key=lambda item: (-item[0], item[1]))[1]


def _participating_funders(
    conn: Connection, filters: _Money, known: set[str]
) -> list[FundingPartner]:
    """Role-1 participating orgs of matching activities that publish no incoming funds.

    Activities match on their recipient countries, regions and sectors as published; in a
    year when their budgets and transactions span it.
    """
    shape = _shape(filters)
    query = statements.kept(("participating", shape), lambda: _funders_select(shape))
    names: dict[str, dict[str | None, int]] = defaultdict(lambda: defaultdict(int))
    refs: dict[str, str | None] = {}
    for row in conn.execute(query, _parameters(filters)):
        if row.ref is None and row.name is None:
            continue
        key = _partner_key(row.ref, row.name)
        if key not in known:
            refs[key] = row.ref
            names[key][row.name] += int(row.n)
    found = [
        FundingPartner(refs[key], _most_frequent(names[key]), None, None, "participating-org")
        for key in refs
    ]
    return sorted(found, key=lambda p: (p.provider_org_name or "", p.provider_org_ref or ""))


def _funders_select(filters: _Money) -> Select[Any]:
    """The statement of ``_participating_funders``, its values bound (``_parameters``)."""
    pf = s.participating_funder
    query = select(pf.c.ref, pf.c.name, func.count().label("n")).group_by(pf.c.ref, pf.c.name)
    if filters.reporting_org:
        query = query.where(
            pf.c.reporting_org_ref.in_(bindparam("money_reporting_org", expanding=True))
        )
    if filters.identifiers:
        query = query.where(pf.c.activity_id.in_(_members()))
    if filters.chosen is not None:
        query = query.where(pf.c.activity_id.in_(selected_ids(filters.chosen, filters.dialect)))
    if filters.country is not None:
        rc = s.recipient_country
        query = query.where(
            pf.c.activity_id.in_(
                select(rc.c.activity_id).where(
                    rc.c.recipient_country_code == bindparam("money_country")
                )
            )
        )
    if filters.region is not None:
        rr = s.recipient_region
        region = select(rr.c.activity_id).where(
            rr.c.recipient_region_code == bindparam("money_region")
        )
        if filters.region_vocabulary is not None:
            region = region.where(rr.c.vocabulary == bindparam("money_region_vocabulary"))
        query = query.where(pf.c.activity_id.in_(region))
    if filters.sector is not None:
        se = s.sector
        query = query.where(
            pf.c.activity_id.in_(
                select(se.c.activity_id).where(
                    se.c.vocabulary == bindparam("money_sector_vocabulary"),
                    se.c.sector_code == bindparam("money_sector"),
                )
            )
        )
    if filters.year is not None:
        year: BindParameter[Any] = bindparam("money_year")
        query = query.where(pf.c.first_year <= year, pf.c.last_year >= year)
    if filters.years is not None:
        query = query.where(
            pf.c.first_year <= bindparam("money_last_year"),
            pf.c.last_year >= bindparam("money_first_year"),
        )
    return query


def unconverted(
    conn: Connection,
    rules: Portal | Profile | None,
    filters: Filters,
    measures: Sequence[Measure] = ("budget", "expenditure"),
) -> list[MoneyRow]:
    """With ``filters.currency``: the amounts, per measure and published currency, that could
    not be converted for want of a rate at their value date (left out of the totals)."""
    if filters.currency is None:
        return []
    return totals(conn, rules, replace(filters, without_rate=True), measures)


def currencies(rows: Iterable[MoneyRow]) -> list[str | None]:
    """The currencies present in ``rows`` (None first), for rendering one column each."""
    return sorted({r.currency for r in rows}, key=_none_first)
