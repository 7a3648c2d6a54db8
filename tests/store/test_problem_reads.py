"""An activity page reads the problems of its copy through one index (migration 0028).

SQLite's planner has no statistics here, so with an index per column it took the file's: for
each activity of the 69 MB file it read and sorted every problem of that file (19,686 rows),
13 ms a page instead of 0.2 ms (issue 14, the uncached page mix).
"""

from __future__ import annotations

from sqlalchemy import Engine

from iatiportal.store import activity


def test_an_activitys_problems_are_read_by_its_identifier_and_file_in_line_order(
    sqlite_engine: Engine,
) -> None:
    statement = activity._problems({"iati_identifier": "XX-1", "source_file_id": 1})
    sql = str(statement.compile(sqlite_engine, compile_kwargs={"literal_binds": True}))
    with sqlite_engine.connect() as conn:
        plan = [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    assert plan == [
        "SEARCH problem USING INDEX ix_problem_activity (iati_identifier=? AND source_file_id=?)"
    ]  # no other index, and no sort: the index holds them by line, then id
