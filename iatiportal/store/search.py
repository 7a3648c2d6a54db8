"""Full-text search over titles, descriptions, results, indicators and progress narratives.

``rebuild`` fills ``search_text`` (one row per current activity, every language) after an
ingest; SQLite searches it through FTS5 (bm25 ranking, ``highlight``/``snippet``), PostgreSQL
through ``to_tsvector('simple', ...)`` with a GIN index (``ts_rank``, ``ts_headline``). Matched
words come back between the private-use characters MARK_START and MARK_END, so the web layer
can escape the publisher's text first and then mark them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from iatiportal.store import schema as s

MARK_START, MARK_END = "\ue000", "\ue001"
SEARCHED = (
    "title",
    "description",
    "result/title",
    "result/description",
    "indicator/title",
    "indicator/description",
    "actual/comment",
    "target/comment",
    "baseline/comment",
)
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class SearchFilters:
    country: str | None = None
    region: str | None = None
    year: int | None = None  # a year of the activity's budgets or transactions
    humanitarian: bool | None = None
    sector_vocabulary: str | None = None  # with sector: an impact area or an SDG
    sector: str | None = None
    partner: str | None = None  # a funding partner: participating-org role 1 ref
    reporting_org: tuple[str, ...] = ()


@dataclass
class Hit:
    iati_identifier: str
    title: str
    snippet: str
    rank: float


@dataclass
class Results:
    total: int
    hits: list[Hit]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def rebuild(conn: Connection) -> int:
    """Refill the search text of every current activity; returns how many."""
    sqlite = conn.dialect.name == "sqlite"
    concat = "group_concat(n.text, ' ')" if sqlite else "string_agg(n.text, ' ' ORDER BY n.id)"
    conn.execute(s.search_text.delete())
    elements = ", ".join(f"'{e}'" for e in SEARCHED[1:])
    # One grouped pass over the narratives (a correlated subquery per activity let SQLite
    # pick the (element, owner) index and took 19 s for the 5,300 benchmark activities).
    conn.execute(
        text(f"""
        INSERT INTO search_text (activity_id, title, body)
        SELECT a.id, coalesce(t.words, ''), coalesce(b.words, '') || ' ' || a.iati_identifier
        FROM activity a
        LEFT JOIN (SELECT n.activity_id, {concat} AS words FROM narrative n
                   WHERE n.element = 'title' GROUP BY n.activity_id) t
               ON t.activity_id = a.id
        LEFT JOIN (SELECT n.activity_id, {concat} AS words FROM narrative n
                   WHERE n.element IN ({elements}) GROUP BY n.activity_id) b
               ON b.activity_id = a.id
        WHERE a.is_current
    """)
    )
    if sqlite:
        conn.execute(text("INSERT INTO search_fts(search_fts) VALUES ('rebuild')"))
    return int(conn.execute(text("SELECT count(*) FROM search_text")).scalar_one())


def terms(q: str) -> list[str]:
    """The words of a query that search matches (at most 20)."""
    return _WORD.findall(q)[:20]


def _filter_sql(f: SearchFilters, params: dict[str, Any]) -> str:
    parts = []
    if f.country:
        params["country"] = f.country.upper()
        parts.append(
            "a.id IN (SELECT activity_id FROM recipient_country "
            "WHERE recipient_country_code = :country)"
        )
    if f.region:
        params["region"] = f.region
        parts.append(
            "a.id IN (SELECT activity_id FROM recipient_region "
            "WHERE recipient_region_code = :region)"
        )
    if f.year is not None:
        params["year"] = f.year
        parts.append("a.id IN (SELECT activity_id FROM activity_year WHERE year = :year)")
    if f.humanitarian is not None:
        params["humanitarian"] = f.humanitarian
        parts.append("coalesce(a.humanitarian, false) = :humanitarian")
    if f.sector and f.sector_vocabulary:
        params["sector"], params["sector_vocabulary"] = f.sector, f.sector_vocabulary
        parts.append(
            "a.id IN (SELECT activity_id FROM sector WHERE vocabulary = "
            ":sector_vocabulary AND sector_code = :sector)"
        )
    if f.partner:
        params["partner"] = f.partner
        parts.append(
            "a.id IN (SELECT activity_id FROM participating_org "
            "WHERE role = '1' AND ref = :partner)"
        )
    if f.reporting_org:
        names = []
        for i, ref in enumerate(f.reporting_org):
            params[f"org{i}"] = ref
            names.append(f":org{i}")
        parts.append(f"a.reporting_org_ref IN ({', '.join(names)})")
    return "".join(f" AND {p}" for p in parts)


def search(
    conn: Connection,
    q: str,
    filters: SearchFilters | None = None,
    *,
    offset: int = 0,
    limit: int = 10,
    facet_vocabularies: Sequence[tuple[str, str]] = (),
) -> Results:
    """Activities matching every word of ``q``, best first, with facet counts.

    ``facet_vocabularies``: (facet name, sector vocabulary) pairs to count, such as
    ("impact_area", "99") and ("sdg", "7").
    """
    filters = filters or SearchFilters()
    words = terms(q)
    if not words:
        return Results(0, [])
    params: dict[str, Any] = {}
    where = _filter_sql(filters, params)
    if conn.dialect.name == "sqlite":
        params["match"] = " ".join('"' + t.replace('"', "") + '"' for t in words)
        matched = (
            f"SELECT a.id, a.iati_identifier, bm25(search_fts) AS score "
            f"FROM search_fts JOIN activity a ON a.id = search_fts.rowid "
            f"WHERE search_fts MATCH :match AND a.is_current{where}"
        )
        page = text(
            f"SELECT a.iati_identifier, "
            f"highlight(search_fts, 0, '{MARK_START}', '{MARK_END}') AS title, "
            f"snippet(search_fts, 1, '{MARK_START}', '{MARK_END}', '…', 24) AS snippet, "
            f"-bm25(search_fts) AS rank "
            f"FROM search_fts JOIN activity a ON a.id = search_fts.rowid "
            f"WHERE search_fts MATCH :match AND a.is_current{where} "
            f"ORDER BY bm25(search_fts), a.iati_identifier LIMIT :limit OFFSET :offset"
        )
    else:
        params["match"] = " & ".join(words)
        vector = "to_tsvector('simple', t.title || ' ' || t.body)"
        query = "to_tsquery('simple', :match)"
        matched = (
            f"SELECT a.id, a.iati_identifier FROM search_text t "
            f"JOIN activity a ON a.id = t.activity_id "
            f"WHERE {vector} @@ {query} AND a.is_current{where}"
        )
        options = f"StartSel={MARK_START}, StopSel={MARK_END}"
        page = text(
            f"SELECT a.iati_identifier, "
            f"ts_headline('simple', t.title, {query}, '{options}, HighlightAll=true') AS title,"
            f" ts_headline('simple', t.body, {query}, '{options}, MaxWords=30, MinWords=12')"
            f" AS snippet, ts_rank({vector}, {query}) AS rank "
            f"FROM search_text t JOIN activity a ON a.id = t.activity_id "
            f"WHERE {vector} @@ {query} AND a.is_current{where} "
            f"ORDER BY rank DESC, a.iati_identifier LIMIT :limit OFFSET :offset"
        )
    total = int(conn.execute(text(f"SELECT count(*) FROM ({matched}) m"), params).scalar_one())
    hits = [
        Hit(r.iati_identifier, r.title or "", r.snippet or "", float(r.rank or 0))
        for r in conn.execute(page, {**params, "limit": limit, "offset": offset})
    ]
    facets: dict[str, list[tuple[str, int]]] = {}
    facet_sql = {
        "country": "SELECT recipient_country_code, count(DISTINCT activity_id) FROM "
        "recipient_country WHERE activity_id IN (SELECT id FROM ({m}) m) "
        "GROUP BY recipient_country_code",
        "region": "SELECT recipient_region_code, count(DISTINCT activity_id) FROM "
        "recipient_region WHERE activity_id IN (SELECT id FROM ({m}) m) "
        "GROUP BY recipient_region_code",
        "year": "SELECT year, count(*) FROM activity_year "
        "WHERE activity_id IN (SELECT id FROM ({m}) m) GROUP BY year",
        "partner": "SELECT ref, count(DISTINCT activity_id) FROM participating_org WHERE "
        "role = '1' AND ref IS NOT NULL AND activity_id IN (SELECT id FROM ({m}) m) "
        "GROUP BY ref",
        "humanitarian": "SELECT CASE WHEN coalesce(a.humanitarian, false) THEN '1' ELSE '0' "
        "END, count(*) FROM activity a WHERE a.id IN (SELECT id FROM ({m}) m) "
        "GROUP BY 1",
    }
    for i, (name, vocabulary) in enumerate(facet_vocabularies):
        params[f"vocabulary{i}"] = vocabulary
        facet_sql[name] = (
            f"SELECT sector_code, count(DISTINCT activity_id) FROM sector WHERE vocabulary = "
            f":vocabulary{i} AND activity_id IN (SELECT id FROM ({{m}}) m) GROUP BY sector_code"
        )
    for name, sql in facet_sql.items():
        rows = conn.execute(text(sql.format(m=matched)), params).all()
        counted = [(str(k), int(n)) for k, n in rows if k is not None]
        if name == "year":  # a time line, newest first, not a ranking
            facets[name] = sorted(counted, reverse=True)
        else:
            facets[name] = sorted(counted, key=lambda kv: (-kv[1], kv[0]))
    return Results(total, hits, facets)
