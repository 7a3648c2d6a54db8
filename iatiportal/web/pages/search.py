"""Full-text search ``/search`` with facets; every filter is a query parameter (shareable
URLs), meaning what it means everywhere (store.filters): the filters AND the text match."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from iatiportal.datasets import Dataset, Field
from iatiportal.datasets.context import Context
from iatiportal.i18n import country_name
from iatiportal.i18n import gettext as _
from iatiportal.store import queries
from iatiportal.store import search as store_search
from iatiportal.store.filters import Filters
from iatiportal.web.pages import label, pick, requested_page, table
from iatiportal.web.render import Page

HITS = Dataset(
    "results",
    "Activities matching every word of the query, best first.",
    (
        Field("iati_identifier", "string", "The activity's IATI identifier."),
        Field("title", "string", "Its title (every language published)."),
        Field("snippet", "string", "Words around the match."),
        Field("rank", "number", "Relevance: higher is better."),
    ),
)

_MARKS = str.maketrans("", "", store_search.MARK_START + store_search.MARK_END)


def scope(ctx: Context) -> Filters:
    """What a search looks in: the request's filters, within the home publisher unless
    ``reporting_org`` names others."""
    return replace(ctx.filters, reporting_org=ctx.filters.reporting_org or ctx.home)


def vocabularies(ctx: Context) -> list[tuple[str, str]]:
    """The sector facets: the strategic plan's impact areas (if any) and the SDGs."""
    plan = ctx.portal.home.strategic_plan
    out = [("sdg", "7")]
    if plan is not None and plan.sector_vocabulary:
        out.insert(0, ("impact_area", plan.sector_vocabulary))
    return out


def hits(conn: Connection, ctx: Context, offset: int, limit: int) -> store_search.Results:
    """One page of hits of ``ctx.filters.q``, with facet counts."""
    return store_search.search(
        conn,
        ctx.filters.q or "",
        scope(ctx),
        offset=offset,
        limit=limit,
        facet_vocabularies=vocabularies(ctx),
    )


def plain(hit: store_search.Hit) -> dict[str, Any]:
    """A hit as a row of HITS, without the match marks."""
    return {
        "iati_identifier": hit.iati_identifier,
        "title": hit.title.translate(_MARKS),
        "snippet": hit.snippet.translate(_MARKS),
        "rank": float(f"{hit.rank:.6g}"),  # relevance needs no more digits than this
    }


def build(conn: Connection, ctx: Context) -> Page:
    q = ctx.filters.q or ""
    plan = ctx.portal.home.strategic_plan
    page = requested_page(ctx)

    def matches(offset: int, limit: int) -> tuple[int, store_search.Results]:
        found = hits(conn, ctx, offset, limit)
        return found.total, found

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
                label_text = area.name.get(ctx.language) if area else value
            elif name == "sdg":
                label_text = label(ctx, "UNSDG-Goals", value)
            else:
                label_text = value
            shown.append(
                {
                    "value": value,
                    "label": label_text,
                    "count": n,
                    "selected": ctx.params.get(name) == value,
                }
            )
        facets.append({"name": name, "label": labels.get(name, name), "values": shown})
    titles = queries.titles_of(conn, [h.activity_id for h in found.hits])
    shown_hits = [
        {**vars(h), "narrative": pick(ctx, titles.get(h.activity_id))} for h in found.hits
    ]
    return Page(
        "search.html",
        _("Search") + (f": {q}" if q else ""),
        {"q": q, "hits": shown_hits, "pager": page, "facets": facets},
        [table(HITS, [plain(h) for h in found.hits])],
    )
