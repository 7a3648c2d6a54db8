"""How the bulk snapshot is built (issues 13 and 14): off the ingest's path, one builder at a
time, the previous snapshot served until the new one is complete (during a build, after a
killed one, on a full disk), and code names in every language of the portal."""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from sqlalchemy import Engine
from starlette.testclient import TestClient

from iatiportal.cli import main
from iatiportal.demo import demo_files
from iatiportal.exports import manifest as snapshot_manifest
from iatiportal.exports import snapshot
from iatiportal.store.db import make_engine, migrate
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
BENCHMARK = "iati/dportal-covid19-2021/benchmark/dportal-covid19-merged-53pages.xml"
DEADLINE = 300  # seconds a background step may take on a busy machine before the test gives up


def wait_for(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


def demo() -> list[str]:
    return [str(p) for p in demo_files()]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    migrate(engine)
    yield url, engine
    engine.dispose()


def builder(url: str, folder: Path, *args: str, **popen: Any) -> subprocess.Popen[bytes]:
    """``iatiportal snapshot`` in a process of its own (its own session, to be stopped)."""
    command = [sys.executable, "-m", "iatiportal.cli", "snapshot", "--db", url]
    return subprocess.Popen(
        [*command, "--snapshot-dir", str(folder), *args],
        start_new_session=True,
        stderr=subprocess.PIPE,
        **popen,
    )


def generations(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob(f"{snapshot.GENERATION_PREFIX}*"))


def building_beside(folder: Path, current: str) -> bool:
    """Whether a build other than ``current``'s has written its SQLite file (half-way)."""
    return any(
        name != current and (folder / name / snapshot.SQLITE_NAME).exists()
        for name in generations(folder)
    )


def served(client: TestClient, name: str = snapshot.CSV_NAME) -> bytes:
    response = client.get(f"/-/download/{name}")
    assert response.status_code == 200
    return response.content


def files_of(folder: Path, manifest: snapshot_manifest.Manifest) -> bytes:
    return snapshot.file_path(folder, manifest, snapshot.CSV_NAME).read_bytes()


def test_an_ingest_does_not_wait_for_the_snapshot(tmp_path: Path) -> None:
    """The ingest starts the build in the background and ends; a builder that finds another
    running leaves the build to it; without one, the background build completes."""
    db, folder = tmp_path / "store.db", tmp_path / "snap"
    folder.mkdir()
    runner = CliRunner()
    args = ["ingest", "--db", str(db), "-q", "--snapshot-dir", str(folder)]
    log = folder / snapshot.LOG_NAME
    with (folder / snapshot.LOCK_NAME).open("ab") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a build that is running
        done = runner.invoke(main, [*args, *demo()])
        assert done.exit_code == 0, done.output
        assert snapshot_manifest.read_manifest(folder) is None  # ended without building
        wait_for(
            lambda: log.exists() and "being built by another process" in log.read_text(),
            "the background builder left the build to the lock's holder",
        )
        assert snapshot_manifest.read_manifest(folder) is None
    again = runner.invoke(main, [*args, str(FIXTURES / "money-exact-sums.xml")])
    assert again.exit_code == 0, again.output
    engine = make_engine(f"sqlite:///{db}")
    try:
        wait_for(lambda: snapshot.is_current(engine, folder), "the background build")
    finally:
        engine.dispose()
    # The builder says so after its manifest is written (CI once read the log in between).
    wait_for(lambda: "Bulk snapshot written" in log.read_text(), "the builder's report")


def waits_for_lock(pid: int, lock: Path) -> bool:
    """Whether process ``pid`` is blocked on the flock of ``lock`` (``->`` in /proc/locks)."""
    inode = f":{lock.stat().st_ino} "
    return any(
        line.split()[1] == "->" and line.split()[5] == str(pid) and inode in line
        for line in Path("/proc/locks").read_text().splitlines()
    )


@pytest.mark.slow
def test_an_ingest_told_to_wait_waits_for_a_running_build(tmp_path: Path) -> None:
    """--wait-snapshot (scripts, tests) ends with a current snapshot even when another build
    was running when the ingest ended."""
    db, folder = tmp_path / "store.db", tmp_path / "snap"
    folder.mkdir()
    lock = folder / snapshot.LOCK_NAME
    command = [sys.executable, "-m", "iatiportal.cli", "ingest", "-q", "--wait-snapshot"]
    command += ["--db", str(db), "--snapshot-dir", str(folder), *demo()]
    with lock.open("ab") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a build that is running
        ingesting = subprocess.Popen(command, stderr=subprocess.PIPE)

        def blocked() -> bool:
            assert ingesting.poll() is None, "the ingest ended without waiting for the build"
            return waits_for_lock(ingesting.pid, lock)

        wait_for(blocked, "the ingest waits for the running build")
    _out, err = ingesting.communicate(timeout=DEADLINE)
    assert ingesting.returncode == 0, err
    engine = make_engine(f"sqlite:///{db}")
    try:
        assert snapshot.is_current(engine, folder)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_the_previous_snapshot_is_served_during_a_build_and_after_a_killed_one(
    store: tuple[str, Engine], shared: Path, tmp_path: Path
) -> None:
    url, engine = store
    assert not ingest(engine, demo()).failed
    folder = tmp_path / "snap"
    before = snapshot.build(engine, folder)
    previous = files_of(folder, before)
    assert not ingest(engine, [str(shared / BENCHMARK)], validate=False).failed  # 5,300 more

    with TestClient(create_app(engine, snapshot_dir=folder)) as client:
        # A build in progress, stopped half-way so that it cannot end meanwhile.
        running = builder(url, folder, "--if-stale")
        try:
            wait_for(lambda: building_beside(folder, before.folder), "the build's first file")
            os.killpg(running.pid, signal.SIGSTOP)
            assert served(client) == previous
            page = BeautifulSoup(client.get("/-/download/").text, "html.parser")
            notice = page.select_one("p.built strong.notice")
            assert notice is not None
            assert notice.get_text() == (
                "Files were ingested since: a new snapshot is being built, and this one is "
                "served until it is complete."
            )
            # The store changes again while it builds: a second request leaves the build to
            # the running builder, which builds once more when done.
            assert not ingest(engine, [str(FIXTURES / "money-exact-sums.xml")]).failed
            assert snapshot.build_if_stale(engine, folder) is None
            assert snapshot_manifest.read_manifest(folder) == before
        finally:
            os.killpg(running.pid, signal.SIGCONT)
        _out, err = running.communicate(timeout=DEADLINE)
        assert running.returncode == 0, err
        after = snapshot_manifest.read_manifest(folder)
        assert after is not None
        # Current although its first build read the version before the last ingest.
        assert after.data_version == snapshot.data_version(engine)
        assert generations(folder) == [after.folder]  # the previous files are gone
        assert served(client) == files_of(folder, after) != previous

        # A build killed half-way.
        assert not ingest(engine, [str(FIXTURES / "money-currencies.xml")]).failed
        killed = builder(url, folder)
        try:
            wait_for(lambda: building_beside(folder, after.folder), "the build's first file")
        finally:
            os.killpg(killed.pid, signal.SIGKILL)
            killed.communicate(timeout=DEADLINE)
        assert killed.returncode == -signal.SIGKILL
        assert snapshot_manifest.read_manifest(folder) == after
        assert served(client) == files_of(folder, after)
        assert len(generations(folder)) == 2  # what the killed build left

        rebuilt = snapshot.build(engine, folder)
        assert generations(folder) == [rebuilt.folder]
        assert served(client) == files_of(folder, rebuilt)


def test_a_full_disk_half_way_leaves_the_previous_snapshot(
    store: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = store
    assert not ingest(engine, demo()).failed
    folder = tmp_path / "snap"
    before = snapshot.build(engine, folder)
    assert not ingest(engine, [str(FIXTURES / "money-exact-sums.xml")]).failed
    limit = before.files[0].bytes  # the copy of the store is larger than its gzip

    def small_disk() -> None:  # a file may not grow past the limit: EFBIG, as ENOSPC
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    full = builder(url, folder, preexec_fn=small_disk)
    _out, err = full.communicate(timeout=DEADLINE)
    assert full.returncode == 1
    assert b"could not write the bulk snapshot" in err
    assert snapshot_manifest.read_manifest(folder) == before
    assert generations(folder) == [before.folder]  # the failed build's files removed
    with TestClient(create_app(engine, snapshot_dir=folder)) as client:
        assert served(client) == files_of(folder, before)


def test_a_snapshot_laid_out_before_subfolders_is_served_then_replaced(
    store: tuple[str, Engine], tmp_path: Path
) -> None:
    """Snapshots built before kept their files beside the manifest, which had no folder."""
    _url, engine = store
    assert not ingest(engine, demo()).failed
    folder = tmp_path / "snap"
    built = snapshot.build(engine, folder)
    for f in built.files:
        (folder / built.folder / f.name).replace(folder / f.name)
    shutil.rmtree(folder / built.folder)
    raw = json.loads((folder / snapshot_manifest.MANIFEST_NAME).read_text())
    del raw["folder"]
    (folder / snapshot_manifest.MANIFEST_NAME).write_text(json.dumps(raw))
    with TestClient(create_app(engine, snapshot_dir=folder)) as client:
        assert served(client) == (folder / snapshot.CSV_NAME).read_bytes()
        assert not ingest(engine, [str(FIXTURES / "money-exact-sums.xml")]).failed
        rebuilt = snapshot.build(engine, folder)
        assert not (folder / snapshot.CSV_NAME).exists()
        assert not (folder / snapshot.SQLITE_NAME).exists()
        assert served(client) == files_of(folder, rebuilt)


def read_csv(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8")))


def test_code_names_in_every_language(sqlite_engine: Engine, tmp_path: Path) -> None:
    """One file names the codes in the six languages; the other files and their column keys
    are the same whatever the language (issue 13)."""
    assert not ingest(sqlite_engine, demo()).failed
    folder = tmp_path / "snap"
    manifest = snapshot.build(sqlite_engine, folder)
    with zipfile.ZipFile(snapshot.file_path(folder, manifest, snapshot.CSV_NAME)) as archive:
        header = next(csv.reader(io.TextIOWrapper(archive.open("code-names.csv"))))
        names = read_csv(archive, "code-names.csv")
        dictionary = read_csv(archive, "data-dictionary.csv")
        transactions = read_csv(archive, "transactions.csv")
    assert header == [
        "codelist",
        "code",
        "name_en",
        "name_ar",
        "name_zh",
        "name_fr",
        "name_ru",
        "name_es",
    ]
    assert manifest.rows["code-names.csv"] == len(names)
    by_code = {(n["codelist"], n["code"]): n for n in names}
    assert by_code["TransactionType", "3"] == {
        "codelist": "TransactionType",
        "code": "3",
        "name_en": "Disbursement",
        "name_ar": "صرف",
        "name_zh": "拨付",
        "name_fr": "Décaissement",
        "name_ru": "Выплата",
        "name_es": "Desembolso",
    }
    implementation = by_code["ActivityStatus", "2"]
    assert (implementation["name_ar"], implementation["name_zh"]) == ("قيد التنفيذ", "执行中")
    used = {d["codelist"] for d in dictionary if d["codelist"]}
    assert used == {n["codelist"] for n in names}  # every codelist a column names
    for row in transactions:  # the English name column joins to code-names.csv
        assert (
            row["transaction_type_name"]
            == by_code["TransactionType", row["transaction_type"]]["name_en"]
        )
    described = {d["column"] for d in dictionary if d["file"] == "code-names.csv"}
    assert described == {"", *header}  # the file's own line, and each column

    with TestClient(create_app(sqlite_engine, snapshot_dir=folder)) as client:
        said = {}
        for language in ("en", "fr", "ar"):
            page = BeautifulSoup(client.get(f"/-/download/?lang={language}").text, "html.parser")
            paragraph = page.select_one("p.code-names")
            assert paragraph is not None, language
            said[language] = paragraph.get_text()
            assert "code-names.csv" in said[language]
        assert said["fr"].startswith("Dans les fichiers CSV")
        assert len(set(said.values())) == 3


def test_a_manifest_naming_a_folder_elsewhere_is_refused(
    store: tuple[str, Engine], tmp_path: Path
) -> None:
    """Downloads come only from a subfolder the builder names, whatever manifest.json says."""
    _url, engine = store
    assert not ingest(engine, demo()).failed
    folder = tmp_path / "snap"
    built = snapshot.build(engine, folder)
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(folder / built.folder, elsewhere)
    raw = json.loads((folder / snapshot_manifest.MANIFEST_NAME).read_text())
    raw["folder"] = "../elsewhere"
    (folder / snapshot_manifest.MANIFEST_NAME).write_text(json.dumps(raw))
    assert snapshot_manifest.read_manifest(folder) is None
    with TestClient(create_app(engine, snapshot_dir=folder)) as client:
        assert client.get(f"/-/download/{snapshot.CSV_NAME}").status_code == 404
