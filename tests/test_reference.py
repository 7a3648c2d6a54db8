"""Reference indicators: the real files give the values read by hand from them (Mali), every
sanity rule refuses a failing value, and the country page shows sources, years and notices
(tests/test_reference_checks.py: what is refused and what is only noted)."""

from __future__ import annotations

import csv
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from iatiportal import reference
from iatiportal.cli import main
from iatiportal.demo import demo_files
from iatiportal.store import schema as s
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app


def values(engine: Engine, country: str, indicator: str) -> dict[int | None, object]:
    rv = s.reference_value
    with engine.connect() as conn:
        rows = conn.execute(
            select(rv).where(
                rv.c.country_code == country, rv.c.indicator == indicator,
                rv.c.refused_rule.is_(None),
            )
        ).all()  # fmt: skip
    return {r.year: (r.number if r.number is not None else r.text) for r in rows}


def test_real_files_give_malis_figures(engine: Engine, shared: Path) -> None:
    summary = reference.load(engine, shared / "reference")
    assert len(summary.files) == 6 and summary.values > 20_000
    # Read by hand from the files: CLASS_FY2023/FY2024 lists, OGHIST (FY89-FY23, all "L"),
    # country-codes.csv (LDC "x"), HDR23-24 (gii_2022 0.607, gii_2021 0.61, gdi_2022 0.83),
    # SYB67 (M49 466: 2010 15.95/7.90/8.05, 2022 23.07/11.43/11.64 millions).
    income = values(engine, "ML", "income_group")
    assert income[2024] == "Low income" and income[2023] == "Low income"
    assert income[1989] == "Low income"
    assert values(engine, "ML", "ldc") == {None: Decimal(1)}
    assert values(engine, "SN", "ldc") == {None: Decimal(1)}
    assert values(engine, "GH", "ldc") == {None: Decimal(0)}
    gii = values(engine, "ML", "gii")
    assert (gii[2022], gii[2021]) == (Decimal("0.607"), Decimal("0.61"))
    assert values(engine, "ML", "gdi")[2022] == Decimal("0.83")
    assert values(engine, "ML", "population")[2022] == Decimal("23.07")
    assert values(engine, "ML", "population_female")[2022] == Decimal("11.43")
    assert values(engine, "ML", "population_male")[2010] == Decimal("8.05")
    assert values(engine, "ML", "un_region") == {None: "Africa · Sub-Saharan Africa"}
    # A real outlier is shown (with a note, tests/test_reference_checks.py): Qatar is 28 % female.
    assert values(engine, "QA", "population")[2022] == Decimal("2.89")
    again = reference.load(engine, shared / "reference")  # a reload replaces, not doubles
    assert again.values == summary.values
    assert len(values(engine, "ML", "gii")) == len(gii)


def write_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


@pytest.fixture
def bad_folder(tmp_path: Path, shared: Path) -> Path:
    """Reference files with one failing value per rule (Mali), beside the real country codes."""
    folder = tmp_path / "reference"
    folder.mkdir()
    shutil.copy(shared / "reference/un-m49-ldc/country-codes.csv", folder / "country-codes.csv")
    source = "United Nations Population Division, World Population Prospects 2024"
    series = (
        "Population mid-year estimates (millions)",
        "Population mid-year estimates for males (millions)",
        "Population mid-year estimates for females (millions)",
    )
    population = {
        # 209 M, 90.5 % female: the model's wrong join, a jump against Mali's real 2015 and
        # 2024 (SYB67: 18.59 / 9.39 / 9.21 and 24.48 / 12.35 / 12.13).
        (2022, "466", "Mali"): ("209.00", "19.86", "189.14"),
        (2015, "466", "Mali"): ("18.59", "9.39", "9.21"),
        (2024, "466", "Mali"): ("24.48", "12.35", "12.13"),
        (2022, "686", "Senegal"): ("17.00", "10.20", "10.20"),  # the sexes add up to 20 % more
        (2022, "288", "Ghana"): ("33.48", "16.68", "16.80"),  # right
    }
    write_rows(
        folder / "SYB99_1_Population_Surface_Area_and_Density.csv",
        [
            ["T02", "Population, density and surface area", "", "", "", "", ""],
            ["Region/Country/Area", "", "Year", "Series", "Value", "Footnotes", "Source"],
            *(
                [code, name, str(year), title, value, "", source]
                for (year, code, name), figures in population.items()
                for title, value in zip(series, figures, strict=True)
            ),
        ],
    )
    write_rows(
        folder / "CLASS_FY2024_list_of_economies.csv",
        [
            ["Economy", "Code", "Region", "Income group", "Lending category"],
            ["Mali", "MLI", "East Asia & Pacific", "Low income", "IDA"],  # the wrong region
            ["Ghana", "GHA", "Sub-Saharan Africa", "Lower middle income", "IDA"],
        ],
    )
    write_rows(
        folder / "HDR23-24_Composite_indices_complete_time_series.csv",
        [["iso3", "country", "gii_2022", "gdi_2022"], ["MLI", "Mali", "1.7", "0.83"],
         ["GHA", "Ghana", "0.512", "-0.2"]],
    )  # fmt: skip
    return folder


def test_each_sanity_rule_refuses_its_failing_value(engine: Engine, bad_folder: Path) -> None:
    summary = reference.load(engine, bad_folder)
    assert summary.refused == {
        "population-jump": 3,
        "population-sex-sum": 3,
        "country-region": 1,
        "gii-range": 1,
        "gdi-range": 1,
    }
    assert 2022 not in values(engine, "ML", "population")
    assert 2022 not in values(engine, "ML", "population_female")
    assert values(engine, "ML", "population")[2024] == Decimal("24.48")
    assert 2022 not in values(engine, "SN", "population_female")
    assert values(engine, "GH", "population")[2022] == Decimal("33.48")
    assert 2024 not in values(engine, "ML", "wb_region")
    assert values(engine, "ML", "income_group")[2024] == "Low income"  # the row's other value
    assert 2022 not in values(engine, "ML", "gii")
    assert values(engine, "ML", "gdi")[2022] == Decimal("0.83")
    assert 2022 not in values(engine, "GH", "gdi")


def test_country_header_shows_sources_and_notices(
    sqlite_engine: Engine, bad_folder: Path, shared: Path
) -> None:
    assert not ingest(sqlite_engine, [str(p) for p in demo_files()]).failed
    with TestClient(create_app(sqlite_engine, recheck_data_every=0)) as client:
        empty = BeautifulSoup(client.get("/countries/ML").text, "html.parser")
        assert empty.select_one("p.notice.reference-indicators") is not None  # none loaded
        reference.load(sqlite_engine, shared / "reference")
        page = BeautifulSoup(client.get("/countries/ML?year=2023&a").text, "html.parser")
        shown = {d["data-indicator"]: d for d in page.select("dl > div[data-indicator]")}
        assert shown["income_group"].select_one(".value").get_text() == "Low income"
        assert "FY2023" in shown["income_group"].select_one(".source").get_text()
        assert shown["income_group"].select_one("dt").get_text(" ", strip=True).endswith("2023")
        assert shown["gii"].select_one(".value").get_text() == "0.607"
        assert "2022" in shown["gii"].select_one("dt").get_text()
        assert shown["population"].select_one(".value").get_text() == "23.07 million"
        female = shown["women_and_men"].select_one('[data-sex="female"] .share')
        assert female.get_text() == "49.5\u00a0%"
        assert shown["gii"].select_one("details.definition summary") is not None
        assert shown["un_region"].select_one(".value").get_text() == "Africa · Sub-Saharan Africa"
        assert page.select("p.notice.refused") == []

        reference.load(sqlite_engine, bad_folder)
        bad = BeautifulSoup(client.get("/countries/ML?year=2022&b").text, "html.parser")
        rules = {p["data-rule"] for p in bad.select("p.notice.refused")}
        assert {"population-jump", "gii-range"} <= rules
        shown = {d["data-indicator"]: d for d in bad.select("dl.reference-indicators > div")}
        assert "90.5" not in bad.select_one("dl.reference-indicators").get_text()
        # The refused SYB99 figure is not shown; the real SYB67 one of the same year is.
        population = shown["population"]
        assert population.select_one(".value").get_text() == "23.07 million"
        female = shown["women_and_men"].select_one('[data-sex="female"] .share')
        assert female.get_text() == "49.5\u00a0%"
        assert "SYB67" in population.select_one(".source").get_text()
        health = BeautifulSoup(client.get("/-/data-health?c").text, "html.parser")
        listed = {(tr["data-rule"], tr["data-country"]) for tr in health.select(
            "table.reference-refused tbody tr")}  # fmt: skip
        assert ("population-jump", "ML") in listed
        assert ("country-region", "ML") in listed


def test_reference_load_command(tmp_path: Path, shared: Path) -> None:
    db = tmp_path / "ref.db"
    runner = CliRunner()
    done = runner.invoke(main, ["reference", "load", str(shared / "reference"), "--db", str(db)])
    assert done.exit_code == 0, done.output
    assert "69 shown with a note by population-female-share" in done.output
    assert "refused" not in done.output
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = runner.invoke(main, ["reference", "load", str(empty), "--db", str(db)])
    assert refused.exit_code == 2
    assert "no reference file" in refused.output
