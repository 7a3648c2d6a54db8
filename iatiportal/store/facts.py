"""Precomputed money: ``refresh`` rebuilds ``money_fact`` and ``money_fact_sector``.

The rules are those of :mod:`iatiportal.store.money` (whose docstring the methodology page
quotes); this module applies them once per ingest, set-based in SQL, so that pages only sum
precomputed rows. Steps (temporary tables ``mf_*``):

1. Budgets of current activities with a value; within one activity, status and period a
   revised budget (type 2) replaces an original one (type 1); an indicative budget is marked
   ``budget_superseded`` when a committed one covers the same period. Each budget is split
   over the calendar years of its period by days. A budget's ``humanitarian`` flag is its
   activity's.
2. Transactions of types 1-4 of current activities with a value, by year of their date (else
   of their value date); ``humanitarian``: the transaction's flag, else its activity's;
   ``passed_on``: a disbursement to another activity we hold that reports its own
   disbursements or expenditure (``_PASSED_ON``).
3. Both summed per activity, measure, year, currency, humanitarian flag (and provider for
   incoming funds, receiver for commitments, disbursements and expenditure).
4. Parent and child: an ancestor's sums of a measure and year are dropped when one of its
   descendants (same reporting org) has sums of that measure and year.
5. Split by recipient country / region percentages into ``money_fact``; then each fact split by
   the sector percentages of every sector vocabulary into ``money_fact_sector``.

Amounts are handled as whole 1/10,000 units on both databases (SQLite stores them so;
PostgreSQL multiplies by 10,000). A split part is the difference of two cumulative shares,
each truncated toward zero with integer division, so the parts add up exactly to the whole,
no window over the parts is needed, and both databases give identical figures.

Finally ``money_total`` and ``money_total_sector`` sum the facts over activities (what pages
without an activity in question read); ``participating_funder`` lists the role-1
participating organisations of activities without incoming funds; ``activity_implementer``
the implementing partners each activity names (``_implementers``); ``activity_year`` lists the
years of each activity's budgets and transactions; ``country_activities`` counts the current
activities naming each recipient country (descendants of another activity counted under it, not
on their own); ``activity_descendant`` keeps the closure of step 4, ``activity_link`` its links;
``funding_link`` and the link check's problems are made by :mod:`iatiportal.store.chains`.

Incremental: an ingest records the activity rows it stores and deletes in ``derive_pending``
(``note_file``, in its own transaction), and the refresh that follows works on ``scope``: those
activities, every other copy of their identifiers, and the whole hierarchies they were in
(``activity_link``) or are in now (``related_activity``), and the activities that disburse to
one of the changed identifiers (their ``passed_on`` follows what it reports). Every step above
is the same SQL with the scope's condition added (``_Scope``): a fact of one activity reads no
other activity than its descendants (and, for ``passed_on``, whether the activity it disburses
to is held and spends), so the scope's facts are those of a full rebuild. The sums over activities
are updated by difference (old sums of the scope's facts taken away, new ones added, with a
fact count so that an emptied group goes): exact integers, no fact outside the scope read; the
groups are found by their ``group_key`` (``_group_key``), which is indexed, so no other group
is read either.
Country counts likewise: ``activity_country`` keeps each current activity's countries as
counted, and the scope's old rows are taken away from ``country_activities`` and its new ones
added (``_country_counts``). A scope over
FULL_SHARE of the store, a store never refreshed, and ``ask_full`` rebuild everything instead;
``rates load`` rebuilds the facts in full (every conversion may change).
"""

# The SQL below is assembled from constant fragments that differ by database (see _Dialect);
# no value from data or users is ever formatted into it, so S608 does not apply.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, delete, func, insert, select, text

from iatiportal.store import chains, version
from iatiportal.store import schema as s
from iatiportal.store.db import writing

_TEMP_TABLES = (
    "mf_budget",
    "mf_budget_kept",
    "mf_src",
    "mf_edge",
    "mf_closure",
    "mf_geo",
    "mf_sector",
    "mf_span",
    "mf_target",
    "mf_delta",
    "mf_delta_sector",
    "mf_delta_summary",
    "mf_delta_summary_sector",
    "mf_delta_keys",
    "mf_sum",
    "mf_country_delta",
    "mf_country_keys",
    "mf_country_sum",
)

SCOPE = "mf_scope"
"""The temporary table of the activity ids an incremental refresh works on (``scope``)."""

TARGET_CURRENCIES = ("USD", "EUR")
"""Currencies every amount is also converted to (at its value date, see ``_conversions``)."""
RATE_VALID_DAYS = 45
"""How old a rate may be at the value date (monthly rates: one month and a half)."""

_FACT_DIMENSIONS = (
    "activity_id, reporting_org_ref, measure, year, currency, budget_status, budget_superseded, "
    "provider_org_ref, provider_org_name, receiver_org_ref, receiver_org_name, passed_on, "
    "recipient_country_code, recipient_region_code, "
    "recipient_region_vocabulary, converted_to, rate_missing, humanitarian"
)

_TOTAL_DIMENSIONS = _FACT_DIMENSIONS.removeprefix("activity_id, ")
_SUMMARY_DIMENSIONS = ", ".join(
    c
    for c in (c.strip() for c in _TOTAL_DIMENSIONS.split(","))
    if c not in ("provider_org_ref", "provider_org_name", "receiver_org_ref", "receiver_org_name")
)

_FACT_TABLES = (
    s.money_fact,
    s.money_fact_sector,
    s.money_total,
    s.money_total_sector,
    s.money_summary,
    s.money_summary_sector,
    s.participating_funder,
    s.activity_implementer,
    s.activity_year,
    s.country_activities,
    s.activity_country,
    s.activity_descendant,
    s.activity_link,
    s.funding_link,
)

CYCLE_RULE = "hierarchy-cycle"
"""The problem recorded for each activity whose parent and child links lead back to itself."""

HUNDRED_PERCENT = 1_000_000
"""100 % in 1/10,000 units."""


@dataclass(frozen=True)
class RefreshSummary:
    facts: int
    sector_facts: int
    seconds: float


class _Dialect:
    """The few SQL fragments that differ between SQLite and PostgreSQL."""

    def __init__(self, name: str) -> None:
        self.sqlite = name == "sqlite"

    def units(self, expr: str) -> str:
        """An Exact column as a whole number of 1/10,000 units."""
        return expr if self.sqlite else f"({expr} * 10000)"

    def from_units(self, expr: str) -> str:
        return expr if self.sqlite else f"(({expr}) / 10000.0)"

    def share(self, value: str, weight: str, total: str) -> str:
        """``value * weight / total`` truncated toward zero, without overflow on SQLite."""
        if self.sqlite:
            return f"(({value} / {total}) * {weight} + (({value} % {total}) * {weight}) / {total})"
        return f"div({value} * {weight}, {total})"

    def idiv(self, a: str, b: str) -> str:
        return f"({a} / {b})" if self.sqlite else f"div({a}, {b})"

    def same(self, a: str, b: str) -> str:
        """Null-safe equality."""
        return f"({a} IS {b})" if self.sqlite else f"({a} IS NOT DISTINCT FROM {b})"

    def year_of(self, expr: str) -> str:
        if self.sqlite:
            return f"CAST(substr({expr}, 1, 4) AS INTEGER)"
        return f"CAST(EXTRACT(YEAR FROM {expr}) AS INTEGER)"

    def year_start(self, year: str) -> str:
        return f"printf('%04d-01-01', {year})" if self.sqlite else f"make_date({year}, 1, 1)"

    def year_end(self, year: str) -> str:
        return f"printf('%04d-12-31', {year})" if self.sqlite else f"make_date({year}, 12, 31)"

    def later(self, a: str, b: str) -> str:
        return f"max({a}, {b})" if self.sqlite else f"GREATEST({a}, {b})"

    def earlier(self, a: str, b: str) -> str:
        return f"min({a}, {b})" if self.sqlite else f"LEAST({a}, {b})"

    def days_before(self, day: str, n: int) -> str:
        return f"date({day}, '-{n} days')" if self.sqlite else f"(({day}) - {n})"

    def convert(self, units: str, rate: str) -> str:
        """An amount in 1/10,000 units times a rate, rounded to a whole unit."""
        if self.sqlite:
            return f"CAST(ROUND({units} * {rate}) AS INTEGER)"
        return f"ROUND({units} * CAST({rate} AS NUMERIC))"

    def days(self, start: str, end: str) -> str:
        """Days from start to end, both included."""
        if self.sqlite:
            return f"(CAST(julianday({end}) - julianday({start}) AS INTEGER) + 1)"
        return f"(({end}) - ({start}) + 1)"

    def temp(self, name: str) -> str:
        return f"CREATE TEMP TABLE {name} AS"

    def bytewise(self, expr: str) -> str:
        """Text ordered by its bytes on both databases (SQLite's default; PostgreSQL's "C")."""
        return expr if self.sqlite else f'({expr}) COLLATE "C"'


def _receiver_order(d: _Dialect, prefix: str) -> str:
    """The receivers of one group in one order on both databases (none first; of one receiver,
    the money it keeps before the money it passes on to an activity we hold)."""
    ref, name = f"{prefix}receiver_org_ref", f"{prefix}receiver_org_name"
    empty = "''"
    return (
        f"CASE WHEN {ref} IS NULL THEN 0 ELSE 1 END, {d.bytewise(f'COALESCE({ref}, {empty})')}, "
        f"CASE WHEN {name} IS NULL THEN 0 ELSE 1 END, {d.bytewise(f'COALESCE({name}, {empty})')}, "
        f"CAST({prefix}passed_on AS INTEGER)"
    )


def _receivers_share(
    d: _Dialect, upto: str, value: str, before: str, through: str, total: str
) -> str:
    """The part between two cumulative weights of one receiver's ``value``, the last of a
    group's receivers counted ``upto`` it: the part of ``upto`` less that of ``upto - value``.
    Over a group's receivers the parts add up to the part of the group's whole (they
    telescope), so that splitting money by receiver changes no split of the money itself by
    even 1/10,000 (issue 15)."""
    return (
        f"({_share_between(d, upto, before, through, total)} - "
        f"{_share_between(d, f'({upto} - {value})', before, through, total)})"
    )


class _Scope:
    """The condition a step adds to work on the activities of ``mf_scope`` only (none: all)."""

    def __init__(self, scoped: bool) -> None:
        self.scoped = scoped

    def where(self, column: str) -> str:
        return f" AND {column} IN (SELECT activity_id FROM {SCOPE})" if self.scoped else ""


FULL_SHARE = 0.3
"""An incremental refresh whose scope holds more than this share of the activities rebuilds
everything instead (set-based over the whole store is then faster)."""

_TEXT, _YEAR, _FLAG = "text", "year", "flag"
_DIMENSION_KINDS = {
    "year": _YEAR,
    "budget_superseded": _FLAG,
    "rate_missing": _FLAG,
    "humanitarian": _FLAG,
    "passed_on": _FLAG,
}


def _group_key(
    prefix: str = "", extra: Sequence[str] = (), dimensions: str = _TOTAL_DIMENSIONS
) -> str:
    """A group of ``money_total`` (or ``_sector`` with ``extra``; of ``money_summary`` with
    its ``dimensions``) as one text, the column ``group_key``: two groups have the same key
    only when they are equal in every dimension (NULL apart from every value). Each dimension
    in turn: a flag as one character (``-`` NULL, ``1``, ``0``); any other value as its
    length, ``:`` and the value (``-`` NULL), so that no value can run into the next one.

    An incremental refresh finds the groups it changes by this key through the index on it
    (issue 14: matching every dimension read the whole table of totals for each file)."""
    parts: list[str] = []
    for name in [*(c.strip() for c in dimensions.split(",")), *extra]:
        col = f"{prefix}{name}"
        kind = _DIMENSION_KINDS.get(name, _TEXT)
        if kind == _FLAG:
            parts.append(f"CASE WHEN {col} IS NULL THEN '-' WHEN {col} THEN '1' ELSE '0' END")
            continue
        value = f"CAST({col} AS VARCHAR)" if kind == _YEAR else col
        parts.append(f"CASE WHEN {col} IS NULL THEN '-' ELSE length({value}) || ':' || {value} END")
    return " || ".join(parts)


def note_file(conn: Connection, file_id: int) -> None:
    """Record the file's activity rows as changed (before they are deleted, and once the new
    ones are stored), in the ingest's transaction: the next refresh takes them into account
    even when the process dies before it."""
    conn.exec_driver_sql(
        f"""INSERT INTO derive_pending (activity_id, iati_identifier, reporting_org_ref)
        SELECT id, iati_identifier, reporting_org_ref FROM activity
        WHERE source_file_id = {int(file_id)}"""
    )


def ask_full(conn: Connection) -> None:
    """Have the next refresh rebuild everything (currency rates changed, an upgrade)."""
    conn.execute(insert(s.derive_pending).values(activity_id=None, iati_identifier=None))


def clear_pending(conn: Connection) -> None:
    conn.execute(delete(s.derive_pending))


def has_pending(conn: Connection) -> bool:
    return conn.execute(select(s.derive_pending.c.id).limit(1)).first() is not None


def scope(conn: Connection) -> bool:
    """Fill the temporary table ``mf_scope`` with the activities whose derived rows the
    pending changes may alter: each changed activity row (stored or deleted), every other
    copy of its identifier (one of them may have become current or stopped being it), every
    activity that disburses to one of those identifiers (whether its disbursement is passed on
    depends on what the receiving activity reports: ``_PASSED_ON``), and,
    repeatedly, whatever a parent or child link joins to those, as the links were before the
    change (``activity_link``) and as they are now (``related_activity``): whole hierarchies,
    so that every step of ``refresh`` can work on the scope alone.

    Returns False, with no scope, when everything must be rebuilt instead: the facts were
    never built, a full rebuild was asked for, or the scope holds more than FULL_SHARE of
    the activities.
    """
    for name in (SCOPE, "mf_frontier", "mf_next"):
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    full_asked = conn.execute(
        select(s.derive_pending.c.id).where(
            s.derive_pending.c.activity_id.is_(None), s.derive_pending.c.iati_identifier.is_(None)
        )
    ).first()
    if full_asked is not None or last_refresh(conn) is None:
        return False
    conn.exec_driver_sql(f"CREATE TEMP TABLE {SCOPE} (activity_id INTEGER PRIMARY KEY)")
    conn.exec_driver_sql("CREATE TEMP TABLE mf_frontier (activity_id INTEGER PRIMARY KEY)")
    conn.exec_driver_sql(
        """INSERT INTO mf_frontier (activity_id)
        SELECT activity_id FROM derive_pending WHERE activity_id IS NOT NULL
        UNION
        SELECT a.id FROM activity a WHERE a.iati_identifier IN (
            SELECT iati_identifier FROM derive_pending WHERE iati_identifier IS NOT NULL)
        UNION
        SELECT t.activity_id FROM "transaction" t
        WHERE t.transaction_type = '3' AND t.receiver_org_activity_id IN (
            SELECT iati_identifier FROM derive_pending WHERE iati_identifier IS NOT NULL)"""
    )
    linked = """
        SELECT l.child_id AS activity_id FROM activity_link l
        WHERE l.parent_id IN (SELECT activity_id FROM mf_frontier)
        UNION
        SELECT l.parent_id FROM activity_link l
        WHERE l.child_id IN (SELECT activity_id FROM mf_frontier)
        UNION
        SELECT o.id FROM related_activity ra
        JOIN activity o ON o.iati_identifier = ra.ref AND o.is_current = TRUE
        WHERE ra.activity_id IN (SELECT activity_id FROM mf_frontier)
          AND ra.related_activity_type IN ('1', '2')
        UNION
        SELECT ra.activity_id FROM related_activity ra
        JOIN activity f ON f.iati_identifier = ra.ref
        WHERE f.id IN (SELECT activity_id FROM mf_frontier)
          AND ra.related_activity_type IN ('1', '2')"""
    while True:
        conn.exec_driver_sql(
            f"INSERT INTO {SCOPE} (activity_id) SELECT activity_id FROM mf_frontier"
        )
        conn.exec_driver_sql(
            f"""CREATE TEMP TABLE mf_next AS SELECT DISTINCT activity_id FROM ({linked}) x
            WHERE activity_id NOT IN (SELECT activity_id FROM {SCOPE})"""
        )
        conn.exec_driver_sql("DELETE FROM mf_frontier")
        added = conn.exec_driver_sql(
            "INSERT INTO mf_frontier (activity_id) SELECT activity_id FROM mf_next"
        ).rowcount
        conn.exec_driver_sql("DROP TABLE mf_next")
        if not added:
            break
    conn.exec_driver_sql("DROP TABLE mf_frontier")
    scoped = int(conn.exec_driver_sql(f"SELECT count(*) FROM {SCOPE}").scalar_one())
    everything = int(conn.execute(select(func.count()).select_from(s.activity)).scalar_one())
    if scoped > FULL_SHARE * everything:
        conn.exec_driver_sql(f"DROP TABLE {SCOPE}")
        return False
    _analyze(conn, _Dialect(conn.dialect.name), SCOPE)
    return True


def drop_scope(conn: Connection) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {SCOPE}")


def _forget_scope(conn: Connection, d: _Dialect) -> tuple[int, int]:
    """Delete the derived rows of the scope's activities, first noting the groups of the
    tables summed over activities that they were in (``_totals`` recomputes those). Returns
    how many money facts and sector facts went."""
    in_scope = f"IN (SELECT activity_id FROM {SCOPE})"
    # The scope's facts as they were, taken away from the totals (``_totals`` adds the new).
    sc = _Scope(scoped=True)
    conn.exec_driver_sql(f"CREATE TEMP TABLE mf_delta AS {_fact_sums(sc, negate=True)}")
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE mf_delta_sector AS {_sector_fact_sums(sc, negate=True)}"
    )
    sector_facts = conn.exec_driver_sql(
        f"""DELETE FROM money_fact_sector WHERE money_fact_id IN (
            SELECT id FROM money_fact WHERE activity_id {in_scope})"""
    ).rowcount
    facts = conn.exec_driver_sql(f"DELETE FROM money_fact WHERE activity_id {in_scope}").rowcount
    for name in ("participating_funder", "activity_implementer", "activity_year"):
        conn.exec_driver_sql(f"DELETE FROM {name} WHERE activity_id {in_scope}")
    conn.exec_driver_sql(
        f"DELETE FROM activity_descendant WHERE ancestor_id {in_scope} OR descendant_id {in_scope}"
    )
    conn.exec_driver_sql(
        f"DELETE FROM activity_link WHERE parent_id {in_scope} OR child_id {in_scope}"
    )
    conn.exec_driver_sql(
        f"""DELETE FROM problem WHERE rule = '{CYCLE_RULE}' AND iati_identifier IN (
            SELECT iati_identifier FROM activity WHERE id {in_scope}
            UNION SELECT iati_identifier FROM derive_pending)"""
    )
    # The scope's activities as the country counts had them, taken away (``_country_counts``
    # adds them as they are now).
    conn.exec_driver_sql(f"CREATE TEMP TABLE mf_country_delta AS {_country_sums(sc, negate=True)}")
    conn.exec_driver_sql(f"DELETE FROM activity_country WHERE activity_id {in_scope}")
    return facts, sector_facts


def refresh(conn: Connection, *, scoped: bool = False) -> RefreshSummary:
    """Rebuild the money facts from the current activities (inside the caller's transaction).

    ``scoped``: only for the activities of the temporary table ``mf_scope`` (see ``scope``),
    which holds every activity of their hierarchies; the tables summed over activities are
    recomputed for the groups those activities' facts were or are in. Every step is the same
    SQL either way, with the scope's condition added (``_Scope``).
    """
    started = time.perf_counter()
    d = _Dialect(conn.dialect.name)
    sc = _Scope(scoped)
    for name in _TEMP_TABLES:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    if not d.sqlite:
        # One refresh at a time (a second one waits, then sees the first one's rows to
        # delete); readers are not blocked. SQLite's writers are one at a time already.
        conn.exec_driver_sql("LOCK TABLE money_refresh IN EXCLUSIVE MODE")
        # Let sorts and hash tables of the set-based steps work in memory (this transaction only).
        conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
        # No JIT compilation: the planner's estimates of the steps with subqueries pass its
        # thresholds, and compiling took longer than running them (a 300-activity file in an
        # 84,000-activity store: 1.5 s to compile the transactions' step, which ran in 0.06 s;
        # 1.1 s for the sector totals' sums). A full rebuild of that store took more processor
        # time with it too (128 s against 116 s in the database).
        conn.exec_driver_sql("SET LOCAL jit = off")
    if d.sqlite and not scoped:
        # Building an index once is faster than keeping it up to date row by row. (Not on
        # PostgreSQL: dropping an index locks the table against the readers, which see the
        # previous facts until this transaction commits.)
        for table in _FACT_TABLES:
            for index in table.indexes:
                index.drop(conn)
    before, gone = (0, 0), (0, 0)
    if scoped:
        # The numbers of facts go by difference too (counting the 1.5 M sector facts of a
        # 47,000-activity store after each file takes seconds, and grows with the store).
        counted = conn.execute(select(s.money_refresh.c.facts, s.money_refresh.c.sector_facts))
        before = tuple(counted.first() or (0, 0))
        gone = _forget_scope(conn, d)
    else:
        for table in _FACT_TABLES:
            conn.execute(delete(table))

    conn.exec_driver_sql(f"{d.temp('mf_target')} SELECT 'USD' AS code, 1 AS k WHERE 1 = 0")
    for k, code in enumerate(TARGET_CURRENCIES, 1):
        conn.exec_driver_sql(f"INSERT INTO mf_target (code, k) VALUES ('{code}', {k})")
    _budgets(conn, d, sc)
    _transactions(conn, d, sc)
    _participating_funders(conn, sc)
    _implementers(conn, d, sc)
    _hierarchy(conn, d, sc)
    added = (_split_by_geography(conn, d, sc), _split_by_sector(conn, d, sc))
    if not scoped:
        _analyze(conn, d, "money_fact", "money_fact_sector")
    _totals(conn, d, sc)
    has_rates = _has_rates(conn)
    chains.derive(
        conn, d, lambda src, columns: _conversions(d, src, columns, has_rates), scoped=scoped
    )
    facts, sector_facts = (int(before[i]) - gone[i] + added[i] for i in (0, 1))

    for name in _TEMP_TABLES:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    if d.sqlite and not scoped:
        for table in _FACT_TABLES:
            for index in table.indexes:
                index.create(conn)
    seconds = time.perf_counter() - started
    conn.execute(delete(s.money_refresh))
    conn.execute(
        insert(s.money_refresh).values(
            refreshed_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
            seconds=seconds,
            facts=facts,
            sector_facts=sector_facts,
        )
    )
    return RefreshSummary(facts, sector_facts, seconds)


def refresh_store(engine: Engine) -> RefreshSummary:
    """``refresh`` in a writer's transaction of its own (see ``db.writing``)."""
    with writing(engine) as conn:
        summary = refresh(conn)
        version.bump(conn)
    return summary


def is_stale(conn: Connection) -> bool:
    """Whether a file was stored after the last refresh (or the facts were never built)."""
    refreshed = last_refresh(conn)
    if refreshed is None:
        return True
    stored: dt.datetime | None = conn.execute(
        select(func.max(s.source_file.c.ingested_at))
    ).scalar_one()
    return stored is not None and stored >= refreshed


def last_refresh(conn: Connection) -> dt.datetime | None:
    """When the money facts were last rebuilt (None: never)."""
    value: dt.datetime | None = conn.execute(
        select(func.max(s.money_refresh.c.refreshed_at))
    ).scalar_one()
    return value


def _budgets(conn: Connection, d: _Dialect, sc: _Scope) -> None:
    same_period = (
        f"{d.same('c.period_start', 'b.period_start')} AND {d.same('c.period_end', 'b.period_end')}"
    )
    source = f"""
        SELECT b.id AS budget_id, b.activity_id, a.reporting_org_ref,
               COALESCE(b.currency, a.default_currency) AS currency,
               {d.units("b.value")} AS value,
               CASE WHEN b.budget_status = '2' THEN '2' ELSE '1' END AS budget_status,
               CASE WHEN b.budget_type = '2' THEN 2 ELSE 1 END AS type_rank,
               b.period_start, b.period_end,
               COALESCE(b.value_date, b.period_start, b.period_end) AS value_day,
               a.humanitarian
        FROM budget b JOIN activity a ON a.id = b.activity_id
        WHERE a.is_current = TRUE AND b.value IS NOT NULL{sc.where("b.activity_id")}"""
    columns = (
        "budget_id", "activity_id", "reporting_org_ref", "budget_status", "type_rank",
        "period_start", "period_end", "humanitarian",
    )  # fmt: skip
    # Each budget as published and its converted copies; ``budget_key`` tells them apart.
    conn.exec_driver_sql(
        f"""{d.temp("mf_budget")}
        SELECT c.*, c.budget_id * {len(TARGET_CURRENCIES) + 1} + c.copy_k AS budget_key
        FROM ({_conversions(d, source, columns, _has_rates(conn))}) c"""
    )
    # The period with the activity and status: the checks below compare each budget with its
    # activity's others, so an activity of hundreds of budgets made them quadratic (issue 14:
    # 1.1 s of the refresh of the 69 MB benchmark file, now 0.08 s).
    conn.exec_driver_sql(
        "CREATE INDEX mf_budget_activity "
        "ON mf_budget (activity_id, budget_status, period_start, period_end)"
    )
    _analyze(conn, d, "mf_budget")
    # Revised replaces original within a status and period; committed marks indicative (each
    # among the copies converted to the same currency, or among the budgets as published).
    same_copy = d.same("c.converted_to", "b.converted_to")
    conn.exec_driver_sql(
        f"""{d.temp("mf_budget_kept")}
        SELECT b.*,
               COALESCE(period_start, period_end) AS day_first,
               CASE WHEN period_start IS NOT NULL AND period_end IS NOT NULL
                         AND period_end >= period_start THEN period_end
                    ELSE COALESCE(period_start, period_end) END AS day_last,
               CASE WHEN b.budget_status = '1' AND EXISTS (
                   SELECT 1 FROM mf_budget c
                   WHERE c.activity_id = b.activity_id AND c.budget_status = '2'
                     AND {same_period} AND {same_copy}) THEN 1 ELSE 0 END AS superseded
        FROM mf_budget b
        WHERE NOT EXISTS (
            SELECT 1 FROM mf_budget c
            WHERE c.activity_id = b.activity_id AND c.budget_status = b.budget_status
              AND c.type_rank > b.type_rank AND {same_period} AND {same_copy})"""
    )
    conn.exec_driver_sql("CREATE UNIQUE INDEX mf_budget_kept_id ON mf_budget_kept (budget_key)")
    _analyze(conn, d, "mf_budget_kept")
    # Split each budget over the years of its period by days (cumulative shares, see
    # _share_between): the parts of one budget add up to it exactly.
    total = d.days("k.day_first", "k.day_last")
    through = d.days("k.day_first", d.earlier("k.day_last", d.year_end("y.year")))
    before = (
        f"CASE WHEN y.year = y.first_year THEN 0 "
        f"ELSE {d.days('k.day_first', d.year_end('y.year - 1'))} END"
    )
    conn.exec_driver_sql(
        f"""{d.temp("mf_src")}
        WITH RECURSIVE spans(budget_key, year, first_year, last_year) AS (
            SELECT budget_key, {d.year_of("day_first")}, {d.year_of("day_first")},
                   {d.year_of("day_last")}
            FROM mf_budget_kept WHERE day_first IS NOT NULL
            UNION ALL
            SELECT budget_key, year + 1, first_year, last_year FROM spans WHERE year < last_year
        ), years AS (
            SELECT k.activity_id, k.reporting_org_ref, k.currency, k.budget_status,
                   k.superseded, k.converted_to, k.rate_missing, k.humanitarian, y.year,
                   {_share_between(d, "k.value", before, through, total)} AS value
            FROM spans y JOIN mf_budget_kept k ON k.budget_key = y.budget_key
            UNION ALL
            SELECT activity_id, reporting_org_ref, currency, budget_status, superseded,
                   converted_to, rate_missing, humanitarian, NULL, value
            FROM mf_budget_kept WHERE day_first IS NULL
        )
        SELECT activity_id, reporting_org_ref, 'budget' AS measure, year, currency,
               budget_status, superseded AS budget_superseded, converted_to, rate_missing,
               humanitarian,
               CAST(NULL AS VARCHAR) AS provider_org_ref,
               CAST(NULL AS TEXT) AS provider_org_name,
               CAST(NULL AS VARCHAR) AS receiver_org_ref,
               CAST(NULL AS TEXT) AS receiver_org_name,
               0 AS passed_on,
               CAST(NULL AS VARCHAR) AS tx_country, CAST(NULL AS VARCHAR) AS tx_region,
               CAST(NULL AS VARCHAR) AS tx_region_vocabulary,
               CAST(NULL AS VARCHAR) AS tx_sector_vocabulary,
               CAST(NULL AS VARCHAR) AS tx_sector_code,
               SUM(value) AS value
        FROM years
        GROUP BY activity_id, reporting_org_ref, year, currency, budget_status, superseded,
                 converted_to, rate_missing, humanitarian"""
    )


def _share_between(d: _Dialect, value: str, before: str, through: str, total: str) -> str:
    """The part of ``value`` between two cumulative weights (out of ``total``).

    Each part is the difference of two truncated cumulative shares, so the parts of one
    value add up to it exactly (the last cumulative weight is the total), each within one
    1/10,000 unit of its exact share, with no window over the parts.
    """
    return f"({d.share(value, through, total)} - {d.share(value, before, total)})"


def _conversions(d: _Dialect, src: str, columns: Sequence[str], convert: bool) -> str:
    """The rows of ``src`` as published (``copy_k`` 0), then, when ``convert``, a copy per
    target currency other than the row's own (``copy_k`` 1, 2, ...): its value converted at the
    row's ``value_day`` with the latest rate of each currency at most RATE_VALID_DAYS old
    (US dollars per unit: from the row's currency, then into the target's), or, without such a
    rate, the value as published with ``rate_missing`` set. ``src`` has ``currency``,
    ``value`` (1/10,000 units), ``value_day`` and ``columns``."""
    kept = ", ".join(f"o.{c}" for c in columns)
    published = f"""
        SELECT {kept}, o.currency, o.value, 0 AS copy_k,
               CAST(NULL AS VARCHAR) AS converted_to, 0 AS rate_missing
        FROM ({src}) o"""
    if not convert:
        return published

    def usd_per_unit(currency: str) -> str:
        return f"""(SELECT r.usd_per_unit FROM exchange_rate r
                    WHERE r.currency = {currency} AND r.rate_date <= o.value_day
                      AND r.rate_date >= {d.days_before("o.value_day", RATE_VALID_DAYS)}
                    ORDER BY r.rate_date DESC LIMIT 1)"""

    copied = ", ".join(f"y.{c}" for c in columns)
    return f"""{published}
        UNION ALL
        SELECT {copied},
               CASE WHEN y.rate IS NULL THEN y.currency ELSE y.target END,
               CASE WHEN y.rate IS NULL THEN y.value ELSE {d.convert("y.value", "y.rate")} END,
               y.k, y.target, CASE WHEN y.rate IS NULL THEN 1 ELSE 0 END
        FROM (
            SELECT x.*, x.from_usd / x.to_usd AS rate FROM (
                SELECT o.*, t.code AS target, t.k,
                       CASE WHEN o.currency = 'USD' THEN 1.0
                            ELSE {usd_per_unit("o.currency")} END AS from_usd,
                       CASE WHEN t.code = 'USD' THEN 1.0
                            ELSE {usd_per_unit("t.code")} END AS to_usd
                FROM ({src}) o CROSS JOIN mf_target t
                WHERE o.currency IS NULL OR o.currency <> t.code
            ) x
        ) y"""


def _has_rates(conn: Connection) -> bool:
    return conn.execute(select(s.exchange_rate.c.id).limit(1)).first() is not None


_SPENDS = """SELECT 1 FROM activity b
    WHERE b.iati_identifier = {identifier} AND b.is_current = TRUE
      AND EXISTS (SELECT 1 FROM "transaction" bt
                  WHERE bt.activity_id = b.id AND bt.transaction_type IN ('3', '4')
                    AND bt.value IS NOT NULL)"""
"""An activity we hold, of the identifier ``{identifier}``, that reports its own disbursements
or expenditure (the money passed on to it is counted where it spends it: store/money.py).
The activity is found first, by its identifier, then its transactions: written as a join,
SQLite's planner read every disbursement of the store for each candidate (3 s of a 69 MB
file's ingest, growing with the square of the store)."""

_PASSED_ON = f"""CASE WHEN t.transaction_type = '3' AND t.receiver_org_activity_id IS NOT NULL
           AND t.receiver_org_activity_id <> a.iati_identifier
           AND EXISTS ({_SPENDS.format(identifier="t.receiver_org_activity_id")})
         THEN 1 ELSE 0 END"""
"""1 for a disbursement (of transaction ``t`` of activity ``a``) passed on to another activity
we hold that spends it (``_SPENDS``), else 0."""


def _transactions(conn: Connection, d: _Dialect, sc: _Scope) -> None:
    source = f"""
        SELECT t.activity_id, a.reporting_org_ref,
               CASE t.transaction_type WHEN '1' THEN 'incoming' WHEN '2' THEN 'commitment'
                    WHEN '3' THEN 'disbursement' ELSE 'expenditure' END AS measure,
               {d.year_of("COALESCE(t.transaction_date, t.value_date)")} AS year,
               COALESCE(t.currency, a.default_currency) AS currency,
               CASE WHEN t.transaction_type = '1' THEN t.provider_org_ref END
                   AS provider_org_ref,
               CASE WHEN t.transaction_type = '1'
                   THEN {_first_name("transaction/provider-org", "t.id")} END AS provider_org_name,
               CASE WHEN t.transaction_type <> '1' THEN t.receiver_org_ref END
                   AS receiver_org_ref,
               CASE WHEN t.transaction_type <> '1'
                   THEN {_first_name("transaction/receiver-org", "t.id")} END AS receiver_org_name,
               {_PASSED_ON} AS passed_on,
               t.recipient_country_code AS tx_country,
               CASE WHEN t.recipient_country_code IS NULL
                    THEN t.recipient_region_code END AS tx_region,
               CASE WHEN t.recipient_country_code IS NULL
                     AND t.recipient_region_code IS NOT NULL
                    THEN COALESCE(t.recipient_region_vocabulary, '1') END
                   AS tx_region_vocabulary,
               CASE WHEN t.sector_code IS NOT NULL
                    THEN COALESCE(t.sector_vocabulary, '1') END AS tx_sector_vocabulary,
               t.sector_code AS tx_sector_code,
               {d.units("t.value")} AS value,
               COALESCE(t.value_date, t.transaction_date) AS value_day,
               COALESCE(t.humanitarian, a.humanitarian) AS humanitarian
        FROM "transaction" t JOIN activity a ON a.id = t.activity_id
        WHERE a.is_current = TRUE AND t.value IS NOT NULL
          AND t.transaction_type IN ('1', '2', '3', '4'){sc.where("t.activity_id")}"""
    columns = (
        "activity_id", "reporting_org_ref", "measure", "year", "provider_org_ref",
        "provider_org_name", "receiver_org_ref", "receiver_org_name", "passed_on", "tx_country",
        "tx_region", "tx_region_vocabulary", "tx_sector_vocabulary", "tx_sector_code",
        "humanitarian",
    )  # fmt: skip
    conn.exec_driver_sql(
        f"""INSERT INTO mf_src (activity_id, reporting_org_ref, measure, year, currency,
                            budget_status, budget_superseded, converted_to, rate_missing,
                            humanitarian, provider_org_ref, provider_org_name,
                            receiver_org_ref, receiver_org_name, passed_on, tx_country,
                            tx_region, tx_region_vocabulary, tx_sector_vocabulary,
                            tx_sector_code, value)
        SELECT activity_id, reporting_org_ref, measure, year, currency,
               NULL, 0, converted_to, rate_missing, humanitarian, provider_org_ref,
               provider_org_name, receiver_org_ref, receiver_org_name, passed_on, tx_country,
               tx_region, tx_region_vocabulary, tx_sector_vocabulary, tx_sector_code, SUM(value)
        FROM ({_conversions(d, source, columns, _has_rates(conn))}) tx
        GROUP BY activity_id, reporting_org_ref, measure, year, currency, converted_to,
                 rate_missing, humanitarian, provider_org_ref, provider_org_name,
                 receiver_org_ref, receiver_org_name, passed_on, tx_country,
                 tx_region, tx_region_vocabulary, tx_sector_vocabulary, tx_sector_code"""
    )


def _first_name(element: str, owner: str) -> str:
    """SQL for the first published narrative of an element (listing.first_narrative's)."""
    return (
        f"(SELECT n.text FROM narrative n WHERE n.element = '{element}' AND n.owner_id = {owner} "
        "ORDER BY n.id LIMIT 1)"
    )


def _analyze(conn: Connection, d: _Dialect, *tables: str) -> None:
    """Give PostgreSQL's planner the sizes of tables just filled (it would guess)."""
    if not d.sqlite:
        for table in tables:
            conn.exec_driver_sql(f"ANALYZE {table}")


def _participating_funders(conn: Connection, sc: _Scope) -> None:
    """Role-1 participating orgs of activities without incoming funds, with the span of years
    of the activity's money (before parents give way to their children)."""
    conn.exec_driver_sql(
        """CREATE TEMP TABLE mf_span AS
        SELECT activity_id, MIN(year) AS first_year, MAX(year) AS last_year,
               MAX(CASE WHEN measure = 'incoming' THEN 1 ELSE 0 END) AS has_incoming
        FROM mf_src WHERE converted_to IS NULL GROUP BY activity_id"""
    )
    conn.exec_driver_sql("CREATE UNIQUE INDEX mf_span_activity ON mf_span (activity_id)")
    conn.exec_driver_sql(
        """INSERT INTO activity_year (activity_id, year)
        SELECT DISTINCT activity_id, year FROM mf_src
        WHERE year IS NOT NULL AND converted_to IS NULL"""
    )
    conn.exec_driver_sql(
        f"""INSERT INTO participating_funder
            (activity_id, reporting_org_ref, ref, name, first_year, last_year)
        SELECT po.activity_id, a.reporting_org_ref, po.ref,
               {_first_name("participating-org", "po.id")},
               sp.first_year, sp.last_year
        FROM participating_org po
        JOIN activity a ON a.id = po.activity_id
        LEFT JOIN mf_span sp ON sp.activity_id = po.activity_id
        WHERE a.is_current = TRUE AND po.role = '1' AND COALESCE(sp.has_incoming, 0) = 0
              {sc.where("po.activity_id")}"""
    )


def _implementers(conn: Connection, d: _Dialect, sc: _Scope) -> None:
    """The implementing partners of each current activity, counted by (role, ref, first
    name, year): participating orgs of role 4 (no year), and the receivers of disbursements
    and expenditure (type 3, 4) by year of the transaction's date, else of its value date."""
    year = d.year_of("COALESCE(t.transaction_date, t.value_date)")
    conn.exec_driver_sql(
        f"""INSERT INTO activity_implementer (activity_id, role, ref, name, year, n)
        SELECT activity_id, role, ref, name, year, COUNT(*) FROM (
            SELECT po.activity_id, 'participating-org' AS role, po.ref,
                   {_first_name("participating-org", "po.id")} AS name,
                   CAST(NULL AS INTEGER) AS year
            FROM participating_org po JOIN activity a ON a.id = po.activity_id
            WHERE a.is_current = TRUE AND po.role = '4' {sc.where("po.activity_id")}
            UNION ALL
            SELECT t.activity_id, 'receiver-org', t.receiver_org_ref,
                   {_first_name("transaction/receiver-org", "t.id")},
                   {year}
            FROM "transaction" t JOIN activity a ON a.id = t.activity_id
            WHERE a.is_current = TRUE AND t.transaction_type IN ('3', '4')
                  {sc.where("t.activity_id")}
        ) named
        WHERE ref IS NOT NULL OR name <> ''
        GROUP BY activity_id, role, ref, name, year"""
    )


def _hierarchy(conn: Connection, d: _Dialect, sc: _Scope) -> None:
    same_org = d.same("c.reporting_org_ref", "p.reporting_org_ref")
    conn.exec_driver_sql(
        f"""{d.temp("mf_edge")}
        SELECT DISTINCT parent_id, child_id FROM (
            SELECT p.id AS parent_id, c.id AS child_id
            FROM related_activity ra
            JOIN activity p ON p.id = ra.activity_id
            JOIN activity c ON c.is_current = TRUE AND c.iati_identifier = ra.ref
            WHERE ra.related_activity_type = '2' AND p.is_current = TRUE AND {same_org}
                  {sc.where("p.id")}
            UNION
            SELECT p.id, c.id
            FROM related_activity ra
            JOIN activity c ON c.id = ra.activity_id
            JOIN activity p ON p.is_current = TRUE AND p.iati_identifier = ra.ref
            WHERE ra.related_activity_type = '1' AND c.is_current = TRUE AND {same_org}
                  {sc.where("c.id")}
        ) e
        WHERE parent_id <> child_id"""
    )
    conn.exec_driver_sql("INSERT INTO activity_link (parent_id, child_id) SELECT * FROM mf_edge")
    conn.exec_driver_sql(
        f"""{d.temp("mf_closure")}
        WITH RECURSIVE down(ancestor_id, descendant_id) AS (
            SELECT parent_id, child_id FROM mf_edge
            UNION
            SELECT down.ancestor_id, e.child_id
            FROM down JOIN mf_edge e ON e.parent_id = down.descendant_id
        )
        SELECT ancestor_id, descendant_id FROM down"""
    )
    conn.exec_driver_sql("CREATE INDEX mf_closure_pair ON mf_closure (ancestor_id, descendant_id)")
    # Activities that are each other's ancestors (a cycle of links) keep their own figures;
    # each is listed as a problem (data health), with one other activity of its cycle.
    if not sc.scoped:  # (else _forget_scope deleted those of the scope)
        conn.execute(delete(s.problem).where(s.problem.c.rule == CYCLE_RULE))
    conn.execute(
        text(
            """INSERT INTO problem (source_file_id, file_path, line, iati_identifier, severity,
                                 rule, message, recorded_at)
            SELECT a.source_file_id, f.path, a.source_line, a.iati_identifier, 'warning',
                   :rule, 'parent and child links form a cycle through ' || b.iati_identifier
                   || ': both keep their own figures (neither replaces the other''s)', :now
            FROM (SELECT m.ancestor_id, MIN(m.descendant_id) AS other_id FROM mf_closure m
                  JOIN mf_closure r ON r.ancestor_id = m.descendant_id
                                   AND r.descendant_id = m.ancestor_id
                  WHERE m.descendant_id <> m.ancestor_id
                  GROUP BY m.ancestor_id) c
            JOIN activity a ON a.id = c.ancestor_id
            JOIN activity b ON b.id = c.other_id
            JOIN source_file f ON f.id = a.source_file_id"""
        ),
        {"rule": CYCLE_RULE, "now": dt.datetime.now(dt.UTC).replace(tzinfo=None)},
    )
    conn.exec_driver_sql(
        """DELETE FROM mf_closure WHERE EXISTS (
            SELECT 1 FROM mf_closure r
            WHERE r.ancestor_id = mf_closure.descendant_id
              AND r.descendant_id = mf_closure.ancestor_id)"""
    )
    conn.exec_driver_sql(
        """INSERT INTO activity_descendant (ancestor_id, descendant_id)
        SELECT DISTINCT ancestor_id, descendant_id FROM mf_closure"""
    )
    _country_counts(conn, d, sc, "activity_descendant" if sc.scoped else "mf_closure")
    conn.exec_driver_sql("CREATE INDEX mf_src_activity ON mf_src (activity_id, measure)")
    _analyze(conn, d, "mf_src")
    reported = f"""SELECT 1 FROM mf_closure c JOIN mf_src x ON x.activity_id = c.descendant_id
            WHERE c.ancestor_id = mf_src.activity_id AND x.measure = mf_src.measure
              AND {d.same("x.year", "mf_src.year")}
              AND {d.same("x.converted_to", "mf_src.converted_to")}"""
    ancestor = "activity_id IN (SELECT ancestor_id FROM mf_closure)"
    # Budgets: an ancestor's budget of a year gives way to a descendant's budget of that year
    # in the same status (under every status rule); where the descendants have only the other
    # status, it counts under the rule that names its status and is marked superseded, so that
    # the rule preferring committed budgets takes the children's figures instead.
    conn.exec_driver_sql(
        f"""DELETE FROM mf_src WHERE measure = 'budget' AND {ancestor}
        AND EXISTS ({reported} AND x.budget_status = mf_src.budget_status)"""
    )
    conn.exec_driver_sql(
        f"""UPDATE mf_src SET budget_superseded = 1
        WHERE measure = 'budget' AND {ancestor} AND EXISTS ({reported})"""
    )
    # Every other measure: an ancestor's figures of a year give way to any descendant's.
    conn.exec_driver_sql(
        f"""DELETE FROM mf_src WHERE measure <> 'budget' AND {ancestor}
        AND EXISTS ({reported})"""
    )


def _country_sums(sc: _Scope, *, negate: bool = False) -> str:
    """``activity_country`` summed by reporting org and country (the scope's rows only when
    scoped; ``negate``: to take them away)."""
    sign = "-" if negate else ""
    return f"""SELECT reporting_org_ref, recipient_country_code,
               {sign}SUM(CASE WHEN counted THEN 1 ELSE 0 END) AS activities
        FROM activity_country WHERE 1 = 1{sc.where("activity_id")}
        GROUP BY reporting_org_ref, recipient_country_code"""


def _country_counts(conn: Connection, d: _Dialect, sc: _Scope, closure: str) -> None:
    """``activity_country`` for the current activities (of the scope), then
    ``country_activities``: a descendant is counted under its ancestor, not as an activity of
    its own (a country whose activities are all descendants keeps its row, with 0).

    Scoped: the counts of the (reporting org, country) pairs the scope's activities were or
    are in are updated by difference (``mf_country_delta``: their rows as they were, taken
    away in ``_forget_scope``, and as they are now, added); a pair goes when no activity names
    it any more. No activity outside the scope is read: their rows of ``activity_country``
    stand (their currency, countries and hierarchies did not change, or they would be in the
    scope)."""
    conn.exec_driver_sql(
        f"""INSERT INTO activity_country (activity_id, recipient_country_code,
                                          reporting_org_ref, counted)
        SELECT DISTINCT a.id, rc.recipient_country_code, a.reporting_org_ref,
               NOT EXISTS (SELECT 1 FROM {closure} c WHERE c.descendant_id = a.id)
        FROM recipient_country rc JOIN activity a ON a.id = rc.activity_id
        WHERE a.is_current = TRUE{sc.where("a.id")}"""
    )
    columns = "reporting_org_ref, recipient_country_code, activities"
    if not sc.scoped:
        conn.exec_driver_sql(f"INSERT INTO country_activities ({columns}) {_country_sums(sc)}")
        return
    conn.exec_driver_sql(f"INSERT INTO mf_country_delta {_country_sums(sc)}")
    # The pair as columns that compare with = (NULL apart from every org), as in _group_key.
    key = (
        "CASE WHEN reporting_org_ref IS NULL THEN 1 ELSE 0 END",
        "COALESCE(reporting_org_ref, '')",
        "recipient_country_code",
    )
    conn.exec_driver_sql(
        "CREATE TEMP TABLE mf_country_keys AS SELECT DISTINCT "
        + ", ".join(f"{k} AS k{i}" for i, k in enumerate(key))
        + " FROM mf_country_delta"
    )
    touched = f"({', '.join(key)}) IN (SELECT k0, k1, k2 FROM mf_country_keys)"
    conn.exec_driver_sql(
        f"""CREATE TEMP TABLE mf_country_sum AS
        SELECT reporting_org_ref, recipient_country_code, SUM(activities) AS activities FROM (
            SELECT {columns} FROM country_activities WHERE {touched}
            UNION ALL
            SELECT {columns} FROM mf_country_delta) x
        GROUP BY reporting_org_ref, recipient_country_code"""
    )
    conn.exec_driver_sql(f"DELETE FROM country_activities WHERE {touched}")
    conn.exec_driver_sql(
        f"""INSERT INTO country_activities ({columns})
        SELECT {columns} FROM mf_country_sum t WHERE EXISTS (
            SELECT 1 FROM activity_country m
            WHERE m.recipient_country_code = t.recipient_country_code
              AND {d.same("m.reporting_org_ref", "t.reporting_org_ref")})"""
    )


def _weights(d: _Dialect, parts: str, group: str, order: str) -> str:
    """Cumulative weights per group from percentages (1/10,000 units): rules in money.py.

    Ends with CTE ``cumulated``: each part's ``cum_before``, ``cum_through`` and ``total``.
    """
    return f"""
        clamped AS (
            SELECT parts.*,
                   CASE WHEN pct IS NULL THEN NULL WHEN pct < 0 THEN 0
                        WHEN pct > {HUNDRED_PERCENT} THEN {HUNDRED_PERCENT} ELSE pct END AS p
            FROM ({parts}) parts
        ), counted AS (
            SELECT clamped.*,
                   COALESCE(SUM(p) OVER (PARTITION BY {group}), 0) AS given,
                   COUNT(*) OVER (PARTITION BY {group}) - COUNT(p) OVER (PARTITION BY {group})
                       AS n_missing
            FROM clamped
        ), weighted AS (
            SELECT counted.*,
                   COALESCE(p, CASE WHEN given < {HUNDRED_PERCENT}
                                    THEN {d.idiv(f"{HUNDRED_PERCENT} - given", "n_missing")}
                                    ELSE 0 END) AS raw_weight
            FROM counted
        ), checked AS (
            SELECT weighted.*,
                   CASE WHEN SUM(raw_weight) OVER (PARTITION BY {group}) = 0 THEN 1
                        ELSE raw_weight END AS weight
            FROM weighted
        ), cumulated AS (
            SELECT checked.*,
                   SUM(weight) OVER (PARTITION BY {group} ORDER BY {order}
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
                       AS cum_through,
                   SUM(weight) OVER (PARTITION BY {group}) AS total
            FROM checked
        )"""


def _split_by_geography(conn: Connection, d: _Dialect, sc: _Scope) -> int:
    """Fill money_fact (of the scope); returns how many facts it stored."""
    parts = f"""
        SELECT rc.activity_id, 0 AS kind, rc.id AS part_id, rc.recipient_country_code AS country,
               CAST(NULL AS VARCHAR) AS region, CAST(NULL AS VARCHAR) AS region_vocabulary,
               {d.units("rc.percentage")} AS pct
        FROM recipient_country rc JOIN activity a ON a.id = rc.activity_id
        WHERE a.is_current = TRUE{sc.where("rc.activity_id")}
        UNION ALL
        SELECT rr.activity_id, 1, rr.id, NULL, rr.recipient_region_code, rr.vocabulary,
               {d.units("rr.percentage")}
        FROM recipient_region rr JOIN activity a ON a.id = rr.activity_id
        WHERE a.is_current = TRUE{sc.where("rr.activity_id")} AND rr.vocabulary = (
            SELECT MIN(r2.vocabulary) FROM recipient_region r2
            WHERE r2.activity_id = rr.activity_id)"""
    conn.exec_driver_sql(
        f"""{d.temp("mf_geo")}
        WITH {_weights(d, parts, "activity_id", "kind, part_id")}
        SELECT activity_id, country, region, region_vocabulary,
               cum_through - weight AS cum_before, cum_through, total
        FROM cumulated"""
    )
    conn.exec_driver_sql("CREATE INDEX mf_geo_activity ON mf_geo (activity_id)")
    _analyze(conn, d, "mf_geo")
    part = _receivers_share(d, "s.upto", "s.value", "g.cum_before", "g.cum_through", "g.total")
    same_money = (
        "activity_id, reporting_org_ref, measure, year, currency, budget_status, "
        "budget_superseded, provider_org_ref, provider_org_name, tx_country, tx_region, "
        "tx_region_vocabulary, tx_sector_vocabulary, tx_sector_code, converted_to, "
        "rate_missing, humanitarian"
    )
    stored = conn.exec_driver_sql(
        f"""INSERT INTO money_fact ({_FACT_DIMENSIONS}, transaction_sector_vocabulary,
                                    transaction_sector_code, value)
        SELECT s.activity_id, s.reporting_org_ref, s.measure, s.year, s.currency,
               s.budget_status, s.budget_superseded = 1, s.provider_org_ref,
               s.provider_org_name, s.receiver_org_ref, s.receiver_org_name,
               s.passed_on = 1,
               COALESCE(s.tx_country, g.country),
               COALESCE(s.tx_region, g.region),
               COALESCE(s.tx_region_vocabulary, g.region_vocabulary),
               s.converted_to, s.rate_missing = 1, s.humanitarian,
               s.tx_sector_vocabulary, s.tx_sector_code,
               {d.from_units(f"CASE WHEN g.activity_id IS NULL THEN s.value ELSE {part} END")}
        FROM (
            SELECT m.*, SUM(m.value) OVER (
                PARTITION BY {same_money} ORDER BY {_receiver_order(d, "m.")}
                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS upto
            FROM mf_src m
        ) s LEFT JOIN mf_geo g
          ON g.activity_id = s.activity_id AND s.tx_country IS NULL AND s.tx_region IS NULL"""
    )
    return int(stored.rowcount)


def _split_by_sector(conn: Connection, d: _Dialect, sc: _Scope) -> int:
    """Fill money_fact_sector (of the scope); returns how many sector facts it stored."""
    parts = f"""
        SELECT se.activity_id, se.id AS part_id, se.vocabulary, se.sector_code AS code,
               {d.units("se.percentage")} AS pct
        FROM sector se JOIN activity a ON a.id = se.activity_id
        WHERE a.is_current = TRUE{sc.where("se.activity_id")}"""
    conn.exec_driver_sql(
        f"""{d.temp("mf_sector")}
        WITH {_weights(d, parts, "activity_id, vocabulary", "part_id")}
        SELECT activity_id, vocabulary, code, cum_through - weight AS cum_before, cum_through,
               total
        FROM cumulated"""
    )
    conn.exec_driver_sql("CREATE INDEX mf_sector_activity ON mf_sector (activity_id)")
    _analyze(conn, d, "mf_sector")
    part = _receivers_share(
        d, "f.upto", d.units("f.value"), "g.cum_before", "g.cum_through", "g.total"
    )
    same_money = ", ".join(
        c.strip()
        for c in [*_FACT_DIMENSIONS.split(","), "transaction_sector_vocabulary"]
        if c.strip() not in ("receiver_org_ref", "receiver_org_name", "passed_on")
    )
    stored = conn.exec_driver_sql(
        f"""INSERT INTO money_fact_sector (money_fact_id, sector_vocabulary, sector_code, value)
        SELECT f.id, g.vocabulary, g.code, {d.from_units(part)}
        FROM (
            SELECT m.*, SUM({d.units("m.value")}) OVER (
                PARTITION BY {same_money}, transaction_sector_code, copy_k
                ORDER BY {_receiver_order(d, "m.")}
                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS upto
            FROM (
                -- Facts alike in every dimension (an activity naming one country twice) are
                -- split each on its own, as they were before the receiver dimension.
                SELECT x.*, ROW_NUMBER() OVER (
                    PARTITION BY {same_money}, transaction_sector_code, receiver_org_ref,
                                 receiver_org_name, passed_on
                    ORDER BY x.value, x.id) AS copy_k
                FROM money_fact x WHERE 1 = 1{sc.where("x.activity_id")}
            ) m
        ) f JOIN mf_sector g
          ON g.activity_id = f.activity_id
         AND (f.transaction_sector_vocabulary IS NULL
              OR g.vocabulary <> f.transaction_sector_vocabulary)
        UNION ALL
        SELECT f.id, f.transaction_sector_vocabulary, f.transaction_sector_code, f.value
        FROM money_fact f WHERE f.transaction_sector_code IS NOT NULL{sc.where("f.activity_id")}"""
    )
    return int(stored.rowcount)


def _fact_sums(sc: _Scope, *, negate: bool = False) -> str:
    """The facts summed over activities, with how many facts each sum has (of the scope's
    activities only when scoped; ``negate``: to take them away)."""
    sign = "-" if negate else ""
    return f"""SELECT {_TOTAL_DIMENSIONS}, {sign}SUM(value) AS value, {sign}COUNT(*) AS n
        FROM money_fact f WHERE 1 = 1{sc.where("f.activity_id")} GROUP BY {_TOTAL_DIMENSIONS}"""


def _sector_fact_sums(sc: _Scope, *, negate: bool = False) -> str:
    sign = "-" if negate else ""
    columns = ", ".join(f"f.{c.strip()}" for c in _TOTAL_DIMENSIONS.split(","))
    return f"""SELECT {columns}, fs.sector_vocabulary, fs.sector_code,
               {sign}SUM(fs.value) AS value, {sign}COUNT(*) AS n
        FROM money_fact_sector fs JOIN money_fact f ON f.id = fs.money_fact_id
        WHERE 1 = 1{sc.where("f.activity_id")}
        GROUP BY {columns}, fs.sector_vocabulary, fs.sector_code"""


def _totals(conn: Connection, d: _Dialect, sc: _Scope) -> None:
    """Sum the facts over activities (``money_total``, ``money_total_sector``), then those
    sums over the provider and receiver organisations (``money_summary``, ``_sector``).

    Scoped: the sums of the scope's facts as they were are taken away from the totals of their
    groups and the new ones added (``fact_count`` tells when a group has no fact left, and it
    goes), so no fact outside the scope is read; the sums are exact (whole 1/10,000 units),
    so the result is the full rebuild's to the last unit. The summaries change by the same
    differences, summed over the organisations."""
    if not d.sqlite:
        # PostgreSQL multiplies the distinct counts of the grouping columns and expects
        # millions of groups where there are thousands, so it sorts everything on disk;
        # hashing is several times faster here (6.4 M sector facts: 26 s -> 8 s).
        conn.exec_driver_sql("SET LOCAL enable_sort = off")
    sector = ("sector_vocabulary", "sector_code")
    for table, delta, sums, extra in (
        ("money_total", "mf_delta", _fact_sums(sc), ()),
        ("money_total_sector", "mf_delta_sector", _sector_fact_sums(sc), sector),
    ):
        if sc.scoped:
            # The scope's old sums, negated, are in the delta already (_forget_scope).
            conn.exec_driver_sql(f"INSERT INTO {delta} {sums}")
        _sum_into(conn, d, sc, table, delta, sums, extra, _TOTAL_DIMENSIONS)
        # Its summary: the totals just made summed (full), or their differences (scoped).
        columns = ", ".join([_SUMMARY_DIMENSIONS, *extra])
        source, count = (delta, "n") if sc.scoped else (table, "fact_count")
        summed = (
            f"SELECT {columns}, SUM(value) AS value, SUM({count}) AS n "
            f"FROM {source} GROUP BY {columns}"
        )
        summary_delta = delta.replace("mf_delta", "mf_delta_summary")
        if sc.scoped:
            conn.exec_driver_sql(f"CREATE TEMP TABLE {summary_delta} AS {summed}")
        summary = table.replace("money_total", "money_summary")
        _sum_into(conn, d, sc, summary, summary_delta, summed, extra, _SUMMARY_DIMENSIONS)
    if not d.sqlite:
        conn.exec_driver_sql("SET LOCAL enable_sort = on")


def _sum_into(
    conn: Connection,
    d: _Dialect,
    sc: _Scope,
    table: str,
    delta: str,
    sums: str,
    extra: tuple[str, ...],
    dimensions: str,
) -> None:
    """Fill ``table`` (``dimensions`` and ``extra``) with ``sums`` (full), or add the
    differences in the temporary table ``delta`` to the groups they touch (scoped)."""
    columns = ", ".join([dimensions, *extra])
    key = _group_key("", extra, dimensions)
    stored = f"{columns}, group_key, value, fact_count"
    if not sc.scoped:
        conn.exec_driver_sql(
            f"INSERT INTO {table} ({stored}) SELECT {columns}, {key}, value, n FROM ({sums}) x"
        )
        return
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE mf_delta_keys AS SELECT DISTINCT {key} AS group_key FROM {delta}"
    )
    _analyze(conn, d, "mf_delta_keys")
    touched = "group_key IN (SELECT group_key FROM mf_delta_keys)"
    conn.exec_driver_sql(
        f"""CREATE TEMP TABLE mf_sum AS
        SELECT {columns}, group_key, SUM(value) AS value, SUM(n) AS n FROM (
            SELECT {columns}, group_key, value, fact_count AS n FROM {table} WHERE {touched}
            UNION ALL
            SELECT {columns}, {key}, value, n FROM {delta}) x
        GROUP BY group_key, {columns}"""
    )
    conn.exec_driver_sql(f"DELETE FROM {table} WHERE {touched}")
    conn.exec_driver_sql(
        f"INSERT INTO {table} ({stored}) SELECT {columns}, group_key, value, n FROM mf_sum "
        "WHERE n > 0"
    )
    conn.exec_driver_sql("DROP TABLE mf_sum")
    conn.exec_driver_sql("DROP TABLE mf_delta_keys")
