"""The methodology page (/about) in the six languages (issue 13): each paragraph of the money
module's docstring is a message of the catalogs, found by our Babel extractor, translated with
its markup kept, and shown in the page's language (English, marked so, where a language has no
translation).

The expected words are written here by hand, not read from the catalogs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from bs4 import BeautifulSoup
from sqlalchemy import Engine
from starlette.testclient import TestClient
from stores import migrated_store

from iatiportal import i18n
from iatiportal.i18n_extract import paragraphs
from iatiportal.store import money
from iatiportal.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "iatiportal" / "web" / "locale"
TRANSLATED = ("fr", "ar", "es", "ru", "zh")
CODE = re.compile(r"``(.*?)``")
# Element names, attributes, rules and commands the methodology names (from money.py).
CODES = {
    "last-updated-datetime",
    "default-currency",
    "budget",
    "humanitarian",
    "related-activity",
    "hierarchy-cycle",
    "receiver-activity-id",
    "percentage",
    "iatiportal rates load",
    "total-budget",
    "recipient-org-budget",
    "recipient-country-budget",
    "recipient-region-budget",
    "total-expenditure",
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    with migrated_store("sqlite", tmp_path_factory.mktemp("methodology")) as engine:
        yield engine


@pytest.fixture
def client(store: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(store)) as c:
        yield c


def about(client: TestClient, lang: str) -> BeautifulSoup:
    response = client.get(f"/about?lang={lang}")
    assert response.status_code == 200
    return BeautifulSoup(response.text, "html.parser")


def extract(folder: Path) -> set[str]:
    """The msgids `make messages` extracts from ``folder`` (its babel.cfg), as the catalog
    test runs it."""
    out = folder / "messages.pot"
    subprocess.run(
        [
            *(sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg"),
            *("--no-location", "--sort-output", "--omit-header", "-k", "_", "-k", "gettext"),
            *("-k", "ngettext:1,2", "-o", str(out), "."),
        ],
        cwd=folder,
        check=True,
        capture_output=True,
        env={"PYTHONPATH": str(ROOT)},
    )
    with out.open("rb") as f:
        return {m.id for m in read_po(f) if m.id and isinstance(m.id, str)}


def test_the_methodology_is_the_docstring_of_the_money_module() -> None:
    shown = paragraphs(money.__doc__)
    assert [p.split(".**")[0] for p in shown] == [
        "**Which activities",
        "**Budget",
        "**Expenditure",
        "**Development and humanitarian",
        "**Funding partners",
        "**Implementing partners",
        "**Parent and child activities",
        "**Money passed between activities",
        "**Countries, regions and sectors",
        "**One currency",
        "**Organisation files",
        "**Comparing with the activities",
        "**Rounding",
    ]
    assert all("\n" not in p and "  " not in p for p in shown)
    assert set().union(*(CODE.findall(p) for p in shown)) == CODES


def test_every_paragraph_is_in_the_template_with_a_note_to_translators() -> None:
    with (LOCALE / "messages.pot").open("rb") as f:
        template = {m.id: m for m in read_po(f) if m.id}
    for paragraph in paragraphs(money.__doc__):
        assert paragraph in template, paragraph[:40]
        note = " ".join(template[paragraph].auto_comments)
        assert "``code``" in note and "**Heading.**" in note, paragraph[:40]


def test_a_change_of_the_docstring_changes_the_template(tmp_path: Path) -> None:
    """The extractor reads the docstring where `make messages` finds it, so the catalog test
    (tests/web/test_i18n.py) fails until the catalogs follow a change of the text."""
    shutil.copy(ROOT / "babel.cfg", tmp_path / "babel.cfg")
    copy = tmp_path / "iatiportal" / "store" / "money.py"
    copy.parent.mkdir(parents=True)
    source = (ROOT / "iatiportal" / "store" / "money.py").read_text(encoding="utf-8")
    changed = source.replace("at most 45 days old", "at most 30 days old", 1)
    assert changed != source
    copy.write_text(changed, encoding="utf-8")
    extracted = extract(tmp_path)
    with (LOCALE / "messages.pot").open("rb") as f:
        committed = {m.id for m in read_po(f) if m.id and isinstance(m.id, str)}
    new = extracted - committed
    assert len(new) == 1 and "at most 30 days old" in next(iter(new))
    assert len(committed & extracted) == len(paragraphs(money.__doc__)) - 1


@pytest.mark.parametrize("lang", TRANSLATED)
def test_each_translation_keeps_the_markup_of_its_paragraph(lang: str) -> None:
    with (LOCALE / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = {m.id: m.string for m in read_po(f) if m.id}
    for paragraph in paragraphs(money.__doc__):
        translated = catalog[paragraph]
        assert translated and translated != paragraph, paragraph[:40]
        codes = Counter(CODE.findall(translated))
        assert codes == Counter(CODE.findall(paragraph)), paragraph[:40]
        assert re.match(r"\*\*[^*]+\*\*", translated), paragraph[:40]  # the heading
        assert translated.count("**") == paragraph.count("**"), paragraph[:40]
        assert translated.count("``") == paragraph.count("``"), paragraph[:40]


def test_the_english_page(client: TestClient) -> None:
    page = about(client, "en")
    headings = [h.get_text() for h in page.select(".methodology h3")]
    assert headings[:3] == ["Which activities", "Budget", "Expenditure"]
    assert page.select(".methodology [lang]") == []  # the page is English
    expenditure = page.select(".methodology p")[2]
    assert [s.get_text() for s in expenditure.select("strong")] == [
        "Incoming funds",
        "commitments",
        "disbursements",
        "passed on",
    ]
    assert "**" not in page.select_one(".methodology").get_text()


def test_the_arabic_page_reads_right_to_left_with_its_codes(client: TestClient) -> None:
    page = about(client, "ar")
    assert page.html["lang"] == "ar" and page.html["dir"] == "rtl"
    methodology = page.select_one(".methodology")
    headings = [h.get_text() for h in methodology.select("h3")]
    assert headings[1] == "الميزانية"
    assert headings[5:7] == ["الشركاء المنفذون", "الأنشطة الأم والأنشطة الفرعية"]
    assert methodology.select("[lang]") == []  # all in Arabic
    codes = methodology.select("code")
    assert {c.get_text() for c in codes} == CODES
    assert all(c["dir"] == "ltr" for c in codes)  # isolated, read left to right
    text = methodology.get_text()
    assert "``" not in text and "**" not in text
    assert "الأموال الواردة" in {s.get_text() for s in methodology.select("strong")}


def test_the_french_page(client: TestClient) -> None:
    page = about(client, "fr")
    methodology = page.select_one(".methodology")
    paragraphs_fr = methodology.select("p")
    assert [h.get_text() for h in methodology.select("h3")[5:7]] == [
        "Partenaires de mise en œuvre",
        "Activités parentes et enfants",
    ]
    assert paragraphs_fr[1].get_text().startswith("D'après les éléments budget. ")
    assert "un budget engagé (statut 2) remplace un budget indicatif" in paragraphs_fr[1].get_text()
    assert methodology.select("[lang]") == []


def test_a_language_without_the_translation_shows_english_marked_so(
    monkeypatch: pytest.MonkeyPatch, store: Engine
) -> None:
    """German is no portal language: a portal that offered it before its catalog had the
    methodology would show these paragraphs in English, each marked as English."""
    monkeypatch.setattr(i18n, "LANGUAGES", (*i18n.LANGUAGES, "de"))
    with TestClient(create_app(store)) as client:
        page = about(client, "de")
    assert page.html["lang"] == "de"
    methodology = page.select_one(".methodology")
    marked = methodology.select("h3, p")
    assert len(marked) == 2 * len(paragraphs(money.__doc__))
    assert all(e.get("lang") == "en" and e.get("dir") == "ltr" for e in marked)
    assert methodology.select("h3")[1].get_text() == "Budget"
