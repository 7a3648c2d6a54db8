"""Sector names on the activity page in the page's language: SDG goals from their IATI codelist,
the profile's impact areas (vocabulary 99 of UN Women's plan) from the profile, and a name that
only exists in English marked as English.

Before, a sector of vocabulary 7 (SDG goal) showed "(none published)" and an impact area the
publisher's English narrative on an Arabic page. Expected strings are written here by hand."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient
from stores import demo_client

from iatiportal.web.pages import activity

ACTIVITY = "/activities/XM-DAC-41146-BGD_D_2.1"

# language: (impact area D2, SDG goal 5)
EXPECTED = {
    "ar": ("التمكين الاقتصادي", "الهدف 5. المساواة بين الجنسين"),
    "en": (
        "Economic empowerment",
        "Goal 5. Achieve gender equality and empower all women and girls",
    ),
    "fr": (
        "Autonomisation économique",
        "Objectif 5. Parvenir à l’égalité des sexes et autonomiser toutes les femmes et les filles",
    ),
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with demo_client(tmp_path_factory.mktemp("sector-names")) as test_client:
        yield test_client


def _sector_names(client: TestClient, lang: str) -> dict[str, tuple[str | None, str]]:
    response = client.get(ACTIVITY, params={"lang": lang})
    assert response.status_code == 200
    rows = BeautifulSoup(response.text, "html.parser").select("table.sectors tbody tr")
    found = {}
    for row in rows:
        cells = row.find_all("td")
        name = cells[2]
        marked = name.find(attrs={"lang": True})
        found[cells[1].get_text(strip=True)] = (
            marked["lang"] if marked is not None else None,
            name.get_text(" ", strip=True),
        )
    return found


@pytest.mark.parametrize("lang", sorted(EXPECTED))
def test_impact_areas_and_goals_are_named_in_the_pages_language(
    client: TestClient, lang: str
) -> None:
    names = _sector_names(client, lang)
    area, goal = EXPECTED[lang]
    assert names["D2"] == (None, area)  # in the page's language: no lang of its own
    assert names["5"] == (None, goal)


def test_a_name_that_only_exists_in_english_is_marked_english() -> None:
    # SectorCategory (vocabulary 2) has English and French names in IATI, none in Arabic.
    assert activity._coded_sector_name("ar", "2", "151", None) == (
        "en",
        "Government & Civil Society-general",
    )
    assert activity._coded_sector_name("fr", "2", "151", None) == (
        "fr",
        "Gouvernement & Société Civile-général",
    )
    assert (
        activity._coded_sector_name("ar", "98", "151", None) is None
    )  # a vocabulary without a list
