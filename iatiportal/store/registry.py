"""The IATI Registry's publishers in the store, and the rule set's rules that spare them.

Rules 1.14.8 and 1.18.8 (a reporting-org identifier starts with a registration agency prefix)
do not apply, in the IATI Validator, to the identifier of a publisher registered with the IATI
Registry. The ingest finds them on every identifier (ingest.rulesets); ``spare`` then takes away,
from the stored problems, those of identifiers in ``registry_publisher``: after each file is
stored, and over the whole store when ``iatiportal registry publishers`` loads a new list. While
no list is loaded, each such problem says that registered publishers could not be spared.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable

from sqlalchemy import ColumnElement, Connection, Engine, delete, func, insert, select, update

from iatiportal.store import schema as s
from iatiportal.store.db import writing

RULES = ("1.14.8", "1.18.8")
NOT_SPARED = (
    " Publishers registered with the IATI Registry could not be spared: no list of them is"
    " loaded (iatiportal registry publishers)."
)
MAX_ID = 200
"""Longest identifier kept; a longer one is no publisher's."""


def spare(conn: Connection, file_id: int | None = None) -> Counter[str]:
    """Apply the loaded list to the stored problems of RULES (of file ``file_id``, or of every
    file): remove those of registered identifiers, or, with no list loaded, note on each that
    none could be spared. Returns how many were removed, by rule."""
    p = s.problem.c
    scope: list[ColumnElement[bool]] = [p.rule.in_(RULES)]
    if file_id is not None:
        scope.append(p.source_file_id == file_id)
    loaded = conn.execute(select(func.count()).select_from(s.registry_publisher)).scalar_one()
    noted = p.message.contains(NOT_SPARED, autoescape=True)
    removed: Counter[str] = Counter()
    if not loaded:
        conn.execute(update(s.problem).where(*scope, ~noted).values(message=p.message + NOT_SPARED))
        return removed
    stripped = func.replace(p.message, NOT_SPARED, "")
    conn.execute(update(s.problem).where(*scope, noted).values(message=stripped))
    registered = select(s.registry_publisher.c.org_id)
    for rule, table, identifier in (
        ("1.14.8", s.activity, s.activity.c.iati_identifier),
        ("1.18.8", s.organisation, s.organisation.c.organisation_identifier),
    ):
        theirs = select(identifier).where(
            table.c.source_file_id == p.source_file_id,
            table.c.reporting_org_ref.in_(registered),
        )
        result = conn.execute(
            delete(s.problem).where(*scope, p.rule == rule, p.iati_identifier.in_(theirs))
        )
        removed[rule] += result.rowcount or 0
    return removed


def clean_ids(values: Iterable[object]) -> list[str]:
    """The identifiers among ``values`` (strings, stripped, not empty, not too long), once each."""
    out: dict[str, None] = {}
    for value in values:
        if isinstance(value, str) and 0 < len(value.strip()) <= MAX_ID:
            out[value.strip()] = None
    return list(out)


def load(engine: Engine, ids: Iterable[str]) -> tuple[int, int]:
    """Replace the stored list with ``ids`` and apply it to every stored problem of RULES.
    Returns (identifiers stored, problems removed)."""
    ids = clean_ids(ids)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with writing(engine) as conn:
        conn.execute(delete(s.registry_publisher))
        if ids:
            conn.execute(
                insert(s.registry_publisher), [{"org_id": i, "loaded_at": now} for i in ids]
            )
        return len(ids), sum(spare(conn).values())
