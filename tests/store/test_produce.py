"""The rows of a file leave the producer in batches of bounded size, also within one activity
with thousands of transactions (issue 10: an activity's rows were one batch, however many)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from big_activity import IDENTIFIER, write

from iatiportal.ingest.parse import FileError
from iatiportal.ingest.split import Part, find_cuts
from iatiportal.store import produce
from iatiportal.store.produce import Job
from iatiportal.store.rows import FLUSH_ROWS
from iatiportal.store.write import INSERT_ORDER

TRANSACTIONS = 3000


def test_one_activitys_rows_leave_in_bounded_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write(tmp_path / "long.xml", TRANSACTIONS, indicators=2, periods=2)
    monkeypatch.setattr(produce, "FLUSH_ROWS", 2000)
    first_ids = {t.name: 1 for t in INSERT_ORDER if "id" in t.c}
    job = Job(source, str(source), 1, first_ids, True, dt.datetime(2024, 1, 1))
    batches = [payload for kind, payload in produce.produce(job) if kind == "rows"]
    sizes = [sum(len(values) for _columns, values in b.values()) for b in batches]
    transactions = sum(len(b["transaction"][1]) for b in batches if "transaction" in b)
    assert transactions == TRANSACTIONS + 2  # and the small activity's two
    # A batch ends at the transaction that reaches 2,000 rows (each brings 4); the last of the
    # big activity also holds its results and documents (some 30 rows).
    assert max(sizes) <= 2000 + 40, sizes
    assert len(batches) > TRANSACTIONS * 4 // 2000
    first = batches[0]
    assert IDENTIFIER in [row[first["activity"][0].index("iati_identifier")]
                          for row in first["activity"][1]]  # fmt: skip


def _many(path: Path, n: int, tail: str = "</iati-activities>\n") -> Path:
    """n activities of five transactions each: some thousand rows per worker, messages
    larger than a pipe's capacity."""
    head = '<?xml version="1.0"?>\n<iati-activities version="2.03">\n'
    txs = "".join(
        f'<transaction><transaction-type code="3"/><transaction-date iso-date="2024-0{k}-01"/>'
        f'<value currency="EUR" value-date="2024-01-01">{k}.5</value></transaction>'
        for k in range(1, 6)
    )
    body = "".join(
        f'<iati-activity default-currency="USD"><iati-identifier>XX-MANY-{i:05d}'
        '</iati-identifier><reporting-org ref="XX-MANY" type="80"><narrative>Many'
        f"</narrative></reporting-org><title><narrative>Activity {i} {'w' * 300}</narrative>"
        f"</title>{txs}</iati-activity>\n"
        for i in range(n)
    )
    path.write_text(head + body + tail, encoding="utf-8")
    return path


def _rows(messages: list[tuple[str, object]]) -> dict[str, list[tuple[object, ...]]]:
    out: dict[str, list[tuple[object, ...]]] = {}
    for kind, batch in messages:
        if kind == "rows":
            for table, (columns, values) in batch.items():  # type: ignore[attr-defined]
                out.setdefault(table, []).extend(
                    tuple(sorted(zip(columns, v, strict=True))) for v in values
                )
    return {table: sorted(rows, key=repr) for table, rows in out.items()}


def test_worker_processes_send_every_row_of_their_parts(tmp_path: Path) -> None:
    """Rows read by two worker processes (read ahead while the writer inserts) are exactly
    those of the two parts produced here, none lost, none twice."""
    source = _many(tmp_path / "many.xml", 700)
    first_ids = {t.name: 1 for t in INSERT_ORDER if "id" in t.c}
    job = Job(source, str(source), 1, first_ids, True, dt.datetime(2024, 1, 1))
    cuts = find_cuts(source, 2) or ()
    here = [m for k in range(2) for m in produce.produce(replace(job, part=Part(k, 2, cuts)))]
    there = list(produce.messages(job, workers=2))
    assert sum(1 for kind, _ in there if kind == "rows") >= 4  # more than one message per worker
    assert _rows(there) == _rows(here)
    assert len(_rows(there)["activity"]) == 700
    done = there[-1]
    assert done[0] == "done"
    assert done[1].activities == 700
    assert done[1].activity_ids == {f"XX-MANY-{i:05d}" for i in range(700)}


def test_a_syntax_error_found_by_a_worker_is_the_files_error(tmp_path: Path) -> None:
    source = _many(tmp_path / "broken.xml", 700, tail="<iati-activity><oops></iati-activity>\n")
    first_ids = {t.name: 1 for t in INSERT_ORDER if "id" in t.c}
    job = Job(source, str(source), 1, first_ids, True, dt.datetime(2024, 1, 1))
    with pytest.raises(FileError) as inline:
        list(produce.messages(job, workers=0))
    with pytest.raises(FileError) as workers:
        list(produce.messages(job, workers=2))
    assert workers.value.rule == inline.value.rule == "xml-syntax"
    assert workers.value.line == inline.value.line == 703


def test_a_batch_goes_in_pieces_of_bounded_size_parents_first() -> None:
    batch = {
        "transaction": (("id", "activity_id"), [(1, 1), (2, 1), (3, 2)]),
        "problem": (("rule",), [("a",)]),
        "activity": (("id",), [(1,), (2,)]),
    }
    got = list(produce.pieces(batch, ("activity", "transaction"), size=2))
    assert got == [
        {"activity": (("id",), [(1,), (2,)])},
        {"transaction": (("id", "activity_id"), [(1, 1), (2, 1)])},
        {"transaction": (("id", "activity_id"), [(3, 2)]), "problem": (("rule",), [("a",)])},
    ]


def test_a_workers_messages_are_small_and_bring_parents_before_children(
    tmp_path: Path,
) -> None:
    """Issue 14: a worker's batch of 20,000 rows (6 MB pickled) goes to the writer in
    messages of at most MESSAGE_ROWS rows, so that those read ahead cost the writer little;
    inserted in the order they arrive, every child row finds its activity."""
    source = _many(tmp_path / "many.xml", 2400)
    first_ids = {t.name: 1 for t in INSERT_ORDER if "id" in t.c}
    job = Job(source, str(source), 1, first_ids, True, dt.datetime(2024, 1, 1),
              tables=tuple(t.name for t in INSERT_ORDER))  # fmt: skip
    there = list(produce.messages(job, workers=2))
    sizes = [sum(len(v) for _c, v in b.values()) for k, b in there if k == "rows"]
    assert sum(sizes) > 2 * FLUSH_ROWS  # some batches were larger than a message
    assert max(sizes) <= produce.MESSAGE_ROWS
    cuts = find_cuts(source, 2) or ()
    here = [m for k in range(2) for m in produce.produce(replace(job, part=Part(k, 2, cuts)))]
    assert _rows(there) == _rows(here)
    activities: set[int] = set()
    for kind, batch in there:
        if kind != "rows":
            continue
        for table in [t.name for t in INSERT_ORDER if t.name in batch]:  # as write.py inserts
            columns, values = batch[table]  # type: ignore[index]
            if table == "activity":
                activities.update(v[columns.index("id")] for v in values)
            elif "activity_id" in columns:
                at = columns.index("activity_id")
                assert {v[at] for v in values} <= activities, table
