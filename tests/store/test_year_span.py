"""``Filters(years=(first, last))``, a span of years (a plan period), on both databases: the
money of a span is the money of its years, and it selects the activities of any of its years.
The demo's money is of 2022-2024, each year's checked against the single-year filter."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from stores import KINDS, migrated_store

from iatiportal.demo.load import load_demo
from iatiportal.profile import bundled, load_portal
from iatiportal.store import money
from iatiportal.store.filters import Filters, selected_ids

PORTAL = load_portal([bundled("unwomen")])
MEASURES = ("budget", "expenditure", "incoming")


@pytest.fixture(scope="module", params=KINDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    with migrated_store(request.param, tmp_path_factory.mktemp("span")) as store:
        assert not load_demo(store).ingest.failed
        yield store


def sums(engine: Engine, filters: Filters) -> dict[tuple[str, str | None], Decimal]:
    with engine.connect() as conn:
        rows = money.totals(conn, PORTAL, filters, MEASURES)
    out: dict[tuple[str, str | None], Decimal] = defaultdict(Decimal)
    for r in rows:
        out[(r.measure, r.currency)] += r.value
    return dict(out)


def ids(engine: Engine, filters: Filters) -> set[int]:
    with engine.connect() as conn:
        return set(conn.execute(selected_ids(filters, engine.dialect.name)).scalars())


def test_a_span_is_the_sum_of_its_years(engine: Engine) -> None:
    mali = "ML"
    years = {y: sums(engine, Filters(country=mali, year=y)) for y in (2021, 2022, 2023, 2024)}
    assert years[2022] and years[2023] and not years[2021]
    expected: dict[tuple[str, str | None], Decimal] = defaultdict(Decimal)
    for y in (2022, 2023):
        for key, value in years[y].items():
            expected[key] += value
    assert sums(engine, Filters(country=mali, years=(2022, 2023))) == dict(expected)
    assert sums(engine, Filters(country=mali, years=(2018, 2021))) == {}
    for y, one in years.items():
        assert sums(engine, Filters(country=mali, years=(y, y))) == one


def test_a_span_selects_the_activities_of_any_of_its_years(engine: Engine) -> None:
    each = [ids(engine, Filters(year=y)) for y in (2023, 2024)]
    assert ids(engine, Filters(years=(2023, 2024))) == each[0] | each[1]
    assert ids(engine, Filters(years=(2010, 2015))) == set()
