"""Page functions: each builds one Page (HTML context and data tables) from store queries."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection

from iatiportal import rates, snapshot, standard
from iatiportal.profile import Portal
from iatiportal.store import money, queries
from iatiportal.store import search as store_search
from iatiportal.web import charts
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


def activity(conn: Connection, identifier: str) -> Page | None:
    act = queries.current_activity(conn, identifier)
    if act is None:
        return None
    narr = act["narratives"]

    def owned(element: str, owner: int | None) -> tuple[str | None, str] | None:
        return pick(narr.get((element, owner)))

    results: list[dict[str, Any]] = []
    indicator_rows: list[dict[str, Any]] = []
    for r in queries.results_for(conn, [act["id"]]).get(act["id"], []):
        indicators = []
        for i in r["indicators"]:
            item = {
                **i,
                "title": pick(i["title"]),
                "baselines": [{**b, "comment": pick(b["comment"])} for b in i["baselines"]],
                "periods": [
                    {
                        **p,
                        "targets": [{**t, "comment": pick(t["comment"])} for t in p["targets"]],
                        "actuals": [{**a, "comment": pick(a["comment"])} for a in p["actuals"]],
                    }
                    for p in i["periods"]
                ],
            }
            indicators.append(item)
            indicator_rows.extend(
                {
                    "result_id": i["result_id"],
                    "indicator": item["title"][1] if item["title"] else None,
                    "period_start": p["period_start"],
                    "period_end": p["period_end"],
                    "target": "; ".join(t["value"] or "" for t in p["targets"]),
                    "actual": "; ".join(a["value"] or "" for a in p["actuals"]),
                }
                for p in item["periods"]
            )
        results.append(
            {
                **r,
                "type_name": label("ResultType", r["result_type"]),
                "title": pick(r["title"]),
                "description": pick(r["description"]),
                "indicators": indicators,
            }
        )
    budgets = [
        {
            **b,
            "budget_type_name": label("BudgetType", b["budget_type"]),
            "budget_status_name": label("BudgetStatus", b["budget_status"]),
            "currency": b["currency"] or act["default_currency"],
        }
        for b in act["budgets"]
    ]
    transactions = [
        {
            **t,
            "transaction_type_name": label("TransactionType", t["transaction_type"]),
            "currency": t["currency"] or act["default_currency"],
            "provider_org_name": (owned("transaction/provider-org", t["id"]) or (None, None))[1],
            "receiver_org_name": (owned("transaction/receiver-org", t["id"]) or (None, None))[1],
            "description": owned("transaction/description", t["id"]),
        }
        for t in act["transactions"]
    ]
    target = money.PAGE_CURRENCY.get()
    if target is not None:
        # Each amount in the page's currency, with the rate, its date and source (rates.py).
        converter = rates.Converter(conn, target)
        for t in transactions:
            t["converted"] = converter(
                t["value"], t["currency"], t["value_date"] or t["transaction_date"]
            )
    title = pick(narr.get(("title", None)))
    context = {
        "act": act,
        "source_file": act.get("source_path"),
        "target_currency": target,
        "title": title,
        "descriptions": [
            {
                "type_name": label("DescriptionType", d["description_type"]),
                "text": owned("description", d["id"]),
            }
            for d in act["descriptions"]
        ],
        "reporting_org_name": pick(narr.get(("reporting-org", None))),
        "status_name": label("ActivityStatus", act["activity_status"]),
        "participating_orgs": [
            {
                **p,
                "role_name": label("OrganisationRole", p["role"]),
                "name": owned("participating-org", p["id"]),
            }
            for p in act["participating_orgs"]
        ],
        "sectors": [
            {
                **sct,
                "vocabulary_name": label("SectorVocabulary", sct["vocabulary"]),
                "name": owned("sector", sct["id"])
                or (
                    (current_language.get(), label("Sector", sct["sector_code"]))
                    if sct["vocabulary"] == "1"
                    else None
                ),
            }
            for sct in act["sectors"]
        ],
        "policy_markers": [
            {
                **pm,
                "name": label("PolicyMarker", pm["policy_marker_code"])
                if pm["vocabulary"] == "1"
                else pm["policy_marker_code"],
                "significance_name": label("PolicySignificance", pm["significance"]),
            }
            for pm in act["policy_markers"]
        ],
        "locations": [
            {**loc, "name": owned("location/name", loc["id"])} for loc in act["locations"]
        ],
        "locations_map": charts.location_map(
            "locations",
            [
                {
                    "latitude": loc["latitude"],
                    "longitude": loc["longitude"],
                    "name": (owned("location/name", loc["id"]) or (None, None))[1],
                    "iati_identifier": identifier,
                }
                for loc in act["locations"]
                if loc["latitude"] is not None and loc["longitude"] is not None
            ],
            None,
            _("Locations"),
        ),
        "documents": [
            {**d, "title": owned("document-link/title", d["id"])} for d in act["document_links"]
        ],
        "related": [
            {**rel, "type_name": label("RelatedActivityType", rel["related_activity_type"])}
            for rel in act["related_activities"]
        ],
        "budgets": budgets,
        "transactions": transactions,
        "results": results,
    }
    money_columns = [
        Column("period_start", "period_start"),
        Column("period_end", "period_end"),
        Column("value", "value"),
        Column("currency", "currency"),
        Column("value_date", "value_date"),
    ]
    return Page(
        "activity.html",
        title[1] if title else identifier,
        context,
        [
            DataTable(
                "budgets",
                [
                    Column("budget_type", "budget_type"),
                    Column("budget_type_name", "budget_type_name"),
                    Column("budget_status", "budget_status"),
                    Column("budget_status_name", "budget_status_name"),
                    *money_columns,
                ],
                budgets,
            ),
            DataTable(
                "transactions",
                [
                    Column("transaction_type", "transaction_type"),
                    Column("transaction_type_name", "transaction_type_name"),
                    Column("transaction_date", "transaction_date"),
                    Column("value", "value"),
                    Column("currency", "currency"),
                    Column("value_date", "value_date"),
                    Column("provider_org_ref", "provider_org_ref"),
                    Column("provider_org_name", "provider_org_name"),
                    Column("receiver_org_ref", "receiver_org_ref"),
                    Column("receiver_org_name", "receiver_org_name"),
                ],
                transactions,
            ),
            DataTable(
                "indicator_periods",
                [
                    Column("indicator", "indicator"),
                    Column("period_start", "period_start"),
                    Column("period_end", "period_end"),
                    Column("target", "target"),
                    Column("actual", "actual"),
                ],
                indicator_rows,
            ),
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
