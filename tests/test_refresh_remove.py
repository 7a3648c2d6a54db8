"""``store.load.remove``, which ``iatiportal refresh`` uses for a dataset the IATI Registry no
longer lists: another file's copy of an identifier becomes current, and what pages read
follows."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, select

from iatiportal.ingest.sources import expand
from iatiportal.store import schema as s
from iatiportal.store.load import ingest, remove

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_removing_the_file_that_won_makes_the_other_copy_current(engine: Engine) -> None:
    a, b = (str(FIXTURES / name) for name in ("duplicates-a.xml", "duplicates-b.xml"))
    ingest(engine, [a, b], validate=False)  # b's copies win: a later date, and a tie ingested later

    removed = remove(engine, expand([b]))

    assert [(r.source, r.activities) for r in removed] == [("duplicates-b.xml", 2)]
    with engine.connect() as conn:
        current = conn.execute(
            select(s.source_file.c.path, s.activity.c.iati_identifier)
            .join(s.source_file, s.source_file.c.id == s.activity.c.source_file_id)
            .where(s.activity.c.is_current)
            .order_by(s.activity.c.iati_identifier)
        ).all()
        files = conn.execute(select(s.source_file.c.path)).scalars().all()
        rules = conn.execute(select(s.problem.c.rule)).scalars().all()
        searchable = conn.execute(select(func.count()).select_from(s.search_text)).scalar_one()
    assert [tuple(r) for r in current] == [
        ("duplicates-a.xml", "XX-TEST-DUP"),
        ("duplicates-a.xml", "XX-TEST-ONLY-A"),
        ("duplicates-a.xml", "XX-TEST-TIE"),
    ]
    assert files == ["duplicates-a.xml"]
    assert "duplicate-identifier" not in rules
    assert searchable == 3  # the search text is of the current activities, rebuilt
