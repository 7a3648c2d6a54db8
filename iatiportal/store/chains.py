"""Funding chains: activities linked across publishers (issue 15), rebuilt with the money facts.

IATI links an activity to the activities that fund it and that it funds in four places. A link
joins a funder activity A and a funded activity B (never an activity to itself: publishers
often name their own activity as provider of their own expenditure):

- A's commitments (type 2) and disbursements (type 3) whose ``receiver-org`` has
  ``receiver-activity-id`` B: the funder's side;
- B's incoming funds (type 1) whose ``provider-org`` has ``provider-activity-id`` A: the
  funded side;
- a ``participating-org`` with ``activity-id``: of role 1 (funding) in B naming A, of role 3
  (extending) or 4 (implementing) in A naming B;
- a ``related-activity`` of type 1 (parent) in B naming A, or of type 2 (child) in A naming B,
  when both activities are held and have different reporting organisations (within one
  organisation these are the money rules' parent and child links, not funding).

One row per pair (A, B) in ``funding_link``, with its **evidence**: ``both`` (both sides
published money), ``funder``, ``funded`` (one side only: it stands on its own), or
``declared`` (only a participating-org or related-activity). Each side's amount is its sum in
its currency (the transaction's, else its activity's default), with the sum in US dollars when
every amount converts (rates as the money rules use them); A's side is its disbursements to B,
or its commitments when it published no disbursement to B (the two are the same money, at two
steps). The two sides **agree** when they are in the same currency and differ by at most 1 %
of the larger amount. A link to an identifier that no file we hold defines keeps NULL as that
activity's id.

The **link check**: each current activity that names, in any of these places, an activity
identifier that no stored activity has gets a warning problem (rule ``LINK_RULE``), on the
activity's line, once per place and identifier.

Incremental (``facts.scope``): a pair's row reads only the activities of its two identifiers,
so the rows of the pairs with an identifier of the scope (or of ``derive_pending``: a removed
activity) are made again, and the link check is made again for the activities that have such
an identifier or name one; nothing else changes.
"""

# The SQL below is assembled from constant fragments (see facts._Dialect); every value from
# data is bound or read from tables, never formatted in.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, text

from iatiportal.store import schema as s

if TYPE_CHECKING:
    from iatiportal.store.facts import _Dialect

LINK_RULE = "linked-activity-missing"
"""The problem recorded for an activity that names an activity no file we hold defines."""

AGREE_TOLERANCE = Decimal("0.01")
"""Two sides agree when their amounts differ by at most this share of the larger one."""

AFFECTED = "cl_affected"
"""Temporary table of the identifiers whose links a scoped refresh makes again."""

_UNIT = Decimal("0.0001")

_LINKED_PLACES = (
    # (where, table, column of the linked identifier)
    ("transaction/provider-org/@provider-activity-id", '"transaction"', "provider_org_activity_id"),
    ("transaction/receiver-org/@receiver-activity-id", '"transaction"', "receiver_org_activity_id"),
    ("participating-org/@activity-id", "participating_org", "org_activity_id"),
    ("related-activity/@ref", "related_activity", "ref"),
)


@dataclass
class _Side:
    transactions: int = 0
    values: list[tuple[str | None, int | None, int | None]] = field(default_factory=list)

    def add(self, currency: str | None, units: int | None, usd: int | None) -> None:
        self.transactions += 1
        self.values.append((currency, units, usd))

    def summed(self) -> tuple[Decimal | None, str | None, Decimal | None]:
        """(value, currency, value in US dollars): NULL value and currency when the side has
        no amount or amounts in several currencies; NULL dollars when one does not convert."""
        with_value = [v for v in self.values if v[1] is not None]
        if not with_value:
            return None, None, None
        currencies = {c for c, _, _ in with_value}
        value = currency = None
        if len(currencies) == 1:
            currency = next(iter(currencies))
            value = Decimal(sum(u for _, u, _ in with_value if u is not None)) * _UNIT
        usd = None
        if all(x is not None for _, _, x in with_value):
            usd = Decimal(sum(x for _, _, x in with_value if x is not None)) * _UNIT
        return value, currency, usd


@dataclass
class _Pair:
    disbursed: _Side = field(default_factory=_Side)
    committed: _Side = field(default_factory=_Side)
    incoming: _Side = field(default_factory=_Side)
    declared: bool = False


def agree(
    funder: Decimal | None,
    funder_currency: str | None,
    funded: Decimal | None,
    funded_currency: str | None,
) -> bool | None:
    """Whether two sides' amounts agree (None: one side has no amount)."""
    if funder is None or funded is None:
        return None
    if funder_currency != funded_currency or funder_currency is None:
        return False
    return abs(funder - funded) <= AGREE_TOLERANCE * max(abs(funder), abs(funded))


Conversions = Callable[[str, Sequence[str]], str]
"""``facts._conversions`` for this refresh: the rows of a query as published, then converted."""


def derive(conn: Connection, d: _Dialect, conversions: Conversions, *, scoped: bool) -> int:
    """Make ``funding_link`` and the link check's problems again (all of them, or those of the
    scope: see the module's docstring), inside ``facts.refresh``'s transaction (its temporary
    table ``mf_target`` and, when scoped, ``mf_scope`` exist). Returns the rows made."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {AFFECTED}")
    if scoped:
        conn.exec_driver_sql(
            f"""CREATE TEMP TABLE {AFFECTED} AS
            SELECT DISTINCT iati_identifier FROM (
                SELECT a.iati_identifier FROM activity a
                WHERE a.id IN (SELECT activity_id FROM mf_scope)
                UNION SELECT iati_identifier FROM derive_pending
                WHERE iati_identifier IS NOT NULL) x"""
        )
        conn.exec_driver_sql(f"CREATE INDEX {AFFECTED}_identifier ON {AFFECTED} (iati_identifier)")
        conn.exec_driver_sql(
            f"""DELETE FROM funding_link
            WHERE funder_identifier IN (SELECT iati_identifier FROM {AFFECTED})
               OR funded_identifier IN (SELECT iati_identifier FROM {AFFECTED})"""
        )
    else:
        conn.exec_driver_sql("DELETE FROM funding_link")
    made = _links(conn, d, conversions, scoped=scoped)
    _link_check(conn, scoped=scoped)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {AFFECTED}")
    return made


def _links(conn: Connection, d: _Dialect, conversions: Conversions, *, scoped: bool) -> int:
    def either(funder: str, funded: str) -> str:
        if not scoped:
            return ""
        return (
            f" AND ({funder} IN (SELECT iati_identifier FROM {AFFECTED})"
            f" OR {funded} IN (SELECT iati_identifier FROM {AFFECTED}))"
        )

    source = f"""
        SELECT t.id AS transaction_id, t.transaction_type, a.iati_identifier AS funder,
               t.receiver_org_activity_id AS funded,
               COALESCE(t.currency, a.default_currency) AS currency,
               {d.units("t.value")} AS value,
               COALESCE(t.value_date, t.transaction_date) AS value_day
        FROM "transaction" t JOIN activity a ON a.id = t.activity_id
        WHERE a.is_current = TRUE AND t.transaction_type IN ('2', '3')
          AND t.receiver_org_activity_id IS NOT NULL
          AND t.receiver_org_activity_id <> a.iati_identifier
          {either("a.iati_identifier", "t.receiver_org_activity_id")}
        UNION ALL
        SELECT t.id, t.transaction_type, t.provider_org_activity_id, a.iati_identifier,
               COALESCE(t.currency, a.default_currency), {d.units("t.value")},
               COALESCE(t.value_date, t.transaction_date)
        FROM "transaction" t JOIN activity a ON a.id = t.activity_id
        WHERE a.is_current = TRUE AND t.transaction_type = '1'
          AND t.provider_org_activity_id IS NOT NULL
          AND t.provider_org_activity_id <> a.iati_identifier
          {either("t.provider_org_activity_id", "a.iati_identifier")}"""
    columns = ("transaction_id", "transaction_type", "funder", "funded")
    pairs: dict[tuple[str, str], _Pair] = defaultdict(_Pair)
    published: dict[int, tuple[str, str, str, str | None, int | None]] = {}
    usd: dict[int, int | None] = {}
    rows = conn.exec_driver_sql(
        f"""SELECT transaction_id, transaction_type, funder, funded, currency, value,
                   converted_to, rate_missing
        FROM ({conversions(source, columns)}) c
        WHERE c.copy_k = 0 OR c.converted_to = 'USD'"""
    )
    for tx, kind, funder, funded, currency, value, converted_to, rate_missing in rows:
        units = None if value is None else int(value)
        if converted_to is None:
            published[tx] = (kind, funder, funded, currency, units)
            if currency == "USD":
                usd[tx] = units
        else:
            usd[tx] = None if rate_missing else units
    for tx, (kind, funder, funded, currency, units) in published.items():
        pair = pairs[(funder, funded)]
        side = {"1": pair.incoming, "2": pair.committed, "3": pair.disbursed}[kind]
        side.add(currency, units, usd.get(tx) if units is not None else None)

    declared = f"""
        SELECT p.org_activity_id AS funder, a.iati_identifier AS funded
        FROM participating_org p JOIN activity a ON a.id = p.activity_id
        WHERE a.is_current = TRUE AND p.role = '1' AND p.org_activity_id IS NOT NULL
          AND p.org_activity_id <> a.iati_identifier
          {either("p.org_activity_id", "a.iati_identifier")}
        UNION
        SELECT a.iati_identifier, p.org_activity_id
        FROM participating_org p JOIN activity a ON a.id = p.activity_id
        WHERE a.is_current = TRUE AND p.role IN ('3', '4') AND p.org_activity_id IS NOT NULL
          AND p.org_activity_id <> a.iati_identifier
          {either("a.iati_identifier", "p.org_activity_id")}
        UNION
        SELECT CASE WHEN r.related_activity_type = '1' THEN o.iati_identifier
                    ELSE a.iati_identifier END,
               CASE WHEN r.related_activity_type = '1' THEN a.iati_identifier
                    ELSE o.iati_identifier END
        FROM related_activity r
        JOIN activity a ON a.id = r.activity_id
        JOIN activity o ON o.iati_identifier = r.ref AND o.is_current = TRUE
        WHERE a.is_current = TRUE AND r.related_activity_type IN ('1', '2')
          AND o.iati_identifier <> a.iati_identifier
          AND NOT {d.same("o.reporting_org_ref", "a.reporting_org_ref")}
          {either("a.iati_identifier", "o.iati_identifier")}"""
    for funder, funded in conn.exec_driver_sql(declared):
        pairs[(funder, funded)].declared = True
    if not pairs:
        return 0

    held: dict[str, tuple[int, str | None]] = {}
    current = "SELECT iati_identifier, id, reporting_org_ref FROM activity WHERE is_current = TRUE"
    if scoped:
        current += """ AND iati_identifier IN (
            SELECT funder_identifier FROM cl_pairs UNION SELECT funded_identifier FROM cl_pairs)"""
        conn.exec_driver_sql("DROP TABLE IF EXISTS cl_pairs")
        conn.exec_driver_sql(
            "CREATE TEMP TABLE cl_pairs (funder_identifier VARCHAR, funded_identifier VARCHAR)"
        )
        conn.execute(
            text("INSERT INTO cl_pairs VALUES (:a, :b)"),
            [{"a": a, "b": b} for a, b in pairs],
        )
    for ident, activity_id, org in conn.exec_driver_sql(current):
        held[ident] = (activity_id, org)
    if scoped:
        conn.exec_driver_sql("DROP TABLE cl_pairs")

    out: list[dict[str, Any]] = []
    for (funder, funded), pair in sorted(pairs.items()):
        outgoing = pair.disbursed if pair.disbursed.transactions else pair.committed
        measure = (
            "disbursement"
            if pair.disbursed.transactions
            else "commitment"
            if pair.committed.transactions
            else None
        )
        a_value, a_currency, a_usd = outgoing.summed()
        b_value, b_currency, b_usd = pair.incoming.summed()
        if outgoing.transactions and pair.incoming.transactions:
            evidence = "both"
        elif outgoing.transactions:
            evidence = "funder"
        elif pair.incoming.transactions:
            evidence = "funded"
        else:
            evidence = "declared"
        a_held, b_held = held.get(funder), held.get(funded)
        out.append(
            {
                "funder_identifier": funder,
                "funded_identifier": funded,
                "funder_activity_id": a_held[0] if a_held else None,
                "funded_activity_id": b_held[0] if b_held else None,
                "funder_reporting_org_ref": a_held[1] if a_held else None,
                "funded_reporting_org_ref": b_held[1] if b_held else None,
                "evidence": evidence,
                "funder_measure": measure,
                "funder_value": a_value,
                "funder_currency": a_currency,
                "funder_value_usd": a_usd,
                "funder_transactions": outgoing.transactions,
                "funded_value": b_value,
                "funded_currency": b_currency,
                "funded_value_usd": b_usd,
                "funded_transactions": pair.incoming.transactions,
                "amounts_agree": agree(a_value, a_currency, b_value, b_currency),
            }
        )
    conn.execute(insert(s.funding_link), out)
    return len(out)


def _link_check(conn: Connection, *, scoped: bool) -> None:
    """A warning for each (activity, place, identifier) naming an activity we do not hold."""
    checked = ""
    if scoped:
        # The activities that have an affected identifier or name one.
        named = " UNION ".join(
            f"SELECT activity_id FROM {table} WHERE {column} IN "
            f"(SELECT iati_identifier FROM {AFFECTED})"
            for _, table, column in _LINKED_PLACES
        )
        conn.exec_driver_sql("DROP TABLE IF EXISTS cl_checked")
        conn.exec_driver_sql(
            f"""CREATE TEMP TABLE cl_checked AS
            SELECT a.id AS activity_id, a.iati_identifier FROM activity a
            WHERE a.is_current = TRUE AND (
                a.iati_identifier IN (SELECT iati_identifier FROM {AFFECTED})
                OR a.id IN ({named}))"""
        )
        conn.exec_driver_sql("CREATE INDEX cl_checked_activity ON cl_checked (activity_id)")
        conn.exec_driver_sql(
            f"""DELETE FROM problem WHERE rule = '{LINK_RULE}' AND (
                iati_identifier IN (SELECT iati_identifier FROM cl_checked)
                OR iati_identifier IN (SELECT iati_identifier FROM {AFFECTED}))"""
        )
        checked = " AND activity_id IN (SELECT activity_id FROM cl_checked)"
    else:
        conn.exec_driver_sql(f"DELETE FROM problem WHERE rule = '{LINK_RULE}'")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for place, table, column in _LINKED_PLACES:
        conn.execute(
            text(
                f"""INSERT INTO problem (source_file_id, file_path, line, iati_identifier,
                                         severity, rule, message, recorded_at)
                SELECT a.source_file_id, f.path, a.source_line, a.iati_identifier, 'warning',
                       :rule, :place || ' names ' || m.ref
                       || ', an activity that no file we hold defines', :now
                FROM (SELECT DISTINCT activity_id, {column} AS ref FROM {table}
                      WHERE {column} IS NOT NULL{checked}) m
                JOIN activity a ON a.id = m.activity_id
                JOIN source_file f ON f.id = a.source_file_id
                WHERE a.is_current = TRUE AND m.ref <> a.iati_identifier
                  AND NOT EXISTS (SELECT 1 FROM activity o WHERE o.iati_identifier = m.ref)"""
            ),
            {"rule": LINK_RULE, "place": place, "now": now},
        )
    if scoped:
        conn.exec_driver_sql("DROP TABLE cl_checked")
