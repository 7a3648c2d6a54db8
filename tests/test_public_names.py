"""What the public must not see (issue 10): server paths, a symlink's target, URL credentials.

Pages, the API and the bulk snapshot show a source as the operator names it publicly: the
file's path below the folder given to ``ingest`` (or its name), or the URL with its
credentials redacted. The store itself holds nothing else, since the snapshot publishes it.
"""

from __future__ import annotations

import gzip
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from serving import files_served
from sqlalchemy import Engine
from starlette.testclient import TestClient

from iatiportal.exports import snapshot
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SECRET, PASSWORD = "s3cr3t-t0ken-value", "hunter2-password"


@pytest.fixture
def publisher_site(tmp_path: Path) -> Iterator[str]:
    """A local web server with one IATI file (the URL source's host)."""
    site = tmp_path / "site"
    site.mkdir()
    shutil.copyfile(FIXTURES / "money-currencies.xml", site / "feed.xml")

    with files_served(site) as base:
        yield base


def _everything_public(engine: Engine, tmp_path: Path) -> dict[str, bytes]:
    """Every page, API answer and snapshot file that names sources, by where it is."""
    out: dict[str, bytes] = {}
    with TestClient(create_app(engine, snapshot_dir=tmp_path / "snap")) as client:
        for url in (
            "/-/data-health",
            "/-/data-health.json",
            "/-/data-health.csv",
            "/api/v1/problems",
            "/api/v1/problems?format=csv",
            "/activities/XX-TEST-MONEY-1",
            "/activities/XX-TEST-MONEY-1.json",
            "/activities/XX-CUR-EUR",
        ):
            response = client.get(url)
            assert response.status_code == 200, url
            out[url] = response.content
    manifest = snapshot.build(engine, tmp_path / "snap")
    for f in manifest.files:
        path = snapshot.file_path(tmp_path / "snap", manifest, f.name)
        if f.name.endswith(".gz"):
            out[f.name] = gzip.decompress(path.read_bytes())
        else:
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    out[f"{f.name}/{name}"] = archive.read(name)
    return out


def test_sources_are_shown_by_their_public_names(
    engine: Engine, tmp_path: Path, publisher_site: str
) -> None:
    folder = tmp_path / "srv-data" / "publishers"
    (folder / "sub").mkdir(parents=True)
    shutil.copyfile(FIXTURES / "money-exact-sums.xml", folder / "sub" / "money.xml")
    outside = tmp_path / "private" / "passwd"
    outside.parent.mkdir()
    outside.write_text("root:x:0:0:root:/root:/bin/bash\n")
    (folder / "evil.xml").symlink_to(outside)
    url = publisher_site.replace("http://", f"http://operator:{PASSWORD}@")
    summary = ingest(engine, [str(folder), f"{url}/feed.xml?token={SECRET}&lang=en"])
    redacted = publisher_site  # no user name either: tokens are often given as one
    assert {f.source: f.status for f in summary.files} == {
        "publishers/evil.xml": "failed",  # not XML: recorded as a problem of that name
        "publishers/sub/money.xml": "ingested",
        f"{redacted}/feed.xml?token=REDACTED&lang=en": "ingested",
    }

    private = [str(tmp_path).encode(), b"/private/passwd", SECRET.encode(), PASSWORD.encode()]
    for where, body in _everything_public(engine, tmp_path).items():
        leaks = [p.decode() for p in private if p in body]
        assert leaks == [], f"{where} shows {leaks}"
