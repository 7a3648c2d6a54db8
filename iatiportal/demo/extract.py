"""Write the demo's reference extract: the rows of the shared reference files (country codes and
LDC flags, World Bank income groups, UNDP GII and GDI, UN population by sex) for the demo's
countries only, in the files' own formats, so that ``iatiportal reference load`` reads them
as it reads the full files (see reference/README.md for sources, editions and licences).

Run ``python -m iatiportal.demo.extract --from DIR [--out DIR]``: DIR is a folder holding the
full reference files (the team keeps them in its shared data, under ``reference``; the portal
itself never reads that folder). Each extract is named after its source with ``.demo`` before
the extension (``country-codes.demo.csv``): a cut of the file, not a copy. The output depends
only on the input files and the demo's countries (``build.OFFICES``), so a test rebuilds it
and fails when the committed copy differs.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from iatiportal.demo import REFERENCE
from iatiportal.demo.build import OFFICES

COUNTRY_CODES = "un-m49-ldc/country-codes.csv"
CLASS_FILES = (
    "worldbank-income/CLASS_FY2023_list_of_economies.csv",
    "worldbank-income/CLASS_FY2024_list_of_economies.csv",
)
OGHIST = "worldbank-income/OGHIST_FY21_country_analytical_history.csv"
HDR = "undp-hdr/HDR23-24_Composite_indices_complete_time_series.csv"
SYB = "un-population/SYB67_1_202411_Population_Surface_Area_and_Density.csv"
SOURCE_FILES = (COUNTRY_CODES, *CLASS_FILES, OGHIST, HDR, SYB)
"""The shared files the extract is cut from (paths below the shared ``reference`` folder)."""

HDR_COLUMNS = re.compile(r"iso3|country|(gii|gdi)_\d{4}")
"""The HDR columns kept: the key, the name, and the GII and GDI series (the other 1,000
columns are indicators the portal does not show)."""
SYB_SERIES = frozenset(
    {
        "Population mid-year estimates (millions)",
        "Population mid-year estimates for males (millions)",
        "Population mid-year estimates for females (millions)",
    }
)


def demo_countries() -> list[str]:
    """ISO 3166-1 alpha-2 codes of the demo's country offices."""
    return sorted({o.country for o in OFFICES if o.country is not None})


def _read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def _csv(rows: Iterable[Sequence[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def _keep(rows: list[list[str]], column: str, wanted: Callable[[str], bool]) -> list[list[str]]:
    """The header and the rows whose ``column`` passes ``wanted``."""
    header, body = rows[0], rows[1:]
    at = header.index(column)
    return [header, *(r for r in body if len(r) > at and wanted(r[at].strip()))]


def extract(source: Path, countries: Sequence[str]) -> dict[str, bytes]:
    """The extract's files by name: every shared reference file cut down to ``countries``."""
    missing = [name for name in SOURCE_FILES if not (source / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{source}: missing {', '.join(missing)}")
    wanted = set(countries)
    codes = _read(source / COUNTRY_CODES)
    header = codes[0]
    iso2, iso3, m49 = (
        header.index("ISO3166-1-Alpha-2"),
        header.index("ISO3166-1-Alpha-3"),
        header.index("M49"),
    )
    rows = [r for r in codes[1:] if r[iso2].strip() in wanted]
    found = {r[iso2].strip() for r in rows}
    if found != wanted:
        raise ValueError(f"not in {COUNTRY_CODES}: {sorted(wanted - found)}")
    alpha3 = {r[iso3].strip() for r in rows}
    numeric = {str(int(r[m49])) for r in rows if r[m49].strip()}

    files = {Path(COUNTRY_CODES).name: _csv([header, *rows])}
    for name in CLASS_FILES:
        files[Path(name).name] = _csv(_keep(_read(source / name), "Code", alpha3.__contains__))
    files[Path(OGHIST).name] = _csv(_keep(_read(source / OGHIST), "iso3", alpha3.__contains__))

    hdr = _keep(_read(source / HDR), "iso3", alpha3.__contains__)
    columns = [i for i, c in enumerate(hdr[0]) if HDR_COLUMNS.fullmatch(c)]
    files[Path(HDR).name] = _csv([[r[i] for i in columns] for r in hdr])

    # The Statistical Yearbook table has a title line above its header; keep both.
    title, syb_header, *body = _read(source / SYB)
    series = syb_header.index("Series")
    kept = [
        r
        for r in body
        if r and r[0].strip().isdigit() and str(int(r[0])) in numeric and r[series] in SYB_SERIES
    ]
    files[Path(SYB).name] = _csv([title, syb_header, *kept])
    return files


def demo_name(name: str) -> str:
    """The extract's file name: its source's, with ``.demo`` before the extension."""
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}.demo{dot}{suffix}"


def write(source: Path, target: Path = REFERENCE) -> list[Path]:
    """Write the extract of ``source`` (the shared reference folder) into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in extract(source, demo_countries()).items():
        path = target / demo_name(name)
        path.write_bytes(content)
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m iatiportal.demo.extract",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        required=True,
        help="the folder of the full reference files",
    )
    parser.add_argument(
        "--out", type=Path, default=REFERENCE, help=f"folder to write into (default: {REFERENCE})"
    )
    args = parser.parse_args(argv)
    for path in write(args.source, args.out):
        print(path)  # noqa: T201 - the command's output is the list of files written
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
