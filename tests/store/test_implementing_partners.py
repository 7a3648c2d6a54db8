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


SAME_NAME = """<?xml version="1.0" encoding="UTF-8"?>
<iati-activities version="2.03" generated-datetime="2024-01-01T00:00:00">
  <iati-activity last-updated-datetime="2024-01-01T00:00:00" xml:lang="en" default-currency="USD">
    <iati-identifier>XX-HOME-3</iati-identifier>
    <reporting-org ref="XX-HOME" type="10"><narrative>Home Agency</narrative></reporting-org>
    <title><narrative>Two partners of one name</narrative></title>
    <participating-org ref="ZZ-1" role="4" type="22"><narrative>Same</narrative></participating-org>
    <recipient-country code="ML"/>
    <transaction><transaction-type code="3"/><transaction-date iso-date="2023-05-31"/>
      <value value-date="2023-05-31">60</value><receiver-org ref="Same"/></transaction>
  </iati-activity>
</iati-activities>
"""


def test_partners_of_one_name_come_by_ref_whatever_the_plan(engine: Engine, tmp_path: Path) -> None:
    # "ZZ-1" named "Same" (participating) and a receiver whose ref is "Same" (no name) sort
    # alike by name; the ref decides, not the order in which the query's rows arrive (which
    # changed with SQLite's plan and reordered a country's list).
    path = tmp_path / "same-name.xml"
    path.write_text(SAME_NAME, encoding="utf-8")
    assert not ingest(engine, [str(path)]).failed
    assert _partners(engine) == [
        ("Same", None, ["receiver-org"]),
        ("ZZ-1", "Same", ["participating-org"]),
    ]


def _payment(name: str, day: int) -> str:
    return (
        f'<transaction><transaction-type code="4"/><transaction-date iso-date="2023-06-{day:02d}"/>'
        f'<value value-date="2023-06-{day:02d}">10</value>'
        f'<receiver-org ref="XX-NGO-9"><narrative>{name}</narrative></receiver-org></transaction>'
    )


def test_the_name_most_often_given_wins_counting_every_payment(
    engine: Engine, tmp_path: Path
) -> None:
    # "Zeta Aid" on three payments, "Beta Aid" on two: Zeta wins, though in one activity
    # (the counts kept per activity and name must be summed, not counted as one each).
    payments = "".join(
        [_payment("Zeta Aid", d) for d in (1, 2, 3)] + [_payment("Beta Aid", d) for d in (4, 5)]
    )
    path = tmp_path / "names.xml"
    path.write_text(
        SAME_NAME.replace("XX-HOME-3", "XX-HOME-4").replace(
            '<recipient-country code="ML"/>', f'<recipient-country code="ML"/>{payments}'
        ),
        encoding="utf-8",
    )
    assert not ingest(engine, [str(path)]).failed
    assert ("XX-NGO-9", "Zeta Aid", ["receiver-org"]) in _partners(engine)
    assert ("XX-NGO-9", "Zeta Aid", ["receiver-org"]) in _partners(engine, year=2023)
