"""Languages of the portal: gettext catalogs, the current locale, and locale formatting.

Every UI string goes through gettext. Catalogs are the ``locale/<lang>/LC_MESSAGES/messages.po``
files, compiled in memory at start-up (no build step). The language of a page is in its URL,
``?lang=`` (links and forms keep it); a first visit without it follows the browser's
``Accept-Language`` (``negotiate``; web.language redirects to the URL of the language chosen).
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import gettext as gettext_module
import io
import re
from collections.abc import Sequence
from contextvars import ContextVar
from decimal import Decimal
from pathlib import Path

import pycountry
from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import (
    NumberPattern,
    format_currency,
    format_decimal,
    get_currency_symbol,
    parse_pattern,
)
from babel.support import Translations

# The six official languages of the United Nations, in the order the UN lists them (the
# English names' alphabetical order: Arabic, Chinese, English, French, Russian, Spanish).
# "zh" is Chinese in Simplified characters: Babel's "zh" data is zh_Hans, and gettext (the
# country names of pycountry) expands "zh" to zh_CN.
LANGUAGES = ("ar", "zh", "en", "fr", "ru", "es")
DEFAULT_LANGUAGE = "en"
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


MAX_ACCEPT_LANGUAGE = 40
"""Language ranges of an ``Accept-Language`` header read at most (browsers send a few)."""


def _quality(param: str) -> float | None:
    name, _, value = param.strip().partition("=")
    if name.strip().lower() != "q":
        return None
    try:
        q = float(value)
    except ValueError:
        return 0.0  # not a quality value: not a preference
    return q if 0 <= q <= 1 else 0.0


def negotiate(accept_language: str | None) -> str:
    """The portal language an ``Accept-Language`` header prefers (RFC 9110, section 12.5.4):
    the range of highest quality (the first of equal ones) that names one of LANGUAGES, by its
    whole tag or its primary subtag (``fr-CA`` -> fr, ``zh-CN`` and ``zh-Hans`` -> zh); a
    range of quality 0 is refused. None of them, no header or ``*``: DEFAULT_LANGUAGE."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "").split(",")[:MAX_ACCEPT_LANGUAGE]):
        tag, *params = item.split(";")
        tag = tag.strip().lower()
        if not tag:
            continue
        q = 1.0
        for param in params:
            found = _quality(param)
            if found is not None:
                q = found
        if q > 0:
            ranked.append((-q, position, tag))
    for _q, _position, tag in sorted(ranked):
        if tag == "*":
            return DEFAULT_LANGUAGE
        primary = tag.split("-", 1)[0]
        exact = [code for code in LANGUAGES if code.lower() == tag]
        alike = [code for code in LANGUAGES if code.split("-", 1)[0].lower() == primary]
        if exact or alike:
            return (exact or alike)[0]
    return DEFAULT_LANGUAGE


_TAG = re.compile(r"[a-z]{2,8}(-[a-z0-9]{1,8})*", re.IGNORECASE)


def language_tag(code: str | None) -> str | None:
    """``code`` if it is shaped as a language tag (BCP 47: ``ar``, ``zh-Hans``, ``fr-CA``),
    else None (an ``xml:lang`` of a publisher can hold anything)."""
    return code if code and _TAG.fullmatch(code) else None


def same_language(a: str | None, b: str | None) -> bool:
    """Whether two language tags name one language (``fr`` and ``fr-CA`` do)."""
    if not a or not b:
        return False
    return a.split("-", 1)[0].lower() == b.split("-", 1)[0].lower()


def pick_narrative(
    narratives: Sequence[tuple[str | None, str]] | None, language: str
) -> tuple[str | None, str] | None:
    """The narrative in ``language`` if the publisher gave one (its tag exactly, else one of
    the same language: ``zh-CN`` for ``zh``), else the first published (store.activity's
    ``picked_narratives`` picks the same way in SQL)."""
    if not narratives:
        return None
    for pair in narratives:
        if (pair[0] or "").lower() == language.lower():
            return pair
    for pair in narratives:
        if same_language(pair[0], language):
            return pair
    return narratives[0]


@functools.cache
def direction(code: str | None) -> str:
    """``rtl`` or ``ltr``, the direction of a language's script (the page's: ``direction(lang)``);
    ``auto`` where the language is not known (the browser then reads it from the text)."""
    tag = language_tag(code)
    if tag is None:
        return "auto"
    try:
        locale = Locale.parse(tag.replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return "auto"
    return "rtl" if locale.character_order == "right-to-left" else "ltr"


def _isolated(text: str) -> str:
    """``text`` as one left-to-right piece on a right-to-left page, else as it is."""
    return f"{LRI}{text}{PDI}" if direction(current_language.get()) == "rtl" else text


@functools.cache
def _locale(language: str) -> Locale:
    """The parsed Babel locale of a portal language, parsed once: Babel's formatters take a
    Locale as they take its name, but parse a name anew at every call, and a page formats
    hundreds of numbers (issue 14: the pages' CPU time)."""
    return Locale.parse(language)


@functools.cache
def _number_pattern(pattern: str) -> NumberPattern:
    """A number pattern (``#,##0.00``), parsed once (Babel parses a pattern string at every
    call)."""
    return parse_pattern(pattern)


def money(value: Decimal | None, currency: str | None) -> str:
    """A money amount in the page's locale (whole units: the pages show budgets, not cents)."""
    if value is None:
        return "–"
    language = current_language.get()
    if not currency:
        return format_decimal(value, format=_number_pattern("#,##0"), locale=_locale(language))
    shown = format_currency(
        value,
        currency,
        format=_whole_money(language),
        locale=_locale(language),
        currency_digits=False,
    )
    if direction(language) == "rtl":
        # Arabic's pattern puts the sign after the number (a right-to-left mark, then
        # "1,193,000 US$", read from the right), but the bidi algorithm splits "US$": "$"
        # takes the page's direction and shows as "$US 1,193,000". Isolated, the sign stays
        # whole and still comes after the number in reading order: "US$ 1,193,000".
        symbol = get_currency_symbol(currency, locale=_locale(language))
        shown = shown.replace(symbol, _isolated(symbol), 1)
    return shown


@functools.cache
def _whole_money(language: str) -> NumberPattern:
    """The locale's own currency pattern (where the sign goes, its spaces and direction
    marks: "1 252 000 $US" in French, "US$1,252,000" in Chinese) without decimals."""
    pattern: NumberPattern = copy.copy(_locale(language).currency_formats["standard"])
    pattern.frac_prec = (0, 0)
    return pattern


def number(value: int | Decimal | float | None, digits: int | None = None) -> str:
    """A number in the page's locale (``digits``: exactly that many decimals)."""
    if value is None:
        return "–"
    locale = _locale(current_language.get())
    if digits is None:
        return format_decimal(value, locale=locale)
    pattern = _number_pattern("#,##0" + ("." + "0" * digits if digits else ""))
    return format_decimal(value, format=pattern, locale=locale)


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
        value.replace(tzinfo=dt.UTC),
        format="medium",
        tzinfo=dt.UTC,
        locale=_locale(current_language.get()),
    )
    return f"{shown} UTC"


def date(value: dt.date | None) -> str:
    if value is None:
        return "–"
    return babel_format_date(value, format="medium", locale=_locale(current_language.get()))


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
    return _country_name(code, current_language.get())


@functools.lru_cache(maxsize=4096)
def _country_name(code: str, language: str) -> str:
    # Cached: a country page names every country of its selector (issue 14).
    country = pycountry.countries.get(alpha_2=code.upper())
    if country is None:
        return code
    return _country_translation(language).gettext(country.name)


@functools.cache
def language_name(code: str) -> str:
    """The name of a language in its own language (for the language switch; every page
    names the six, hence cached)."""
    return Locale.parse(code).get_display_name(code) or code
