"""Money converted to one currency at the value date, on both databases: known conversions,
mixed-currency totals, missing rates counted and flagged, never dropped.

Expected figures are written by hand from the comment of tests/fixtures/money-conversion.xml.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from sqlalchemy import Engine
from starlette.testclient import TestClient

from iatiportal import rates
from iatiportal.cli import main
from iatiportal.store import money
from iatiportal.store.filters import Filters
from iatiportal.store.load import ingest, refresh_derived
from iatiportal.store.money import MoneyRow
from iatiportal.web.app import create_app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
D = Decimal


def by_year(rows: list[MoneyRow]) -> dict[tuple[str, int | None, str | None], Decimal]:
    return {(r.measure, r.year, r.currency): r.value for r in rows}


@pytest.fixture
def converted(engine: Engine) -> Engine:
    assert not ingest(engine, [str(FIXTURES / "money-conversion.xml")]).failed
    assert rates.load(engine, FIXTURES / "rates.csv") == 3
    refresh_derived(engine)
    return engine


def test_known_conversions_at_the_value_date(converted: Engine) -> None:
    org = ("XX-CONV",)
    with converted.connect() as conn:
        usd = by_year(money.by_year(conn, None, Filters(reporting_org=org, currency="USD")))
        eur = by_year(money.by_year(conn, None, Filters(reporting_org=org, currency="EUR")))
        published = by_year(money.by_year(conn, None, Filters(reporting_org=org)))
        missing_usd = by_year(
            money.unconverted(conn, None, Filters(reporting_org=org, currency="USD", year=2023))
        )
        missing_2022 = by_year(
            money.unconverted(conn, None, Filters(reporting_org=org, currency="USD", year=2022))
        )
    assert usd == {("budget", 2023, "USD"): D("1070"), ("expenditure", 2023, "USD"): D("640")}
    assert eur == {
        ("budget", 2023, "EUR"): D("1000"),
        ("expenditure", 2022, "EUR"): D("50"),
        ("expenditure", 2023, "EUR"): D("592.5926"),
    }
    # As published, per currency, never added together: the conversion changes nothing here.
    assert published == {
        ("budget", 2023, "EUR"): D("1000"),
        ("expenditure", 2022, "EUR"): D("50"),
        ("expenditure", 2023, "EUR"): D("500"),
        ("expenditure", 2023, "USD"): D("100"),
        ("expenditure", 2023, "GBP"): D("200"),
    }
    assert missing_usd == {("expenditure", None, "GBP"): D("200")}
    assert missing_2022 == {("expenditure", None, "EUR"): D("50")}


def test_breakdowns_of_converted_money_add_up(converted: Engine) -> None:
    filters = Filters(reporting_org=("XX-CONV",), currency="USD", year=2023)
    with converted.connect() as conn:
        total = by_year(money.totals(conn, None, filters))
        countries = money.by_country(conn, None, filters)
    assert total == {("budget", None, "USD"): D("1070"), ("expenditure", None, "USD"): D("640")}
    assert {(r.measure, r.recipient_country_code): r.value for r in countries} == {
        ("budget", "ML"): D("1070"),
        ("expenditure", "ML"): D("640"),
    }


def test_rates_files_are_checked(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("date,currency,rate_to_usd,source\n2023-01-01,EUR,-1,somewhere\n")
    with pytest.raises(rates.RatesError, match=r"bad.csv:2: a rate must be a positive number"):
        rates.read(bad)
    bad.write_text("date,currency,rate_to_usd,source\n2023-01-01,euro,1.1,somewhere\n")
    with pytest.raises(rates.RatesError, match="not an ISO 4217 currency code"):
        rates.read(bad)
    ecb = tmp_path / "eurofxref-hist.csv"
    ecb.write_text("Date,USD,JPY,GBP,\n2023-06-01,1.0700,150.00,N/A,\n")
    read = {r.currency: r.usd_per_unit for r in rates.read(ecb)}
    assert read == {"EUR": D("1.0700"), "JPY": D("1.07") / D("150.00")}
    runner = CliRunner()
    db = tmp_path / "rates.db"
    done = runner.invoke(main, ["rates", "load", str(FIXTURES / "rates.csv"), "--db", str(db)])
    assert done.exit_code == 0, done.output
    refused = runner.invoke(main, ["rates", "load", str(bad), "--db", str(db)])
    assert refused.exit_code == 2 and "ISO 4217" in refused.output


def test_country_page_offers_the_currency_switch(converted: Engine) -> None:
    with TestClient(create_app(converted)) as client:
        usd = BeautifulSoup(client.get("/countries/ML?year=2023").text, "html.parser")
        assert usd.select_one("select#currency option[selected]")["value"] == "USD"
        assert usd.select_one("dd.total-expenditure").get_text(strip=True) == "$640"
        missing = usd.select_one("p.notice.unconverted span.amount")
        assert missing["data-currency"] == "GBP" and "200" in missing.get_text()
        eur = BeautifulSoup(client.get("/countries/ML?year=2023&currency=EUR").text, "html.parser")
        assert eur.select_one("dd.total-expenditure").get_text(strip=True) == "€593"
        published = BeautifulSoup(
            client.get("/countries/ML?year=2023&currency=published").text, "html.parser"
        )
        shown = {d.get_text(strip=True) for d in published.select("dd.total-expenditure")}
        assert shown == {"€500", "$100", "£200"}
        assert published.select_one("p.notice.unconverted") is None


def test_each_converted_transaction_shows_its_rate(converted: Engine) -> None:
    with TestClient(create_app(converted)) as client:
        page = BeautifulSoup(client.get("/activities/XX-CONV-1").text, "html.parser")
    rows = {
        (r.select("td")[4].get_text(strip=True), r.select_one("td.converted").get_text(strip=True)):
        r.select_one("td.rate").get_text(" ", strip=True)
        for r in page.select("table.transactions tbody tr")
    }  # fmt: skip
    assert rows[("€500", "$540")].startswith("1.080000 · Jun 1, 2023 · Test rates")
    assert rows[("$100", "$100")].startswith("1.000000")
    assert rows[("£200", "–")] == "no rate: not converted"
    assert rows[("€50", "–")] == "no rate: not converted"


def test_api_lists_and_downloads_convert_on_request(converted: Engine) -> None:
    with TestClient(create_app(converted)) as client:
        items = client.get("/api/v1/transactions?currency=USD&sort=value").json()["items"]
        plain = client.get("/api/v1/transactions").json()["items"]
        rows = list(
            csv.DictReader(
                io.StringIO(client.get("/api/v1/transactions?currency=EUR&format=csv").text)
            )
        )
        bad = client.get("/api/v1/transactions?currency=GBP")
    converted_values = {
        (i["currency"], str(i["value"])): (i["value_converted"], i["rate_date"]) for i in items
    }
    assert converted_values[("EUR", "500")] == (540, "2023-06-01")
    assert converted_values[("USD", "100")] == (100, "2023-06-10")
    assert converted_values[("GBP", "200")] == (None, None)  # no rate: flagged by its emptiness
    assert all(i["converted_currency"] == "USD" for i in items)
    assert all(i["value_converted"] is None and i["converted_currency"] is None for i in plain)
    eur = {(r["currency"], D(r["value"])): D(r["value_converted"]) for r in rows if r["rate"]}
    assert eur[("USD", D(100))] == D("92.5926") and eur[("EUR", D(500))] == D(500)
    assert bad.status_code == 400 and "currency" in bad.json()["error"]["message"]
