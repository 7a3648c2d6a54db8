"""Pages over real shared files (UNDP, UN Women): figures against the XML, English and French."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup
from lxml import etree
from starlette.testclient import TestClient

from iatiportal.store.db import make_engine, migrate
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

UNDP_PAGES = [
    "iati/dportal-covid19-2021/pages/dportal_100.xml",
    "iati/dportal-covid19-2021/pages/dportal_101.xml",
]


@pytest.fixture(scope="module")
def undp(
    tmp_path_factory: pytest.TempPathFactory, shared: Path
) -> Iterator[tuple[TestClient, list[etree._Element]]]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('undp') / 'undp.db'}")
    migrate(engine)
    files = [shared / p for p in UNDP_PAGES]
    assert not ingest(engine, [str(p) for p in files]).failed
    activities = [a for f in files for a in etree.parse(str(f)).getroot().iterfind("iati-activity")]
    with TestClient(create_app(engine)) as client:
        yield client, activities
    engine.dispose()


def _simple(act: etree._Element) -> str | None:
    """The activity's one recipient country, when nothing splits or moves its money."""
    countries = [c.get("code") for c in act.iterfind("recipient-country")]
    if (
        len(countries) != 1
        or act.find("recipient-region") is not None
        or act.find("transaction/recipient-country") is not None
    ):
        return None
    return countries[0]


def test_undp_activity_page_lists_every_transaction(
    undp: tuple[TestClient, list[etree._Element]],
) -> None:
    client, activities = undp
    act = max(activities, key=lambda a: len(a.findall("transaction")))
    ident = act.findtext("iati-identifier").strip()
    page = BeautifulSoup(client.get(f"/activities/{quote(ident, safe='')}").text, "html.parser")
    assert page.select_one("dd.identifier").get_text(strip=True) == ident
    assert len(page.select("table.transactions tbody tr")) == len(act.findall("transaction"))
    french = BeautifulSoup(
        client.get(f"/activities/{quote(ident, safe='')}?lang=fr").text, "html.parser"
    )
    assert french.html is not None and french.html["lang"] == "fr"
    assert french.select_one("#transactions-heading").get_text(strip=True) == "Transactions"


def test_undp_country_expenditure_by_year_matches_the_xml(
    undp: tuple[TestClient, list[etree._Element]],
) -> None:
    client, activities = undp
    by_country: dict[str, list[etree._Element]] = defaultdict(list)
    for act in activities:
        for c in act.iterfind("recipient-country"):
            by_country[c.get("code")].append(act)
    candidates = [
        code
        for code, acts in by_country.items()
        if all(_simple(a) == code for a in acts)
        and any(
            t.find("transaction-type").get("code") == "4"
            for a in acts
            for t in a.iterfind("transaction")
        )
    ]
    assert candidates, "the UNDP pages have countries whose money is not split"
    code = max(candidates, key=lambda c: len(by_country[c]))
    # Parents and children (related-activity 1 = parent, 2 = child): a parent's expenditure
    # of a year is left out when one of its descendants reports expenditure that year.
    ids = {a.findtext("iati-identifier").strip(): a for a in activities}
    children: dict[str, set[str]] = defaultdict(set)
    for ident, act in ids.items():
        for rel in act.iterfind("related-activity"):
            ref = (rel.get("ref") or "").strip()
            if ref in ids and rel.get("type") == "2":
                children[ident].add(ref)
            if ref in ids and rel.get("type") == "1":
                children[ref].add(ident)

    def spending(act: etree._Element) -> dict[tuple[int, str], Decimal]:
        out: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
        for tx in act.iterfind("transaction"):
            if tx.find("transaction-type").get("code") != "4":
                continue
            value = tx.find("value")
            when = tx.find("transaction-date").get("iso-date")[:10]
            currency = value.get("currency") or act.get("default-currency")
            out[(dt.date.fromisoformat(when).year, currency)] += Decimal(value.text.strip())
        return out

    def descendant_years(ident: str, seen: frozenset[str] = frozenset()) -> set[int]:
        years: set[int] = set()
        for child in children[ident] - seen - {ident}:
            years |= {y for y, _c in spending(ids[child])}
            years |= descendant_years(child, seen | {ident})
        return years

    expected: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for act in by_country[code]:
        covered = descendant_years(act.findtext("iati-identifier").strip())
        for (year, currency), value in spending(act).items():
            if year not in covered:
                expected[(year, currency)] += value
    data = client.get(f"/countries/{code}.json").json()
    got = {
        (r["year"], r["currency"]): Decimal(str(r["expenditure"]))
        for r in data["tables"]["budget_and_expenditure_by_year"]["rows"]
        if r["expenditure"] is not None
    }
    assert got == dict(expected)
