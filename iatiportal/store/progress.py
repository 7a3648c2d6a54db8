"""Progress narratives: for a page of activities and a year, each activity's narrative of that
year from where its publisher puts them (``[progress]`` of the profile; plain arguments here,
so that the store does not depend on profiles).

Sources and what "the narrative of a year" is (iatiportal/profile.py documents the same):

- ``actual-comment``: the first comment (results, indicators, periods, actuals in published
  order) on an indicator period starting in the year;
- ``result-description``: the description of the first result with an indicator period
  starting in the year;
- ``activity-description``: the activity's description of ``description_type``, every year.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, and_, select

from iatiportal import i18n
from iatiportal.store import schema as s

SOURCES = ("actual-comment", "result-description", "activity-description")


@dataclass(frozen=True)
class Narrative:
    """One activity's narrative of a year in one language: the requested one where published,
    else the first published (``lang`` says which; None where the publisher gave none)."""

    lang: str | None
    text: str
    requested: bool  # published in the requested language
    languages: tuple[str | None, ...]  # every language it is published in


def _in_year(column: Any, year: int) -> Any:
    return and_(column >= dt.date(year, 1, 1), column < dt.date(year + 1, 1, 1))


def _owners(
    activity_ids: list[int],
    year: int | None,
    source: str,
    result_type: str | None,
    description_type: str | None,
) -> tuple[str, Select[Any]] | None:
    """The narrative element read and a query of (activity id, owner id), in published order."""
    if source == "activity-description":
        d = s.description
        query = (
            select(d.c.activity_id, d.c.id)
            .where(d.c.activity_id.in_(activity_ids), d.c.description_type == description_type)
            .order_by(d.c.id)
        )
        return "description", query
    if year is None:
        return None
    r, i, p = s.result, s.indicator, s.indicator_period
    if source == "actual-comment":
        a = s.actual
        query = (
            select(a.c.activity_id, a.c.id)
            .join(p, p.c.id == a.c.period_id)
            .join(i, i.c.id == p.c.indicator_id)
            .join(r, r.c.id == i.c.result_id)
            .where(a.c.activity_id.in_(activity_ids), _in_year(p.c.period_start, year))
            .order_by(r.c.id, i.c.id, p.c.id, a.c.id)
        )
        element = "actual/comment"
    else:
        with_period = (
            select(i.c.result_id)
            .join(p, p.c.indicator_id == i.c.id)
            .where(_in_year(p.c.period_start, year))
        )
        query = (
            select(r.c.activity_id, r.c.id)
            .where(r.c.activity_id.in_(activity_ids), r.c.id.in_(with_period))
            .order_by(r.c.id)
        )
        element = "result/description"
    if result_type is not None:
        query = query.where(r.c.result_type == result_type)
    return element, query


def progress_narratives(
    conn: Connection,
    activity_ids: Sequence[int],
    year: int | None,
    lang: str,
    *,
    source: str,
    result_type: str | None = None,
    description_type: str | None = None,
) -> dict[int, Narrative]:
    """Per activity (by row id), its progress narrative of ``year`` in ``lang``, else in the
    language it was first published in; activities without one are left out. A year of None
    finds narratives of the activity-description source only."""
    if source not in SOURCES:
        raise ValueError(f"unknown progress narrative source {source!r}")
    ids = list(activity_ids)
    found = _owners(ids, year, source, result_type, description_type) if ids else None
    if found is None:
        return {}
    element, owners = found
    order = conn.execute(owners).all()
    position = {owner: k for k, (_activity, owner) in enumerate(order)}
    n = s.narrative
    rows = conn.execute(
        select(n.c.activity_id, n.c.owner_id, n.c.id, n.c.lang, n.c.text).where(
            n.c.activity_id.in_(ids), n.c.element == element, n.c.owner_id.in_(list(position))
        )
    ).all()
    first_owner: dict[int, int] = {}
    texts: dict[int, list[tuple[str | None, str]]] = {}
    for activity_id, owner_id, _id, narrative_lang, text in sorted(
        rows, key=lambda row: (position[row[1]], row[2])
    ):
        # A placeholder ("-", as UN Women's files hold for empty comments) is no narrative.
        if not any(ch.isalnum() for ch in text):
            continue
        if first_owner.setdefault(activity_id, owner_id) == owner_id:
            texts.setdefault(activity_id, []).append((narrative_lang, text))
    out = {}
    for activity_id, published in texts.items():
        picked = i18n.pick_narrative(published, lang) or published[0]
        out[activity_id] = Narrative(
            picked[0],
            picked[1],
            i18n.same_language(picked[0], lang),
            tuple(lg for lg, _t in published),
        )
    return out


def country_identifiers(
    conn: Connection, country: str, reporting_orgs: Sequence[str] = ()
) -> list[str]:
    """The identifiers of a country's current activities (of ``reporting_orgs``), sorted."""
    a, rc = s.activity, s.recipient_country
    query = select(a.c.iati_identifier).where(
        a.c.is_current.is_(True),
        a.c.id.in_(select(rc.c.activity_id).where(rc.c.recipient_country_code == country)),
    )
    if reporting_orgs:
        query = query.where(a.c.reporting_org_ref.in_(list(reporting_orgs)))
    return sorted(set(conn.execute(query).scalars()))
