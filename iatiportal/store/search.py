"""Full-text search over titles, descriptions, results, indicators and progress narratives.

``rebuild`` fills ``search_text`` (one row per current activity, every language) after an
ingest; SQLite searches it through FTS5 (bm25 ranking, ``highlight``/``snippet``), PostgreSQL
through ``to_tsvector('simple', ...)`` with a GIN index (``ts_rank``, ``ts_headline``). Matched
words come back between the private-use characters MARK_START and MARK_END, so the web layer
can escape the publisher's text first and then mark them.

Scripts (issue 13; tests/store/test_search_scripts.py shows each on both databases):

- Arabic and Cyrillic words are separated by spaces, and both tokenizers make words of them
  as of Latin ones: FTS5's ``unicode61`` and PostgreSQL's default parser with the ``simple``
  configuration (no stemming, no stop words: right for a store in many languages). Both fold
  case, Cyrillic too (PostgreSQL through the database's ``LC_CTYPE``, ``C.UTF-8`` or a UTF-8
  locale; ``lower`` of the ``C`` locale folds ASCII only), so "женщин" finds "ЖЕНЩИН".
  Arabic's vowel marks (harakat, mostly left out in writing) broke words apart in FTS5
  (``unicode61`` takes them as separators: "المَرْأَة" became "الم", "ر", "أ", "ة") and kept
  PostgreSQL's words from matching the same word written without them, so the search text
  and the queries are ``unmarked``: without the marks and the tatweel (the stretching
  stroke). Neither tokenizer strips Arabic's attached article or prefixes: "المرأة" is found,
  "مرأة" is not (no Arabic stemmer is in either database).
- Chinese (and Japanese) has no spaces: both tokenizers take a whole run of Han characters
  as one word, so "妇女" (women) was not found in "促进妇女经济赋权". We index every CJK
  character as a word of its own (``spaced``: a ZERO WIDTH SPACE, WORD_SEPARATOR, between it
  and a letter or digit beside it, which both tokenizers take as a separator and no reader
  sees) and search a query's CJK run as the phrase of its characters, in order and adjacent
  (FTS5 makes a quoted string a phrase; ``to_tsquery`` makes a word that its parser splits a
  ``<->`` phrase). That finds any run inside a sentence, as overlapping bigrams on both sides
  would, and a single character too (which bigrams miss), with one index entry per character
  instead of two; the Chinese stays in the search text as written, so ``highlight`` and
  ``ts_headline`` mark it in place, and the separators are taken out of the hits. What
  neither does is segment words: "女经" (across two words of that sentence) is found too.

PostgreSQL keeps each row's ``tsvector`` in ``search_text.vector`` (VECTOR, written with the
row; migration 0024), GIN-indexed. It was computed from the text at query time: a rare word
went through the index on that expression, but for a common word ("women", in nearly every
activity) the planner rightly reads the whole table, and each row's text was parsed twice, to
match and to rank: 4.3 s on 20,000 activities, where FTS5 took 0.3 s.

Migration 0012 makes the search text of stores indexed before ``searchable``. Snippets show
the search text: Arabic in them is without its vowel marks (hit titles are the narratives).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Connection,
    Float,
    Integer,
    String,
    bindparam,
    case,
    column,
    distinct,
    false,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
    union,
    union_all,
)

from iatiportal.store import schema as s
from iatiportal.store.facts import SCOPE
from iatiportal.store.filters import (
    WORD_SEPARATOR,
    Filters,
    activity_condition,
    searchable,
    terms,
    usually_true,
)

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


def create_full_text(conn: Connection) -> None:
    """The full-text index beside ``search_text`` that the schema cannot describe, as the
    migrations leave it (0003, 0024): SQLite's FTS5 table ``search_fts``, PostgreSQL's GIN
    index on ``search_text.vector``. For a new store, made from the schema (``db.migrate``);
    a test compares that store with one the migrations made."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(
            "CREATE VIRTUAL TABLE search_fts USING fts5(title, body, content='search_text', "
            "content_rowid='activity_id', tokenize='unicode61 remove_diacritics 2')"
        )
    else:
        conn.exec_driver_sql("CREATE INDEX ix_search_text_tsv ON search_text USING GIN (vector)")


# PostgreSQL's tsvector of a search text row from its title and body (SQL expressions): what
# search_text.vector holds and ix_search_text_tsv indexes; the 'simple' configuration (no
# stemming, no stop words) as the module's docstring says.
VECTOR = "to_tsvector('simple', {} || ' ' || {})"


@dataclass
class Hit:
    iati_identifier: str
    title: str
    snippet: str
    rank: float
    activity_id: int = 0  # its row id (to fetch its narratives)


@dataclass
class Results:
    total: int
    hits: list[Hit]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def unspaced(value: str) -> str:
    return value.replace(WORD_SEPARATOR, "")


def make_searchable(conn: Connection, *, scoped: bool = False, vector: bool = True) -> int:
    """Make the search text rows ``searchable`` (after ``rebuild``'s insert, and in migration
    0012): those that hold CJK characters or Arabic marks; returns how many changed.
    ``scoped``: only the rows of the activities in ``facts.SCOPE``. ``vector``: on PostgreSQL,
    write the changed rows' ``vector`` too (False: a store before migration 0024, which has
    no such column and fills it)."""
    t = s.search_text
    changed = []
    rows = select(t.c.activity_id, t.c.title, t.c.body)
    if scoped:
        rows = rows.where(t.c.activity_id.in_(text(f"SELECT activity_id FROM {SCOPE}")))
    # In pieces: psycopg would otherwise hold every row's text at once (issue 14: 60 MB for
    # 20,000 generated activities, the peak of the ingest's writer).
    for activity_id, title, body in conn.execute(rows, execution_options={"yield_per": 2000}):
        new_title, new_body = searchable(title), searchable(body)
        if (new_title, new_body) != (title, body):
            changed.append({"row": activity_id, "new_title": new_title, "new_body": new_body})
    if changed:
        vectors = ""
        if vector and conn.dialect.name == "postgresql":
            new_vector = VECTOR.format("CAST(:new_title AS text)", "CAST(:new_body AS text)")
            vectors = f", vector = {new_vector}"
        conn.execute(
            text(
                f"UPDATE search_text SET title = :new_title, body = :new_body{vectors} "
                "WHERE activity_id = :row"
            ),
            changed,
        )
    return len(changed)


def forget(conn: Connection, source_file_id: int | None = None) -> None:
    """Delete the search text of the activities of a file, before they are deleted (None:
    of the activities in ``facts.SCOPE``): SQLite's FTS5 index must be told each row's text
    to take it out, which the cascade from ``activity`` would not do."""
    if source_file_id is None:
        ids = f"SELECT activity_id FROM {SCOPE}"
    else:
        ids = f"SELECT id FROM activity WHERE source_file_id = {int(source_file_id)}"
    if conn.dialect.name == "sqlite":
        conn.execute(
            text(f"""INSERT INTO search_fts(search_fts, rowid, title, body)
            SELECT 'delete', activity_id, title, body FROM search_text
            WHERE activity_id IN ({ids})""")
        )
    conn.execute(text(f"DELETE FROM search_text WHERE activity_id IN ({ids})"))


def rebuild(conn: Connection, *, scoped: bool = False) -> int:
    """Refill the search text of every current activity; returns how many.

    ``scoped``: of the activities in ``facts.SCOPE`` only (the same statements, each with
    the scope's condition), and SQLite's FTS5 index told of those rows alone."""
    sqlite = conn.dialect.name == "sqlite"
    concat = "group_concat(n.text, ' ')" if sqlite else "string_agg(n.text, ' ' ORDER BY n.id)"
    only = f" AND {{}} IN (SELECT activity_id FROM {SCOPE})" if scoped else ""
    if scoped:
        forget(conn)
    else:
        conn.execute(s.search_text.delete())
    elements = ", ".join(f"'{e}'" for e in SEARCHED[1:])
    # One grouped pass over the narratives (a correlated subquery per activity let SQLite
    # pick the (element, owner) index and took 19 s for the 5,300 benchmark activities).
    # PostgreSQL: each row's vector with it, from the text inserted (make_searchable then
    # rewrites the few rows it changes, vector too).
    vector = "" if sqlite else ", " + VECTOR.format("r.title", "r.body")
    conn.execute(
        text(f"""
        INSERT INTO search_text (activity_id, title, body{", vector" if vector else ""})
        SELECT r.id, r.title, r.body{vector} FROM (
        SELECT a.id, coalesce(t.words, '') AS title,
               coalesce(b.words, '') || ' ' || a.iati_identifier AS body
        FROM activity a
        LEFT JOIN (SELECT n.activity_id, {concat} AS words FROM narrative n
                   WHERE n.element = 'title'{only.format("n.activity_id")}
                   GROUP BY n.activity_id) t
               ON t.activity_id = a.id
        LEFT JOIN (SELECT n.activity_id, {concat} AS words FROM narrative n
                   WHERE n.element IN ({elements}){only.format("n.activity_id")}
                   GROUP BY n.activity_id) b
               ON b.activity_id = a.id
        WHERE a.is_current{only.format("a.id")}) r
    """)
    )
    make_searchable(conn, scoped=scoped)
    if sqlite and scoped:
        conn.execute(
            text(f"""INSERT INTO search_fts(rowid, title, body)
            SELECT activity_id, title, body FROM search_text
            WHERE activity_id IN (SELECT activity_id FROM {SCOPE})""")
        )
    elif sqlite:
        conn.execute(text("INSERT INTO search_fts(search_fts) VALUES ('rebuild')"))
    return int(conn.execute(text("SELECT count(*) FROM search_text")).scalar_one())


def search(
    conn: Connection,
    q: str,
    filters: Filters | None = None,
    *,
    offset: int = 0,
    limit: int = 10,
    facet_vocabularies: Sequence[tuple[str, str]] = (),
) -> Results:
    """Activities the filters select AND whose text matches every word of ``q``, best first,
    with facet counts (``filters.q`` is not used: ``q`` is the ranked match).

    ``facet_vocabularies``: (facet name, sector vocabulary) pairs to count, such as
    ("impact_area", "99") and ("sdg", "7").
    """
    filters = filters or Filters()
    words = terms(q)
    if not words:
        return Results(0, [])
    a = s.activity
    match: Any
    source: Any
    title: Any
    snippet: Any
    rank: Any
    chosen = activity_condition(filters, conn.dialect.name, text_match=False)
    if conn.dialect.name == "sqlite":
        fts = table("search_fts", column("rowid", Integer))
        match = text("search_fts MATCH :match").bindparams(
            match=" ".join('"' + t.replace('"', "") + '"' for t in words)
        )
        source = fts.join(a, a.c.id == fts.c.rowid)
        index, text_id = fts, fts.c.rowid
        title = literal_column(f"highlight(search_fts, 0, '{MARK_START}', '{MARK_END}')")
        snippet = literal_column(f"snippet(search_fts, 1, '{MARK_START}', '{MARK_END}', '…', 24)")
        rank = literal_column("-bm25(search_fts)")
    else:
        t = s.search_text
        simple: Any = literal_column("'simple'")
        query = func.to_tsquery(simple, bindparam("match", " & ".join(words)))
        vector = t.c.vector
        match = vector.op("@@")(query)
        source = t.join(a, a.c.id == t.c.activity_id)
        index, text_id = t, t.c.activity_id
        marks = f"StartSel={MARK_START}, StopSel={MARK_END}"
        title = func.ts_headline(simple, t.c.title, query, literal(f"{marks}, HighlightAll=true"))
        snippet = func.ts_headline(
            simple, t.c.body, query, literal(f"{marks}, MaxWords=30, MinWords=12")
        )
        rank = func.ts_rank(vector, query)
    # Match once (issue 14: each facet re-ran the match over every activity, and a common
    # word is in all of them: 120 s on 46,856 activities): the matching ids, their rank and
    # humanitarian flag as one materialised CTE that the total, every facet and the page of
    # results read in ONE statement; then the marked title and snippet of that page only.
    flag = case((func.coalesce(a.c.humanitarian, false()), "1"), else_="0")
    # SQLite: the text index alone first, then the activities (joined in one select, it
    # walked the publisher's activities and probed FTS5 for each: 10 s instead of 1 s on
    # 20,000). PostgreSQL: one select, so that ts_rank is computed after the filters only.
    columns = (a.c.id.label("id"), a.c.iati_identifier.label("ident"))
    if conn.dialect.name == "sqlite":
        hit = (
            select(text_id.label("id"), rank.label("rank"))
            .select_from(index)
            .where(match)
            .cte("hit")
            .prefix_with("MATERIALIZED")
        )
        chosen_rows = (
            select(*columns, hit.c.rank.label("rank"), flag.label("flag"))
            .select_from(hit.join(a, a.c.id == hit.c.id))
            .where(chosen)
        )
    else:
        chosen_rows = (
            select(*columns, rank.label("rank"), flag.label("flag"))
            .select_from(source)
            .where(match, chosen)
        )
    m = chosen_rows.cte("matched").prefix_with("MATERIALIZED")
    rc, rr, ay, se = s.recipient_country, s.recipient_region, s.activity_year, s.sector
    po, tx = s.participating_org, s.transaction
    # Joined to the matches (their ids are unique), not ``IN`` them: PostgreSQL guessed 200
    # matches for ``IN`` and probed the index once per match: with the join the search for
    # "women" takes a third less CPU on 20,000 activities (bench/search.py), the same on SQLite.
    funders = union(
        select(po.c.activity_id, po.c.ref.label("ref"))
        .select_from(po.join(m, m.c.id == po.c.activity_id))
        .where(po.c.role == "1", po.c.ref.is_not(None)),
        select(tx.c.activity_id, tx.c.provider_org_ref.label("ref"))
        .select_from(tx.join(m, m.c.id == tx.c.activity_id))
        .where(
            # The matches' transactions by their activity, not every incoming transaction of
            # the store probed against the matches (SQLite).
            usually_true(tx.c.transaction_type == "1", conn.dialect.name),
            tx.c.provider_org_ref.is_not(None),
        ),
    ).subquery()

    def counted(name: str, key: Any, n: Any, *rest: Any, grouped: bool = True) -> Any:
        shown = func.cast(key, String)
        query = select(
            literal(name).label("facet"),
            shown.label("key"),
            n.label("n"),
            func.cast(literal_column("NULL"), Float).label("rank"),
        ).where(*rest)
        # Grouped by the key as shown, an expression: grouped by the column, SQLite walked
        # the whole table's index on it (its order saves a sort) and probed the matches for
        # each row, instead of going from the matches to their rows (a third of the statement
        # on the store of all shared files).
        return query.group_by(shown) if grouped else query

    parts: list[Any] = [
        counted("#total", literal_column("NULL"), func.count(), grouped=False).select_from(m),
        counted(
            "country", rc.c.recipient_country_code, func.count(distinct(rc.c.activity_id))
        ).select_from(rc.join(m, m.c.id == rc.c.activity_id)),
        counted(
            "region", rr.c.recipient_region_code, func.count(distinct(rr.c.activity_id))
        ).select_from(rr.join(m, m.c.id == rr.c.activity_id)),
        counted("year", ay.c.year, func.count()).select_from(
            ay.join(m, m.c.id == ay.c.activity_id)
        ),
        # A funding partner as the ``partner`` filter means it (store.filters).
        counted("partner", funders.c.ref, func.count(distinct(funders.c.activity_id))).select_from(
            funders
        ),
        counted("humanitarian", m.c.flag, func.count()).select_from(m),
    ]
    for name, vocabulary in facet_vocabularies:
        parts.append(
            counted(
                name,
                se.c.sector_code,
                func.count(distinct(se.c.activity_id)),
                # The matches' sectors by their activity, not every sector of the vocabulary.
                usually_true(se.c.vocabulary == vocabulary, conn.dialect.name),
            ).select_from(se.join(m, m.c.id == se.c.activity_id))
        )
    # The page: top offset + limit by rank (a bounded sort), its place kept as ``n``.
    best = (
        select(
            m.c.id,
            m.c.rank,
            func.row_number().over(order_by=[m.c.rank.desc(), m.c.ident]).label("place"),
        )
        .order_by(m.c.rank.desc(), m.c.ident)
        .limit(limit)
        .offset(offset)
        .subquery()
    )
    parts.append(
        select(
            literal("#page").label("facet"),
            func.cast(best.c.id, String).label("key"),
            best.c.place.label("n"),
            best.c.rank.label("rank"),
        )
    )
    total = 0
    page_rows: list[tuple[int, int, float]] = []
    facets: dict[str, list[tuple[str, int]]] = {}
    for name in ("country", "region", "year", "partner", "humanitarian"):
        facets[name] = []
    for name, _vocabulary in facet_vocabularies:
        facets[name] = []
    for row in conn.execute(union_all(*parts)):
        if row.facet == "#total":
            total = int(row.n)
        elif row.facet == "#page":
            page_rows.append((int(row.n), int(row.key), float(row.rank or 0)))
        elif row.key is not None:
            facets[row.facet].append((str(row.key), int(row.n)))
    for name, values in facets.items():
        if name == "year":  # a time line, newest first, not a ranking
            facets[name] = sorted(values, reverse=True)
        else:
            facets[name] = sorted(values, key=lambda kv: (-kv[1], kv[0]))
    page_rows.sort()
    marked: dict[int, Any] = {}
    if page_rows:
        on_page = [i for _place, i, _rank in page_rows]
        page = (
            select(a.c.id, a.c.iati_identifier, title.label("title"), snippet.label("snippet"))
            .select_from(source)
            .where(match, a.c.id.in_(on_page))
        )
        marked = {r.id: r for r in conn.execute(page)}
    hits = [
        Hit(
            marked[i].iati_identifier,
            unspaced(marked[i].title or ""),
            unspaced(marked[i].snippet or ""),
            r,
            i,
        )
        for _place, i, r in page_rows
        if i in marked
    ]
    return Results(total, hits, facets)
