"""The implementing partners that the flow of funds names (issue 15), on both databases: role-4
participating orgs and receivers of disbursements and expenditure, the home publisher left
out (tests/fixtures/flows-implementing-partners.xml says what each case is)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from iatiportal.store import queries
from iatiportal.store.filters import Filters
from iatiportal.store.load import ingest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "flows-implementing-partners.xml"
HOME = ("XX-HOME",)


def _partners(engine: Engine, **filters: object) -> list[tuple[str | None, str | None, list[str]]]:
    with engine.connect() as conn:
        found = queries.implementing_partners(
            conn,
            Filters(reporting_org=HOME, **filters),  # type: ignore[arg-type]
            exclude=HOME,
        )
    return [(p["ref"], p["name"], p["roles"]) for p in found]


def test_implementing_partners_of_a_year(engine: Engine) -> None:
    assert not ingest(engine, [str(FIXTURE)]).failed
    assert _partners(engine, year=2023) == [
        (None, "Local Group", ["receiver-org"]),
        # Named once "NGO One" and once "NGO 1": the most frequent name, ties by text order.
        ("XX-NGO-1", "NGO 1", ["participating-org", "receiver-org"]),
        (None, "Senegal Partner", ["participating-org"]),
    ]
    assert [p[0] or p[1] for p in _partners(engine, year=2023, country="ML")] == [
        "Local Group",
        "XX-NGO-1",
    ]
    assert "XX-NGO-2" in {p[0] for p in _partners(engine, year=2022)}
    assert "XX-NGO-2" in {p[0] for p in _partners(engine)}
