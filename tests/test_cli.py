"""The ``iatiportal`` command: exit codes, where the store is, and what stats/problems print.

The installed entry point (``.venv/bin/iatiportal``) runs in a subprocess, as a user runs it.
Output is read as data (``stats --json``, ``problems --json``) or checked in the store, never
searched for substrings.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from own_rules import own, rule_key
from serving import files_served
from sqlalchemy import select

from iatiportal.cli import main
from iatiportal.store import queries
from iatiportal.store import schema as s
from iatiportal.store.db import make_engine

pytestmark = pytest.mark.slow  # each command is a process of its own

FIXTURES = Path(__file__).resolve().parent / "fixtures"
IATIPORTAL = Path(sys.executable).with_name("iatiportal")
ENV_VAR = "IATIPORTAL_DATABASE_URL"
PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


def fixture(name: str) -> str:
    return str(FIXTURES / name)


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``iatiportal ARGS``; without IATIPORTAL_DATABASE_URL (and proxies) unless ``env`` says."""
    environ = {k: v for k, v in os.environ.items() if k != ENV_VAR and k not in PROXY_VARS}
    environ.update(env or {})
    return subprocess.run(
        [str(IATIPORTAL), *args], capture_output=True, text=True, cwd=cwd, env=environ,
        timeout=300, check=False,
    )  # fmt: skip


def store_stats(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return queries.stats(conn)
    finally:
        engine.dispose()


def stats_json(url: str) -> dict[str, Any]:
    result = run("stats", "--db", url, "--json")
    assert result.returncode == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def problems_json(url: str, *filters: str) -> list[dict[str, Any]]:
    """The problems listed, those of the rule set left out (tests/ingest/test_rulesets.py)."""
    result = run("problems", "--db", url, "--json", *filters)
    assert result.returncode == 0, result.stderr
    return own([json.loads(line) for line in result.stdout.splitlines()], rule_key)


def test_the_entry_point_is_installed() -> None:
    assert IATIPORTAL.is_file()
    result = run("--help")
    assert result.returncode == 0, result.stderr


# -- ingest exit codes -----------------------------------------------------------------------


def test_ingest_exits_0_when_every_file_is_read(db_url: str) -> None:
    result = run("ingest", "--db", db_url, fixture("v201-hierarchy-parent-child.xml"),
                 fixture("organisation-203.xml"))  # fmt: skip

    assert result.returncode == 0, result.stderr
    stats = store_stats(db_url)
    assert (stats["files"], stats["activities"], stats["organisations"]) == (2, 2, 1)

    # Again: both files are unchanged, which is success too.
    assert run("ingest", "--db", db_url, fixture("v201-hierarchy-parent-child.xml"),
               fixture("organisation-203.xml")).returncode == 0  # fmt: skip


MODULES_AT_EXIT = """
import atexit, sys
atexit.register(lambda: print(" ".join(sorted(sys.modules))))
from iatiportal.cli import main
sys.argv[0] = "iatiportal"
main()
"""

# What a quiet re-ingest of unchanged files must not import: it reads no file (the parser,
# lxml, the rulesets, the parsing workers, the row writer), prints nothing (rich), renders
# nothing (the profiles, the page queries, the web framework), and finds the files unchanged
# with Python's sqlite3 (store.quick), so SQLAlchemy and the store's tables are not loaded.
NOT_FOR_AN_UNCHANGED_FILE = (
    "lxml.etree",
    "iatiportal.ingest.parse",
    "iatiportal.ingest.rulesets",
    "iatiportal.store.produce",
    "iatiportal.store.write",
    "rich.console",
    "rich.progress",
    "iatiportal.profile",
    "iatiportal.store.queries",
    "iatiportal.standard.install",
    "alembic",
    "sqlalchemy",
    "iatiportal.store.schema",
    "starlette",
)


def imported_by_ingest(url: str, *options: str) -> set[str]:
    again = subprocess.run(
        [sys.executable, "-c", MODULES_AT_EXIT, "ingest", "--db", url, *options],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    imported = set(again.stdout.split())
    assert "iatiportal.store.quick" in imported  # (the modules were printed)
    return imported


@pytest.mark.parametrize("snapshot", [False, True], ids=["no snapshot", "current snapshot"])
def test_a_quiet_unchanged_reingest_imports_only_what_it_needs(
    sqlite_url: str, tmp_path: Path, snapshot: bool
) -> None:
    files = (fixture("v201-hierarchy-parent-child.xml"), fixture("organisation-203.xml"))
    folder = ("--snapshot-dir", str(tmp_path / "snapshot"))
    first = ("--wait-snapshot", *folder) if snapshot else ("--no-snapshot",)
    assert run("ingest", "--db", sqlite_url, *first, *files).returncode == 0
    before = store_stats(sqlite_url)

    imported = imported_by_ingest(
        sqlite_url, "-q", *(folder if snapshot else ("--no-snapshot",)), *files
    )

    assert [m for m in NOT_FOR_AN_UNCHANGED_FILE if m in imported] == []
    assert store_stats(sqlite_url) == before


def test_a_quiet_reingest_of_a_changed_file_takes_the_usual_path(
    sqlite_url: str, tmp_path: Path
) -> None:
    copy = tmp_path / "hierarchy.xml"
    copy.write_bytes((FIXTURES / "v201-hierarchy-parent-child.xml").read_bytes())
    assert run("ingest", "--db", sqlite_url, "--no-snapshot", str(copy)).returncode == 0
    copy.write_bytes((FIXTURES / "money-exact-sums.xml").read_bytes())

    imported = imported_by_ingest(sqlite_url, "-q", "--no-snapshot", str(copy))

    assert "sqlalchemy" in imported
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        held = conn.execute(select(s.source_file.c.sha256)).scalars().all()
    engine.dispose()
    assert held == [hashlib.sha256(copy.read_bytes()).hexdigest()]  # the new content


def test_ingest_exits_1_when_a_file_cannot_be_read_and_stores_the_others(db_url: str) -> None:
    result = run("ingest", "--db", db_url, fixture("v201-hierarchy-parent-child.xml"),
                 fixture("malformed.xml"), fixture("organisation-203.xml"))  # fmt: skip

    assert result.returncode == 1, result.stderr
    stats = store_stats(db_url)
    assert (stats["files"], stats["files_failed"]) == (2, 1)
    assert (stats["activities"], stats["organisations"]) == (2, 1)
    assert [(Path(p["file_path"]).name, p["line"], p["rule"]) for p in problems_json(db_url)] == [
        ("malformed.xml", 24, "xml-syntax"),
    ]


def test_ingest_of_a_directory_reads_its_xml_files(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "publisher"
    (folder / "2016").mkdir(parents=True)
    (folder / "2016" / "hierarchy.xml").write_bytes(
        (FIXTURES / "v201-hierarchy-parent-child.xml").read_bytes()
    )
    (folder / "money.xml").write_bytes((FIXTURES / "money-exact-sums.xml").read_bytes())
    (folder / "notes.txt").write_text("not read", encoding="utf-8")

    result = run("ingest", "--db", db_url, str(folder))

    assert result.returncode == 0, result.stderr
    stats = store_stats(db_url)
    assert (stats["files"], stats["files_failed"], stats["activities"]) == (2, 0, 4)


@pytest.mark.parametrize(
    "sources",
    [[], ["no-such-file.xml"], ["v201-hierarchy-parent-child.xml", "no-such-file.xml"]],
    ids=["no-arguments", "no-such-path", "good-file-and-no-such-path"],
)
def test_ingest_usage_errors_exit_2(sqlite_url: str, tmp_path: Path, sources: list[str]) -> None:
    args = [fixture(x) if (FIXTURES / x).is_file() else str(tmp_path / x) for x in sources]

    result = run("ingest", "--db", sqlite_url, *args)

    assert result.returncode == 2, result.stderr
    if sources:
        # A usage error stops before any file is read.
        assert store_stats(sqlite_url)["files"] == 0


@pytest.mark.parametrize("command", [["stats"], ["ingest", fixture("money-exact-sums.xml")]])
def test_a_store_that_cannot_be_opened_is_said_in_one_line(
    command: list[str], tmp_path: Path
) -> None:
    """No server listens on port 1: the command says why in one line, without the password."""
    result = run(*command, "--db", "postgresql://reader:s3cret-pw@127.0.0.1:1/portal")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: the store could not be used: ")
    assert "127.0.0.1" in lines[0]  # which server it tried


# -- which store -----------------------------------------------------------------------------


def test_db_option_then_environment_then_default(tmp_path: Path) -> None:
    default = tmp_path / "iatiportal.db"
    env_db = tmp_path / "from-env.db"
    option_db = tmp_path / "option.db"
    from_env = {ENV_VAR: f"sqlite:///{env_db}"}

    # Neither --db nor the environment: ./iatiportal.db in the current directory.
    assert run("ingest", fixture("v201-hierarchy-parent-child.xml"), cwd=tmp_path
               ).returncode == 0  # fmt: skip
    assert sorted(p.name for p in tmp_path.glob("*.db")) == ["iatiportal.db"]
    assert store_stats(f"sqlite:///{default}")["activities"] == 2

    # The environment variable, when set, is used instead of the default.
    assert run("ingest", fixture("money-exact-sums.xml"), cwd=tmp_path, env=from_env
               ).returncode == 0  # fmt: skip
    assert store_stats(f"sqlite:///{env_db}")["transactions"] == 9
    assert store_stats(f"sqlite:///{default}")["transactions"] == 0

    # --db wins over the environment; a value without "://" is an SQLite file (relative to
    # the current directory).
    assert run("ingest", "--db", "option.db", fixture("organisation-203.xml"), cwd=tmp_path,
               env=from_env).returncode == 0  # fmt: skip
    assert store_stats(f"sqlite:///{option_db}")["organisations"] == 1
    assert store_stats(f"sqlite:///{env_db}")["organisations"] == 0
    assert store_stats(f"sqlite:///{default}")["organisations"] == 0

    # stats finds the store by the same rules.
    def stats_in(env: dict[str, str] | None, *args: str) -> dict[str, Any]:
        result = run("stats", "--json", *args, cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
        doc: dict[str, Any] = json.loads(result.stdout)
        return doc

    assert stats_in(None)["activities"] == 2
    assert stats_in(from_env)["activities"] == 2
    assert stats_in(from_env)["transactions"] == 9
    assert stats_in(from_env, "--db", "option.db")["organisations"] == 1
    assert sorted(p.name for p in tmp_path.glob("*.db")) == [
        "from-env.db", "iatiportal.db", "option.db",
    ]  # fmt: skip


# -- stats -----------------------------------------------------------------------------------


def test_stats_json(db_url: str) -> None:
    assert run("ingest", "--db", db_url, fixture("money-exact-sums.xml"),
               fixture("v105-result-type.xml"), fixture("schema-invalid.xml"),
               fixture("foreign-namespaces.xml")).returncode == 0  # fmt: skip

    doc = stats_json(db_url)

    assert {k: doc[k] for k in ("files", "activities", "transactions", "budgets", "results",
                                "indicators")} == {
        "files": 4, "activities": 6, "transactions": 10, "budgets": 1, "results": 2,
        "indicators": 2,
    }  # fmt: skip
    # schema-invalid.xml: one schema error; foreign-namespaces.xml: one identifier warning.
    # The rule set: on money-exact-sums.xml's 2 activities 6.2.2, 6.7.2, 3.7.1 and 3.7.2 (8
    # errors); on schema-invalid.xml's 2, 6.2.2 and 3.7.1 (4); on foreign-namespaces.xml 6.11.1
    # (an error) and the warnings 1.3.1, 1.14.1, 1.8.1 and 102.1.1; none on the 1.05 file. And
    # 1.14.8 on the 5 activities of 2.0x (XX-TEST has no agency prefix).
    assert doc["problems"] == {"error": 1 + 8 + 4 + 1 + 5, "warning": 1 + 4, "info": 0}
    rows = doc["transaction_sums"]
    assert [{k: row[k] for k in ("transaction_type", "currency", "value", "count")}
            for row in rows] == [
        {"transaction_type": "2", "currency": "USD", "value": 111111111011.11, "count": 3},
        {"transaction_type": "3", "currency": "EUR", "value": 100000000000.0, "count": 2},
        {"transaction_type": "3", "currency": "USD", "value": 1000.8, "count": 3},
        {"transaction_type": "4", "currency": "USD", "value": 1000000.0, "count": 2},
    ]  # fmt: skip
    # 0.1 + 0.2 + 1000.50 (the last from " USD ", stripped) is exactly 1000.80.
    assert [Decimal(row["value_exact"]) for row in rows] == [
        Decimal("111111111011.11"), Decimal("100000000000.00"), Decimal("1000.80"),
        Decimal("1000000.00"),
    ]  # fmt: skip


# -- problems --------------------------------------------------------------------------------


def brief(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(
        (Path(r["file_path"]).name, r["line"], r["iati_identifier"], r["severity"], r["rule"])
        for r in rows
    )


FILTER_CASES: list[tuple[list[str], list[tuple[Any, ...]]]] = [
    ([], [
        ("foreign-namespaces.xml", 11, "XX-TEST-FOREIGN-1", "warning", "identifier-whitespace"),
        ("malformed.xml", 24, None, "error", "xml-syntax"),
        ("missing-identifier.xml", 18, None, "error", "identifier-missing"),
        ("missing-identifier.xml", 28, None, "error", "identifier-missing"),
        ("schema-invalid.xml", 29, "XX-TEST-INVALID", "error", "schema"),
    ]),
    (["--file", "missing-identifier.xml"], [
        ("missing-identifier.xml", 18, None, "error", "identifier-missing"),
        ("missing-identifier.xml", 28, None, "error", "identifier-missing"),
    ]),
    (["--activity", "XX-TEST-INVALID"], [
        ("schema-invalid.xml", 29, "XX-TEST-INVALID", "error", "schema"),
    ]),
    (["--activity", "XX-TEST-VALID"], []),
    (["--severity", "warning"], [
        ("foreign-namespaces.xml", 11, "XX-TEST-FOREIGN-1", "warning", "identifier-whitespace"),
    ]),
    (["--severity", "warning", "--severity", "info", "--file", "schema-invalid.xml"], []),
    (["--severity", "error", "--file", "malformed.xml"], [
        ("malformed.xml", 24, None, "error", "xml-syntax"),
    ]),
]  # fmt: skip


def test_problems_filters(db_url: str) -> None:
    result = run("ingest", "--db", db_url, fixture("missing-identifier.xml"),
                 fixture("schema-invalid.xml"), fixture("foreign-namespaces.xml"),
                 fixture("malformed.xml"))  # fmt: skip
    assert result.returncode == 1, result.stderr

    for filters, expected in FILTER_CASES:
        assert brief(problems_json(db_url, *filters)) == expected, filters

    text = run("problems", "--db", db_url, "--severity", "error")
    assert text.returncode == 0, text.stderr
    listed = text.stdout.splitlines()
    assert len(own(listed, lambda line: line.split(": ")[0].split()[-1])) == 4
    assert text.stderr.strip() == f"{len(listed)} problems"


# -- http ------------------------------------------------------------------------------------


@pytest.fixture
def fixture_server() -> Iterator[str]:
    """tests/fixtures served on 127.0.0.1 (no internet needed)."""
    with files_served(FIXTURES) as base:
        yield base


def test_ingest_of_an_http_url(db_url: str, fixture_server: str) -> None:
    url = f"{fixture_server}/v201-hierarchy-parent-child.xml"
    missing = f"{fixture_server}/no-such-file.xml"

    assert run("ingest", "--db", db_url, url).returncode == 0
    assert run("ingest", "--db", db_url, missing).returncode == 1

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            files = conn.execute(
                select(s.source_file.c.path, s.source_file.c.status,
                       s.source_file.c.activity_count, s.source_file.c.error_rule)
                .order_by(s.source_file.c.id)
            ).all()  # fmt: skip
            idents = sorted(conn.execute(select(s.activity.c.iati_identifier)).scalars())
    finally:
        engine.dispose()
    assert [tuple(f) for f in files] == [
        (url, "ok", 2, None),
        (missing, "failed", 0, "download"),
    ]
    assert idents == ["XX-TEST-CHILD", "XX-TEST-PARENT"]
    assert [(p["file_path"], p["rule"]) for p in problems_json(db_url)] == [
        (missing, "download"),
    ]


# -- in-process use ---------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize(
    "args",
    [["stats", "--json"], ["problems"], ["ingest", fixture("v201-hierarchy-parent-child.xml")]],
    ids=["stats", "problems", "ingest"],
)
def test_commands_close_their_store_connections_postgresql(
    postgresql_url: str, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run in-process (as CliRunner or a caller of ``main`` does), a command leaves no
    connection open for the garbage collector to find."""
    leaked: list[str] = []
    monkeypatch.setattr(
        sys,
        "unraisablehook",
        lambda u: leaked.append(f"{type(u.exc_value).__name__}: {u.exc_value}"),
    )
    command, *rest = args

    result = CliRunner().invoke(main, [command, "--db", postgresql_url, *rest])
    exit_code, output = result.exit_code, result.output
    del result  # its traceback (sys.exit) would keep the command's frame alive
    gc.collect()

    assert exit_code == 0, output
    assert leaked == []


def test_a_snapshot_that_cannot_be_written_ends_no_ingest(tmp_path: Path) -> None:
    """The store keeps what was ingested; the snapshot's failure is said, even with --quiet."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    db = str(tmp_path / "store.db")
    fixture = str(Path(__file__).parent / "fixtures" / "money-exact-sums.xml")
    runner = CliRunner()
    args = ["ingest", "--quiet", "--db", db, "--snapshot-dir", str(blocker / "snap")]
    done = runner.invoke(main, [*args, "--wait-snapshot", fixture])
    assert done.exit_code == 0, done.output
    assert "could not write the bulk snapshot" in done.stderr
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert queries.stats(conn)["activities"] == 2
    engine.dispose()
    # In the background (the default), the build that cannot even start is said too.
    background = runner.invoke(main, [*args, "--force", fixture])
    assert background.exit_code == 0, background.output
    assert "could not start the bulk snapshot" in background.stderr
    again = runner.invoke(main, ["snapshot", "--db", db, "--snapshot-dir", str(blocker / "snap")])
    assert again.exit_code == 1
    assert "could not write the bulk snapshot" in again.stderr


def test_a_quiet_ingest_reads_no_figures_of_the_whole_store(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The summary's figures of the store are read only to be printed: after each file of a
    large store, counting every transaction, budget and result (``queries.stats``) for a
    summary that --quiet does not print cost seconds (issue 14)."""

    def refused(conn: object) -> None:
        raise AssertionError("figures of the whole store were read")

    monkeypatch.setattr(queries, "stats", refused)
    monkeypatch.setattr(queries, "store_counts", refused, raising=False)
    args = ["ingest", "--no-snapshot", "--db", sqlite_url, fixture("organisation-203.xml")]
    result = CliRunner().invoke(main, [*args[:1], "-q", *args[1:]])
    assert result.exit_code == 0, result.output
    monkeypatch.undo()
    result = CliRunner().invoke(main, [*args, fixture("v201-hierarchy-parent-child.xml")])
    assert result.exit_code == 0, result.output
    assert "activities in the store (current) │ 2" in result.output
