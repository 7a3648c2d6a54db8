"""Every catalog is complete and current, with its language's plural forms and every
placeholder of its messages; the template of messages is current."""

from __future__ import annotations

import gettext
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from iatiportal import i18n

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "iatiportal" / "web" / "locale"

# The catalogs and their number of plural forms: French's is Babel's (CLDR: one, many for
# exact millions, other); Spanish has gettext's two (n == 1, else); Arabic six (zero, one, two,
# few 3-10, many 11-99, other); Russian three (one, few, many); Chinese one.
NPLURALS = {"fr": 3, "es": 2, "ar": 6, "ru": 3, "zh": 1}
# The form each count takes, written from the CLDR plural rules of each language.
PLURAL_OF = {
    "fr": {0: 0, 1: 0, 2: 2, 5: 2, 1_000_000: 1},
    "es": {0: 1, 1: 0, 2: 1, 21: 1, 1_000_000: 1},
    "ar": {0: 0, 1: 1, 2: 2, 3: 3, 10: 3, 11: 4, 99: 4, 100: 5, 102: 5, 103: 3, 111: 4},
    "ru": {0: 2, 1: 0, 2: 1, 4: 1, 5: 2, 11: 2, 12: 2, 14: 2, 21: 0, 22: 1, 25: 2, 111: 2},
    "zh": {0: 0, 1: 0, 2: 0, 100: 0},
}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdifr]|\{(\w+)\}")


def catalog(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def po(lang: str) -> Catalog:
    return catalog(LOCALE / lang / "LC_MESSAGES" / "messages.po")


def entries(cat: Catalog) -> dict[str, Message]:
    """The messages by msgid (the singular of a plural message)."""
    return {(m.id if isinstance(m.id, str) else m.id[0]): m for m in cat if m.id}


def forms(message: Message) -> list[str]:
    string = message.string
    return list(string) if isinstance(string, (tuple, list)) else [string]


def placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


def test_messages_template_is_current(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "--no-location",
            "--sort-output",
            "--omit-header",
            "-k",
            "_",
            "-k",
            "gettext",
            "-k",
            "ngettext:1,2",
            "-o",
            str(fresh),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with fresh.open("rb") as f:
        extracted = {m.id for m in read_po(f) if m.id}
    with (LOCALE / "messages.pot").open("rb") as f:
        committed = {m.id for m in read_po(f) if m.id}
    assert extracted == committed, "run `make messages` to update the catalogs"


def test_the_portal_offers_every_catalog() -> None:
    assert set(i18n.LANGUAGES) == {"en", *NPLURALS}
    assert sorted(p.parent.parent.name for p in LOCALE.glob("*/LC_MESSAGES/messages.po")) == sorted(
        NPLURALS
    )


@pytest.mark.parametrize("lang", sorted(NPLURALS))
def test_catalog_is_complete_and_current(lang: str) -> None:
    wanted = entries(catalog(LOCALE / "messages.pot"))
    have = entries(po(lang))
    assert sorted(set(have) - set(wanted)) == [], "run `make messages`: messages no longer used"
    missing = sorted(m for m in wanted if m not in have or not all(forms(have[m])))
    assert missing == []
    assert [m for m in have if have[m].fuzzy] == []
    plural = sorted(m for m in wanted if wanted[m].pluralizable)
    assert plural == sorted(m for m in have if have[m].pluralizable)
    assert all(have[m].id == wanted[m].id for m in plural)


@pytest.mark.parametrize("lang", sorted(NPLURALS))
def test_plural_forms(lang: str) -> None:
    cat = po(lang)
    assert cat.num_plurals == NPLURALS[lang]
    choose = gettext.c2py(cat.plural_expr)
    assert {n: choose(n) for n in PLURAL_OF[lang]} == PLURAL_OF[lang]
    plural = [m for m in cat if m.id and m.pluralizable]
    assert plural
    for message in plural:
        assert len(forms(message)) == NPLURALS[lang], message.id
        assert all(form.strip() for form in forms(message)), message.id


def formats(text: str, names: set[str]) -> bool:
    try:
        text % dict.fromkeys(names, "x")
    except (ValueError, TypeError, KeyError):
        return False
    return True


@pytest.mark.parametrize("lang", sorted(NPLURALS))
def test_placeholders_and_markup_are_kept(lang: str) -> None:
    wrong = []
    for message in po(lang):
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        names = set().union(*(placeholders(i) for i in ids))
        for form in forms(message):
            markup = "<" in form and not any("<" in i for i in ids)
            if placeholders(form) != names or markup:
                wrong.append((ids[0], form))
                continue
            # Templates always format (Jinja's newstyle gettext): a stray "%" fails there.
            # A message whose English does not format is not a template's (the paragraphs of
            # the methodology, "100 % (a single ...", are asked for in Python).
            if formats(ids[0], names) and not formats(form, names):
                wrong.append((ids[0], form))
    assert wrong == []


def test_translations_use_the_un_terms() -> None:
    """A few terms as the UN system writes them in each language."""
    terms = {
        "es": {
            "Least developed country": "País menos adelantado",
            "Gender Inequality Index": "Índice de Desigualdad de Género",
            "Core": "Recursos básicos",
        },
        "ar": {"Gender Inequality Index": "دليل الفوارق بين الجنسين", "Baseline": "خط الأساس"},
        "ru": {"Least developed country": "Наименее развитая страна", "Indicator": "Показатель"},
        "zh": {"Funding partners": "供资伙伴", "Gender Development Index": "性别发展指数"},
        "fr": {"Overview": "Vue d'ensemble"},
    }
    for lang, expected in terms.items():
        have = entries(po(lang))
        assert {k: have[k].string for k in expected} == expected, lang
