"""The one filter type of the read side, and the activities it selects.

Pages, the API, downloads, search and the money module all take a :class:`Filters`; the web
layer parses it once from the query string (``web.params.parse_filters``), and every name
means the same wherever it is used. Search is "these filters AND the full-text match".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Integer, and_, false, func, literal, select, text, union
from sqlalchemy.sql import Select

from iatiportal.store import schema as s

_WORD = re.compile(r"\w+", re.UNICODE)
WORD_SEPARATOR = "\u200b"
"""ZERO WIDTH SPACE: put beside CJK characters in the search text, so each is a word."""
_CJK = (
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK Unified Ideographs (A), Compatibility
    "\U00020000-\U0003134f"  # CJK Unified Ideographs B to G
)
# Between two characters of a word where one of them is CJK.
_CJK_BOUNDARY = re.compile(f"(?<=[{_CJK}])(?=\\w)|(?<=\\w)(?=[{_CJK}])")
_MARKS = (  # Arabic vowel marks (harakat), Quranic annotation marks, and the tatweel
    "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed\u0640"
)
_ARABIC_MARKS = re.compile(f"[{_MARKS}]")
_CHANGED_BY_SEARCHABLE = re.compile(f"[{_CJK}{_MARKS}]")


@dataclass(frozen=True)
class Filters:
    """Which activities, and which of their money, a question is about. Unset fields do not
    filter; set ones must all hold.

    ``country`` is an ISO 3166-1 alpha-2 code; ``region`` a region code (of any vocabulary
    unless ``region_vocabulary`` is given); ``year`` keeps activities with budgets or
    transactions in the year, and of money, that year's. ``partner`` keeps the activities a
    funding partner funds: it is a participating organisation of role 1 (funding) or the
    provider of incoming funds. ``sectors`` are (vocabulary, code) pairs, code None meaning
    any code of the vocabulary (an impact area of a strategic plan is a sector of the plan's
    vocabulary, an SDG a sector of vocabulary 7). ``years`` (first, last) is ``year`` for a
    span of years, both included (a plan period). ``q`` keeps activities whose text holds
    every word. ``activity`` is one IATI identifier, ``activities`` several (a page of a list).

    Of money only: ``provider_org`` keeps the incoming funds that one organisation provided
    (a partner's page); ``currency`` None gives amounts as published, per currency, and a
    target (USD, EUR) every amount converted to it at its value date, those without a rate
    left out (``without_rate``: only those).
    """

    reporting_org: tuple[str, ...] = ()
    country: str | None = None
    region: str | None = None
    region_vocabulary: str | None = None
    year: int | None = None
    years: tuple[int, int] | None = None
    partner: str | None = None
    sectors: tuple[tuple[str, str | None], ...] = ()
    humanitarian: bool | None = None
    q: str | None = None
    activity: str | None = None
    activities: tuple[str, ...] = ()
    provider_org: str | None = None
    currency: str | None = None
    without_rate: bool = False

    @property
    def identifiers(self) -> tuple[str, ...]:
        """``activity`` and ``activities`` together."""
        return ((self.activity,) if self.activity is not None else ()) + self.activities


def spaced(value: str) -> str:
    """``value`` with WORD_SEPARATOR between a CJK character and any letter or digit beside
    it: what the search text holds and what a query's words are matched as."""
    return _CJK_BOUNDARY.sub(WORD_SEPARATOR, value)


def unmarked(value: str) -> str:
    """``value`` without Arabic vowel marks and tatweel (store.search says why)."""
    return _ARABIC_MARKS.sub("", value)


def searchable(value: str) -> str:
    """``value`` as the search text holds it: ``unmarked``, then ``spaced``."""
    if not _CHANGED_BY_SEARCHABLE.search(value):
        return value  # most text: one scan, nothing rewritten
    return spaced(unmarked(value))


def terms(q: str) -> list[str]:
    """The words of a query that search matches (at most 20), ``searchable`` as the search
    text is (store.search says why)."""
    return [spaced(w) for w in _WORD.findall(unmarked(q))[:20]]


def _search_ids(q: str, dialect: str) -> Select[tuple[int]] | None:
    """Ids of activities whose search text holds every word of ``q`` (None: no words)."""
    words = terms(q)
    if not words:
        return None
    if dialect == "sqlite":
        match = " ".join('"' + w.replace('"', "") + '"' for w in words)
        sql = text("SELECT rowid AS id FROM search_fts WHERE search_fts MATCH :match")
    else:
        match = " & ".join(words)
        sql = text(
            "SELECT activity_id AS id FROM search_text t WHERE "
            "t.vector @@ to_tsquery('simple', :match)"
        )
    ids = sql.bindparams(match=match).columns(id=Integer).subquery()
    return select(ids.c.id)


def activity_condition(
    filters: Filters, dialect: str, *, text_match: bool = True
) -> ColumnElement[bool]:
    """Which activity rows (of ``schema.activity``) the filters select, current copies only.
    ``text_match`` False leaves ``q`` to the caller (search ranks its own match, and joins the
    activities to the full-text index: there the current copy is tested as an expression,
    which SQLite's planner does not take for an index to start from; ``IS 1`` made it walk
    every current activity and probe the index for each, 0.8 s instead of 1 ms)."""
    a = s.activity
    current: ColumnElement[bool] = (
        a.c.is_current.is_(True)
        if text_match
        else func.coalesce(a.c.is_current, false()).is_(True)  # an expression: no index
    )
    # The lists of activities the filters name (their ids), and the other conditions.
    lists: list[ColumnElement[bool]] = []
    others: list[ColumnElement[bool]] = []
    if filters.identifiers:
        lists.append(a.c.iati_identifier.in_(filters.identifiers))
    # A funding partner's activities are few: named before the larger lists (a country's, a
    # year's), they are the list SQLite's planner starts from.
    if filters.partner:
        po, t = s.participating_org, s.transaction
        lists.append(
            a.c.id.in_(
                union(
                    select(po.c.activity_id).where(po.c.role == "1", po.c.ref == filters.partner),
                    select(t.c.activity_id).where(
                        t.c.transaction_type == "1", t.c.provider_org_ref == filters.partner
                    ),
                )
            )
        )
    if filters.country:
        rc = s.recipient_country
        lists.append(
            a.c.id.in_(
                select(rc.c.activity_id).where(
                    rc.c.recipient_country_code == filters.country.upper()
                )
            )
        )
    if filters.region:
        rr = s.recipient_region
        region = select(rr.c.activity_id).where(rr.c.recipient_region_code == filters.region)
        if filters.region_vocabulary is not None:
            region = region.where(rr.c.vocabulary == filters.region_vocabulary)
        lists.append(a.c.id.in_(region))
    if filters.year is not None:
        ay = s.activity_year
        lists.append(a.c.id.in_(select(ay.c.activity_id).where(ay.c.year == filters.year)))
    if filters.years is not None:
        ay = s.activity_year
        first, last = filters.years
        spanned = select(ay.c.activity_id).where(ay.c.year.between(first, last))
        lists.append(a.c.id.in_(spanned))
    if filters.reporting_org:
        others.append(a.c.reporting_org_ref.in_(list(filters.reporting_org)))
    for vocabulary, code in filters.sectors:
        se = s.sector
        which = select(se.c.activity_id).where(se.c.vocabulary == vocabulary)
        if code is not None:
            which = which.where(se.c.sector_code == code)
        lists.append(a.c.id.in_(which))
    if filters.humanitarian is not None:
        others.append(func.coalesce(a.c.humanitarian, false()) == literal(filters.humanitarian))
    if text_match and filters.q is not None:
        ids = _search_ids(filters.q, dialect)
        lists.append(a.c.id.in_(ids) if ids is not None else false())
    if lists and text_match:
        # The activities are found from the lists the filters name, not by walking every
        # current one and probing the lists for each (a partner's activities in one year:
        # 7.3 ms against 3.4 on the store of all shared files).
        current = usually_true(current, dialect)
    return and_(current, *lists, *others)


def usually_true(condition: ColumnElement[bool], dialect: str) -> ColumnElement[bool]:
    """``condition`` marked, for SQLite's planner, as true of most rows (``likely``), so that it
    looks for a more selective way in than an index on this condition's columns. SQLite keeps
    no statistics here and otherwise takes any indexed equality for selective. PostgreSQL's
    planner has statistics and needs no mark."""
    return func.likely(condition) if dialect == "sqlite" else condition


def selected_ids(filters: Filters, dialect: str, *, text_match: bool = True) -> Select[tuple[int]]:
    """The ids of the activities the filters select."""
    return select(s.activity.c.id).where(
        activity_condition(filters, dialect, text_match=text_match)
    )
