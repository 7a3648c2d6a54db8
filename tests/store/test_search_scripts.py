"""Full-text search in Arabic, Russian and Chinese on SQLite (FTS5) and PostgreSQL (tsvector):
the words of tests/fixtures/narratives-ar-ru-zh.xml are found (issue 13)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, select, text
from stores import KINDS, migrated_store

from iatiportal.store import filters, schema, search
from iatiportal.store.db import alembic_config, make_engine, migrate
from iatiportal.store.load import ingest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "narratives-ar-ru-zh.xml"


@pytest.fixture(scope="module", params=KINDS)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """The fixture ingested once per database."""
    with migrated_store(request.param, tmp_path_factory.mktemp("search")) as engine:
        assert not ingest(engine, [str(FIXTURE)]).failed
        yield engine


def found(engine: Engine, q: str) -> list[str]:
    with engine.connect() as conn:
        return sorted(h.iati_identifier for h in search.search(conn, q).hits)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("المرأة", ["XX-TEST-AR"]),  # in the Arabic title and the Arabic description
        ("الريفية", ["XX-TEST-AR"]),
        ("النساء", ["XX-TEST-AR"]),  # published with its vowel marks: النِّسَاءِ
        ("تمكين", ["XX-TEST-AR"]),
        ("تَمْكِين", ["XX-TEST-AR"]),  # a query with marks finds it too
        ("المـــرأة", ["XX-TEST-AR"]),  # and one stretched with tatweel
        ("женщин", ["XX-TEST-RU"]),  # published in capitals: ЖЕНЩИН
        ("ЖЕНЩИН", ["XX-TEST-RU"]),
        ("Женщин", ["XX-TEST-RU"]),
        ("妇女", ["XX-TEST-ZH"]),  # a two-character word inside sentences without spaces
        ("性别平等", ["XX-TEST-ZH"]),
        ("农村妇女", ["XX-TEST-ZH"]),
        ("妇女 性别", ["XX-TEST-ZH"]),
        ("女", ["XX-TEST-ZH"]),
    ],
)
def test_words_of_every_script_are_found(store: Engine, q: str, expected: list[str]) -> None:
    assert found(store, q) == expected


@pytest.mark.parametrize("q", ["别性", "妇女男", "الرجل", "мужчин"])
def test_words_not_in_the_text_are_not_found(store: Engine, q: str) -> None:
    """ "别性" has both characters of 性别 in the wrong order: characters must be adjacent and
    in order, not merely present."""
    assert found(store, q) == []


def test_chinese_matches_are_marked_and_the_text_is_as_published(store: Engine) -> None:
    with store.connect() as conn:
        (hit,) = search.search(conn, "妇女").hits
    marked = hit.title.replace(search.MARK_START, "[").replace(search.MARK_END, "]")
    assert marked.replace("[", "").replace("]", "") == "促进妇女经济赋权和性别平等"
    assert "[" in marked
    assert marked.replace("][", "") == "促进[妇女]经济赋权和性别平等"
    assert "支持农村" in hit.snippet and search.WORD_SEPARATOR not in hit.snippet


def found_at_0011(engine: Engine, q: str) -> list[str]:
    """What a search matched in a store at revision 0011, which has no ``vector`` (migration
    0024) for today's search to read: its match statements."""
    if engine.dialect.name == "sqlite":
        match = " ".join(f'"{w}"' for w in filters.terms(q))
        sql = "SELECT rowid FROM search_fts WHERE search_fts MATCH :match"
    else:
        match = " & ".join(filters.terms(q))
        sql = (
            "SELECT activity_id FROM search_text WHERE "
            "to_tsvector('simple', title || ' ' || body) @@ to_tsquery('simple', :match)"
        )
    with engine.connect() as conn:
        return [str(i) for (i,) in conn.execute(text(sql), {"match": match})]


def test_a_store_indexed_before_0012_finds_chinese_and_vowelled_arabic_after_it(
    db_url: str,
) -> None:
    """Stores indexed before migration 0012 held Chinese runs as one token and Arabic with
    its vowel marks: the migration re-indexes their search text."""
    engine = make_engine(db_url)
    try:
        migrate(engine)  # (today's ingest needs today's schema; then back to 0011)
        assert not ingest(engine, [str(FIXTURE)]).failed
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0011")
        with engine.begin() as conn:  # as the search text was written before 0012
            conn.execute(
                text(
                    "UPDATE search_text "
                    "SET title = replace(title, :z, ''), body = replace(body, :z, '')"
                ),
                {"z": search.WORD_SEPARATOR},
            )
            conn.execute(
                text(
                    "UPDATE search_text SET body = :vowelled WHERE activity_id = "
                    "(SELECT id FROM activity WHERE iati_identifier = 'XX-TEST-AR')"
                ),
                {"vowelled": "تَمْكِينُ النِّسَاءِ فِي الرِّيفِ XX-TEST-AR"},
            )
            if conn.dialect.name == "sqlite":
                conn.execute(text("INSERT INTO search_fts(search_fts) VALUES ('rebuild')"))
        assert found_at_0011(engine, "妇女") == []
        assert found_at_0011(engine, "تمكين") == []
        migrate(engine)
        assert found(engine, "妇女") == ["XX-TEST-ZH"]
        assert found(engine, "تمكين") == ["XX-TEST-AR"]
    finally:
        engine.dispose()


def test_the_q_filter_of_every_list_finds_chinese_words(store: Engine) -> None:
    """``?q=`` narrows lists and figures through store.filters, as search matches."""
    a = schema.activity
    with store.connect() as conn:
        ids = filters.selected_ids(filters.Filters(q="妇女"), conn.dialect.name)
        found = conn.execute(select(a.c.iati_identifier).where(a.c.id.in_(ids))).scalars()
        assert list(found) == ["XX-TEST-ZH"]
