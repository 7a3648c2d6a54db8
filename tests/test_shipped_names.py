"""The names the package ships for IATI codes (``iatiportal/standard/names/<language>.toml``)
and for UN M49 regions (``iatiportal/m49-names.csv``): each translation covers every code of
its codelist, as installed, and no other; a codelist's own narrative in a language wins over the
shipped name; a region name missing from the table stays in English."""

from __future__ import annotations

import csv
import tomllib
from pathlib import Path

import pytest
from lxml import etree

from iatiportal import reference, standard

NAMES = Path(standard.__file__).resolve().parent / "names"
DEMO_EXTRACT = (
    Path(reference.__file__).resolve().parent / "demo" / "reference" / "country-codes.demo.csv"
)
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# The codelists whose names the pages show (Sector, the DAC purpose codes, on activity pages),
# and IndicatorMeasure and FinanceType of the downloads.
LISTS = {
    "ActivityStatus", "TransactionType", "ResultType", "RelatedActivityType",
    "PolicySignificance", "PolicyMarker", "OrganisationRole", "DescriptionType", "BudgetType",
    "BudgetStatus", "SectorVocabulary", "UNSDG-Goals", "Region", "IndicatorMeasure", "Sector",
    "FinanceType",
}  # fmt: skip


def installed(codelist: str) -> dict[str, set[str]]:
    """Code -> the languages of its name narratives, read from the installed codelist."""
    tree = etree.parse(str(standard.codelist_path(codelist)))
    return {
        (item.findtext("code") or "").strip(): {
            (n.get(XML_LANG) or "en").lower() for n in item.iterfind("name/narrative") if n.text
        }
        for item in tree.iterfind(".//codelist-item")
    }


def shipped(language: str) -> dict[str, dict[str, str]]:
    with (NAMES / f"{language}.toml").open("rb") as f:
        return tomllib.load(f)


@pytest.mark.parametrize("language", ["ar", "es", "ru", "zh"])
def test_each_language_names_every_code_of_its_lists(language: str) -> None:
    names = shipped(language)
    assert set(names) == LISTS
    for codelist, codes in names.items():
        assert set(codes) == set(installed(codelist)), codelist
        assert all(name.strip() for name in codes.values()), codelist


def test_french_names_the_codes_the_iati_lists_name_only_in_english() -> None:
    names = shipped("fr")
    assert set(names) <= LISTS
    for codelist in LISTS:
        codes = installed(codelist)
        without_french = {code for code, langs in codes.items() if "fr" not in langs}
        assert set(names.get(codelist, {})) == without_french, codelist


def test_the_files_are_the_five_languages_other_than_english() -> None:
    assert sorted(p.name for p in NAMES.iterdir()) == [
        "ar.toml", "es.toml", "fr.toml", "ru.toml", "zh.toml",
    ]  # fmt: skip


def test_a_codelists_own_narrative_wins_over_the_shipped_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "codelists").mkdir()
    (tmp_path / "codelists" / "ActivityStatus.xml").write_text(
        """<?xml version="1.0" encoding="UTF-8"?>
<codelist name="ActivityStatus"><codelist-items>
  <codelist-item><code>2</code><name>
    <narrative>Implementation</narrative><narrative xml:lang="es">En curso (IATI)</narrative>
  </name></codelist-item>
  <codelist-item><code>3</code><name><narrative>Finalisation</narrative></name></codelist-item>
  <codelist-item><code>77</code><name><narrative>Not in the shipped file</narrative></name>
  </codelist-item>
</codelist-items></codelist>
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("IATIPORTAL_STANDARD_DIR", str(tmp_path))
    assert standard.code_names("ActivityStatus", "es") == {
        "2": "En curso (IATI)",
        "3": "Finalización",
        "77": "Not in the shipped file",
    }
    assert standard.code_names("ActivityStatus", "en")["3"] == "Finalisation"


def test_the_installed_french_narrative_is_kept() -> None:
    names = standard.code_names("TransactionType", "fr")
    assert (names["1"], names["4"]) == ("Fonds entrants", "Dépenses")
    assert standard.code_names("ActivityStatus", "fr")["3"] == "Finalisation"
    assert standard.code_names("PolicySignificance", "fr")["0"] == "non ciblé"


def m49_used(path: Path) -> set[str]:
    with path.open(encoding="utf-8", newline="") as f:
        return {
            row[column].strip()
            for row in csv.DictReader(f)
            for column in ("Region Name", "Sub-region Name", "Intermediate Region Name")
            if (row.get(column) or "").strip()
        }


def test_m49_table_names_every_region_of_the_demo_extract_in_six_languages() -> None:
    table = reference.m49_names()
    used = m49_used(DEMO_EXTRACT)
    assert used >= {"Africa", "Sub-Saharan Africa", "Western Africa"}
    assert used <= set(table)
    for english, row in table.items():
        assert set(row) == {"en", "ar", "zh", "fr", "ru", "es"}, english
        assert all(row.values()), english


def test_region_name_in_a_language_and_its_english_fallback() -> None:
    assert reference.region_name("Africa · Sub-Saharan Africa", "fr") == (
        "Afrique · Afrique subsaharienne"
    )
    assert reference.region_name("Americas · Latin America and the Caribbean", "es") == (
        "Américas · América Latina y el Caribe"
    )
    assert reference.region_name("Asia · Nowhere Land", "ru") == "Азия · Nowhere Land"
    assert reference.region_name("Europe", "en") == "Europe"


def test_m49_table_names_every_region_of_the_full_extract(shared: Path) -> None:
    extracts = sorted(shared.glob("reference/**/country-codes.csv"))
    assert extracts, "no full reference extract in the shared data"
    for extract in extracts:
        assert m49_used(extract) <= set(reference.m49_names()), extract
