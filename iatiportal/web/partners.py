"""Funding partners and regions: who pays, and money by region. Figures from store.money."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from iatiportal import standard
from iatiportal.profile import Portal
from iatiportal.store import money, queries
from iatiportal.store.money import Filters
from iatiportal.web import charts
from iatiportal.web.countries import (
    COUNTRY_MONEY_COLUMNS,
    MONEY_COLUMNS,
    choose_year,
    country_lines,
    money_of,
    per_currency,
)
from iatiportal.web.i18n import country_name, current_language
from iatiportal.web.i18n import gettext as _
from iatiportal.web.render import Column, DataTable, Page
from iatiportal.web.views import pick, requested_page

PARTNER_COLUMNS = [
    Column("provider_org_ref", "provider_org_ref"),
    Column("provider_org_name", "provider_org_name"),
    Column("currency", "currency"),
    Column("value", "incoming_funds"),
]


def partners(conn: Connection, params: Any, portal: Portal) -> Page:
    home = portal.home_org_refs
    years = money.years(conn, portal, Filters(reporting_org=home), ("incoming",))
    year = choose_year(params, years)
    found = money.funding_partners(conn, portal, Filters(reporting_org=home, year=year))
    page = requested_page(params)
    page.fit(len(found))
    return Page(
        "partners.html",
        _("Funding partners"),
        {
            "partners": found[page.offset : page.offset + page.per_page],
            "pager": page,
            "years": years,
            "year": year,
        },
        [DataTable("funding_partners", PARTNER_COLUMNS, [vars(p) for p in found])],
    )


def partner(conn: Connection, ref: str, params: Any, portal: Portal) -> Page | None:
    home = portal.home_org_refs
    base = Filters(reporting_org=home, provider_org=ref)
    by_year = money.by_provider(conn, portal, base, per_year=True)
    if not by_year:
        return None
    name = next((r.provider_org_name for r in by_year if r.provider_org_name), ref)
    years = sorted({r.year for r in by_year if r.year is not None})
    year = choose_year(params, years)
    in_year = Filters(reporting_org=home, provider_org=ref, year=year)
    yearly = [
        {"year": r.year, "currency": r.currency, "value": r.value}
        for r in sorted(by_year, key=lambda r: (r.year or 0, r.currency or ""))
    ]
    where = [
        {
            "country": r.recipient_country_code,
            "name": country_name(r.recipient_country_code)
            if r.recipient_country_code
            else _("Regional or not specified"),
            "currency": r.currency,
            "value": r.value,
        }
        for r in money.by_country(conn, portal, in_year, ("incoming",))
    ]
    funded = [
        {"iati_identifier": r.iati_identifier, "currency": r.currency, "value": r.value}
        for r in money.by_activity(conn, portal, in_year, ("incoming",))
    ]
    return Page(
        "partner.html",
        name or ref,
        {
            "ref": ref,
            "name": name,
            "yearly": yearly,
            "where": where,
            "funded": funded,
            "years": years,
            "year": year,
            "charts": {
                "yearly": charts.contributions(
                    "contributions-by-year", _("Contributions by year"), yearly, stacked=False
                )
            },
        },
        [
            DataTable(
                "contributions_by_year",
                [
                    Column("year", "year"),
                    Column("currency", "currency"),
                    Column("value", "incoming_funds"),
                ],
                yearly,
            ),
            DataTable(
                "by_country",
                [
                    Column("country", "country_code"),
                    Column("name", "country_name"),
                    Column("currency", "currency"),
                    Column("value", "incoming_funds"),
                ],
                where,
            ),
            DataTable(
                "activities",
                [
                    Column("iati_identifier", "iati_identifier"),
                    Column("currency", "currency"),
                    Column("value", "incoming_funds"),
                ],
                funded,
            ),
        ],
    )


def region_name(portal: Portal, vocabulary: str | None, code: str | None) -> str:
    if not code:
        return _("Not specified")
    lang = current_language.get()
    named = portal.home.region_name(vocabulary or "", code, lang)
    if named:
        return named
    if vocabulary in (None, "1"):
        return standard.code_names("Region", lang).get(code, code)
    return code


def regions(conn: Connection, params: Any, portal: Portal) -> Page:
    home = portal.home_org_refs
    years = money.years(conn, portal, Filters(reporting_org=home))
    year = choose_year(params, years)
    lines = per_currency(
        money.by_region(conn, portal, Filters(reporting_org=home, year=year)),
        key=lambda r: (r.recipient_region_vocabulary, r.recipient_region_code),
    )
    items = [
        {
            **line,
            "vocabulary": line["key"][0],
            "code": line["key"][1],
            "name": region_name(portal, line["key"][0], line["key"][1]),
        }
        for line in lines
        if line["key"][1]
    ]
    items.sort(key=lambda i: str(i["name"]))
    return Page(
        "regions.html",
        _("Regions"),
        {"items": items, "years": years, "year": year},
        [
            DataTable(
                "regions",
                [
                    Column("vocabulary", "region_vocabulary"),
                    Column("code", "region"),
                    Column("name", "name"),
                    *MONEY_COLUMNS,
                ],
                items,
            )
        ],
    )


def region(conn: Connection, code: str, params: Any, portal: Portal) -> Page | None:
    home = portal.home_org_refs
    total, acts = queries.activity_page(conn, region=code, reporting_orgs=home, limit=None)
    if total == 0:
        return None
    base = Filters(reporting_org=home, region=code)
    years = money.years(conn, portal, base)
    year = choose_year(params, years)
    in_year = Filters(reporting_org=home, region=code, year=year)
    by_year = [
        {**line, "year": line["key"]}
        for line in per_currency(money.by_year(conn, portal, base), key=lambda r: r.year)
    ]
    vocabulary = next(
        (
            r.recipient_region_vocabulary
            for r in money.by_region(conn, portal, base)
            if r.recipient_region_code == code
        ),
        None,
    )
    page = requested_page(params)
    page.fit(total)
    acts = acts[page.offset : page.offset + page.per_page]
    money_by_activity = money_of(conn, portal, in_year, [a["iati_identifier"] for a in acts])
    items = [
        {
            "iati_identifier": a["iati_identifier"],
            "title": pick(a["titles"]),
            "money": money_by_activity.get(a["iati_identifier"], []),
        }
        for a in acts
    ]
    name = region_name(portal, vocabulary, code)
    country_money = sorted(country_lines(conn, portal, in_year), key=lambda c: str(c["name"]))
    return Page(
        "region.html",
        name,
        {
            "code": code,
            "name": name,
            "years": years,
            "year": year,
            "by_year": by_year,
            "country_money": country_money,
            "map": charts.world_map("world-map", country_money, country_name, year),
            "charts": {"by_year": charts.budget_by_year("by-year", by_year)},
            "items": items,
            "pager": page,
            "partners": money.funding_partners(conn, portal, in_year),
        },
        [
            DataTable(
                "budget_and_expenditure_by_year", [Column("year", "year"), *MONEY_COLUMNS], by_year
            ),
            DataTable("countries", COUNTRY_MONEY_COLUMNS, country_money),
            DataTable(
                "activities",
                [
                    Column("iati_identifier", "iati_identifier"),
                    Column("title", "title"),
                    *MONEY_COLUMNS,
                ],
                [
                    {
                        "iati_identifier": i["iati_identifier"],
                        "title": i["title"][1] if i["title"] else None,
                        **m,
                    }
                    for i in items
                    for m in (i["money"] or [{"currency": None}])
                ],
            ),
        ],
    )
