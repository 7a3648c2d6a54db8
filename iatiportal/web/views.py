"""Page functions: each builds one Page (HTML context and data tables) from store queries."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection

from iatiportal import standard
from iatiportal.exports import snapshot
from iatiportal.profile import Portal
from iatiportal.store import money, queries
from iatiportal.store import search as store_search
from iatiportal.web.i18n import country_name, current_language
from iatiportal.web.i18n import gettext as _
from iatiportal.web.params import MAX_PAGE, whole_number
from iatiportal.web.render import Column, DataTable, Page

Narratives = list[tuple[str | None, str]]
PER_PAGE_CHOICES = (5, 10)
T = TypeVar("T")


def pick(narratives: Narratives | None) -> tuple[str | None, str] | None:
    """The narrative in the page's language if published in it, else the first published."""
    if not narratives:
        return None
    language = current_language.get()
    for lang, text in narratives:
        if lang == language:
            return lang, text
    return narratives[0]


def label(codelist: str, code: str | None) -> str:
    """A code's name in the page's language (the code itself when the codelist lacks it)."""
    if code is None:
        return "–"
    return standard.code_names(codelist, current_language.get()).get(code, code)


@dataclass
class Pager:
    """One page of a list: "Showing 6 – 10 of 11" and the page links."""

    page: int
    per_page: int
    total: int

    def fit(self, total: int) -> Pager:
        """Set the total and keep the page within it."""
        self.total = total
        self.page = min(self.page, self.pages)
        return self

    def fetch(self, rows: Callable[[int, int], tuple[int, T]]) -> T:
        """The rows of this page from ``rows(offset, limit)``, which also gives the total; a
        page past the end shows the last page."""
        total, found = rows(self.offset, self.per_page)
        self.total = total
        if self.page > self.pages:
            self.page = self.pages
            _total, found = rows(self.offset, self.per_page)
        return found

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def first(self) -> int:
        return min(self.offset + 1, self.total)

    @property
    def last(self) -> int:
        return min(self.offset + self.per_page, self.total)


WHOLE_LISTS: ContextVar[bool] = ContextVar("whole_lists", default=False)
"""Set while rendering a page as data (.json, .csv, .xlsx): lists hold every row, not a page."""


CURRENCIES = ("USD", "EUR")


def chosen_currency(params: Any, rates_loaded: bool) -> str | None:
    """``?currency=USD|EUR|published``; by default USD where rates are loaded, else the
    amounts as published (per currency)."""
    wanted = (params.get("currency") or "").upper()
    if wanted in CURRENCIES and rates_loaded:
        return wanted
    if wanted == "PUBLISHED" or not rates_loaded:
        return None
    return "USD"


def requested_page(params: Any) -> Pager:
    """The page the query string asks for (total not yet known); every row for data."""
    if WHOLE_LISTS.get():
        return Pager(1, 10**9, 0)
    per_page = whole_number(params.get("per_page"), 1, max(PER_PAGE_CHOICES))
    if per_page not in PER_PAGE_CHOICES:
        per_page = 10
    # Beyond MAX_PAGE is past the end of any list: the page functions then show the last page.
    page = whole_number(params.get("page"), 1, MAX_PAGE, clamp=True) or 1
    return Pager(page, per_page, 0)


def activities(conn: Connection, params: Any) -> Page:
    country = params.get("country") or None
    page = requested_page(params)
    rows = page.fetch(
        lambda offset, limit: queries.activity_page(
            conn, country=country, offset=offset, limit=limit
        )
    )
    items = [
        {
            "iati_identifier": r["iati_identifier"],
            "title": pick(r["titles"]),
            "reporting_org_ref": r["reporting_org_ref"],
            "activity_status": r["activity_status"],
            "activity_status_name": label("ActivityStatus", r["activity_status"]),
            "start": r["start_actual"] or r["start_planned"],
            "end": r["end_actual"] or r["end_planned"],
        }
        for r in rows
    ]
    table_rows = [{**i, "title": i["title"][1] if i["title"] else None} for i in items]
    return Page(
        "activities.html",
        _("Activities"),
        {"items": items, "pager": page, "country": country},
        [
            DataTable(
                "activities",
                [
                    Column("iati_identifier", "iati_identifier"),
                    Column("title", "title"),
                    Column("reporting_org_ref", "reporting_org_ref"),
                    Column("activity_status", "activity_status"),
                    Column("activity_status_name", "activity_status_name"),
                    Column("start", "start"),
                    Column("end", "end"),
                ],
                table_rows,
            )
        ],
    )


def data_health(conn: Connection, params: Any) -> Page:
    health = queries.data_health(conn)
    return Page(
        "data_health.html",
        _("Data health"),
        health,
        [
            DataTable(
                "files",
                [
                    Column("path", "path"),
                    Column("status", "status"),
                    Column("kind", "kind"),
                    Column("iati_version", "iati_version"),
                    Column("activity_count", "activity_count"),
                    Column("ingested_at", "ingested_at"),
                    Column("error_rule", "error_rule"),
                ],
                health["files"],
            ),
            DataTable(
                "rules",
                [
                    Column("rule", "rule"),
                    Column("severity", "severity"),
                    Column("problems", "problems"),
                ],
                health["rules"],
            ),
            DataTable(
                "reference_refused",
                [
                    Column("rule", "rule"),
                    Column("country_code", "country_code"),
                    Column("indicator", "indicator"),
                    Column("year", "year"),
                    Column("message", "message"),
                ],
                health["reference_refused"],
            ),
        ],
    )


def about(conn: Connection, params: Any) -> Page:
    """The methodology of every figure: the text of the money module (in English)."""
    paragraphs: list[dict[str, Any]] = []
    for block in (money.__doc__ or "").split("\n\n")[1:]:
        text = " ".join(block.split())
        heading, _sep, rest = text.partition(".** ")
        if text.startswith("**") and rest:
            heading, text = heading.removeprefix("**"), rest
        else:
            heading, text = "", text.replace("**", "")
        if text:
            # ``literal`` spans (element names, codes) are shown as code.
            spans = text.split("``")
            parts = [{"code": i % 2 == 1, "text": span} for i, span in enumerate(spans) if span]
            paragraphs.append({"heading": heading or None, "text": "".join(spans), "parts": parts})
    return Page("about.html", _("About and methodology"), {"methodology": paragraphs})


def _year_param(params: Any) -> int | None:
    """``year`` as a number; anything else filters nothing (the facet shows what exists)."""
    return whole_number((params.get("year") or "").strip(), 1000, 9999)


def search(conn: Connection, params: Any, portal: Portal) -> Page:
    """Full-text search with facets; every filter is a query parameter (shareable URLs)."""
    q = (params.get("q") or "").strip()
    plan = portal.home.strategic_plan
    humanitarian = params.get("humanitarian")
    filters = store_search.SearchFilters(
        country=params.get("country") or None,
        region=params.get("region") or None,
        year=_year_param(params),
        humanitarian={"1": True, "0": False}.get(humanitarian or ""),
        partner=params.get("partner") or None,
        reporting_org=portal.home_org_refs,
    )
    vocabularies = [("sdg", "7")]
    if plan is not None and plan.sector_vocabulary:
        vocabularies.insert(0, ("impact_area", plan.sector_vocabulary))
    for name, vocabulary in vocabularies:
        if params.get(name):
            filters = dataclasses.replace(
                filters, sector_vocabulary=vocabulary, sector=params.get(name)
            )

    def matches(offset: int, limit: int) -> tuple[int, store_search.Results]:
        found = store_search.search(
            conn, q, filters, offset=offset, limit=limit, facet_vocabularies=vocabularies
        )
        return found.total, found

    page = requested_page(params)
    found = page.fetch(matches)
    labels = {
        "country": _("Country"),
        "region": _("Region"),
        "year": _("Year"),
        "impact_area": _("Impact area"),
        "sdg": _("Sustainable Development Goal"),
        "partner": _("Funding partner"),
        "humanitarian": _("Humanitarian"),
    }
    facets = []
    for name, values in found.facets.items():
        shown = []
        for value, n in values[:12]:
            if name == "country":
                label_text = country_name(value)
            elif name == "humanitarian":
                label_text = _("yes") if value == "1" else _("no")
            elif name == "impact_area" and plan is not None:
                area = plan.impact_area(value)
                label_text = area.name.get(current_language.get()) if area else value
            elif name == "sdg":
                label_text = label("UNSDG-Goals", value)
            else:
                label_text = value
            shown.append(
                {
                    "value": value,
                    "label": label_text,
                    "count": n,
                    "selected": params.get(name) == value,
                }
            )
        facets.append({"name": name, "label": labels.get(name, name), "values": shown})
    hits = [vars(h) for h in found.hits]
    return Page(
        "search.html",
        _("Search") + (f": {q}" if q else ""),
        {"q": q, "hits": hits, "pager": page, "facets": facets},
        [
            DataTable(
                "results",
                [
                    Column("iati_identifier", "iati_identifier"),
                    Column("title", "title"),
                    Column("rank", "rank"),
                ],
                [
                    {
                        **h,
                        "title": h["title"]
                        .replace(store_search.MARK_START, "")
                        .replace(store_search.MARK_END, ""),
                    }
                    for h in hits
                ],
            )
        ],
    )


def download(conn: Connection, manifest: snapshot.Manifest | None) -> Page:
    """The bulk snapshot: its files, when they were built, and whether the data changed since."""
    current = manifest is not None and manifest.data_version == snapshot.version_key(conn)
    files = [
        {
            "name": f.name,
            "bytes": f.bytes,
            "sha256": f.sha256,
            "kind": _("SQLite database, gzip-compressed")
            if f.name == snapshot.SQLITE_NAME
            else _("CSV files and a data dictionary, zipped"),
        }
        for f in (manifest.files if manifest else [])
    ]
    return Page(
        "download.html",
        _("Download everything"),
        {
            "files": files,
            "built_at": manifest.built_at if manifest else None,
            "current": current,
            "rows": manifest.rows if manifest else {},
        },
        [
            DataTable(
                "files",
                [Column("name", "name"), Column("bytes", "bytes"), Column("sha256", "sha256")],
                files,
            )
        ],
    )
