"""The query string, read once for pages and API: whole numbers, filters, currency, paging.

Whole numbers (issue 10).

``int()`` takes more than a URL should give it: other scripts' digits (``int("٣") == 3``,
and ``"²".isdigit()`` is true although ``int("²")`` fails), signs, spaces, underscores, and
numbers beyond what a database integer holds (``page=2**64`` overflowed SQLite and PostgreSQL
``bigint``). Here a number is ASCII digits only, read within bounds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from iatiportal import i18n
from iatiportal.profile import Portal
from iatiportal.store.filters import Filters
from iatiportal.web.guard import TEXT_PATTERN

T = TypeVar("T")

MAX_PAGE = 1_000_000
"""The last page number a list is asked for (pages show their last page beyond it, the API
answers 400)."""


def whole_number(value: str | None, low: int, high: int, *, clamp: bool = False) -> int | None:
    """``value`` as a number from ``low`` to ``high``, else None: when it is missing, is not
    ASCII digits only, or (unless ``clamp``, which gives the nearer bound) lies out of bounds."""
    if not value or not (value.isascii() and value.isdigit()):
        return None
    digits = value.lstrip("0") or "0"
    # A number longer than the bound is beyond it: never convert thousands of digits.
    number = high + 1 if len(digits) > len(str(high)) else int(digits)
    if low <= number <= high:
        return number
    return min(max(number, low), high) if clamp else None


# -- the query parameters of pages and API ----------------------------------------------------

YEARS = (1900, 2100)
"""The years a ``year`` parameter may name."""
CURRENCIES = ("USD", "EUR")
"""The currencies sums can be converted to (where rates are loaded)."""
MAX_PER_PAGE = 1000
"""The most items an API page gives."""
DEFAULT_PER_PAGE = 100


@dataclass(frozen=True)
class Parameter:
    """One query parameter: its name, what it means, and its JSON Schema (for OpenAPI)."""

    name: str
    description: str
    schema: dict[str, Any]


def _text() -> dict[str, Any]:
    return {"type": "string", "pattern": TEXT_PATTERN}


FLAGS = {"true": True, "1": True, "false": False, "0": False}

FILTERS = (
    Parameter(
        "country",
        "Recipient country, ISO 3166-1 alpha-2.",
        {"type": "string", "pattern": "^[A-Za-z]{2}$"},
    ),
    Parameter("region", "Recipient region code (any vocabulary).", _text()),
    Parameter(
        "year",
        "Activities with budgets or transactions in the year; of money, transactions and "
        "budgets, those of the year.",
        {"type": "integer", "minimum": YEARS[0], "maximum": YEARS[1]},
    ),
    Parameter("reporting_org", "Reporting organisation identifier(s), comma-separated.", _text()),
    Parameter(
        "partner",
        "Funding partner: activities where it is a participating-org of role 1 (funding) or "
        "the provider of incoming funds.",
        _text(),
    ),
    Parameter("sector", "Sector code (of sector_vocabulary, default 1 OECD DAC 5-digit).", _text()),
    Parameter(
        "sector_vocabulary",
        "Sector vocabulary of `sector` (alone: activities with any sector of it).",
        _text(),
    ),
    Parameter(
        "impact_area", "Impact area of the home publisher's strategic plan (e.g. D1).", _text()
    ),
    Parameter(
        "sdg",
        "Sustainable Development Goal (sector vocabulary 7).",
        {"type": "integer", "minimum": 1, "maximum": 17},
    ),
    Parameter(
        "humanitarian",
        "Humanitarian flag.",
        {"type": "string", "enum": list(FLAGS)},
    ),
    Parameter("q", "Full-text query: every word must match.", _text()),
    Parameter(
        "activity",
        "One activity (its IATI identifier): its transactions, budgets or results, e.g. every "
        "transaction of an activity as `format=csv`.",
        _text(),
    ),
)
"""Every filter, each with one meaning wherever it is used (store.filters.Filters)."""

CURRENCY = Parameter(
    "currency",
    "Sums in USD or EUR, every amount converted at its value date (the default where rates "
    "are loaded is USD), or as published, per currency; transactions and budgets: also give "
    "each value converted, with the rate, its date and source.",
    {"type": "string", "enum": [*CURRENCIES, "published"]},
)


def language_parameter() -> Parameter:
    """``lang``: the language of the names and labels of an answer (read when asked: the
    portal's languages are those of i18n.LANGUAGES)."""
    return Parameter(
        "lang",
        "Language of the names of codes (the `<field>_name` columns) and of labels: "
        + ", ".join(i18n.LANGUAGES)
        + "; default en. Keys, codes and values never change with it.",
        {"type": "string", "enum": list(i18n.LANGUAGES), "default": i18n.DEFAULT_LANGUAGE},
    )


def wanted_language(params: Mapping[str, str]) -> str:
    """``lang`` as asked; ParameterError for a language the portal does not have."""
    value = params.get("lang")
    if value is None or value in i18n.LANGUAGES:
        return i18n.choose_language(value)
    languages = ", ".join(i18n.LANGUAGES)
    raise ParameterError("lang", f"lang must be one of {languages}, not {value!r}")


PAGING = (
    Parameter(
        "page",
        "Page number, from 1.",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
    ),
    Parameter(
        "per_page",
        f"Items per page, at most {MAX_PER_PAGE}.",
        {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE},
    ),
)


class ParameterError(ValueError):
    """A query parameter that is not valid: the API answers 400, pages say it and ignore it."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def number(params: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    """A whole number parameter: None when absent, ParameterError when not one."""
    value = params.get(name)
    if value is None or value == "":
        return None
    found = whole_number(value, low, high)
    if found is None:
        raise ParameterError(
            name, f"{name} must be a whole number from {low} to {high}, not {value!r}"
        )
    return found


@dataclass(frozen=True)
class Parsed:
    """The filters of a query string, and what was wrong in it (those values are ignored)."""

    filters: Filters
    errors: tuple[ParameterError, ...] = ()

    def strict(self) -> Filters:
        """The filters, or the first error raised (the API's 400)."""
        if self.errors:
            raise self.errors[0]
        return self.filters


def parse_filters(params: Mapping[str, str], portal: Portal) -> Parsed:
    """The one reading of FILTERS from a query string (pages, API, search, downloads)."""
    errors: list[ParameterError] = []

    def checked(read: Callable[[], T]) -> T | None:
        try:
            return read()
        except ParameterError as error:
            errors.append(error)
            return None

    def country() -> str | None:
        value = params.get("country") or None
        if value is not None and not re.fullmatch(r"[A-Za-z]{2}", value):
            raise ParameterError(
                "country", f"country must be an ISO 3166-1 alpha-2 code, not {value!r}"
            )
        return value.upper() if value else None

    def impact_area() -> tuple[str, str] | None:
        value = params.get("impact_area")
        if not value:
            return None
        plan = portal.home.strategic_plan
        area = plan.impact_area(value) if plan is not None else None
        if plan is None or area is None or not plan.sector_vocabulary:
            raise ParameterError(
                "impact_area", f"impact_area {value!r} is not in the strategic plan"
            )
        return plan.sector_vocabulary, area.code

    def humanitarian() -> bool | None:
        value = params.get("humanitarian")
        if value in (None, ""):
            return None
        if value not in FLAGS:
            raise ParameterError(
                "humanitarian", f"humanitarian must be true or false, not {value!r}"
            )
        return FLAGS[value]

    sectors: list[tuple[str, str | None]] = []
    if params.get("sector") or params.get("sector_vocabulary"):
        sectors.append((params.get("sector_vocabulary") or "1", params.get("sector") or None))
    area = checked(impact_area)
    if area is not None:
        sectors.append(area)
    sdg = checked(lambda: number(params, "sdg", 1, 17))
    if sdg is not None:
        sectors.append(("7", str(sdg)))
    orgs = tuple(o.strip() for o in (params.get("reporting_org") or "").split(",") if o.strip())
    filters = Filters(
        country=checked(country),
        region=params.get("region") or None,
        year=checked(lambda: number(params, "year", *YEARS)),
        reporting_org=orgs,
        partner=params.get("partner") or None,
        sectors=tuple(sectors),
        humanitarian=checked(humanitarian),
        q=(params.get("q") or "").strip() or None,
        activity=params.get("activity") or None,
    )
    return Parsed(filters, tuple(errors))


def wanted_currency(params: Mapping[str, str]) -> str | None:
    """``currency`` as asked: USD, EUR, "published", or None (not asked); ParameterError for
    anything else."""
    value = params.get("currency") or None
    if value is None:
        return None
    if value.upper() in CURRENCIES:
        return value.upper()
    if value.lower() == "published":
        return "published"
    raise ParameterError("currency", f"currency must be USD, EUR or published, not {value!r}")


def chosen_currency(wanted: str | None, rates_loaded: bool) -> str | None:
    """The currency of sums: the one asked for where rates are loaded, by default USD there;
    without rates (or "published"), None: amounts as published, per currency."""
    if not rates_loaded or wanted == "published":
        return None
    return wanted or "USD"


def paging(params: Mapping[str, str]) -> tuple[int, int]:
    """An API list's (page, per_page); ParameterError when out of bounds."""
    page = number(params, "page", 1, MAX_PAGE) or 1
    per_page = number(params, "per_page", 1, MAX_PER_PAGE) or DEFAULT_PER_PAGE
    return page, per_page
