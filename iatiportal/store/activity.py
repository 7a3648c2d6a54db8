"""The activity page's reads: the activity, each of its lists one page at a time, every row of a
list streamed, and sums made in SQL, so that what one request holds does not grow with the
activity (issue 10: one activity with 100,000 transactions must not take the server down).

Each list (``LISTS``) is one child table of the activity in document order (row id). A page is
fetched with LIMIT/OFFSET and its total with a count; a stream fetches chunks of rows from one
server-side cursor. Narratives come with the rows they belong to, one per element and row:
the narrative in the page's language if one was published in it, else the first published
(picked in SQL, so a row with thousands of narratives still brings one).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Integer,
    LargeBinary,
    Select,
    Table,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
)

from iatiportal.store import schema as s
from iatiportal.store import statements

Narrative = tuple[str | None, str]

_current = s.activity.c.is_current.is_(True)


@dataclass(frozen=True)
class ChildList:
    """A list of an activity: its table and the narrative elements its rows own."""

    table: Table
    narratives: tuple[str, ...] = ()


LISTS: dict[str, ChildList] = {
    "descriptions": ChildList(s.description, ("description",)),
    "participating_orgs": ChildList(s.participating_org, ("participating-org",)),
    "recipient_countries": ChildList(s.recipient_country),
    "recipient_regions": ChildList(s.recipient_region),
    "sectors": ChildList(s.sector, ("sector",)),
    "policy_markers": ChildList(s.policy_marker),
    "locations": ChildList(s.location, ("location/name",)),
    "budgets": ChildList(s.budget),
    "transactions": ChildList(
        s.transaction,
        ("transaction/provider-org", "transaction/receiver-org", "transaction/description"),
    ),
    "document_links": ChildList(s.document_link, ("document-link/title",)),
    "related_activities": ChildList(s.related_activity),
}


def current(conn: Connection, identifier: str) -> dict[str, Any] | None:
    """The current copy of an activity (its row and its file's path), without its lists."""
    row = conn.execute(
        statements.kept(
            ("activity.current",),
            lambda: (
                select(s.activity, s.source_file.c.path.label("source_path"))
                .join(s.source_file, s.source_file.c.id == s.activity.c.source_file_id)
                .where(s.activity.c.iati_identifier == bindparam("identifier"), _current)
            ),
        ),
        {"identifier": identifier},
    ).first()
    return dict(row._mapping) if row is not None else None


def picked_narratives(
    conn: Connection,
    activity_id: int,
    elements: Sequence[str],
    owners: Sequence[int] | None,
    language: str,
) -> dict[tuple[str, int | None], Narrative]:
    """One narrative per (element, owner row id) of the given elements: in ``language`` if
    published in it, else the first published. ``owners`` None: the activity's own (title,
    reporting-org)."""
    if not elements or owners == []:
        return {}
    statement = statements.kept(
        ("activity.picked_narratives", tuple(elements), owners is None),
        lambda: _picked_narratives(tuple(elements), own=owners is None),
    )
    values = {
        "activity_id": activity_id,
        "owners": list(owners or ()),
        # As i18n.pick_narrative: the page's language exactly, then a tag of it (zh-CN for
        # zh), then the first published; stored in lower case.
        "language": language.lower(),
        "language_tag": language.split("-", 1)[0].lower() + "-%",
    }
    return {
        (element, owner): (lang, text)
        for element, owner, lang, text in conn.execute(statement, values)
    }


def _picked_narratives(elements: tuple[str, ...], *, own: bool) -> Select[Any]:
    n = s.narrative
    rank = (
        func.row_number()
        .over(
            partition_by=(n.c.element, n.c.owner_id),
            order_by=(
                case(
                    (n.c.lang == bindparam("language"), 0),
                    (n.c.lang.like(bindparam("language_tag")), 1),
                    else_=2,
                ),
                n.c.id,
            ),
        )
        .label("rank")
    )
    query = select(n.c.element, n.c.owner_id, n.c.lang, n.c.text, rank).where(
        n.c.element.in_(list(elements))
    )
    if own:
        query = query.where(n.c.activity_id == bindparam("activity_id"), n.c.owner_id.is_(None))
    else:
        # An element and its owner's row id name one row of one table: the (element,
        # owner_id) index finds them (the activity's index would walk all its narratives).
        query = query.where(n.c.owner_id.in_(bindparam("owners", expanding=True)))
    ranked = query.subquery()
    return select(ranked.c.element, ranked.c.owner_id, ranked.c.lang, ranked.c.text).where(
        ranked.c.rank == 1
    )


def _with_narratives(
    conn: Connection,
    activity_id: int,
    elements: Sequence[str],
    rows: list[dict[str, Any]],
    language: str,
) -> list[dict[str, Any]]:
    """``rows`` with ``narratives``: their picked narrative (or None) of each element."""
    picked = picked_narratives(conn, activity_id, elements, [r["id"] for r in rows], language)
    for r in rows:
        r["narratives"] = {e: picked.get((e, r["id"])) for e in elements}
    return rows


def counts(conn: Connection, activity_id: int) -> dict[str, int]:
    """How many rows each list (``LISTS``) of the activity has, in one query."""
    row = conn.execute(
        statements.kept(("activity.counts",), _list_counts), {"activity_id": activity_id}
    ).one()
    return {name: int(n) for name, n in row._mapping.items()}


def _list_counts() -> Select[Any]:
    return select(
        *(
            select(func.count())
            .select_from(spec.table)
            .where(spec.table.c.activity_id == bindparam("activity_id"))
            .scalar_subquery()
            .label(name)
            for name, spec in LISTS.items()
        )
    )


def list_page(
    conn: Connection, activity_id: int, name: str, offset: int, limit: int, language: str
) -> list[dict[str, Any]]:
    """One page of a list (``LISTS``), in document order, with the rows' narratives."""
    if limit <= 0:
        return []
    spec = LISTS[name]
    t = spec.table
    statement = statements.kept(
        ("activity.list_page", name),
        lambda: (
            select(t)
            .where(t.c.activity_id == bindparam("activity_id"))
            .order_by(t.c.id)
            .offset(bindparam("offset", type_=Integer))
            .limit(bindparam("limit", type_=Integer))
        ),
    )
    values = {"activity_id": activity_id, "offset": offset, "limit": limit}
    rows = [dict(r._mapping) for r in conn.execute(statement, values)]
    return _with_narratives(conn, activity_id, spec.narratives, rows, language)


def list_stream(
    conn: Connection, activity_id: int, name: str, language: str, chunk: int = 1000
) -> Generator[dict[str, Any], None, None]:
    """Every row of a list with its narratives, ``chunk`` rows at a time from a server-side
    cursor (on its own connection: a response streams it after the page's connection closed)."""
    spec = LISTS[name]
    t = spec.table
    query = select(t).where(t.c.activity_id == activity_id).order_by(t.c.id)
    with _streamed(conn, query, chunk) as result:
        for part in result.partitions():
            rows = [dict(r._mapping) for r in part]
            yield from _with_narratives(conn, activity_id, spec.narratives, rows, language)


@contextlib.contextmanager
def _streamed(conn: Connection, query: Any, chunk: int) -> Iterator[Any]:
    """The result of ``query`` from a server-side cursor, closed at the end (also when its
    reader stops early: the cursor goes before its connection). The options are the
    statement's: on the connection they would stream every later query on it too."""
    result = conn.execute(query.execution_options(stream_results=True, yield_per=chunk))
    try:
        yield result
    finally:
        result.close()


def transaction_totals(
    conn: Connection, activity_id: int, default_currency: str | None
) -> list[dict[str, Any]]:
    """Transactions by type and currency (the transaction's, else the activity's default): how
    many and their sum, over every transaction of the activity."""
    t = s.transaction
    currency = func.coalesce(t.c.currency, default_currency)
    rows = conn.execute(
        select(
            t.c.transaction_type,
            currency.label("currency"),
            func.count().label("transactions"),
            func.sum(t.c.value).label("value"),
        )
        .where(t.c.activity_id == activity_id)
        .group_by(t.c.transaction_type, currency)
        .order_by(t.c.transaction_type, currency)
    )
    return [dict(r._mapping) for r in rows]


# -- results ----------------------------------------------------------------------------------

RESULT_NARRATIVES = ("result/title", "result/description")
INDICATOR_NARRATIVES = ("indicator/title",)
PERIODS_SHOWN = 20
"""Periods shown per indicator on a page (every period is in the page's data)."""
VALUES_SHOWN = 5
"""Baselines per indicator, and targets and actuals per period, shown on a page."""


def _result_items(activity_id: int) -> Any:
    """Each indicator with its result, and each result without indicators: what the page's
    results are paged by, in document order."""
    r, i = s.result, s.indicator
    return (
        select(r.c.id.label("result_id"), i.c.id.label("indicator_id"))
        .select_from(r.outerjoin(i, i.c.result_id == r.c.id))
        .where(r.c.activity_id == activity_id)
    )


def result_items(conn: Connection, activity_id: int) -> int:
    """How many items the results are paged by (see ``results_page``)."""
    items = _result_items(activity_id).subquery()
    return int(conn.execute(select(func.count()).select_from(items)).scalar_one())


def _first_per(
    conn: Connection, table: Table, parent: str, parent_ids: Sequence[int], n: int
) -> dict[int, list[dict[str, Any]]]:
    """The first ``n`` rows (by id) of ``table`` under each of ``parent_ids``, by parent."""
    if not parent_ids:
        return {}
    column = table.c[parent]
    rank = func.row_number().over(partition_by=column, order_by=table.c.id).label("rank")
    ranked = select(table, rank).where(column.in_(list(parent_ids))).subquery()
    out: dict[int, list[dict[str, Any]]] = {}
    for row in conn.execute(
        select(*(ranked.c[c.name] for c in table.c)).where(ranked.c.rank <= n).order_by(ranked.c.id)
    ):
        out.setdefault(row._mapping[parent], []).append(dict(row._mapping))
    return out


def _counts(
    conn: Connection, table: Table, parent: str, parent_ids: Sequence[int]
) -> dict[int, int]:
    if not parent_ids:
        return {}
    column = table.c[parent]
    return {
        int(k): int(v)
        for k, v in conn.execute(
            select(column, func.count()).where(column.in_(list(parent_ids))).group_by(column)
        )
    }


def indicator_references(
    conn: Connection, activity_id: int, indicator_ids: Sequence[int]
) -> dict[int, list[tuple[str | None, str | None]]]:
    """The (vocabulary, code) references (``indicator/reference``) of each of the activity's
    indicators ``indicator_ids``, in document order, by indicator id."""
    if not indicator_ids:
        return {}
    ref = s.indicator_reference
    out: dict[int, list[tuple[str | None, str | None]]] = {}
    for indicator_id, vocabulary, code in conn.execute(
        select(ref.c.indicator_id, ref.c.vocabulary, ref.c.code)
        .where(ref.c.activity_id == activity_id, ref.c.indicator_id.in_(list(indicator_ids)))
        .order_by(ref.c.id)
    ):
        out.setdefault(int(indicator_id), []).append((vocabulary, code))
    return out


def results_page(
    conn: Connection, activity_id: int, offset: int, limit: int, language: str
) -> list[dict[str, Any]]:
    """The results of one page of result items (``result_items``): each result once, with the
    indicators of the page; each indicator with its first ``VALUES_SHOWN`` baselines and first
    ``PERIODS_SHOWN`` periods (and how many it has), each period with its first targets and
    actuals, and its ``references`` (``indicator_references``). Narratives as in
    ``picked_narratives``, in each row's ``narratives``."""
    page = conn.execute(
        _result_items(activity_id)
        .order_by(s.result.c.id, s.indicator.c.id)
        .offset(offset)
        .limit(limit)
    ).all()
    result_ids = list(dict.fromkeys(int(p.result_id) for p in page))
    indicator_ids = [int(p.indicator_id) for p in page if p.indicator_id is not None]
    results = [
        dict(r._mapping)
        for r in conn.execute(
            select(s.result).where(s.result.c.id.in_(result_ids)).order_by(s.result.c.id)
        )
    ]
    indicators = [
        dict(r._mapping)
        for r in conn.execute(
            select(s.indicator)
            .where(s.indicator.c.id.in_(indicator_ids))
            .order_by(s.indicator.c.id)
        )
    ]
    baselines = _first_per(conn, s.baseline, "indicator_id", indicator_ids, VALUES_SHOWN)
    periods = _first_per(conn, s.indicator_period, "indicator_id", indicator_ids, PERIODS_SHOWN)
    period_totals = _counts(conn, s.indicator_period, "indicator_id", indicator_ids)
    references = indicator_references(conn, activity_id, indicator_ids)
    period_ids = [p["id"] for rows in periods.values() for p in rows]
    targets = _first_per(conn, s.target, "period_id", period_ids, VALUES_SHOWN)
    actuals = _first_per(conn, s.actual, "period_id", period_ids, VALUES_SHOWN)
    comments = {
        kind: picked_narratives(
            conn,
            activity_id,
            (f"{kind}/comment",),
            [v["id"] for rows in found.values() for v in rows],
            language,
        )
        for kind, found in (("baseline", baselines), ("target", targets), ("actual", actuals))
    }

    def commented(kind: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for v in rows:
            v["comment"] = comments[kind].get((f"{kind}/comment", v["id"]))
        return rows

    _with_narratives(conn, activity_id, INDICATOR_NARRATIVES, indicators, language)
    by_result: dict[int, list[dict[str, Any]]] = {}
    for ind in indicators:
        ind["baselines"] = commented("baseline", baselines.get(ind["id"], []))
        ind["periods"] = [
            {
                **p,
                "targets": commented("target", targets.get(p["id"], [])),
                "actuals": commented("actual", actuals.get(p["id"], [])),
            }
            for p in periods.get(ind["id"], [])
        ]
        ind["period_total"] = period_totals.get(ind["id"], 0)
        ind["references"] = references.get(ind["id"], [])
        by_result.setdefault(ind["result_id"], []).append(ind)
    _with_narratives(conn, activity_id, RESULT_NARRATIVES, results, language)
    for res in results:
        res["indicators"] = by_result.get(res["id"], [])
    return results


def indicator_period_stream(
    conn: Connection, activity_id: int, language: str, chunk: int = 1000
) -> Generator[dict[str, Any], None, None]:
    """Every indicator period of the activity, in document order: its result, its indicator's
    picked title and references (``indicator_references``), its dates, and its targets and
    actuals (each joined with "; ")."""
    p = s.indicator_period
    query = (
        select(p.c.id, p.c.indicator_id, s.indicator.c.result_id, p.c.period_start, p.c.period_end)
        .join(s.indicator, s.indicator.c.id == p.c.indicator_id)
        .where(p.c.activity_id == activity_id)
        .order_by(p.c.id)
    )
    with _streamed(conn, query, chunk) as result:
        for part in result.partitions():
            rows = [dict(r._mapping) for r in part]
            period_ids = [r["id"] for r in rows]
            values: dict[str, dict[int, list[str]]] = {}
            for kind, table in (("target", s.target), ("actual", s.actual)):
                found = values.setdefault(kind, {})
                for period_id, value in conn.execute(
                    select(table.c.period_id, table.c.value)
                    .where(table.c.period_id.in_(period_ids))
                    .order_by(table.c.id)
                ):
                    found.setdefault(period_id, []).append(value or "")
            indicator_ids = list(dict.fromkeys(r["indicator_id"] for r in rows))
            titles = picked_narratives(
                conn, activity_id, INDICATOR_NARRATIVES, indicator_ids, language
            )
            references = indicator_references(conn, activity_id, indicator_ids)
            for r in rows:
                title = titles.get(("indicator/title", r["indicator_id"]))
                yield {
                    "result_id": r["result_id"],
                    "indicator": title[1] if title else None,
                    "references": references.get(r["indicator_id"], []),
                    "period_start": r["period_start"],
                    "period_end": r["period_end"],
                    "target": "; ".join(values["target"].get(r["id"], [])),
                    "actual": "; ".join(values["actual"].get(r["id"], [])),
                }


def result_links(
    conn: Connection, activity_id: int, vocabulary: str, result_ids: Sequence[int] | None = None
) -> dict[int, str]:
    """Per result (row id) of the activity, the activity its reference of ``vocabulary``
    names (the profile's ``[results] activity_vocabulary``): the first such reference whose
    code is the identifier of a current activity of the same reporting organisation."""
    rr, own, linked = s.result_reference, s.activity.alias("own"), s.activity.alias("linked")
    same_org = or_(
        linked.c.reporting_org_ref == own.c.reporting_org_ref,
        and_(linked.c.reporting_org_ref.is_(None), own.c.reporting_org_ref.is_(None)),
    )
    query = (
        select(rr.c.result_id, rr.c.code)
        .join(own, own.c.id == rr.c.activity_id)
        .join(
            linked,
            and_(linked.c.iati_identifier == rr.c.code, linked.c.is_current.is_(True), same_org),
        )
        .where(rr.c.activity_id == activity_id, rr.c.vocabulary == vocabulary)
        .order_by(rr.c.id)
    )
    if result_ids is not None:
        query = query.where(rr.c.result_id.in_(list(result_ids)))
    found: dict[int, str] = {}
    for result_id, code in conn.execute(query):
        found.setdefault(int(result_id), code)
    return found


def result_list(conn: Connection, activity_id: int, language: str) -> list[dict[str, Any]]:
    """Every result of the activity in document order: ``number`` (from 1), ``id``,
    ``result_type`` and its picked ``title`` (as ``picked_narratives``)."""
    rows = [
        dict(r._mapping)
        for r in conn.execute(
            select(s.result.c.id, s.result.c.result_type)
            .where(s.result.c.activity_id == activity_id)
            .order_by(s.result.c.id)
        )
    ]
    titles = picked_narratives(
        conn, activity_id, ("result/title",), [r["id"] for r in rows], language
    )
    for number, r in enumerate(rows, start=1):
        r["number"] = number
        r["title"] = titles.get(("result/title", r["id"]))
    return rows


# -- problems and raw XML ---------------------------------------------------------------------


def _problems(activity: dict[str, Any]) -> Any:
    pr = s.problem
    return (
        select(pr.c.severity, pr.c.rule, pr.c.message, pr.c.line)
        .where(
            pr.c.iati_identifier == activity["iati_identifier"],
            pr.c.source_file_id == activity["source_file_id"],
        )
        .order_by(pr.c.line, pr.c.id)
    )


def problem_count(conn: Connection, activity: dict[str, Any]) -> int:
    found = _problems(activity).subquery()
    return int(conn.execute(select(func.count()).select_from(found)).scalar_one())


def problem_page(
    conn: Connection, activity: dict[str, Any], offset: int, limit: int
) -> list[dict[str, Any]]:
    """One page of the problems found in the activity's copy, by line."""
    return [dict(r._mapping) for r in conn.execute(_problems(activity).offset(offset).limit(limit))]


RAW_CHUNK = 1 << 20


def raw_xml_size(conn: Connection, identifier: str) -> tuple[int, int] | None:
    """(activity row id, bytes) of the stored XML of the current copy of an activity."""
    x = s.activity_xml
    row = conn.execute(
        select(x.c.activity_id, func.length(x.c.raw_xml))
        .join(s.activity, s.activity.c.id == x.c.activity_id)
        .where(s.activity.c.iati_identifier == identifier, _current)
    ).first()
    return (int(row[0]), int(row[1])) if row is not None else None


def raw_xml_chunks(
    conn: Connection, activity_id: int, size: int, chunk: int = RAW_CHUNK
) -> Iterator[bytes]:
    """The stored XML of an activity, ``chunk`` bytes at a time (never all of it at once),
    read in the transaction that found it (``conn``), so an ingest meanwhile changes nothing."""
    x = s.activity_xml
    if conn.dialect.name == "sqlite":
        # substr() would load the whole value into this process for every chunk; SQLite's
        # incremental blob I/O reads only the bytes asked for (activity_id is the rowid).
        raw = cast(sqlite3.Connection, conn.connection.dbapi_connection)
        try:
            blob = raw.blobopen("activity_xml", "raw_xml", activity_id, readonly=True)
        except sqlite3.OperationalError:  # no such row (the caller did not find it first)
            return
        with blob:
            while data := blob.read(chunk):
                yield data
        return
    for start in range(0, size, chunk):
        part = conn.execute(
            select(func.substr(x.c.raw_xml, start + 1, chunk, type_=LargeBinary)).where(
                x.c.activity_id == activity_id
            )
        ).scalar()
        if part is None:  # no such row (the caller did not find it first)
            return
        yield bytes(part)
