"""Two page details a visitor meets: a data-health page of clean files says so instead of
showing an empty "Problems by rule" table (headers only), and the download page gives the
snapshot's date in the page's language, not as an ISO 8601 stamp."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient
from stores import migrated_store

from iatiportal.exports import snapshot
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A store of one file without any problem, and its snapshot."""
    folder = tmp_path_factory.mktemp("clean")
    with migrated_store("sqlite", folder) as engine:
        assert not ingest(engine, [str(FIXTURES / "money-exact-sums.xml")], validate=False).failed
        snapshot.build(engine, folder / "snapshot")
        with TestClient(create_app(engine, snapshot_dir=folder / "snapshot")) as client:
            yield client


def _page(client: TestClient, path: str) -> BeautifulSoup:
    response = client.get(path)
    assert response.status_code == 200
    return BeautifulSoup(response.text, "html.parser")


@pytest.mark.parametrize(
    ("lang", "said"),
    [("en", "No problems were found in the files."), ("fr", "Aucun problème n’a été trouvé")],
)
def test_clean_files_are_said_to_have_no_problems(clean: TestClient, lang: str, said: str) -> None:
    health = clean.get(f"/-/data-health.json?lang={lang}").json()
    assert health["tables"]["rules"]["rows"] == []  # the store really has no problem
    page = _page(clean, f"/-/data-health?lang={lang}")
    assert page.select_one("table.rules") is None
    assert said in page.select_one("p.no-problems").get_text()


MONTHS = {
    "en": "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec",
    "fr": "janv|févr|mars|avr|mai|juin|juil|août|sept|oct|nov|déc",
}


@pytest.mark.parametrize(("lang", "month"), MONTHS.items())
def test_the_snapshot_date_is_written_in_the_pages_language(
    clean: TestClient, lang: str, month: str
) -> None:
    built = (
        _page(clean, f"/-/download/?lang={lang}").select_one("p.built").get_text(" ", strip=True)
    )
    assert not re.search(r"\d{4}-\d{2}-\d{2}T", built), built
    assert re.search(rf"\b({month})\b", built) and "UTC" in built, built
