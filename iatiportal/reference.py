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

Every value is stored with its country (ISO alpha-2), year, source, edition and file. At each
load the sanity rules below judge every value of the store (the new files' and those already
held, so a figure is also judged against the years another file gave). They refuse only what
cannot be true; a refused value is stored with the rule and its message and never displayed
(the country page says why, ``/-/data-health`` lists it):

- ``population-share-range``: a count below zero, or females or males more than the total
  (a share outside 0-100 %);
- ``population-sex-sum``: males and females add up to the total within 1 % (or within the
  rounding of figures published in millions to two decimals, for the smallest countries);
- ``population-jump`` (total, females, males) and ``gii-jump``: a figure that belongs to another
  country, seen as a jump against the same country's neighbouring years: its ratio to the
  median of the values of the two years before and the two years after it (any edition, and
  the same year's other editions) is beyond ``JUMP_BOUNDS``, after the rounding of the
  published digits. The most deviant figure of a series is refused first and the series
  judged again without it, so one pasted figure does not make its neighbours look wrong.
  The bounds come from the shared files (``SYB67``, ``HDR23-24``): the largest real ratio is
  1.74 for population (Oman's males in 2010 against 2015 and 2022, the migrant boom) and 2.24
  for GII (Qatar's series breaks from 0.65 to 0.18 in 2017); a country can double in five
  years (Qatar did from 2005 to 2010), so population is refused beyond ×3, which still
  catches three in four of the other countries' figures pasted in. GII is refused beyond ×3
  when it also moves by more than 0.1 (GII moves by hundredths a year; near zero a ratio
  alone means nothing). GDI has no jump rule: its real series jump by ×1.64 (Pakistan in
  1998), wider than the spread between countries, so no bound tells a pasted figure apart;
- ``population-copy``: a country's population of a year equal to another country's of the same
  year: the totals equal and every sex count published by both equal, with a total of at
  least 10 million and one sex count equal too, or a total of at least 100 million alone.
  Smaller figures, published in millions to two decimals, are equal by chance (Algeria and
  Sudan both had 40.02 million in 2015; French Polynesia and New Caledonia 0.28 / 0.14 /
  0.14). Of the equal rows the one that fits its own country's other years best is kept;
  the others are refused (all of them when none fits better);
- ``gii-range``: the Gender Inequality Index lies in [0, 1];
- ``gdi-range``: the Gender Development Index (female over male HDI) lies in (0, 1.5];
- ``country-region``: the World Bank region of a country agrees with the UN M49 region of its
  ISO code (a joined row from another country fails this).

What is unusual but possible is stored and shown with a note (the rule and its message, shown
on the country page's header card and listed apart on ``/-/data-health``):

- ``population-female-share``: females are outside 40-60 % of the population. Qatar, the
  United Arab Emirates, Bahrain, Kuwait, Oman, Saudi Arabia and the Maldives really are
  (Qatar's population is 28 % female in World Population Prospects 2024, from its migrant
  workers): their figures are shown as the source publishes them, with the note.
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
from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update

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


Verdict = tuple[str | None, str | None, str | None, str | None]
"""(refused rule, its message, note rule, its message) of a value."""


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
    note_rule: str | None = None
    note_message: str | None = None
    row_id: int | None = None  # the stored row of a value already held

    def refuse(self, rule: str, message: str) -> None:
        if self.refused_rule is None:
            self.refused_rule, self.refused_message = rule, message

    def note(self, rule: str, message: str) -> None:
        if self.note_rule is None:
            self.note_rule, self.note_message = rule, message

    def verdict(self) -> Verdict:
        return self.refused_rule, self.refused_message, self.note_rule, self.note_message


@dataclass
class LoadSummary:
    files: list[str] = field(default_factory=list)
    values: int = 0
    refused: dict[str, int] = field(default_factory=dict)  # rule -> values refused
    noted: dict[str, int] = field(default_factory=dict)  # rule -> values shown with a note
    rejudged: int = 0  # values already held whose verdict changed
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


def _read(folder: Path) -> tuple[list[Value], list[str], Countries]:
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
    return values, used, countries


def read_folder(folder: Path) -> tuple[list[Value], list[str]]:
    """Every value of every reference file below ``folder`` (country codes first), checked
    among themselves, and the files read, by name (what the store records and the bulk
    snapshot publishes: never the server's path to them)."""
    values, used, countries = _read(folder)
    check(values, countries)
    return values, used


POPULATION = ("population", "population_female", "population_male")
JUMP_BOUNDS: dict[str, tuple[Decimal, Decimal]] = {
    # indicator -> (ratio to the median of the neighbouring years, smallest move): beyond
    # both, a figure is refused (the module docstring says where the bounds come from).
    "population": (Decimal(3), Decimal(0)),
    "population_female": (Decimal(3), Decimal(0)),
    "population_male": (Decimal(3), Decimal(0)),
    "gii": (Decimal(3), Decimal("0.1")),
}
COPY_WITH_SEX = Decimal(10)  # millions: a total this large and a sex count equal
COPY_ALONE = Decimal(100)  # millions: a total this large equal on its own
USUAL_FEMALE_SHARE = (Decimal("0.4"), Decimal("0.6"))


PUBLISHED_UNIT = {
    # The last digit the sources publish: population in millions to two decimals (SYB), GII
    # and GDI to three (HDR writes 0.610 as 0.61). Stored values come back to 1/10,000, so
    # the unit is the indicator's, not the number's.
    "population": Decimal("0.01"),
    "population_female": Decimal("0.01"),
    "population_male": Decimal("0.01"),
    "gii": Decimal("0.001"),
    "gdi": Decimal("0.001"),
}


def _shown(number: Decimal | None) -> str:
    """A figure as the source wrote it (23.07, not the store's 23.0700)."""
    return "–" if number is None else f"{number.normalize():f}"


def _ratio(a: Decimal, b: Decimal, unit: Decimal) -> Decimal | None:
    """How many times the larger of two figures published to ``unit`` is the smaller, at the
    least that their rounding allows (1 where they may be equal); None where it cannot be
    said."""
    half = unit / 2
    high, low = max(a, b), min(a, b)
    if low + half <= 0:
        return None
    return max(Decimal(1), (high - half) / (low + half))


def _median(numbers: list[Decimal]) -> Decimal:
    ordered = sorted(numbers)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _neighbours(value: Value, series: list[Value]) -> list[Decimal]:
    """The figures of the two years before and the two years after ``value`` in its series
    (every edition), and the same year's figures of the other editions."""
    if value.year is None:
        return []
    years = sorted({v.year for v in series if v.year is not None and v.year != value.year})
    wanted = {*[y for y in years if y < value.year][-2:], *[y for y in years if y > value.year][:2]}
    return [
        v.number
        for v in series
        if v is not value
        and v.number is not None
        and (v.year in wanted or (v.year == value.year and v.edition != value.edition))
    ]


def _deviation(value: Value, series: list[Value]) -> tuple[Decimal, Decimal] | None:
    """(ratio, move) of ``value`` against the median of its neighbours; None without any."""
    found = _neighbours(value, series)
    if value.number is None or not found:
        return None
    median = _median(found)
    ratio = _ratio(value.number, median, PUBLISHED_UNIT[value.indicator])
    return None if ratio is None else (ratio, abs(value.number - median))


def _jumps(values: list[Value]) -> None:
    series: dict[tuple[str, str], list[Value]] = defaultdict(list)
    for v in values:
        usable = v.number is not None and v.year is not None and v.refused_rule is None
        if v.indicator in JUMP_BOUNDS and usable:
            series[(v.country, v.indicator)].append(v)
    for (country, indicator), found in series.items():
        bound, move = JUMP_BOUNDS[indicator]
        rule = "population-jump" if indicator in POPULATION else f"{indicator}-jump"
        while True:
            worst: tuple[Decimal, Value, Decimal] | None = None
            for v in found:
                deviation = _deviation(v, found)
                if deviation is None or deviation[0] <= bound or deviation[1] <= move:
                    continue
                if worst is None or deviation[0] > worst[0]:
                    worst = (deviation[0], v, _median(_neighbours(v, found)))
            if worst is None:
                break
            ratio, v, median = worst
            v.refuse(
                rule,
                f"{indicator} of {country} in {v.year}: {_shown(v.number)} is {ratio:.1f} times "
                f"the median {_shown(median)} of its neighbouring years, beyond x{bound}: "
                "a figure of another country?",
            )
            found.remove(v)


def _copies(rows: dict[tuple[str, int | None, str], dict[str, Value]]) -> None:
    """Refuse the rows of a year equal to another country's (module docstring)."""
    by_total: dict[tuple[int | None, Decimal], list[tuple[str, int | None, str]]] = defaultdict(
        list
    )
    for key, found in rows.items():
        total = found.get("population")
        if total is not None and total.number is not None and total.number >= COPY_WITH_SEX:
            by_total[(key[1], total.number)].append(key)
    series: dict[str, list[Value]] = defaultdict(list)
    for (country, _year, _edition), found in rows.items():
        if "population" in found:
            series[country].append(found["population"])

    def same(a: tuple[str, int | None, str], b: tuple[str, int | None, str]) -> bool:
        if a[0] == b[0]:
            return False  # one country's editions agree: that is no copy
        equal = 0
        for sex in ("population_female", "population_male"):
            x, y = rows[a].get(sex), rows[b].get(sex)
            if x is not None and y is not None:
                if x.number != y.number:
                    return False
                equal += 1
        total = rows[a]["population"].number
        return total is not None and (equal > 0 or total >= COPY_ALONE)

    for (year, number), keys in by_total.items():
        for key in keys:
            others = [k for k in keys if same(key, k)]
            if not others:
                continue
            fit = {k: _deviation(rows[k]["population"], series[k[0]]) for k in [key, *others]}
            best = min((d[0] for d in fit.values() if d is not None), default=None)
            kept = [k for k, d in fit.items() if d is not None and d[0] == best]
            if best is not None and len(kept) == 1 and kept[0] == key:
                continue
            names = ", ".join(sorted({k[0] for k in others}))
            why = (
                f"those of {kept[0][0]} fit its other years better"
                if best is not None and len(kept) == 1
                else "neither fits its other years better: neither is shown"
            )
            message = (
                f"population of {key[0]} in {year} ({_shown(number)} million) equals that of "
                f"{names} in the same year ({key[2]}): a figure of another country? {why}"
            )
            for v in rows[key].values():
                v.refuse("population-copy", message)


def check(values: Iterable[Value], countries: Countries) -> None:
    """Apply the sanity rules (module docstring), marking the values that fail (refused) and
    the unusual ones (noted)."""
    values = list(values)
    by_key: dict[tuple[str, int | None, str], dict[str, Value]] = defaultdict(dict)
    for v in values:
        if v.indicator == "gii" and v.number is not None and not 0 <= v.number <= 1:
            v.refuse(
                "gii-range", f"GII {_shown(v.number)} of {v.country} in {v.year} is outside [0, 1]"
            )
        if v.indicator == "gdi" and v.number is not None and not 0 < v.number <= Decimal("1.5"):
            v.refuse(
                "gdi-range",
                f"GDI {_shown(v.number)} of {v.country} in {v.year} is outside (0, 1.5]",
            )
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
        if v.indicator in POPULATION:
            by_key[(v.country, v.year, v.edition)][v.indicator] = v
    for (country, year, _edition), found in by_key.items():
        total, female, male = (found.get(k) for k in POPULATION)
        parts = [p for p in (female, male) if p is not None]
        row = [v for v in (total, *parts) if v is not None]
        for v in row:
            if v.number is not None and v.number < 0:
                message = f"{v.indicator} of {country} in {year} is below zero: {_shown(v.number)}"
                for w in row:
                    w.refuse("population-share-range", message)
        if total is None or total.number is None or not total.number:
            continue
        # Published in millions to 0.01: a sum or share is only wrong beyond that rounding.
        half = Decimal("0.005")
        for part in parts:
            if part.number is not None and part.number - half > total.number + half:
                message = (
                    f"population of {country} in {year}: {part.indicator} "
                    f"{_shown(part.number)} is {part.number / total.number:.1%} of the total "
                    f"{_shown(total.number)}, above 100 %"
                )
                for v in (total, *parts):
                    v.refuse("population-share-range", message)
        if female is not None and male is not None and female.number and male.number:
            gap = abs(female.number + male.number - total.number) / total.number
            slack = 3 * half / total.number
            if gap > max(Decimal("0.01"), slack):
                message = (
                    f"population of {country} in {year}: females {_shown(female.number)} + "
                    f"males {_shown(male.number)} differ from the total {_shown(total.number)} "
                    f"by {gap:.1%}"
                )
                for v in (total, *parts):
                    v.refuse("population-sex-sum", message)
        if female is not None and female.number is not None:
            share = female.number / total.number
            highest = (female.number + half) / max(total.number - half, half)
            lowest = (female.number - half) / (total.number + half)
            low, high = USUAL_FEMALE_SHARE
            if highest < low or lowest > high:
                message = (
                    f"population of {country} in {year}: {share:.1%} female is outside the "
                    "usual 40-60 %; shown as the source publishes it"
                )
                for v in (total, *parts):
                    v.note("population-female-share", message)
    _jumps(values)
    for found in by_key.values():  # a row's counts are one publication: one jump refuses it
        jumped = [v.refused_message for v in found.values() if v.refused_rule == "population-jump"]
        for v in found.values():
            if jumped and jumped[0] is not None:
                v.refuse("population-jump", jumped[0])
    # Rows refused whole by a rule above are no evidence of a copy.
    _copies(
        {
            key: found
            for key, found in by_key.items()
            if all(v.refused_rule is None for v in found.values())
        }
    )


def _held(
    conn: Connection, used: list[str], countries: Countries
) -> tuple[list[Value], dict[int, Verdict]]:
    """The values already stored from other files than ``used``, unjudged (their stored
    verdicts beside, by row), and their M49 regions added to ``countries``."""
    rv = s.reference_value
    held: list[Value] = []
    before: dict[int, Verdict] = {}
    for r in conn.execute(select(rv).where(rv.c.source_file.not_in(used)).order_by(rv.c.id)):
        held.append(
            Value(
                r.country_code,
                r.indicator,
                r.year,
                r.number,
                r.text,
                r.source,
                r.edition,
                r.source_file,
                row_id=r.id,
            )
        )
        before[r.id] = (r.refused_rule, r.refused_message, r.note_rule, r.note_message)
        if r.indicator == "un_region" and r.text and r.country_code not in countries.region:
            countries.region[r.country_code] = r.text.split(" · ")[0]
    return held, before


def load(engine: Engine, folder: Path) -> LoadSummary:
    """Read and store the reference files below ``folder`` (replacing what the same files gave
    before), and judge every value of the store by the sanity rules again, the new files' with
    those already held, in one transaction."""
    values, used, countries = _read(folder)
    summary = LoadSummary(files=used, values=len(values))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rv = s.reference_value
    with writing(engine) as conn:
        held, before = _held(conn, used, countries)
        check([*values, *held], countries)
        for v in values:
            if v.refused_rule:
                summary.refused[v.refused_rule] = summary.refused.get(v.refused_rule, 0) + 1
            elif v.note_rule:
                summary.noted[v.note_rule] = summary.noted.get(v.note_rule, 0) + 1
        changed = [
            {"row": v.row_id, "r": v.refused_rule, "rm": v.refused_message,
             "n": v.note_rule, "nm": v.note_message}
            for v in held
            if v.row_id is not None and before[v.row_id] != v.verdict()
        ]  # fmt: skip
        if changed:
            conn.execute(
                update(rv)
                .where(rv.c.id == bindparam("row"))
                .values(
                    refused_rule=bindparam("r"),
                    refused_message=bindparam("rm"),
                    note_rule=bindparam("n"),
                    note_message=bindparam("nm"),
                ),
                changed,
            )
        summary.rejudged = len(changed)
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
                "note_rule": v.note_rule,
                "note_message": v.note_message,
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
    note_rule: str | None = None  # unusual but possible: shown with this note
    note_message: str | None = None


@dataclass
class CountryContext:
    shown: dict[str, Shown]
    refused: list[dict[str, Any]]
    loaded: bool  # any reference data in the store at all


def for_country(conn: Connection, country: str, year: int | None) -> CountryContext:
    """The values to show for a country in a year: per indicator, the value of that year where
    one exists, else the latest before it, else the latest; never a refused one (a noted one
    is shown, with its note)."""
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
            indicator, chosen.year, chosen.number, chosen.text, chosen.source, chosen.edition,
            chosen.note_rule, chosen.note_message,
        )  # fmt: skip
    return CountryContext(shown, refused, loaded)
