"""Killing an ingest mid-file leaves the previous complete state intact and queryable."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, text

from iatiportal.store.db import make_engine, migrate

BENCHMARK = "iati/dportal-covid19-2021/benchmark/dportal-covid19-merged-53pages.xml"
UNWOMEN = "iati/unwomen/XM-DAC-41146_unwomen_dportal-covid19-extract_2021-06-15.xml"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iatiportal.cli", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _stats(url: str) -> dict[str, object]:
    done = _cli("stats", "--json", "--db", url)
    assert done.returncode == 0, done.stderr
    stats: dict[str, object] = json.loads(done.stdout)
    return stats


def _writing(engine: Engine, db_file: Path | None) -> bool:
    """Whether the ingest has begun inserting rows (not yet committed)."""
    if db_file is not None:
        wal = Path(f"{db_file}-wal")
        return wal.exists() and wal.stat().st_size > 8 << 20
    with engine.connect() as conn:
        return bool(
            conn.execute(
                text(
                    "select count(*) from pg_stat_activity where query like 'COPY%' "
                    "and pid <> pg_backend_pid()"
                )
            ).scalar()
        )


def test_kill_mid_file_keeps_previous_state(db_url: str, shared: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    target = data / "publisher.xml"
    shutil.copyfile(shared / UNWOMEN, target)
    first = _cli("ingest", "--quiet", "--no-snapshot", "--db", db_url, str(target))
    assert first.returncode == 0, first.stderr
    before = _stats(db_url)
    assert before["activities"] == 13

    # The same path now holds a 69 MB file: its ingest replaces the 13 activities in one
    # transaction, which we kill half-way.
    target.unlink()
    shutil.copyfile(shared / BENCHMARK, target)
    db_file = Path(db_url.removeprefix("sqlite:///")) if db_url.startswith("sqlite") else None
    engine = make_engine(db_url)
    proc = subprocess.Popen(
        [sys.executable, "-m", "iatiportal.cli", "ingest", "--quiet", "--no-snapshot",
         "--db", db_url, str(target)],
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not _writing(engine, db_file):
            assert proc.poll() is None, "the ingest ended before it could be killed"
            assert time.monotonic() < deadline, "the ingest never started writing"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    engine.dispose()

    assert proc.returncode == -signal.SIGKILL
    after = _stats(db_url)
    assert after == before
    engine = make_engine(db_url)
    migrate(engine)
    with engine.connect() as conn:
        if db_file is not None:
            assert conn.execute(text("pragma integrity_check")).scalar() == "ok"
        titles = conn.execute(
            text("select count(*) from narrative where element = 'title'")
        ).scalar()
        assert titles and titles >= 13
    engine.dispose()

    # And the next run completes.
    again = _cli("ingest", "--quiet", "--no-snapshot", "--db", db_url, str(target))
    assert again.returncode == 0, again.stderr
    assert _stats(db_url)["activities"] == 5300
