"""The demo's reference extract: cut from the shared files (reproducibly), only the demo's
countries, and shown by the demo's store and country page with no shared folder at all.

Expected values are read from the committed extract files with the csv module here, never
through ``iatiportal.reference``.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from lxml import etree
from sqlalchemy import Engine
from starlette.testclient import TestClient

from iatiportal import reference
from iatiportal.cli import main
from iatiportal.demo import DATA, REFERENCE
from iatiportal.demo.load import load_demo
from iatiportal.profile import bundled, load_portal
from iatiportal.store.db import make_engine
from iatiportal.web.app import create_app
from iatiportal.web.pages import country as country_pages

YEARS = (2022, 2023, 2024)


def _rows(name: str) -> list[dict[str, str]]:
    with (REFERENCE / name).open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _sample_countries() -> set[str]:
    tree = etree.parse(str(DATA / "XM-DAC-41146-sample-activities.xml"))
    return set(tree.xpath("//iati-activity/recipient-country/@code"))


def _mali() -> dict[str, str]:
    (row,) = [r for r in _rows("country-codes.demo.csv") if r["ISO3166-1-Alpha-2"] == "ML"]
    return row


def expected_mali(year: int) -> dict[str, Decimal | str]:
    """Mali's figures for ``year`` as the extract's files state them."""
    iso3, m49 = _mali()["ISO3166-1-Alpha-3"], str(int(_mali()["M49"]))
    (hdr,) = [r for r in _rows("HDR23-24_Composite_indices_complete_time_series.demo.csv")
              if r["iso3"] == iso3]  # fmt: skip
    # GII and GDI run to 2022: later years show the latest.
    hdr_year = min(year, 2022)
    if year in (2023, 2024):
        (wb,) = [
            r for r in _rows(f"CLASS_FY{year}_list_of_economies.demo.csv") if r["Code"] == iso3
        ]
        income = wb["Income group"]
    else:
        (hist,) = [r for r in _rows("OGHIST_FY21_country_analytical_history.demo.csv")
                   if r["iso3"] == iso3]  # fmt: skip
        income = reference.INCOME_GROUPS[hist[f"FY{year % 100:02d}"]]
    with (REFERENCE / "SYB67_1_202411_Population_Surface_Area_and_Density.demo.csv").open(
        encoding="utf-8-sig", newline=""
    ) as f:
        lines = list(csv.reader(f))[2:]
    population = {
        series: Decimal(value)
        for code, _name, y, series, value, *_rest in lines
        if code == m49 and int(y) == year
    }
    return {
        "income_group": income,
        "ldc": Decimal(int(_mali()["Least Developed Countries (LDC)"] == "x")),
        "gii": Decimal(hdr[f"gii_{hdr_year}"]),
        "gdi": Decimal(hdr[f"gdi_{hdr_year}"]),
        "population": population.get("Population mid-year estimates (millions)", Decimal(-1)),
        "population_female": population.get(
            "Population mid-year estimates for females (millions)", Decimal(-1)
        ),
        "population_male": population.get(
            "Population mid-year estimates for males (millions)", Decimal(-1)
        ),
    }


def test_extract_holds_only_the_sample_countries() -> None:
    countries = _sample_countries()
    assert "ML" in countries
    codes = _rows("country-codes.demo.csv")
    assert {r["ISO3166-1-Alpha-2"] for r in codes} == countries
    iso3 = {r["ISO3166-1-Alpha-3"] for r in codes}
    for name, key in (
        ("CLASS_FY2023_list_of_economies.demo.csv", "Code"),
        ("CLASS_FY2024_list_of_economies.demo.csv", "Code"),
        ("OGHIST_FY21_country_analytical_history.demo.csv", "iso3"),
        ("HDR23-24_Composite_indices_complete_time_series.demo.csv", "iso3"),
    ):
        assert {r[key] for r in _rows(name)} == iso3, name
    assert sum(p.stat().st_size for p in REFERENCE.iterdir()) < 100 * 1024
    readme = (REFERENCE / "README.md").read_text(encoding="utf-8")
    for licence in ("ODC-PDDL-1.0", "CC BY 4.0", "UNDP", "UNdata"):
        assert licence in readme


@pytest.mark.slow
def test_extract_is_reproduced_from_the_shared_files(tmp_path: Path, shared: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "iatiportal.demo.extract", "--from", str(shared / "reference"),
         "--out", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    fresh = sorted(p.name for p in tmp_path.iterdir())
    assert fresh == sorted(p.name for p in REFERENCE.glob("*.csv"))
    for name in fresh:
        assert (tmp_path / name).read_bytes() == (REFERENCE / name).read_bytes(), (
            f"{name} drifted: run `python -m iatiportal.demo.extract` and commit the result"
        )


@pytest.fixture
def no_shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    empty = tmp_path / "no-shared-data"
    empty.mkdir()
    monkeypatch.setenv("IATIPORTAL_SHARED_DATA", str(empty))
    return empty


@pytest.mark.usefixtures("no_shared")
def test_demo_store_gives_the_extracts_values(engine: Engine) -> None:
    summary = load_demo(engine)
    assert not summary.ingest.failed
    assert summary.reference.refused == {}
    with engine.connect() as conn:
        for year in YEARS:
            found = reference.for_country(conn, "ML", year)
            assert found.loaded and found.refused == []
            expected = expected_mali(year)
            shown = {
                k: (v.text if v.text is not None else v.number) for k, v in found.shown.items()
            }
            for key, value in expected.items():
                if key.startswith("population") and value == Decimal(-1):
                    continue  # no population row for this year in the Statistical Yearbook
                assert shown[key] == value, (year, key)
            assert found.shown["gii"].year == min(year, 2022)


@pytest.mark.usefixtures("no_shared")
def test_country_header_context_has_female_and_male_counts(engine: Engine) -> None:
    load_demo(engine)
    with engine.connect() as conn:
        panel = country_pages.reference_panel(conn, "ML", 2022)
    (population,) = [i for i in panel["reference"] if i["key"] == "population"]
    expected = expected_mali(2022)
    assert (population["female"], population["male"]) == (
        expected["population_female"],
        expected["population_male"],
    )


@pytest.mark.slow
def test_demo_command_shows_malis_header_without_shared_data(
    tmp_path: Path, no_shared: Path
) -> None:
    db = tmp_path / "demo.db"
    result = CliRunner().invoke(main, ["demo", "--no-serve", "--db", str(db)])
    assert result.exit_code == 0, result.output
    engine = make_engine(f"sqlite:///{db}")
    try:
        with TestClient(create_app(engine, load_portal([bundled("unwomen")]))) as client:
            page = BeautifulSoup(client.get("/countries/ML?year=2022").text, "html.parser")
    finally:
        engine.dispose()
    assert page.select_one("p.notice.reference-indicators") is None
    shown = {d["data-indicator"]: d for d in page.select("dl.reference-indicators > div")}
    expected = expected_mali(2022)
    assert shown["income_group"].select_one(".value").get_text() == expected["income_group"]
    assert shown["gii"].select_one(".value").get_text() == f"{expected['gii']:.3f}"
    assert shown["gdi"].select_one(".value").get_text() == f"{expected['gdi']:.3f}"
    assert shown["gii"].select_one("dt").get_text(" ", strip=True).endswith("2022")
    share = 100 * expected["population_female"] / expected["population"]  # type: ignore[operator]
    assert shown["population"].select_one(".value").get_text() == (
        f"{expected['population']:.2f} million"
    )
    female = shown["women_and_men"].select_one('[data-sex="female"] .share')
    assert female is not None and female.get_text() == f"{share:.1f}\u00a0%"
    assert shown["ldc"].select_one(".value").get_text() == ("yes" if expected["ldc"] else "no")
