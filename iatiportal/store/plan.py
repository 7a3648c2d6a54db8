"""Which impact area of the strategic plan each activity contributes to, in SQL.

A plan's profile reads an outcome code, an impact area and an office from each activity
identifier with a regular expression (``StrategicPlan.parse_identifier``); an activity whose
identifier gives no impact area contributes to its first sector of the plan's vocabulary. Here
the same reading is a query, so that pages count outcomes and offices per impact area with
GROUP BY instead of loading every activity: PostgreSQL runs the pattern with ``regexp_match``,
SQLite with the ``regexp_group`` function the engine registers (store.db).
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Select, String, cast, func, literal, null, select

from iatiportal.profile import StrategicPlan
from iatiportal.store import schema as s

_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>")


def _group(plan: StrategicPlan, dialect: str, name: str) -> ColumnElement[Any]:
    """The named group ``name`` of the plan's pattern in the activity's identifier."""
    compiled = plan.identifier_pattern
    if compiled is None:
        return cast(null(), String)
    pattern, number = compiled.pattern, compiled.groupindex[name]
    identifier = s.activity.c.iati_identifier
    if dialect == "sqlite":
        return func.regexp_group(literal(pattern), identifier, literal(number))
    # PostgreSQL's regular expressions have no named groups: the same groups, unnamed.
    unnamed = _NAMED_GROUP.sub("(", pattern)
    return func.regexp_match(identifier, literal(unnamed), type_=ARRAY(String))[number]


def _built(plan: StrategicPlan, dialect: str, template: str | None) -> ColumnElement[Any]:
    """A code built from the pattern's groups by ``template`` ("{kind}_{number}"), NULL when
    the identifier does not match or a group it names is empty (as parse_identifier)."""
    pattern = plan.identifier_pattern
    if template is None or pattern is None:
        return cast(null(), String)
    parts: list[ColumnElement[Any]] = []
    for text, name, _spec, _conversion in string.Formatter().parse(template):
        if text:
            parts.append(literal(text))
        if name is not None:
            if name not in pattern.groupindex:
                return cast(null(), String)
            parts.append(_group(plan, dialect, name))
    if not parts:
        return literal(template)
    out = parts[0]
    for part in parts[1:]:
        out = out.concat(part)
    return out


def _first_sector(plan: StrategicPlan) -> ColumnElement[Any]:
    se = s.sector
    return (
        select(se.c.sector_code)
        .where(se.c.activity_id == s.activity.c.id, se.c.vocabulary == plan.sector_vocabulary)
        .order_by(se.c.id)
        .limit(1)
        .scalar_subquery()
    )


def contributions(plan: StrategicPlan, dialect: str, reporting_orgs: Sequence[str]) -> Select[Any]:
    """One row per current activity of ``reporting_orgs`` that is no other's descendant:
    ``activity_id``,
    ``iati_identifier``, ``impact_area`` (from the identifier, else the first sector of the
    plan's vocabulary), ``office`` and ``outcome_code`` (from the identifier)."""
    a = s.activity
    query = select(
        a.c.id.label("activity_id"),
        a.c.iati_identifier,
        func.coalesce(_built(plan, dialect, plan.impact_area_code), _first_sector(plan)).label(
            "impact_area"
        ),
        _built(plan, dialect, plan.office).label("office"),
        _built(plan, dialect, plan.outcome_code).label("outcome_code"),
    ).where(
        a.c.is_current.is_(True),
        # An output published as a child activity counts under its parent, not on its own.
        a.c.id.not_in(select(s.activity_descendant.c.descendant_id)),
    )
    if reporting_orgs:
        query = query.where(a.c.reporting_org_ref.in_(list(reporting_orgs)))
    return query


def per_area(conn: Any, plan: StrategicPlan, reporting_orgs: Sequence[str]) -> dict[str, Any]:
    """Outcomes and offices per impact area: {code: (outcomes, offices)}."""
    c = contributions(plan, conn.dialect.name, reporting_orgs).subquery()
    rows = conn.execute(
        select(c.c.impact_area, func.count(), func.count(func.distinct(c.c.office)))
        .where(c.c.impact_area.is_not(None))
        .group_by(c.c.impact_area)
    )
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}
