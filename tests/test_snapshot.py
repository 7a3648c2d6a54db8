"""The bulk snapshot on both databases: the SQLite copy is a whole store, the CSV zip holds
every row with a data dictionary, the download page offers both and clients can revalidate."""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
from pathlib import Path

from bs4 import BeautifulSoup
from click.testing import CliRunner
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from iatiportal.cli import main
from iatiportal.demo import demo_files
from iatiportal.exports import manifest as snapshot_manifest
from iatiportal.exports import snapshot
from iatiportal.store import queries
from iatiportal.store import schema as s
from iatiportal.store.db import make_engine
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

UNWOMEN = "iati/unwomen/XM-DAC-41146_unwomen_dportal-covid19-extract_2021-06-15.xml"


def test_snapshot_holds_the_whole_store(engine: Engine, shared: Path, tmp_path: Path) -> None:
    assert not ingest(engine, [*map(str, demo_files()), str(shared / UNWOMEN)]).failed
    folder = tmp_path / "snap"
    manifest = snapshot.build(engine, folder)
    assert snapshot.is_current(engine, folder)
    assert [f.name for f in manifest.files] == [snapshot.SQLITE_NAME, snapshot.CSV_NAME]

    unpacked = tmp_path / "copy.sqlite"
    unpacked.write_bytes(
        gzip.decompress(snapshot.file_path(folder, manifest, snapshot.SQLITE_NAME).read_bytes())
    )
    copy = make_engine(f"sqlite:///{unpacked}")
    with engine.connect() as a, copy.connect() as b:
        original, copied = queries.stats(a), queries.stats(b)
        assert copied == original
        assert queries.data_health(b)["rules"] == queries.data_health(a)["rules"]
        # PostgreSQL's stored search vectors stay behind (SQLite's index is FTS5).
        assert b.execute(select(s.search_text.c.vector).distinct()).all() == [(None,)]
    with TestClient(create_app(copy)) as client:  # the copy is a store the portal serves
        hits = client.get("/search.json?q=violence").json()["tables"]["results"]["rows"]
        assert hits
    copy.dispose()

    with zipfile.ZipFile(snapshot.file_path(folder, manifest, snapshot.CSV_NAME)) as archive:
        names = set(archive.namelist())
        assert {"activities.csv", "transactions.csv", "budgets.csv", "results.csv"} <= names
        dictionary = list(csv.DictReader(io.TextIOWrapper(archive.open("data-dictionary.csv"))))
        described = {(d["file"], d["column"]) for d in dictionary}
        for name in names - {"data-dictionary.csv"}:
            rows = list(csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8")))
            assert manifest.rows[name] == len(rows)
            header = next(csv.reader(io.TextIOWrapper(archive.open(name), encoding="utf-8")))
            assert {(name, column) for column in header} <= described, name
        transactions = manifest.rows["transactions.csv"]
    assert transactions == original["transactions"]
    assert manifest.rows["activities.csv"] == original["activities"]


def test_download_page_and_files(sqlite_engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "snap"
    assert not ingest(sqlite_engine, [str(p) for p in demo_files()]).failed
    with TestClient(create_app(sqlite_engine, snapshot_dir=folder)) as client:
        empty = BeautifulSoup(client.get("/-/download/").text, "html.parser")
        assert empty.select_one("p.notice[role=status]") is not None
        assert client.get("/-/download/iatiportal-csv.zip").status_code == 404

        manifest = snapshot.build(sqlite_engine, folder)
        # The same address as before the build: the page follows the snapshot, not the cache.
        page = BeautifulSoup(client.get("/-/download/").text, "html.parser")
        links = [a["href"] for a in page.select("table.snapshot-files a")]
        assert links == ["/-/download/iatiportal.sqlite.gz", "/-/download/iatiportal-csv.zip"]
        assert page.select_one("p.built strong.notice") is None  # built from the current data

        response = client.get(links[1])
        assert response.status_code == 200
        day = manifest.built_at[:10]
        expected_name = f'filename="iatiportal-csv-{day}.zip"'
        assert expected_name in response.headers["content-disposition"]
        assert response.headers["last-modified"]
        etag = response.headers["etag"]
        again = client.get(links[1], headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert zipfile.ZipFile(io.BytesIO(response.content)).testzip() is None


def test_ingest_rebuilds_the_snapshot_when_the_store_changes(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    runner = CliRunner()
    first = runner.invoke(
        main, ["ingest", "--db", str(db), "-q", "--wait-snapshot", *map(str, demo_files())]
    )
    assert first.exit_code == 0, first.output
    folder = Path(f"{db}.snapshot")
    built = snapshot_manifest.read_manifest(folder)
    assert built is not None and snapshot.file_path(folder, built, snapshot.CSV_NAME).is_file()
    unchanged = runner.invoke(main, ["ingest", "--db", str(db), "-q", *map(str, demo_files())])
    assert unchanged.exit_code == 0
    assert snapshot_manifest.read_manifest(folder) == built  # nothing changed: not rebuilt
    other = tmp_path / "elsewhere"
    skipped = runner.invoke(
        main,
        ["ingest", "--db", str(db), "-q", "--no-snapshot", "--snapshot-dir", str(other)]
        + [str(p) for p in demo_files()],
    )
    assert skipped.exit_code == 0 and not other.exists()
    forced = runner.invoke(main, ["snapshot", "--db", str(db), "--snapshot-dir", str(other)])
    assert forced.exit_code == 0, forced.output
    written = snapshot_manifest.read_manifest(other)
    assert written is not None
    args = ["snapshot", "--db", str(db), "--snapshot-dir", str(other), "--if-stale", "-q"]
    timer = runner.invoke(main, args)  # as cron runs it: current, so not rebuilt, and silent
    assert timer.exit_code == 0 and timer.stderr == "", timer.output
    assert snapshot_manifest.read_manifest(other) == written


def test_each_database_has_its_own_default_snapshot_folder() -> None:
    """Two PostgreSQL stores (or servers) never share a snapshot folder (issue 10)."""
    urls = [
        "postgresql+psycopg://u:secret@db1/iati",
        "postgresql+psycopg://u:secret@db1/other",
        "postgresql+psycopg://u:secret@db2/iati",
        "postgresql+psycopg://v:secret@db1/iati",
    ]
    folders = [snapshot.default_dir(url) for url in urls]
    assert len(set(folders)) == len(urls)
    assert all("secret" not in str(f) for f in folders)
    assert folders[0] == snapshot.default_dir("postgresql+psycopg://u:changed@db1/iati")
    assert str(folders[0]).startswith("iatiportal-snapshot-db1-iati-")
    assert snapshot.default_dir("sqlite:///data/store.db") == Path("data/store.db.snapshot")
