"""Named queries over the store that the command line (and later the web) reads through."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, exists, func, or_, select

from iatiportal.store import facts, listing, statements, version
from iatiportal.store import schema as s
from iatiportal.store.filters import Filters, selected_ids, usually_true

_current = s.activity.c.is_current.is_(True)


def _count_children(conn: Connection, table: Any) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(table)
            .join(s.activity, s.activity.c.id == table.c.activity_id)
            .where(_current)
        ).scalar_one()
    )


def transaction_sums(conn: Connection) -> list[dict[str, Any]]:
    """Sum and count of transactions by 2.0x type and currency (the transaction's, else the
    activity's default), over current activities."""
    currency = func.coalesce(s.transaction.c.currency, s.activity.c.default_currency)
    rows = conn.execute(
        select(
            s.transaction.c.transaction_type,
            currency.label("currency"),
            func.sum(s.transaction.c.value).label("value"),
            func.count().label("n"),
        )
        .join(s.activity, s.activity.c.id == s.transaction.c.activity_id)
        .where(_current)
        .group_by(s.transaction.c.transaction_type, currency)
        .order_by(s.transaction.c.transaction_type, currency)
    ).all()
    return [
        {
            "transaction_type": row.transaction_type,
            "currency": row.currency,
            "value": row.value if row.value is not None else Decimal(0),
            "count": int(row.n),
        }
        for row in rows
    ]


def store_counts(conn: Connection) -> dict[str, Any]:
    """Current activities and problems by severity: what an ingest's summary says of the
    store (``stats`` also reads every transaction, budget and result: too much to do after
    each file of a large store)."""
    problems: dict[str, int] = dict(
        conn.execute(
            select(s.problem.c.severity, func.count()).group_by(s.problem.c.severity)
        ).all()
    )
    return {
        "activities": int(
            conn.execute(select(func.count()).select_from(s.activity).where(_current)).scalar_one()
        ),
        "problems": {sev: int(problems.get(sev, 0)) for sev in ("error", "warning", "info")},
    }


def stats(conn: Connection) -> dict[str, Any]:
    """Counts and sums of what the store holds (current activities only)."""
    files: dict[str, int] = dict(
        conn.execute(
            select(s.source_file.c.status, func.count()).group_by(s.source_file.c.status)
        ).all()
    )
    counts = store_counts(conn)
    return {
        "files": int(files.get("ok", 0)),
        "files_failed": int(files.get("failed", 0)),
        "activities": counts["activities"],
        "activities_stored": int(
            conn.execute(select(func.count()).select_from(s.activity)).scalar_one()
        ),
        "organisations": int(
            conn.execute(
                select(func.count())
                .select_from(s.organisation)
                .where(s.organisation.c.is_current.is_(True))
            ).scalar_one()
        ),
        "transactions": _count_children(conn, s.transaction),
        "budgets": _count_children(conn, s.budget),
        "results": _count_children(conn, s.result),
        "indicators": _count_children(conn, s.indicator),
        "problems": counts["problems"],
        "transaction_sums": transaction_sums(conn),
    }


def problems(
    conn: Connection,
    *,
    file: str | None = None,
    activity: str | None = None,
    severity: Sequence[str] = (),
    rule: str | None = None,
    limit: int | None = None,
) -> list[Any]:
    """Problems, filtered; ``file`` matches the end of the path (a file name will do)."""
    query = select(
        s.problem.c.file_path,
        s.problem.c.line,
        s.problem.c.iati_identifier,
        s.problem.c.severity,
        s.problem.c.rule,
        s.problem.c.message,
    )
    if file:
        query = query.where(s.problem.c.file_path.endswith(file, autoescape=True))
    if activity:
        query = query.where(s.problem.c.iati_identifier == activity)
    if severity:
        query = query.where(s.problem.c.severity.in_(list(severity)))
    if rule:
        query = query.where(s.problem.c.rule == rule)
    query = query.order_by(s.problem.c.file_path, s.problem.c.line, s.problem.c.id)
    if limit:
        query = query.limit(limit)
    return list(conn.execute(query).all())


# -- pages ------------------------------------------------------------------------------------

Narratives = list[tuple[str | None, str]]


def activity_page(
    conn: Connection,
    *,
    country: str | None = None,
    region: str | None = None,
    reporting_orgs: Sequence[str] = (),
    offset: int = 0,
    limit: int | None = 10,
    outcomes_only: bool = False,
) -> tuple[int, list[dict[str, Any]]]:
    """(total, one page) of current activities by identifier, with their titles and sectors.
    ``outcomes_only``: without the descendants of another activity (``activity_descendant``:
    an output published as a child activity is shown under its parent)."""
    query: Select[Any]
    if country:
        # A country's current activities, whether each is a descendant, and its reporting org
        # are in ``activity_country`` (kept with the money facts), found through its index:
        # PostgreSQL otherwise reads every activity to keep one country's (issue 14: 120-370
        # ms on a store of 200,000 activities).
        ac = s.activity_country
        query = select(ac.c.activity_id.label("id")).where(
            ac.c.recipient_country_code == country.upper()
        )
        if outcomes_only:
            query = query.where(ac.c.counted)
        if reporting_orgs:
            query = query.where(ac.c.reporting_org_ref.in_(list(reporting_orgs)))
        matched_id = ac.c.activity_id
    else:
        query = select(s.activity.c.id).where(_current)
        if outcomes_only:
            query = query.where(
                s.activity.c.id.not_in(select(s.activity_descendant.c.descendant_id))
            )
        if reporting_orgs:
            query = query.where(s.activity.c.reporting_org_ref.in_(list(reporting_orgs)))
        matched_id = s.activity.c.id
    if region:
        query = query.where(
            matched_id.in_(
                select(s.recipient_region.c.activity_id).where(
                    s.recipient_region.c.recipient_region_code == region
                )
            )
        )
    columns = (
        s.activity.c.id,
        s.activity.c.iati_identifier,
        s.activity.c.reporting_org_ref,
        s.activity.c.activity_status,
        s.activity.c.start_planned,
        s.activity.c.start_actual,
        s.activity.c.end_planned,
        s.activity.c.end_actual,
        s.activity.c.default_lang,
    )
    order = (s.activity.c.iati_identifier, s.activity.c.id)
    ids: Any
    if country or region:
        # One country's or region's activities are found first (a materialised CTE), then
        # sorted and paged with the total as a window count: PostgreSQL otherwise walks the
        # identifier index through every activity to find the first few of one country.
        ids = query.cte("matching").prefix_with("MATERIALIZED")
        found = conn.execute(
            select(*columns, func.count().over().label("total"))
            .where(s.activity.c.id.in_(select(ids.c.id)))
            .order_by(*order)
            .offset(offset)
            .limit(limit)
        ).all()
        rows = [{k: v for k, v in r._mapping.items() if k != "total"} for r in found]
        total = int(found[0].total) if found else None
    else:
        # Most activities match: walking the identifier index is the fast way to a page.
        ids = query.subquery()
        rows = [
            dict(r._mapping)
            for r in conn.execute(
                select(*columns)
                .where(s.activity.c.id.in_(select(ids.c.id)))
                .order_by(*order)
                .offset(offset)
                .limit(limit)
            )
        ]
        total = None
    if total is None:
        total = int(conn.execute(select(func.count()).select_from(ids)).scalar_one())
    page = rows
    titles = titles_of(conn, [r["id"] for r in page])
    sectors: dict[int, list[tuple[str, str]]] = {}
    if page:
        for aid, vocabulary, code in conn.execute(
            select(s.sector.c.activity_id, s.sector.c.vocabulary, s.sector.c.sector_code)
            .where(s.sector.c.activity_id.in_([r["id"] for r in page]))
            .order_by(s.sector.c.id)
        ):
            sectors.setdefault(aid, []).append((vocabulary, code))
    for r in page:
        r["titles"] = titles.get(r["id"], [])
        r["sectors"] = sectors.get(r["id"], [])
    return total, page


def titles_of(conn: Connection, activity_ids: Sequence[int]) -> dict[int, Narratives]:
    """The title narratives (language, text) of the activities, per activity row id."""
    titles: dict[int, Narratives] = {}
    if not activity_ids:
        return titles
    statement = statements.kept(
        ("queries.titles_of",),
        lambda: (
            select(s.narrative.c.activity_id, s.narrative.c.lang, s.narrative.c.text)
            .where(
                s.narrative.c.activity_id.in_(bindparam("activity_ids", expanding=True)),
                s.narrative.c.element == "title",
            )
            .order_by(s.narrative.c.id)
        ),
    )
    for aid, lang, text_ in conn.execute(statement, {"activity_ids": list(activity_ids)}):
        titles.setdefault(aid, []).append((lang, text_))
    return titles


def countries(conn: Connection, reporting_orgs: Sequence[str] = ()) -> dict[str, int]:
    """Recipient countries of current activities, with how many activities each (as counted
    when the money facts were last rebuilt)."""
    ca = s.country_activities
    query = select(ca.c.recipient_country_code, func.sum(ca.c.activities)).group_by(
        ca.c.recipient_country_code
    )
    if reporting_orgs:
        query = query.where(ca.c.reporting_org_ref.in_(list(reporting_orgs)))
    return {code: int(n) for code, n in conn.execute(query)}


def results_for(conn: Connection, activity_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Results of activities (by activity row id) with their indicators, baselines and periods
    (targets and actuals), indicator references ((vocabulary, code) in each indicator's
    ``references``), and the narratives of each, in document order."""
    if not activity_ids:
        return {}
    ids = list(activity_ids)

    def rows(table: Any) -> list[dict[str, Any]]:
        return [
            dict(r._mapping)
            for r in conn.execute(
                select(table).where(table.c.activity_id.in_(ids)).order_by(table.c.id)
            )
        ]

    narr: dict[tuple[str, int | None], Narratives] = {}
    for element, owner, lang, text_ in conn.execute(
        select(
            s.narrative.c.element, s.narrative.c.owner_id, s.narrative.c.lang, s.narrative.c.text
        )
        .where(
            s.narrative.c.activity_id.in_(ids),
            s.narrative.c.element.in_(
                [
                    "result/title",
                    "result/description",
                    "indicator/title",
                    "baseline/comment",
                    "actual/comment",
                    "target/comment",
                ]
            ),
        )
        .order_by(s.narrative.c.id)
    ):
        narr.setdefault((element, owner), []).append((lang, text_))
    by_period: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for kind, table in (("targets", s.target), ("actuals", s.actual)):
        for v in rows(table):
            v["comment"] = narr.get((f"{kind[:-1]}/comment", v["id"]), [])
            by_period.setdefault(v["period_id"], {"targets": [], "actuals": []})[kind].append(v)
    periods: dict[int, list[dict[str, Any]]] = {}
    for p in rows(s.indicator_period):
        p.update(by_period.get(p["id"], {"targets": [], "actuals": []}))
        periods.setdefault(p["indicator_id"], []).append(p)
    baselines: dict[int, list[dict[str, Any]]] = {}
    for b in rows(s.baseline):
        b["comment"] = narr.get(("baseline/comment", b["id"]), [])
        baselines.setdefault(b["indicator_id"], []).append(b)
    references: dict[int, list[tuple[str | None, str | None]]] = {}
    for ref in rows(s.indicator_reference):
        references.setdefault(ref["indicator_id"], []).append((ref["vocabulary"], ref["code"]))
    indicators: dict[int, list[dict[str, Any]]] = {}
    for i in rows(s.indicator):
        i["references"] = references.get(i["id"], [])
        i["title"] = narr.get(("indicator/title", i["id"]), [])
        i["baselines"] = baselines.get(i["id"], [])
        i["periods"] = periods.get(i["id"], [])
        indicators.setdefault(i["result_id"], []).append(i)
    out: dict[int, list[dict[str, Any]]] = {}
    for r in rows(s.result):
        r["title"] = narr.get(("result/title", r["id"]), [])
        r["description"] = narr.get(("result/description", r["id"]), [])
        r["indicators"] = indicators.get(r["id"], [])
        out.setdefault(r["activity_id"], []).append(r)
    return out


@dataclass
class IndicatorProgress:
    """One activity's indicators in one year (see ``indicator_progress``)."""

    indicators: int = 0  # all its indicators, whatever the year
    with_target: int = 0  # with a target in a period of the year
    with_actual: int = 0  # with an actual in a period of the year
    comparable: int = 0  # with a numeric target and actual in the same period of the year
    met: int = 0  # of those, the actual reached the target

    def add(self, other: IndicatorProgress) -> None:
        for name in ("indicators", "with_target", "with_actual", "comparable", "met"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _number(value: str | None) -> Decimal | None:
    try:
        number = Decimal((value or "").strip().rstrip("%").replace(",", ""))
    except ArithmeticError:
        return None
    return number if number.is_finite() else None


def indicator_progress(
    conn: Connection, reporting_orgs: Sequence[str], year: int | None
) -> dict[int, IndicatorProgress]:
    """Indicators of the current activities of ``reporting_orgs``, per activity row id.

    A period belongs to the year of its end date (else of its start date). For each indicator,
    its last period of the year that has both a target and an actual is compared, using the
    first value of each: a quantitative indicator (measure 1 unit or 2 percentage) meets its
    target when the actual is at least the target, or at most the target for a descending one
    (``ascending="0"``). Qualitative, nominal and ordinal indicators, and values that are not
    numbers, are counted as having targets and actuals but are not compared.
    """
    activities = select(s.activity.c.id).where(_current)
    if reporting_orgs:
        activities = activities.where(s.activity.c.reporting_org_ref.in_(list(reporting_orgs)))
    i = s.indicator
    out: dict[int, IndicatorProgress] = {}
    for activity_id, n in conn.execute(
        select(i.c.activity_id, func.count())
        .where(i.c.activity_id.in_(activities))
        .group_by(i.c.activity_id)
    ):
        out[int(activity_id)] = IndicatorProgress(indicators=int(n))
    if year is None:
        return out
    p = s.indicator_period
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    in_year = or_(
        p.c.period_end.between(first, last),
        and_(p.c.period_end.is_(None), p.c.period_start.between(first, last)),
    )

    rows = conn.execute(
        select(
            p.c.activity_id,
            p.c.indicator_id,
            i.c.measure,
            i.c.ascending,
            func.coalesce(p.c.period_end, p.c.period_start).label("day"),
            listing.first_period_value(s.target).label("target"),
            listing.first_period_value(s.actual).label("actual"),
        )
        .join(i, i.c.id == p.c.indicator_id)
        .where(p.c.activity_id.in_(activities), in_year)
        .order_by(p.c.indicator_id, p.c.id)
    )
    per_indicator: dict[int, list[Any]] = {}
    for row in rows:
        per_indicator.setdefault(row.indicator_id, []).append(row)
    for periods in per_indicator.values():
        progress = out.setdefault(int(periods[0].activity_id), IndicatorProgress())
        progress.with_target += any(r.target is not None for r in periods)
        progress.with_actual += any(r.actual is not None for r in periods)
        both = [r for r in periods if r.target is not None and r.actual is not None]
        if not both:
            continue
        latest = max(both, key=lambda r: r.day or dt.date.min)
        target, actual = _number(latest.target), _number(latest.actual)
        if latest.measure not in ("1", "2") or target is None or actual is None:
            continue
        progress.comparable += 1
        descending = latest.ascending is False
        progress.met += actual <= target if descending else actual >= target
    return out


def locations(
    conn: Connection,
    *,
    country: str | None = None,
    activity_ids: Sequence[int] = (),
    reporting_orgs: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Located points (with coordinates) of current activities, of one recipient country or of
    the given activities: one row per location, with its first name and its activity."""
    dialect = conn.dialect.name
    shape = (bool(country), bool(activity_ids), bool(reporting_orgs))
    statement = statements.kept(
        ("queries.locations", dialect, *shape),
        lambda: _locations(*shape, dialect=dialect),
    )
    values = {
        "country": country,
        "activity_ids": list(activity_ids),
        "reporting_orgs": list(reporting_orgs),
    }
    return [dict(r._mapping) for r in conn.execute(statement, values)]


def _locations(country: bool, activities: bool, orgs: bool, *, dialect: str) -> Select[Any]:
    loc, a = s.location, s.activity
    name = (
        select(s.narrative.c.text)
        .where(s.narrative.c.element == "location/name", s.narrative.c.owner_id == loc.c.id)
        .order_by(s.narrative.c.id)
        .limit(1)
        .scalar_subquery()
    )
    # The country's (or the named) activities are found from their list, not by walking every
    # current activity and probing the list (SQLite).
    current = usually_true(_current, dialect) if country or activities else _current
    query = (
        select(loc.c.id, loc.c.latitude, loc.c.longitude, name.label("name"), a.c.iati_identifier)
        .join(a, a.c.id == loc.c.activity_id)
        .where(current, loc.c.latitude.is_not(None), loc.c.longitude.is_not(None))
        .order_by(a.c.iati_identifier, loc.c.id)
    )
    if country:
        query = query.where(
            a.c.id.in_(
                select(s.recipient_country.c.activity_id).where(
                    s.recipient_country.c.recipient_country_code == bindparam("country")
                )
            )
        )
    if activities:
        query = query.where(a.c.id.in_(bindparam("activity_ids", expanding=True)))
    if orgs:
        query = query.where(a.c.reporting_org_ref.in_(bindparam("reporting_orgs", expanding=True)))
    return query


def has_rates(conn: Connection) -> bool:
    """Whether exchange rates are loaded (then pages offer converted money)."""
    return conn.execute(select(s.exchange_rate.c.id).limit(1)).first() is not None


def data_status(conn: Connection) -> dict[str, Any]:
    """When the store last took in a file, and from how many files it holds activities (what
    every page's footer says)."""
    sf = s.source_file
    row = conn.execute(
        select(func.max(sf.c.ingested_at), func.count()).where(sf.c.status == "ok")
    ).one()
    return {"last_ingested": row[0], "files": int(row[1])}


def activities_missing(conn: Connection, limit: int = 50) -> dict[str, dict[str, Any]]:
    """Current activities without results, without locations, without funding partners
    (no participating-org of role 1 and no incoming funds): how many, and the first few."""
    a = s.activity
    po, t = s.participating_org, s.transaction

    # NOT EXISTS, not NOT IN: PostgreSQL plans the latter as a scan per activity when the
    # subquery does not fit work_mem (5 minutes at 200,000 activities).
    def none_in(table: Any, *conditions: Any) -> Any:
        return ~exists(select(1).where(table.c.activity_id == a.c.id, *conditions))

    lacking = {
        "results": none_in(s.result),
        "locations": none_in(s.location),
        "funding_partners": and_(
            none_in(po, po.c.role == "1"), none_in(t, t.c.transaction_type == "1")
        ),
    }
    out = {}
    for name, condition in lacking.items():
        query = select(a.c.iati_identifier).where(_current, condition)
        total = int(conn.execute(select(func.count()).select_from(query.subquery())).scalar_one())
        first = list(conn.execute(query.order_by(a.c.iati_identifier).limit(limit)).scalars().all())
        out[name] = {"total": total, "first": first}
    return out


def data_health(conn: Connection) -> dict[str, Any]:
    """Files ingested (when, what, status) and problems by file and rule."""
    files = [
        dict(r._mapping)
        for r in conn.execute(
            select(
                s.source_file.c.id,
                s.source_file.c.path,
                s.source_file.c.status,
                s.source_file.c.kind,
                s.source_file.c.iati_version,
                s.source_file.c.activity_count,
                s.source_file.c.organisation_count,
                s.source_file.c.ingested_at,
                s.source_file.c.checked_at,
                s.source_file.c.error_rule,
                s.source_file.c.error_message,
            ).order_by(s.source_file.c.path)
        )
    ]
    by_file: dict[int, dict[str, int]] = {}
    for file_id, severity, n in conn.execute(
        select(s.problem.c.source_file_id, s.problem.c.severity, func.count()).group_by(
            s.problem.c.source_file_id, s.problem.c.severity
        )
    ):
        by_file.setdefault(file_id, {})[severity] = int(n)
    for f in files:
        f["problems"] = by_file.get(f["id"], {})
    rules = [
        dict(r._mapping)
        for r in conn.execute(
            select(s.problem.c.rule, s.problem.c.severity, func.count().label("problems"))
            .group_by(s.problem.c.rule, s.problem.c.severity)
            .order_by(func.count().desc(), s.problem.c.rule)
        )
    ]
    refreshed = conn.execute(
        select(s.money_refresh.c.refreshed_at, s.money_refresh.c.seconds)
        .order_by(s.money_refresh.c.refreshed_at.desc())
        .limit(1)
    ).first()
    figures = {
        "computed_at": refreshed.refreshed_at if refreshed else None,
        "seconds": refreshed.seconds if refreshed else None,
        # Files stored after the figures were computed (an ingest stopped before its refresh).
        "stale": bool(files) and facts.is_stale(conn),
    }
    rv = s.reference_value
    refused = _reference_values(conn, rv.c.refused_rule, rv.c.refused_message)
    noted = _reference_values(conn, rv.c.note_rule, rv.c.note_message, rv.c.refused_rule.is_(None))
    publishers: dict[int, list[str]] = {}
    freshness: dict[int, Any] = {}
    for file_id, org, updated in conn.execute(
        select(
            s.activity.c.source_file_id,
            s.activity.c.reporting_org_ref,
            func.max(s.activity.c.last_updated_datetime),
        )
        .where(_current)
        .group_by(s.activity.c.source_file_id, s.activity.c.reporting_org_ref)
    ):
        if org:
            publishers.setdefault(file_id, []).append(org)
        if updated is not None and (freshness.get(file_id) is None or updated > freshness[file_id]):
            freshness[file_id] = updated
    for f in files:
        f["publishers"] = sorted(publishers.get(f["id"], []))
        f["last_updated"] = freshness.get(f["id"])
    return {
        "files": files,
        "rules": rules,
        "figures": figures,
        "reference_refused": refused,
        "reference_notes": noted,
        "missing": activities_missing(conn),
    }


def data_version(conn: Connection) -> tuple[int, dt.datetime | None]:
    """(version, when it changed) of the store, which every writer raises (``store.version``):
    what pages, ETags and the page cache follow."""
    found = version.current(conn)
    return found.version, found.changed_at


def _reference_values(
    conn: Connection, rule: Any, message: Any, *also: Any
) -> list[dict[str, Any]]:
    """Reference values that ``rule`` marks (refused, or noted), with its message, in order."""
    rv = s.reference_value
    return [
        dict(r._mapping)
        for r in conn.execute(
            select(
                rule.label("rule"),
                rv.c.country_code,
                rv.c.indicator,
                rv.c.year,
                message.label("message"),
                rv.c.source_file,
            )
            .where(rule.is_not(None), *also)
            .order_by(rule, rv.c.country_code, rv.c.indicator, rv.c.year)
        )
    ]


def implementing_partners(
    conn: Connection, filters: Filters, exclude: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """The implementing partners of the activities ``filters`` select, by name only: the
    participating organisations of role 4 (implementing), and the receivers of their
    disbursements and expenditure (in ``filters.year`` when set, by transaction date, else
    value date). Refs in ``exclude`` (the home publisher, implementing its own activities)
    are left out. One row per partner (``ref``, else its name), ``ref`` and ``name`` (the
    most frequent name), by name; ``roles`` lists where it was named: "participating-org",
    "receiver-org"."""
    # Read from the precomputed counts (store.facts._implementers), not from every
    # transaction of the activities with its receiver's name looked up: one country of a
    # 200,000-activity store took 350 ms that way.
    ai = s.activity_implementer
    query = (
        select(ai.c.ref, ai.c.name, ai.c.role, func.sum(ai.c.n).label("n"))
        .where(ai.c.activity_id.in_(selected_ids(filters, conn.dialect.name)))
        .group_by(ai.c.ref, ai.c.name, ai.c.role)
    )
    if filters.year is not None:
        query = query.where(or_(ai.c.role == "participating-org", ai.c.year == filters.year))
    found: dict[str, dict[str, Any]] = {}
    names: dict[str, dict[str, int]] = {}
    for row in conn.execute(query):
        if (row.ref is None and not row.name) or (row.ref is not None and row.ref in exclude):
            continue
        key = f"ref:{row.ref}" if row.ref is not None else f"name:{row.name}"
        partner = found.setdefault(key, {"ref": row.ref, "name": None, "roles": []})
        if row.role not in partner["roles"]:
            partner["roles"].append(row.role)
        if row.name:
            counts = names.setdefault(key, {})
            counts[row.name] = counts.get(row.name, 0) + int(row.n)
    for key, partner in found.items():
        counts = names.get(key, {})
        partner["name"] = min(counts, key=lambda n: (-counts[n], n)) if counts else None
        partner["roles"].sort()
    # By name, then ref: two partners of one name (one named by its ref) come in one order
    # whatever order the query's plan gives their rows.
    return sorted(
        found.values(),
        key=lambda p: ((p["name"] or p["ref"] or "").casefold(), p["ref"] or "", p["name"] or ""),
    )
