"""The money summaries (``money_summary``, ``money_summary_sector``): the totals summed over
the provider and receiver organisations. Questions that name neither read them; the figures
are those of the totals. ``tests/fixtures/flows-receivers.xml`` spends in Mali in 2023 with
many receivers (its comment lists the transactions)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Connection, Engine, event, func, select

from iatiportal.store import money
from iatiportal.store import schema as s
from iatiportal.store.filters import Filters
from iatiportal.store.load import ingest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "flows-receivers.xml"


@contextmanager
def statements(conn: Connection) -> Iterator[list[str]]:
    """The SQL that ``conn`` runs inside the block."""
    seen: list[str] = []

    def note(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(conn, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(conn, "before_cursor_execute", note)


def test_a_countrys_totals_come_from_the_summary_with_every_receivers_money(
    engine: Engine,
) -> None:
    assert not ingest(engine, [str(FIXTURE)]).failed
    with engine.connect() as conn:
        with statements(conn) as seen:
            rows = money.by_year(conn, None, Filters(country="ML"))
        # Receivers summed away: fewer groups than the totals keep.
        groups = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (s.money_total, s.money_summary)
        }
        with statements(conn) as partners:
            receivers = money.receivers(conn, None, Filters(country="ML", year=2023))
    spent = {(r.measure, r.year): r.value for r in rows if r.currency == "USD"}
    # Type 4 in ML, 2023: XX-HOME-1 300.25 + 100 + 50 + 70 + 30; XX-HOME-2 60 % of 1000 + 10;
    # XX-HOME-3 5 (type 3 is not expenditure under the neutral rules).
    assert spent[("expenditure", 2023)] == Decimal("1161.25")
    assert spent[("expenditure", 2022)] == Decimal("80")
    assert any("money_summary" in q for q in seen)
    assert not any("money_total" in q for q in seen)
    assert groups["money_summary"] < groups["money_total"]
    # Questions that name a receiver still read the totals, and add up to the same sum.
    assert any("money_total" in q for q in partners)
    assert sum(r.value for r in receivers if r.currency == "USD") == Decimal("1161.25")
