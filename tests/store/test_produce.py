"""The rows of a file leave the producer in batches of bounded size, also within one activity
with thousands of transactions (issue 10: an activity's rows were one batch, however many)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from big_activity import IDENTIFIER, write

from iatiportal.store import produce
from iatiportal.store.produce import Job
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
