"""Country context that is not IATI: reading the reference files, checking them, storing them.

``iatiportal reference load DIR`` reads, anywhere below DIR, the formats of
``shared/data/reference``:

- ``country-codes.csv`` (UN M49 via datasets/country-codes): ISO codes, the UN region and
  sub-region, and the Least Developed / Land-Locked Developing / Small Island flags;
- World Bank ``CLASS_FY<yyyy>_list_of_economies.csv`` or ``CLASS_FY<yyyy>.xlsx`` (income group
  and region of fiscal year yyyy) and the OGHIST ``..._country_analytical_history.csv`` or its
  workbook (income group by fiscal year since FY89);
- UNDP HDR ``..._Composite_indices_complete_time_series.csv`` (GII and GDI by year);
- UN Statistical Yearbook ``SYB..._Population_Surface_Area_and_Density.csv`` (population, male
  and female, from World Population Prospects, by year).

Every value is stored with its country (ISO alpha-2), year, source, edition and file. Each is
checked by the sanity rules below at load; a value that fails one is stored with the rule and
its message and never displayed (the country page says why):

- ``population-sex-sum``: males and females add up to the total within 1 % (or within the
  rounding of figures published in millions to two decimals, for the smallest countries);
- ``population-female-share``: females are between 40 % and 60 % of the population (this
  refuses real outliers too: Qatar's and the United Arab Emirates' populations are about 30 %
  female; the rule is the product's, and their figures are then not shown);
- ``gii-range``: the Gender Inequality Index lies in [0, 1];
- ``gdi-range``: the Gender Development Index (female over male HDI) lies in (0, 1.5];
- ``country-region``: the World Bank region of a country agrees with the UN M49 region of its
  ISO code (a joined row from another country fails this).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pycountry
from openpyxl import load_workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from sqlalchemy import Connection, Engine, delete, insert, select

from iatiportal.store import schema as s
from iatiportal.store import version
from iatiportal.store.db import writing

INCOME_GROUPS = {
    "L": "Low income",
    "LM": "Lower middle income",
    "UM": "Upper middle income",
    "H": "High income",
}
INDICATORS: dict[str, str] = {
    "un_region": "UN M49 region and sub-region of the country's ISO code.",
    "income_group": "World Bank income classification by GNI per capita (Atlas method) for the "
    "fiscal year; fiscal year FYyyyy runs from July yyyy-1 to June yyyy.",
    "wb_region": "World Bank region.",
    "ldc": "On the UN list of Least Developed Countries.",
    "lldc": "A Land-Locked Developing Country (UN).",
    "sids": "A Small Island Developing State (UN).",
    "gii": "UNDP Gender Inequality Index: inequality between women and men in reproductive "
    "health, empowerment and the labour market; 0 (equal) to 1 (unequal).",
    "gdi": "UNDP Gender Development Index: female HDI over male HDI; 1 is parity.",
    "population": "Population at mid-year, millions (UN World Population Prospects).",
    "population_female": "Female population at mid-year, millions.",
    "population_male": "Male population at mid-year, millions.",
}
# World Bank region -> the UN M49 regions its countries belong to.
WB_REGIONS = {
    "Sub-Saharan Africa": {"Africa"},
    "South Asia": {"Asia"},
    "East Asia & Pacific": {"Asia", "Oceania"},
    "Europe & Central Asia": {"Europe", "Asia"},
    "Latin America & Caribbean": {"Americas"},
    "Middle East & North Africa": {"Asia", "Africa"},
    "Middle East, North Africa, Afghanistan & Pakistan": {"Asia", "Africa"},
    "North America": {"Americas"},
}
# Countries the World Bank places outside the regions of their UN M49 region (known, right).
WB_REGION_EXCEPTIONS = {("GL", "Europe & Central Asia"), ("MT", "Middle East & North Africa")}
SOURCES = {
    "m49": "UN M49 and ISO 3166 (datasets/country-codes)",
    "class": "World Bank country classification (CLASS)",
    "oghist": "World Bank historical income classification (OGHIST)",
    "hdr": "UNDP Human Development Report, composite indices time series",
    "syb": "UN Statistical Yearbook, from World Population Prospects",
}


@dataclass
class Value:
    country: str
    indicator: str
    year: int | None
    number: Decimal | None
    text: str | None
    source: str
    edition: str
    source_file: str
    refused_rule: str | None = None
    refused_message: str | None = None

    def refuse(self, rule: str, message: str) -> None:
        if self.refused_rule is None:
            self.refused_rule, self.refused_message = rule, message


@dataclass
class LoadSummary:
    files: list[str] = field(default_factory=list)
    values: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # rows with no country we know


class ReferenceError(Exception):
    """A reference folder that cannot be read."""


M49_NAMES = Path(__file__).resolve().parent / "m49-names.csv"


@functools.cache
def m49_names() -> dict[str, dict[str, str]]:
    """English name of a UN M49 region, sub-region or intermediate region -> language -> its
    name in that language, as UNSD writes it (``m49-names.csv``, shipped with the package:
    the reference extract has the English names only)."""
    with M49_NAMES.open(encoding="utf-8", newline="") as f:
        return {row["en"]: row for row in csv.DictReader(f)}


def region_name(text: str, language: str) -> str:
    """A stored ``un_region`` ("Africa · Sub-Saharan Africa") in ``language``; a name the
    table lacks stays in English."""
    names = m49_names()
    return " · ".join(names.get(part, {}).get(language) or part for part in text.split(" · "))


class Countries:
    """ISO alpha-3 and M49 numeric codes to alpha-2, and the M49 region of each."""

    def __init__(self) -> None:
        self.iso3: dict[str, str] = {}
        self.m49: dict[str, str] = {}
        self.region: dict[str, str] = {}
        for c in pycountry.countries:
            self.iso3[c.alpha_3] = c.alpha_2
            self.m49[str(int(c.numeric))] = c.alpha_2

    def add(self, iso2: str, iso3: str, m49: str, region: str) -> None:
        self.iso3[iso3] = iso2
        if m49:
            self.m49[str(int(m49))] = iso2
        if region:
            self.region[iso2] = region


def _number(text: str | None) -> Decimal | None:
    cleaned = (text or "").replace(",", "").strip()
    if not cleaned or cleaned in ("..", "-"):
        return None
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        yield from csv.DictReader(f)


def _m49(path: Path, countries: Countries) -> Iterator[Value]:
    source, edition, name = SOURCES["m49"], "country-codes", path.name
    for row in _rows(path):
        iso2 = (row.get("ISO3166-1-Alpha-2") or "").strip()
        if not re.fullmatch(r"[A-Z]{2}", iso2):
            continue
        region = (row.get("Region Name") or "").strip()
        countries.add(iso2, (row.get("ISO3166-1-Alpha-3") or "").strip(),
                      (row.get("M49") or "").strip(), region)  # fmt: skip
        sub = (row.get("Sub-region Name") or "").strip()
        if region:
            text = f"{region} · {sub}" if sub else region
            yield Value(iso2, "un_region", None, None, text, source, edition, name)
        for indicator, column in (
            ("ldc", "Least Developed Countries (LDC)"),
            ("lldc", "Land Locked Developing Countries (LLDC)"),
            ("sids", "Small Island Developing States (SIDS)"),
        ):
            flag = (row.get(column) or "").strip().lower() == "x"
            yield Value(iso2, indicator, None, Decimal(int(flag)), None, source, edition, name)


def _class_rows(path: Path) -> Iterator[dict[str, str]]:
    if path.suffix == ".csv":
        yield from _rows(path)
        return
    book = load_workbook(path, read_only=True, data_only=True)
    sheet = book["List of economies"] if "List of economies" in book.sheetnames else book.active
    if not isinstance(sheet, ReadOnlyWorksheet):
        book.close()
        return
    rows = sheet.iter_rows(values_only=True)
    header = [str(h or "").strip() for h in next(rows)]
    for row in rows:
        yield {h: "" if v is None else str(v) for h, v in zip(header, row, strict=False)}
    book.close()


def _class(path: Path, countries: Countries) -> Iterator[Value]:
    fiscal = re.search(r"FY(\d{4})", path.name)
    if fiscal is None:
        return
    year, edition, name = int(fiscal.group(1)), f"FY{fiscal.group(1)}", path.name
    for row in _class_rows(path):
        iso2 = countries.iso3.get((row.get("Code") or "").strip())
        if iso2 is None:
            continue
        group = (row.get("Income group") or "").strip()
        if group:
            yield Value(iso2, "income_group", year, None, group, SOURCES["class"], edition, name)
        region = (row.get("Region") or "").strip()
        if region:
            yield Value(iso2, "wb_region", year, None, region, SOURCES["class"], edition, name)


def _oghist(path: Path, countries: Countries) -> Iterator[Value]:
    name = path.name
    for row in _rows(path):
        iso2 = countries.iso3.get((row.get("iso3") or "").strip())
        if iso2 is None:
            continue
        for column, code in row.items():
            fiscal = re.fullmatch(r"FY(\d\d)", column or "")
            group = INCOME_GROUPS.get((code or "").strip())
            if fiscal is None or group is None:
                continue
            two = int(fiscal.group(1))
            year = 1900 + two if two >= 50 else 2000 + two
            yield Value(iso2, "income_group", year, None, group, SOURCES["oghist"],
                        "OGHIST", name)  # fmt: skip


def _hdr(path: Path, countries: Countries) -> Iterator[Value]:
    found_edition = re.search(r"HDR(\d\d-\d\d)", path.name)
    edition = f"HDR {found_edition.group(1)}" if found_edition else "HDR"
    name = path.name
    for row in _rows(path):
        iso2 = countries.iso3.get((row.get("iso3") or "").strip())
        if iso2 is None:
            continue
        for column, text in row.items():
            found = re.fullmatch(r"(gii|gdi)_(\d{4})", column or "")
            number = _number(text)
            if found and number is not None:
                yield Value(iso2, found.group(1), int(found.group(2)), number, None,
                            SOURCES["hdr"], edition, name)  # fmt: skip


_SYB_SERIES = {
    "Population mid-year estimates (millions)": "population",
    "Population mid-year estimates for males (millions)": "population_male",
    "Population mid-year estimates for females (millions)": "population_female",
}


def _syb(path: Path, countries: Countries) -> Iterator[Value]:
    found_edition = re.match(r"SYB\d+", path.name)
    edition = found_edition.group(0) if found_edition else "SYB"
    name = path.name
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        next(reader)  # the table's title line
        header = next(reader)
        for row in reader:
            record = dict(zip(["m49", "area", *header[2:]], row, strict=False))
            indicator = _SYB_SERIES.get(record.get("Series", ""))
            iso2 = countries.m49.get(record.get("m49", "").strip())
            number = _number(record.get("Value"))
            if indicator is None or iso2 is None or number is None:
                continue
            yield Value(iso2, indicator, int(record["Year"]), number, None, SOURCES["syb"],
                        edition, name)  # fmt: skip


def _is_country_codes(name: str) -> bool:
    """``country-codes.csv``, or an extract of it (``country-codes.demo.csv``)."""
    return name.startswith("country-codes.") and name.endswith(".csv")


def read_folder(folder: Path) -> tuple[list[Value], list[str]]:
    """Every value of every reference file below ``folder`` (country codes first), and the
    files read, by name (what the store records and the bulk snapshot publishes: never the
    server's path to them)."""
    if not folder.is_dir():
        raise ReferenceError(f"{folder} is not a folder")
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    countries = Countries()
    values: list[Value] = []
    used: list[str] = []
    for path in [p for p in files if _is_country_codes(p.name)]:
        values += _m49(path, countries)
        used.append(path.name)
    class_editions: set[str] = set()
    for path in files:
        lower = path.name.lower()
        reader: Any = None
        if lower.startswith("class_fy") and (lower.endswith(".csv") or lower.endswith(".xlsx")):
            edition = path.name[6:12]
            if edition in class_editions:
                continue  # the workbook and its CSV are one edition
            class_editions.add(edition)
            reader = _class
        elif "country_analytical_history" in lower and lower.endswith(".csv"):
            reader = _oghist
        elif "composite_indices" in lower and lower.endswith(".csv"):
            reader = _hdr
        elif lower.startswith("syb") and "population" in lower and lower.endswith(".csv"):
            reader = _syb
        if reader is not None:
            values += reader(path, countries)
            used.append(path.name)
    if not used:
        raise ReferenceError(f"no reference file of a known format below {folder}")
    check(values, countries)
    return values, used


def check(values: Iterable[Value], countries: Countries) -> None:
    """Apply the sanity rules (module docstring), marking the values that fail."""
    by_key: dict[tuple[str, int | None, str], dict[str, Value]] = defaultdict(dict)
    for v in values:
        if v.indicator == "gii" and v.number is not None and not 0 <= v.number <= 1:
            v.refuse("gii-range", f"GII {v.number} of {v.country} in {v.year} is outside [0, 1]")
        if v.indicator == "gdi" and v.number is not None and not 0 < v.number <= Decimal("1.5"):
            v.refuse("gdi-range", f"GDI {v.number} of {v.country} in {v.year} is outside (0, 1.5]")
        if v.indicator == "wb_region" and v.text:
            un_region = countries.region.get(v.country)
            allowed = WB_REGIONS.get(v.text)
            known = (v.country, v.text) in WB_REGION_EXCEPTIONS
            if un_region and allowed is not None and un_region not in allowed and not known:
                v.refuse(
                    "country-region",
                    f"{v.country} is in the UN region {un_region}, not in the World Bank "
                    f"region {v.text} ({v.edition})",
                )
        if v.indicator.startswith("population"):
            by_key[(v.country, v.year, v.edition)][v.indicator] = v
    for (country, year, _edition), found in by_key.items():
        total, female, male = (
            found.get("population"),
            found.get("population_female"),
            found.get("population_male"),
        )
        if total is None or total.number is None or not total.number:
            continue
        parts = [p for p in (female, male) if p is not None]
        # Published in millions to 0.01: a sum or share is only wrong beyond that rounding.
        half = Decimal("0.005")
        if female is not None and male is not None and female.number and male.number:
            gap = abs(female.number + male.number - total.number) / total.number
            slack = 3 * half / total.number
            if gap > max(Decimal("0.01"), slack):
                message = (
                    f"population of {country} in {year}: females {female.number} + males "
                    f"{male.number} differ from the total {total.number} by {gap:.1%}"
                )
                for v in (total, *parts):
                    v.refuse("population-sex-sum", message)
        if female is not None and female.number is not None:
            share = female.number / total.number
            highest = (female.number + half) / max(total.number - half, half)
            lowest = (female.number - half) / (total.number + half)
            if highest < Decimal("0.4") or lowest > Decimal("0.6"):
                message = (
                    f"population of {country} in {year}: {share:.1%} female is outside 40-60 %"
                )
                for v in (total, *parts):
                    v.refuse("population-female-share", message)


def load(engine: Engine, folder: Path) -> LoadSummary:
    """Read, check and store the reference files below ``folder`` (replacing what the same
    files gave before), in one transaction."""
    values, used = read_folder(folder)
    summary = LoadSummary(files=used, values=len(values))
    for v in values:
        if v.refused_rule:
            summary.refused[v.refused_rule] = summary.refused.get(v.refused_rule, 0) + 1
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rv = s.reference_value
    with writing(engine) as conn:
        conn.execute(delete(rv).where(rv.c.source_file.in_(used)))
        batch = [
            {
                "country_code": v.country,
                "indicator": v.indicator,
                "year": v.year,
                "number": v.number,
                "text": v.text,
                "source": v.source,
                "edition": v.edition,
                "source_file": v.source_file,
                "refused_rule": v.refused_rule,
                "refused_message": v.refused_message,
                "loaded_at": now,
            }
            for v in values
        ]
        for start in range(0, len(batch), 5000):
            conn.execute(insert(rv), batch[start : start + 5000])
        version.bump(conn)
    return summary


@dataclass
class Shown:
    indicator: str
    year: int | None
    number: Decimal | None
    text: str | None
    source: str
    edition: str


@dataclass
class CountryContext:
    shown: dict[str, Shown]
    refused: list[dict[str, Any]]
    loaded: bool  # any reference data in the store at all


def for_country(conn: Connection, country: str, year: int | None) -> CountryContext:
    """The values to show for a country in a year: per indicator, the value of that year where
    one exists, else the latest before it, else the latest; never a refused one."""
    rv = s.reference_value
    rows = conn.execute(
        select(rv).where(rv.c.country_code == country).order_by(rv.c.year, rv.c.id)
    ).all()
    loaded = bool(rows) or conn.execute(select(rv.c.id).limit(1)).first() is not None
    candidates: dict[str, list[Any]] = defaultdict(list)
    refused = []
    for r in rows:
        if r.refused_rule:
            if year is None or r.year in (None, year):
                refused.append(
                    {
                        "indicator": r.indicator,
                        "year": r.year,
                        "rule": r.refused_rule,
                        "message": r.refused_message,
                        "source": r.source,
                    }
                )
            continue
        candidates[r.indicator].append(r)
    shown = {}
    for indicator, found in candidates.items():
        # Prefer the most specific edition per year: CLASS over the OGHIST history.
        dated = [r for r in found if r.year is not None]
        chosen = None
        if year is not None and dated:
            exact = [r for r in dated if r.year == year]
            before = [r for r in dated if r.year < year]
            chosen = (exact or before or [])[-1] if (exact or before) else None
            if exact:
                chosen = sorted(exact, key=lambda r: r.edition == "OGHIST")[0]
        if chosen is None:
            chosen = (dated or found)[-1]
        shown[indicator] = Shown(
            indicator, chosen.year, chosen.number, chosen.text, chosen.source, chosen.edition
        )
    return CountryContext(shown, refused, loaded)
