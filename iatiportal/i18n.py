"""Languages of the portal: gettext catalogs, the current locale, and locale formatting.

Every UI string goes through gettext. Catalogs are the ``locale/<lang>/LC_MESSAGES/messages.po``
files, compiled in memory at start-up (no build step). The language of a request comes from
``?lang=`` (default English); links keep it.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import gettext as gettext_module
import io
from contextvars import ContextVar
from decimal import Decimal
from pathlib import Path

import pycountry
from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import NumberPattern, format_currency, format_decimal, get_currency_symbol
from babel.support import Translations

# The six official languages of the United Nations, in the order the UN lists them (the
# English names' alphabetical order: Arabic, Chinese, English, French, Russian, Spanish).
# "zh" is Chinese in Simplified characters: Babel's "zh" data is zh_Hans, and gettext (the
# country names of pycountry) expands "zh" to zh_CN.
LANGUAGES = ("ar", "zh", "en", "fr", "ru", "es")
DEFAULT_LANGUAGE = "en"
RIGHT_TO_LEFT = frozenset({"ar"})
"""The portal's languages written from right to left (pages get ``dir="rtl"``)."""
LRI, PDI = "\u2066", "\u2069"
"""Unicode's left-to-right isolate and its end: what they enclose is laid out on its own, left
to right, and moves as one piece in right-to-left text (UAX #9; markup cannot reach inside a
formatted string)."""
LOCALE_DIR = Path(__file__).resolve().parent / "web" / "locale"

current_language: ContextVar[str] = ContextVar("current_language", default=DEFAULT_LANGUAGE)


@functools.cache
def translations(language: str) -> gettext_module.NullTranslations:
    """The compiled catalog of ``language`` (English is the source language)."""
    po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == DEFAULT_LANGUAGE or not po.is_file():
        return gettext_module.NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def gettext(message: str) -> str:
    return translations(current_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language.get()).ngettext(singular, plural, n)


def choose_language(requested: str | None) -> str:
    return requested if requested in LANGUAGES else DEFAULT_LANGUAGE


def direction(language: str | None = None) -> str:
    """``"rtl"`` or ``"ltr"``: the direction ``language`` (default: the page's) is written in."""
    return "rtl" if (language or current_language.get()) in RIGHT_TO_LEFT else "ltr"


def _isolated(text: str) -> str:
    """``text`` as one left-to-right piece on a right-to-left page, else as it is."""
    return f"{LRI}{text}{PDI}" if direction() == "rtl" else text


def money(value: Decimal | None, currency: str | None) -> str:
    """A money amount in the page's locale (whole units: the pages show budgets, not cents)."""
    if value is None:
        return "–"
    if not currency:
        return format_decimal(value, format="#,##0", locale=current_language.get())
    language = current_language.get()
    shown = format_currency(
        value, currency, format=_whole_money(language), locale=language, currency_digits=False
    )
    if direction(language) == "rtl":
        # Arabic's pattern puts the sign after the number (a right-to-left mark, then
        # "1,193,000 US$", read from the right), but the bidi algorithm splits "US$": "$"
        # takes the page's direction and shows as "$US 1,193,000". Isolated, the sign stays
        # whole and still comes after the number in reading order: "US$ 1,193,000".
        symbol = get_currency_symbol(currency, locale=language)
        shown = shown.replace(symbol, _isolated(symbol), 1)
    return shown


@functools.cache
def _whole_money(language: str) -> NumberPattern:
    """The locale's own currency pattern (where the sign goes, its spaces and direction
    marks: "1 252 000 $US" in French, "US$1,252,000" in Chinese) without decimals."""
    pattern: NumberPattern = copy.copy(Locale.parse(language).currency_formats["standard"])
    pattern.frac_prec = (0, 0)
    return pattern


def number(value: int | Decimal | float | None, digits: int | None = None) -> str:
    """A number in the page's locale (``digits``: exactly that many decimals)."""
    if value is None:
        return "–"
    pattern = None if digits is None else "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=current_language.get())


def percent(value: int | Decimal | float | None, digits: int | None = None) -> str:
    """A percentage (``value`` already times 100) as the pages write it, "85.7 %"; on a
    right-to-left page isolated, or the "%" after the space would move to the number's left."""
    if value is None:
        return "–"
    return _isolated(f"{number(value, digits)}\u00a0%")


def datetime(value: dt.datetime | None) -> str:
    """A date and time (UTC, as stored) in the page's locale."""
    if value is None:
        return "–"
    shown = babel_format_datetime(
        value.replace(tzinfo=dt.UTC), format="medium", tzinfo=dt.UTC, locale=current_language.get()
    )
    return f"{shown} UTC"


def date(value: dt.date | None) -> str:
    if value is None:
        return "–"
    return babel_format_date(value, format="medium", locale=current_language.get())


@functools.cache
def _country_translation(language: str) -> gettext_module.NullTranslations:
    if language == DEFAULT_LANGUAGE:
        return gettext_module.NullTranslations()
    return gettext_module.translation(
        "iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True
    )


def country_name(code: str | None) -> str:
    """The country's name in the page's language, or the code when it is not an ISO country."""
    if not code:
        return "–"
    country = pycountry.countries.get(alpha_2=code.upper())
    if country is None:
        return code
    return _country_translation(current_language.get()).gettext(country.name)


def language_name(code: str) -> str:
    """The name of a language in its own language (for the language switch)."""
    return Locale.parse(code).get_display_name(code) or code
