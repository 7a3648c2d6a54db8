"""The data behind the charts and maps, built on the server from the rows of a page's tables.

A chart is a progressive enhancement of a table: the page shows the table (what a browser
without JavaScript gets), and embeds the same figures as JSON (``<script
type="application/json">``) for ``static/js/charts.js`` to draw. The browser only reshapes these
rows; it never computes a figure. Money is never added across currencies: a chart draws one
panel per currency.

A chart's rows are long: ``{"x", "group", "currency", "value", "text"}``, where ``x`` is the
category (a year, an impact area), ``group`` the series (budget or expenditure, a partner),
and ``text`` the figure as the table shows it (formatted in the page's language).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, Literal

import pycountry

from iatiportal.datasets.figures import NOT_NAMED
from iatiportal.i18n import gettext as _
from iatiportal.i18n import money as format_money
from iatiportal.i18n import percent as format_percent

Kind = Literal["bars", "hbars", "stack", "progress", "flows"]


def _float(value: Decimal | float | int | None) -> float | None:
    return None if value is None else float(value)


def chart(
    chart_id: str,
    kind: Kind,
    title: str,
    rows: list[dict[str, Any]],
    *,
    x_label: str,
    value_label: str,
    group_label: str = "",
) -> dict[str, Any]:
    """A chart's JSON: its rows, axis labels, and the text that screen readers get."""
    currencies = sorted({r["currency"] for r in rows if r.get("currency")})
    unit = ", ".join(currencies)
    summary = (
        _("Chart: %(title)s, in %(unit)s. The same figures are in the table.")
        % {"title": title, "unit": unit}
        if unit
        else _("Chart: %(title)s. The same figures are in the table.") % {"title": title}
    )
    return {
        "id": chart_id,
        "kind": kind,
        "title": title,
        "summary": summary,
        "x_label": x_label,
        "group_label": group_label,
        "value_label": value_label,
        "currency_label": _("Currency"),
        "rows": rows,
    }


def money_rows(
    lines: Iterable[dict[str, Any]], x: Callable[[dict[str, Any]], Any]
) -> list[dict[str, Any]]:
    """Budget and expenditure rows of per-currency money lines (countries.per_currency), one
    per line and measure that has a figure; ``x`` names a line's category."""
    names = {"budget": _("Budget"), "expenditure": _("Expenditure")}
    return [
        {
            "x": x(line),
            "group": names[measure],
            "currency": line["currency"],
            "value": _float(line[measure]),
            "text": format_money(line[measure], line["currency"]),
        }
        for line in lines
        for measure in ("budget", "expenditure")
        if line.get(measure) is not None
    ]


def budget_by_year(chart_id: str, lines: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Budget and expenditure by year (dated lines only: an undated sum has no bar)."""
    return chart(
        chart_id,
        "bars",
        _("Budget and expenditure by year"),
        money_rows([line for line in lines if line.get("year")], lambda line: line["year"]),
        x_label=_("Year"),
        value_label=_("Amount"),
        group_label=_("Measure"),
    )


def budget_by_name(chart_id: str, title: str, lines: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Budget and expenditure by named category (impact areas, SDGs), as horizontal bars."""
    return chart(
        chart_id,
        "hbars",
        title,
        money_rows(lines, lambda line: line["name"]),
        x_label="",
        value_label=_("Amount"),
        group_label=_("Measure"),
    )


def pivot_by_year(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Partner-by-year rows as a table: the years, and one line per partner and currency with
    its value per year (what the template shows beside the chart)."""
    years = sorted({r["year"] for r in rows if r["year"] is not None})
    lines: dict[tuple[Any, str | None], dict[str, Any]] = {}
    for r in rows:
        line = lines.setdefault(
            (r["provider_org"], r["currency"]),
            {
                "key": r["provider_org"],
                "name": r["provider_org_name"],
                "currency": r["currency"],
                "values": {},
            },
        )
        line["values"][r["year"]] = r["incoming_funds"]
    return {"years": years, "lines": list(lines.values())}


def contributions(
    chart_id: str, title: str, rows: Sequence[dict[str, Any]], *, stacked: bool
) -> dict[str, Any]:
    """Incoming funds by year (rows with ``year``, ``currency``, ``incoming_funds`` and, when
    ``stacked``, ``provider_org_name``): one bar per year (``stacked``: one colour per partner)."""
    return chart(
        chart_id,
        "stack" if stacked else "bars",
        title,
        [
            {
                "x": r["year"],
                "group": r["provider_org_name"] if stacked else _("Incoming funds"),
                "currency": r["currency"],
                "value": _float(r["incoming_funds"]),
                "text": format_money(r["incoming_funds"], r["currency"]),
            }
            for r in rows
            if r["year"] is not None and r["incoming_funds"] is not None
        ],
        x_label=_("Year"),
        value_label=_("Incoming funds"),
        group_label=_("Funding partner") if stacked else "",
    )


def _numeric(value: str | None) -> float | None:
    """An indicator value as a number (published values are text: "45", "12.5 %", "yes")."""
    if value is None:
        return None
    text = value.strip().rstrip("%").strip().replace(",", "")
    try:
        return float(text)
    except ValueError:
        return None


def indicator_progress(chart_id: str, indicator: dict[str, Any]) -> dict[str, Any] | None:
    """Baseline, then target and actual per period of one indicator (the rows of its table),
    or None when fewer than two of its values are numbers (nothing to draw)."""
    rows: list[dict[str, Any]] = []
    for b in indicator["baselines"]:
        when = b.get("year") or (b["iso_date"].year if b.get("iso_date") else None)
        value = _numeric(b.get("value"))
        if when is not None and value is not None:
            rows.append({"x": when, "group": _("Baseline"), "value": value, "text": b["value"]})
    for p in indicator["periods"]:
        moment = p.get("period_end") or p.get("period_start")
        if moment is None:
            continue
        for measure, name in (("targets", _("Target")), ("actuals", _("Actual"))):
            for v in p[measure]:
                value = _numeric(v.get("value"))
                if value is not None:
                    rows.append(
                        {"x": moment.year, "group": name, "value": value, "text": v["value"]}
                    )
    if len(rows) < 2:
        return None
    title = indicator["title"][1] if indicator.get("title") else _("Indicator")
    for r in rows:
        r["currency"] = None
    return chart(
        chart_id,
        "progress",
        title,
        rows,
        x_label=_("Year"),
        value_label=_("Value"),
        group_label="",
    )


def iso_numeric(code: str) -> str | None:
    """The ISO 3166 numeric code of an ISO alpha-2 country code (world-atlas names its shapes
    by it), or None for codes ISO lacks (Kosovo ``XK``) or that are not countries."""
    country = pycountry.countries.get(alpha_2=code.upper())
    return getattr(country, "numeric", None) if country is not None else None


def world_map(
    map_id: str, lines: Sequence[dict[str, Any]], names: Callable[[str], str], year: int | None
) -> dict[str, Any]:
    """Country money lines of a year (``country_code``, ``currency``, ``budget``, ``expenditure``)
    as the map's JSON; one currency is shaded (the one most countries report), countries in
    others are listed under the map."""
    counts: dict[str, int] = {}
    for line in lines:
        if line["currency"]:
            counts[line["currency"]] = counts.get(line["currency"], 0) + 1
    shaded = max(sorted(counts), key=lambda c: counts[c]) if counts else None
    return {
        "id": map_id,
        "year": year,
        "currency": shaded,
        "measures": {"expenditure": _("Expenditure"), "budget": _("Budget")},
        "no_data": _("No figures"),
        "countries": [
            {
                "iso2": line["country_code"],
                "iso_numeric": iso_numeric(line["country_code"]),
                "name": names(line["country_code"]),
                "currency": line["currency"],
                "budget": _float(line["budget"]),
                "expenditure": _float(line["expenditure"]),
                "budget_text": format_money(line["budget"], line["currency"]),
                "expenditure_text": format_money(line["expenditure"], line["currency"]),
                "utilisation_text": format_percent(line.get("utilisation_percent")),
            }
            for line in lines
            if line["country_code"]
        ],
    }


def location_map(
    map_id: str, rows: Sequence[dict[str, Any]], country: str | None, title: str
) -> dict[str, Any]:
    """The JSON of a map of located points: one point per distinct place (coordinates rounded
    to 4 decimals, about 10 m), with its names and the activities there; ``country`` (ISO
    alpha-2) is outlined when the atlas has it."""
    places: dict[tuple[float, float], dict[str, Any]] = {}
    for r in rows:
        key = (round(float(r["latitude"]), 4), round(float(r["longitude"]), 4))
        if not (-90 <= key[0] <= 90 and -180 <= key[1] <= 180):
            continue  # not a place on Earth: listed in the table, not drawn
        place = places.setdefault(
            key, {"lat": key[0], "lon": key[1], "names": [], "activities": []}
        )
        if r.get("name") and r["name"] not in place["names"]:
            place["names"].append(r["name"])
        if r["iati_identifier"] not in place["activities"]:
            place["activities"].append(r["iati_identifier"])
    found = pycountry.countries.get(alpha_2=country) if country else None
    return {
        "id": map_id,
        "title": title,
        "country_numeric": found.numeric if found is not None else None,
        "points": list(places.values()),
    }


MOST_FLOWS = 8
"""Funding partners, and implementing partners, a flow diagram draws apart per currency: with
more, the largest ``MOST_FLOWS - 1`` are drawn and the others summed into one "Other" flow
(the expenditure that names no receiver is always drawn apart, never summed with them)."""


MOST_FLOW_ROWS = 25
"""Rows of the flow table per stage and currency (and of the organisations named without an
amount): with more, the largest ``MOST_FLOW_ROWS - 1`` are listed and the others summed into
one "Other" row; the page's data (its CSV and JSON) keeps every row. A country of a large
store named 1,077 flows, a table of 272 KB that took most of the page's time to render."""


def _largest(
    rows: list[dict[str, Any]], side: str, other_name: str, most: int = MOST_FLOWS
) -> list[dict[str, Any]]:
    """The flows of one stage, largest first, with those beyond the largest ``most - 1``
    summed into one whose ``side`` ("source" or "target") is ``other`` (``other_name`` with
    ``%(count)s``); the NOT_NAMED flow stays apart, last."""
    apart = [r for r in rows if r[side] == NOT_NAMED]
    rows = sorted((r for r in rows if r[side] != NOT_NAMED), key=lambda r: -r["amount"])
    if len(rows) > most:
        kept, rest = rows[: most - 1], rows[most - 1 :]
        other = {**rest[0], side: "other", f"{side}_name": other_name % {"count": len(rest)}}
        other["amount"] = sum((r["amount"] for r in rest), Decimal(0))
        rows = [*kept, other]
    return [*rows, *apart]


def _other_name(stage: str, *, named: bool = False) -> str:
    """The name of the flow or row that sums a stage's smaller partners (``%(count)s`` of
    them); ``named``: those named without an amount."""
    if stage == "funding":
        return (
            _("Other funding partners named (%(count)s)")
            if named
            else _("Other funding partners (%(count)s)")
        )
    return (
        _("Other implementing partners named (%(count)s)")
        if named
        else _("Other implementing partners (%(count)s)")
    )


def flow_table(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of the table beside the flow diagram: FLOWS rows as they are when no stage
    has more than MOST_FLOW_ROWS of a currency; else, for each stage and currency with more,
    its largest amounts and one "Other" row with the sum of the rest (so the table still adds
    up), and the organisations named without an amount past the first ones counted in one
    row."""
    groups: dict[tuple[str, str | None, bool], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["stage"], r["currency"], r["amount"] is None), []).append(r)
    if all(len(g) <= MOST_FLOW_ROWS for g in groups.values()):
        return list(rows)
    table: list[dict[str, Any]] = []
    for (stage, _currency, named_only), group in groups.items():
        side = "source" if stage == "funding" else "target"
        if len(group) <= MOST_FLOW_ROWS:
            table += group
        elif named_only:
            rest = group[MOST_FLOW_ROWS - 1 :]
            label = _other_name(stage, named=True)
            other = {**rest[0], side: "other", f"{side}_name": label % {"count": len(rest)}}
            table += [*group[: MOST_FLOW_ROWS - 1], other]
        else:
            table += _largest(group, side, _other_name(stage), MOST_FLOW_ROWS)
    return table


def flow_diagram(chart_id: str, title: str, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The flow diagram (Sankey) of FLOWS rows (datasets.figures.flows): one panel per
    currency, whose ``links`` are the rows with an amount above 0 (``source``, ``target``,
    ``value``, ``text``: the figure as the table shows it), funding partners beyond the
    largest ``MOST_FLOWS - 1`` summed into "Other funding partners", implementing partners
    likewise into "Other implementing partners" (the table: ``flow_table``); ``nodes`` are
    the links' ends, each with its name and the total that the diagram shows on it (the
    larger of what comes in and what goes out)."""
    by_currency: dict[str | None, list[dict[str, Any]]] = {}
    for r in rows:
        if r["amount"] is not None and r["amount"] > 0:
            by_currency.setdefault(r["currency"], []).append(r)
    panels: list[dict[str, Any]] = []
    for currency in sorted(by_currency, key=lambda c: c or ""):
        drawn = by_currency[currency]
        funding = _largest(
            [r for r in drawn if r["stage"] == "funding"],
            "source",
            _other_name("funding"),
        )
        spending = _largest(
            [r for r in drawn if r["stage"] != "funding"],
            "target",
            _other_name("spending"),
        )
        links = [
            # Node ids by side: a funder and an implementing partner of the same name are
            # two nodes, and no link can close a cycle (which the layout refuses).
            {**r, "from": f"funder:{r['source']}", "to": "home"}
            if r["stage"] == "funding"
            else {**r, "from": "home", "to": f"spent:{r['target']}"}
            for r in [*funding, *spending]
        ]
        names: dict[str, str] = {}
        into: dict[str, Decimal] = {}
        out_of: dict[str, Decimal] = {}
        for link in links:
            names.setdefault(link["from"], link["source_name"])
            names.setdefault(link["to"], link["target_name"])
            out_of[link["from"]] = out_of.get(link["from"], Decimal(0)) + link["amount"]
            into[link["to"]] = into.get(link["to"], Decimal(0)) + link["amount"]
        nodes = [
            {
                "id": key,
                "name": name,
                "text": format_money(
                    max(into.get(key, Decimal(0)), out_of.get(key, Decimal(0))), currency
                ),
            }
            for key, name in names.items()
        ]
        panels.append(
            {
                "currency": currency,
                "nodes": nodes,
                "links": [
                    {
                        "source": link["from"],
                        "target": link["to"],
                        "source_name": link["source_name"],
                        "target_name": link["target_name"],
                        "value": _float(link["amount"]),
                        "text": format_money(link["amount"], currency),
                    }
                    for link in links
                ],
            }
        )
    spec = chart(chart_id, "flows", title, [], x_label="", value_label=_("Amount"))
    currencies = ", ".join(p["currency"] for p in panels if p["currency"])
    spec["summary"] = (
        _("Flow diagram: %(title)s, in %(unit)s. The same figures are in the table.")
        % {"title": title, "unit": currencies}
        if currencies
        else _("Flow diagram: %(title)s. The same figures are in the table.") % {"title": title}
    )
    spec["panels"] = panels
    spec["most"] = MOST_FLOWS
    spec["most_rows"] = MOST_FLOW_ROWS
    spec["link_label"] = _("%(source)s to %(target)s: %(amount)s")
    spec["node_label"] = _("%(name)s: %(amount)s")
    return spec
