"""The funding partners ``/partners`` and one partner ``/partners/{ref}``: who pays."""

from __future__ import annotations

from sqlalchemy import Connection

from iatiportal.datasets import figures as f
from iatiportal.datasets import organisation as org_files
from iatiportal.datasets.context import Context
from iatiportal.i18n import country_name
from iatiportal.i18n import gettext as _
from iatiportal.store import money
from iatiportal.store import organisation as stored_orgs
from iatiportal.web import charts
from iatiportal.web.pages import pick, requested_page, table, text_of
from iatiportal.web.render import Page


def build(conn: Connection, ctx: Context) -> Page:
    years, year = f.years(conn, ctx, ctx.money(), ("incoming",))
    found = f.funding_partners(conn, ctx, ctx.money(year=year))
    page = requested_page(ctx).fit(len(found))
    return Page(
        "partners.html",
        _("Funding partners"),
        {
            "partners": found[page.offset : page.offset + page.per_page],
            "pager": page,
            "years": years,
            "year": year,
        },
        [table(f.PARTNERS, found)],
    )


def partner(conn: Connection, ctx: Context, ref: str) -> Page | None:
    base = ctx.money(provider_org=ref)
    by_year = money.by_provider(conn, ctx.portal, base, per_year=True)
    # An organisation that published an organisation file has a page even without incoming
    # funds: what its file says it will spend (issue 15).
    said = org_files.of_organisation(conn, ctx, [ref])
    if not by_year and not said:
        return None
    own_name = pick(ctx, stored_orgs.names(conn, (ref,)).get(ref))
    name = next((r.provider_org_name for r in by_year if r.provider_org_name), None) or (
        text_of(own_name) or ref
    )
    years = sorted({r.year for r in by_year if r.year is not None})
    year = f.choose_year(ctx.filters.year, years)
    in_year = ctx.money(provider_org=ref, year=year)
    yearly = f.contributions_by_year(conn, ctx, base)
    where = [
        {
            "country_code": r.recipient_country_code,
            "country_name": country_name(r.recipient_country_code)
            if r.recipient_country_code
            else _("Regional or not specified"),
            "currency": r.currency,
            "incoming_funds": r.value,
        }
        for r in money.by_country(conn, ctx.portal, in_year, ("incoming",))
    ]
    flows = f.flows(conn, ctx, in_year, ctx.money(partner=ref, year=year))
    funded = [
        {"iati_identifier": r.iati_identifier, "currency": r.currency, "incoming_funds": r.value}
        for r in money.by_activity(conn, ctx.portal, in_year, ("incoming",))
    ]
    return Page(
        "partner.html",
        name or ref,
        {
            "ref": ref,
            "name": name,
            "yearly": yearly,
            "kinds_stated": f.stated_kinds(yearly),
            "where": where,
            "funded": funded,
            "flows": flows,
            "flow_table": charts.flow_table(flows),
            "home_name": ctx.portal.home.name.get(ctx.language),
            "years": years,
            "year": year,
            "said": org_files.for_page(said),
            "charts": {
                "yearly": charts.contributions(
                    "contributions-by-year", _("Contributions by year"), yearly, stacked=False
                ),
                "flows": charts.flow_diagram("flows", _("Flow of funds"), flows),
            },
        },
        [
            table(f.CONTRIBUTIONS, yearly),
            table(f.PARTNER_COUNTRIES, where),
            table(f.PARTNER_ACTIVITIES, funded),
            table(org_files.ORGANISATION_BUDGETS, said),
            table(f.FLOWS, flows),
        ],
    )
