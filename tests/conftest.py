"""Shared fixtures: stores on SQLite and on PostgreSQL, and the shared data folder.

Every test runs in a tmp folder of its own (``_in_its_tmp_folder``), and the run fails when
it leaves anything new in the folder it was started from (``pytest_sessionfinish``): a
PostgreSQL store's default snapshot folder, for one, is made in the working folder.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from artifacts import ARTIFACTS, written_since
from sqlalchemy import Engine
from stores import PG_URL, SQLITE_ONLY, drop_all_shared_files, postgresql_database

from iatiportal.store.db import make_engine, migrate

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED = Path(os.environ.get("IATIPORTAL_SHARED_DATA", "../shared/data")).resolve()
RUN_FOLDER_MAY_GAIN = frozenset({".pytest_cache", ".hypothesis", "test-artifacts"})
"""What a run may add to the folder it is started from: pytest's and Hypothesis's caches
(Hypothesis makes its folder in the working folder when it is imported) and the browser
tests' screenshots (tests/browser/conftest.py), all gitignored."""
_run_folder_before = pytest.StashKey[frozenset[str]]()
_started = pytest.StashKey[float]()


def _is_controller(config: pytest.Config) -> bool:
    """Whether this process runs the session (a worker of pytest-xdist does not)."""
    return not hasattr(config, "workerinput")


def _names_in(folder: Path) -> frozenset[str]:
    return frozenset(p.name for p in folder.iterdir())


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_started] = time.time()
    session.stash[_run_folder_before] = _names_in(session.config.invocation_params.dir)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when a test left something in the folder the run was started from (in
    a clone: the repository), which is not a tmp folder. Checked once, by the process that
    runs the session, after every worker is done."""
    if not _is_controller(session.config):
        return
    drop_all_shared_files(session.config._tmp_path_factory)  # type: ignore[attr-defined]
    folder = session.config.invocation_params.dir
    left = sorted(_names_in(folder) - session.stash[_run_folder_before] - RUN_FOLDER_MAY_GAIN)
    if not left:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", "tests wrote outside their tmp folders", red=True)
        reporter.write_line(f"new in {folder} after the run: {', '.join(left)}")
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a PostgreSQL server the suite is incomplete: say so instead of skipping."""
    if PG_URL or SQLITE_ONLY:
        if SQLITE_ONLY:
            keep = [
                i
                for i in items
                if "postgresql" not in i.name and i.get_closest_marker("postgres") is None
            ]
            config.hook.pytest_deselected(items=[i for i in items if i not in keep])
            items[:] = keep
        return
    raise pytest.UsageError(
        "IATIPORTAL_TEST_PG_URL is not set: run `make test` (which starts PostgreSQL), or set "
        "IATIPORTAL_TEST_SQLITE_ONLY=1 to run the SQLite half only."
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say where the browser tests' screenshots and PDFs of this run are."""
    written = written_since(terminalreporter.config.stash[_started])
    if written:
        terminalreporter.write_sep("-", "browser screenshots and PDFs")
        terminalreporter.write_line(f"{len(written)} files in {ARTIFACTS}")


@pytest.fixture(autouse=True)
def _in_its_tmp_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run each test in its tmp folder, with the commands it starts: whatever they write in
    the working folder (``iatiportal-snapshot-...`` beside a PostgreSQL store, a builder
    started in the background after an ingest) stays in the test's folder, and two tests
    (or two workers of ``pytest -n``) never write the same one."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def shared() -> Path:
    """The read-only shared data folder."""
    assert (SHARED / "iati").is_dir(), f"shared data not found at {SHARED}"
    return SHARED


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def postgresql_url() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    with postgresql_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """The URL of an empty store on each database in turn."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated, empty store on each database in turn."""
    eng = make_engine(db_url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    eng = make_engine(sqlite_url)
    migrate(eng)
    yield eng
    eng.dispose()
