"""Incremental refresh of the derived tables equals a full rebuild, row for row.

A random sequence (seeded; the seed is in every failure message, and
IATIPORTAL_INCREMENTAL_SEED replays it) of adds, replacements and removals of small files
written here, on both databases: after each ingest, every derived table is compared with a
full rebuild of the same store (run in a transaction that is then rolled back). Then focused
cases of the dependencies written by hand: a child's change alters its parent's figures, and an
identifier's second copy wins and then goes.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, Engine, func, insert, select, text

from iatiportal.cli import main
from iatiportal.ingest.sources import expand
from iatiportal.profile import MoneyRules, Portal, Profile
from iatiportal.store import chains, facts, load, search
from iatiportal.store import schema as s
from iatiportal.store.filters import Filters
from iatiportal.store.money import by_activity, totals

ORGS = ("XX-INC", "XX-ALT")
IDENTIFIERS = [f"{org}-{n}" for org in ORGS for n in range(1, 7)]
WORDS = ("water", "school", "health", "roads", "seeds", "clinic", "wells", "markets")

# Every derived table as rows without surrogate ids (money_fact_sector with its fact's
# dimensions instead of its id).
_FACT_COLUMNS = [c.name for c in s.money_fact.columns if c.name != "id"]
DERIVED: dict[str, str] = {
    "money_fact": f"SELECT {', '.join(_FACT_COLUMNS)} FROM money_fact",
    "money_fact_sector": (
        f"SELECT {', '.join('f.' + c for c in _FACT_COLUMNS)}, fs.sector_vocabulary, "
        "fs.sector_code, fs.value FROM money_fact_sector fs "
        "JOIN money_fact f ON f.id = fs.money_fact_id"
    ),
    **{
        t.name: f"SELECT {', '.join(c.name for c in t.columns if c.name != 'id')} FROM {t.name}"
        for t in (
            s.money_total,
            s.money_total_sector,
            s.money_summary,
            s.money_summary_sector,
            s.participating_funder,
            s.activity_implementer,
            s.activity_year,
            s.country_activities,
            s.activity_country,
            s.activity_descendant,
            s.activity_link,
            s.search_text,
            s.funding_link,
        )
    },
    "link_problems": (
        "SELECT source_file_id, file_path, line, iati_identifier, severity, rule, message "
        f"FROM problem WHERE rule = '{chains.LINK_RULE}'"
    ),
    "cycle_problems": (
        "SELECT source_file_id, file_path, line, iati_identifier, severity, rule, message "
        f"FROM problem WHERE rule = '{facts.CYCLE_RULE}'"
    ),
}


def snapshot(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {
        name: sorted((tuple(r) for r in conn.exec_driver_sql(sql)), key=repr)
        for name, sql in DERIVED.items()
    }


def full_rebuild_of(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """The derived tables a full rebuild of the store makes, leaving the store as it was."""
    with engine.connect() as conn:
        transaction = conn.begin()
        load._refresh(conn, full=True)
        rebuilt = snapshot(conn)
        transaction.rollback()
    return rebuilt


def differences(
    got: dict[str, list[tuple[Any, ...]]], want: dict[str, list[tuple[Any, ...]]]
) -> dict[str, Any]:
    diff = {}
    for name, wanted in want.items():
        if got[name] != wanted:
            extra = [r for r in got[name] if r not in wanted]
            missing = [r for r in wanted if r not in got[name]]
            diff[name] = {"extra": extra[:5], "missing": missing[:5]}
    return diff


# -- files written from code -------------------------------------------------------------------


def activity_xml(ident: str, rng: random.Random, stamp: str) -> str:
    org = ident.rsplit("-", 1)[0]
    parts = [
        f'<iati-activity last-updated-datetime="{stamp}" xml:lang="en" '
        f'default-currency="{rng.choice(["USD", "EUR", "GBP"])}"'
        f"{' humanitarian=' + chr(34) + '1' + chr(34) if rng.random() < 0.2 else ''}>",
        f"<iati-identifier>{ident}</iati-identifier>",
        f'<reporting-org ref="{org}" type="10"><narrative>Org {org}</narrative></reporting-org>',
        f"<title><narrative>{' '.join(rng.sample(WORDS, 2))} {ident}</narrative></title>",
    ]
    if rng.random() < 0.7:
        parts.append(
            f"<description><narrative>{' '.join(rng.sample(WORDS, 3))}</narrative></description>"
        )
    if rng.random() < 0.5:
        parts.append(
            f'<participating-org ref="XX-FUNDER-{rng.randint(1, 3)}" role="1">'
            "<narrative>A funder</narrative></participating-org>"
        )
    countries = rng.sample(["KE", "UG", "TZ", "SN"], rng.randint(0, 2))
    for code in countries:
        pct = f' percentage="{rng.choice([30, 50, 70, 100])}"' if rng.random() < 0.7 else ""
        parts.append(f'<recipient-country code="{code}"{pct}/>')
    if not countries and rng.random() < 0.5:
        parts.append('<recipient-region code="298" vocabulary="1" percentage="100"/>')
    for code in rng.sample(["11110", "12220", "14030", "31120"], rng.randint(0, 2)):
        pct = f' percentage="{rng.choice([25, 50, 75, 100])}"' if rng.random() < 0.8 else ""
        parts.append(f'<sector code="{code}" vocabulary="1"{pct}/>')
    for _ in range(rng.randint(0, 3)):
        year = rng.randint(2020, 2023)
        end = f"{year + rng.randint(0, 1)}-{rng.choice(['06-30', '12-31'])}"
        parts.append(
            f'<budget type="{rng.choice("12")}" status="{rng.choice("12")}">'
            f'<period-start iso-date="{year}-01-01"/><period-end iso-date="{end}"/>'
            f'<value value-date="{year}-01-15">{rng.randint(1, 90) * 100}</value></budget>'
        )
    for _ in range(rng.randint(0, 3)):
        kind = rng.choice("1234")
        day = f"{rng.randint(2020, 2023)}-0{rng.randint(1, 9)}-15"
        provider = (
            f'<provider-org ref="XX-FUNDER-{rng.randint(1, 3)}"><narrative>Funder</narrative>'
            "</provider-org>"
            if kind == "1"
            else ""
        )
        extra = ""
        # Funding links across both orgs (and to identifiers no file holds): incoming funds
        # name their provider's activity, commitments and disbursements their receiver's.
        linked = rng.choice([*IDENTIFIERS, "XX-GONE-1", None, None])
        if linked is not None and kind == "1":
            provider = provider.replace(
                "<provider-org", f'<provider-org provider-activity-id="{linked}"'
            )
        if kind != "1":  # a receiver: with a ref and a name, a name only, a ref only, or none
            n = rng.randint(1, 3)
            receiver = rng.choice(
                [
                    f'<receiver-org ref="XX-PARTNER-{n}"><narrative>Partner {n}</narrative>'
                    "</receiver-org>",
                    f"<receiver-org><narrative>Group {n}</narrative></receiver-org>",
                    f'<receiver-org ref="XX-PARTNER-{n}"/>',
                    "",
                ]
            )
            if linked is not None and kind in "23":
                receiver = (
                    receiver.replace(
                        "<receiver-org", f'<receiver-org receiver-activity-id="{linked}"'
                    )
                    if receiver
                    else f'<receiver-org receiver-activity-id="{linked}"><narrative>R</narrative>'
                    "</receiver-org>"
                )
            extra += receiver
        if rng.random() < 0.2:
            extra += '<sector code="15110" vocabulary="1"/>'
        if rng.random() < 0.2 and not countries:
            extra += '<recipient-country code="ML"/>'
        parts.append(
            f'<transaction><transaction-type code="{kind}"/><transaction-date iso-date="{day}"/>'
            f'<value value-date="{day}">{rng.randint(1, 50) * 10}</value>{provider}{extra}'
            "</transaction>"
        )
    if rng.random() < 0.3:
        other = rng.choice([*IDENTIFIERS, "XX-GONE-2"])
        parts.append(
            f'<participating-org ref="XX-OTHER" role="{rng.choice("134")}" activity-id="{other}">'
            "<narrative>Linked</narrative></participating-org>"
        )
    same_org = [i for i in IDENTIFIERS if i.startswith(org + "-") and i != ident]
    for other in rng.sample(same_org, rng.choice([0, 0, 1, 2])):
        parts.append(f'<related-activity ref="{other}" type="{rng.choice("12")}"/>')
    if rng.random() < 0.2:  # across orgs: a funding link, not a hierarchy
        other = rng.choice([i for i in IDENTIFIERS if not i.startswith(org + "-")])
        parts.append(f'<related-activity ref="{other}" type="{rng.choice("12")}"/>')
    parts.append("</iati-activity>")
    return "\n".join(parts)


def write_file(path: Path, activities: list[str]) -> None:
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<iati-activities version="2.03" generated-datetime="2024-01-01T00:00:00">\n'
        + "\n".join(activities)
        + "\n</iati-activities>\n",
        encoding="utf-8",
    )


def ingest(engine: Engine, *paths: Path) -> None:
    summary = load.ingest(engine, [str(p) for p in paths], validate=False)
    assert [f.status for f in summary.files] == ["ingested"] * len(paths), summary.files


@pytest.fixture
def scoped_always(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Make every refresh incremental however much changed; record each choice."""
    monkeypatch.setattr(facts, "FULL_SHARE", math.inf)
    chosen: list[bool] = []
    real = facts.scope

    def recording(conn: Connection) -> bool:
        chosen.append(real(conn))
        return chosen[-1]

    monkeypatch.setattr(facts, "scope", recording)
    return chosen


def with_rates(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(s.exchange_rate),
            [
                {"currency": c, "rate_date": dt.date(y, m, 1), "usd_per_unit": r, "source": "t"}
                for c, r in (("EUR", 1.1), ("GBP", 1.3))
                for y in range(2020, 2024)
                for m in range(1, 13)
            ],
        )


def recorded_fact_counts(engine: Engine) -> tuple[int, int]:
    """The numbers of money facts and sector facts the last refresh recorded."""
    with engine.connect() as conn:
        row = conn.execute(select(s.money_refresh.c.facts, s.money_refresh.c.sector_facts)).one()
    return int(row.facts), int(row.sector_facts)


def test_random_changes_equal_a_full_rebuild(
    engine: Engine, tmp_path: Path, scoped_always: list[bool]
) -> None:
    seed = int(os.environ.get("IATIPORTAL_INCREMENTAL_SEED", random.randrange(1_000_000)))
    rng = random.Random(seed)
    with_rates(engine)
    files = [tmp_path / f"file-{n}.xml" for n in range(4)]
    held: dict[Path, list[str]] = {}
    history: list[str] = []
    most = 0  # the most derived rows any step held: the sequence exercised them
    for step in range(24):
        path = rng.choice(files)
        before = held.get(path, [])
        action = rng.choice(["add", "replace", "replace", "remove", "copy"])
        if action == "add" or not before:
            kept = sorted(set(before) | set(rng.sample(IDENTIFIERS, rng.randint(1, 4))))
        elif action == "remove":
            kept = rng.sample(before, rng.randint(0, len(before) - 1))
        elif action == "copy":  # an identifier another file holds, later or earlier
            others = [i for p, ids in held.items() if p != path for i in ids]
            kept = sorted(set(before) | set(rng.sample(others, min(2, len(others)))))
        else:
            kept = before
        stamp = f"202{rng.randint(2, 4)}-01-01T00:00:00"
        held[path] = kept
        write_file(path, [activity_xml(i, rng, stamp) for i in kept])
        history.append(f"{step}: {action} {path.name} {kept} @{stamp}")
        ingest(engine, path)
        with engine.connect() as conn:
            got = snapshot(conn)
            if engine.dialect.name == "sqlite":  # the FTS5 index matches its content table
                conn.exec_driver_sql(
                    "INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)"
                )
        most = max(most, sum(len(v) for v in got.values()))
        diff = differences(got, full_rebuild_of(engine))
        assert not diff, f"seed {seed}, after {history}: {diff}"
        assert recorded_fact_counts(engine) == (
            len(got["money_fact"]),
            len(got["money_fact_sector"]),
        ), f"seed {seed}, after {history}"
    # The first ingest builds everything; every later one was incremental.
    assert scoped_always[0] is False and all(scoped_always[1:]), f"seed {seed}"
    # The last step may leave few rows (a removal); what counts is what the sequence held.
    assert most > 100, f"seed {seed}: the sequence made too few derived rows ({most})"


# -- focused cases -----------------------------------------------------------------------------

PARENT = """<iati-activity last-updated-datetime="2022-01-01T00:00:00" default-currency="USD">
<iati-identifier>XX-INC-P</iati-identifier>
<reporting-org ref="XX-INC" type="10"><narrative>Org</narrative></reporting-org>
<title><narrative>Parent programme</narrative></title>
<recipient-country code="KE"/>
<budget type="1" status="2"><period-start iso-date="2021-01-01"/>
<period-end iso-date="2021-12-31"/><value value-date="2021-01-01">1000</value></budget>
<budget type="1" status="2"><period-start iso-date="2022-01-01"/>
<period-end iso-date="2022-12-31"/><value value-date="2022-01-01">500</value></budget>
<related-activity ref="XX-INC-C" type="2"/>
</iati-activity>"""

CHILD = """<iati-activity last-updated-datetime="{stamp}" default-currency="USD">
<iati-identifier>XX-INC-C</iati-identifier>
<reporting-org ref="XX-INC" type="10"><narrative>Org</narrative></reporting-org>
<title><narrative>{title}</narrative></title>
<recipient-country code="KE"/>
<budget type="1" status="2"><period-start iso-date="{year}-01-01"/>
<period-end iso-date="{year}-12-31"/><value value-date="{year}-01-01">{value}</value></budget>
</iati-activity>"""


def budgets(engine: Engine) -> dict[tuple[str, int | None], Decimal]:
    with engine.connect() as conn:
        rows = by_activity(conn, None, Filters(reporting_org=("XX-INC",)), ("budget",))
        per_year = {}
        for year in (2021, 2022):
            for r in by_activity(conn, None, Filters(year=year), ("budget",)):
                per_year[(r.iati_identifier, year)] = r.value
    assert {r.iati_identifier for r in rows} >= {k for k, _ in per_year}
    return per_year


def titles(conn: Connection, q: str) -> list[str]:
    marks = {ord(search.MARK_START): None, ord(search.MARK_END): None}
    return [h.title.translate(marks) for h in search.search(conn, q).hits]


def country_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(s.country_activities.c.activities).where(
                    s.country_activities.c.recipient_country_code == "KE"
                )
            ).scalar_one()
        )


def test_a_child_change_changes_its_parents_figures(
    engine: Engine, tmp_path: Path, scoped_always: list[bool]
) -> None:
    parent, child = tmp_path / "parent.xml", tmp_path / "child.xml"
    write_file(parent, [PARENT])
    write_file(
        child, [CHILD.format(stamp="2022-01-01T00:00:00", title="Child", year=2021, value=600)]
    )
    ingest(engine, parent)
    assert budgets(engine) == {("XX-INC-P", 2021): Decimal(1000), ("XX-INC-P", 2022): Decimal(500)}
    # The child the parent names arrives (only its own file is ingested).
    ingest(engine, child)
    # The child's 2021 budget stands for the parent's 2021 one; the parent's 2022 counts.
    assert budgets(engine) == {("XX-INC-C", 2021): Decimal(600), ("XX-INC-P", 2022): Decimal(500)}
    assert country_count(engine) == 1  # the child counts under its parent
    # The child's budget moves to 2022 (only the child's file changes).
    write_file(
        child, [CHILD.format(stamp="2022-01-01T00:00:00", title="Child", year=2022, value=700)]
    )
    ingest(engine, child)
    assert budgets(engine) == {
        ("XX-INC-P", 2021): Decimal(1000),
        ("XX-INC-C", 2022): Decimal(700),
    }
    # The child goes: the parent's figures are all its own again, and the child no longer
    # hides behind it.
    write_file(child, [])
    ingest(engine, child)
    assert budgets(engine) == {("XX-INC-P", 2021): Decimal(1000), ("XX-INC-P", 2022): Decimal(500)}
    assert country_count(engine) == 1
    assert scoped_always == [False, True, True, True]


def test_a_second_copy_wins_then_goes(
    engine: Engine, tmp_path: Path, scoped_always: list[bool]
) -> None:
    first, second = tmp_path / "first.xml", tmp_path / "second.xml"
    write_file(
        first, [CHILD.format(stamp="2022-01-01T00:00:00", title="Wells", year=2021, value=100)]
    )
    ingest(engine, first)
    assert budgets(engine) == {("XX-INC-C", 2021): Decimal(100)}
    # A later copy in another file wins: its figures and its text replace the first's.
    write_file(
        second, [CHILD.format(stamp="2023-01-01T00:00:00", title="Seeds", year=2021, value=300)]
    )
    ingest(engine, second)
    assert budgets(engine) == {("XX-INC-C", 2021): Decimal(300)}
    with engine.connect() as conn:
        assert titles(conn, "seeds") == ["Seeds"]
        assert search.search(conn, "wells").total == 0
        assert [(r.measure, r.value) for r in totals(conn, None, Filters(), ("budget",))] == [
            ("budget", Decimal(300))
        ]
    # The later copy goes: the first is current again.
    write_file(second, [])
    ingest(engine, second)
    assert budgets(engine) == {("XX-INC-C", 2021): Decimal(100)}
    with engine.connect() as conn:
        assert titles(conn, "wells") == ["Wells"]
        assert search.search(conn, "seeds").total == 0
    assert scoped_always == [False, True, True]


def stale_vectors(conn: Connection) -> list[tuple[Any, ...]]:
    """Search text rows whose stored tsvector is not that of their text (PostgreSQL)."""
    expression = search.VECTOR.format("title", "body")
    return conn.exec_driver_sql(
        f"SELECT activity_id, title, body, vector FROM search_text "
        f"WHERE vector IS NULL OR vector <> {expression}"
    ).all()


def test_the_search_index_follows_an_incremental_change(
    engine: Engine, tmp_path: Path, scoped_always: list[bool]
) -> None:
    """What search matches is the text as the last refresh wrote it: on PostgreSQL each row's
    stored ``vector`` is the tsvector of its text, Chinese rows (rewritten by
    ``make_searchable`` after the insert) too; on SQLite the FTS5 index agrees with its
    content table."""
    path = tmp_path / "file.xml"
    for stamp, title in (("2022-01-01T00:00:00", "Wells"), ("2023-01-01T00:00:00", "Seeds")):
        write_file(
            path,
            [
                CHILD.format(stamp=stamp, title=title, year=2021, value=100),
                PARENT.replace("Parent programme", f"{title} 妇女经济"),
            ],
        )
        ingest(engine, path)
        with engine.connect() as conn:
            assert sorted(titles(conn, title)) == [title, f"{title} 妇女经济"]
            assert len(search.search(conn, "妇女").hits) == 1
            if engine.dialect.name == "postgresql":
                assert stale_vectors(conn) == []
            else:
                conn.exec_driver_sql(
                    "INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)"
                )
    with engine.connect() as conn:
        assert search.search(conn, "wells").total == 0
    assert scoped_always == [False, True]


def test_changes_stored_without_a_refresh_are_not_lost(engine: Engine, tmp_path: Path) -> None:
    """An ingest that stops before the refresh (here: asked not to run it) leaves its
    changes recorded; the next refresh takes them into account."""
    first, second = tmp_path / "first.xml", tmp_path / "second.xml"
    write_file(
        first, [CHILD.format(stamp="2022-01-01T00:00:00", title="Wells", year=2021, value=100)]
    )
    ingest(engine, first)
    write_file(second, [PARENT])
    summary = load.ingest(engine, [str(second)], validate=False, refresh=False)
    assert summary.files[0].status == "ingested"
    with engine.connect() as conn:
        assert facts.has_pending(conn)
        assert conn.execute(select(s.search_text.c.activity_id)).all() != []
    assert budgets(engine) == {("XX-INC-C", 2021): Decimal(100)}
    load.refresh_derived(engine)
    with engine.connect() as conn:
        assert not facts.has_pending(conn)
        assert snapshot(conn) == full_rebuild_of(engine)
    # The parent's link to the child stored before counts: its 2021 budget gives way.
    assert budgets(engine) == {("XX-INC-C", 2021): Decimal(100), ("XX-INC-P", 2022): Decimal(500)}


def test_rebuild_command_makes_every_derived_table_again(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "parent.xml"
    write_file(path, [PARENT])
    ingest(sqlite_engine, path)
    with sqlite_engine.connect() as conn:
        built = snapshot(conn)
    with sqlite_engine.begin() as conn:
        for name in ("money_fact", "money_total", "search_text", "activity_link"):
            conn.execute(text(f"DELETE FROM {name}"))
    result = CliRunner().invoke(main, ["rebuild", "--db", str(sqlite_engine.url)])
    assert result.exit_code == 0, result.output
    assert "derived tables rebuilt" in result.output
    with sqlite_engine.connect() as conn:
        assert snapshot(conn) == built
        assert built["money_total"] and built["search_text"]


def test_a_removed_file_updates_what_it_touched(
    engine: Engine, tmp_path: Path, scoped_always: list[bool]
) -> None:
    """``load.remove`` (a dataset the IATI Registry no longer lists, ``iatiportal refresh``):
    the other file's copy becomes current and the derived tables equal a full rebuild."""
    first, second = tmp_path / "first.xml", tmp_path / "second.xml"
    write_file(
        first, [CHILD.format(stamp="2022-01-01T00:00:00", title="Wells", year=2021, value=100)]
    )
    write_file(
        second,
        [
            CHILD.format(stamp="2023-01-01T00:00:00", title="Seeds", year=2021, value=300),
            PARENT,
        ],
    )
    ingest(engine, first, second)
    assert budgets(engine)[("XX-INC-C", 2021)] == Decimal(300)
    load.remove(engine, expand([str(second)]))
    assert budgets(engine) == {("XX-INC-C", 2021): Decimal(100)}
    with engine.connect() as conn:
        assert titles(conn, "wells") == ["Wells"]
        assert search.search(conn, "parent").total == 0
        got = snapshot(conn)
    assert not differences(got, full_rebuild_of(engine))
    assert scoped_always[-1] is True  # the removal was incremental


def country_counts(engine: Engine) -> dict[tuple[str | None, str], int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                s.country_activities.c.reporting_org_ref,
                s.country_activities.c.recipient_country_code,
                s.country_activities.c.activities,
            )
        )
        return {(org, code): n for org, code, n in rows}


def test_country_counts_change_for_the_changed_activities_countries_only(
    engine: Engine, tmp_path: Path, scoped_always: list[bool]
) -> None:
    """A changed file's refresh updates the counts of the countries its activities named
    before and after the change, by difference, and reads no other country of the publisher
    (here a count set by hand stays as it was: it was not recounted)."""
    kenya, uganda = tmp_path / "kenya.xml", tmp_path / "uganda.xml"
    write_file(
        kenya, [CHILD.format(stamp="2022-01-01T00:00:00", title="Wells", year=2021, value=100)]
    )
    alone = PARENT.replace('<related-activity ref="XX-INC-C" type="2"/>', "")
    write_file(uganda, [alone.replace("XX-INC-P", "XX-INC-U").replace('"KE"', '"UG"')])
    ingest(engine, kenya, uganda)
    assert country_counts(engine) == {("XX-INC", "KE"): 1, ("XX-INC", "UG"): 1}
    with engine.begin() as conn:
        conn.execute(
            s.country_activities.update()
            .where(s.country_activities.c.recipient_country_code == "UG")
            .values(activities=99)
        )
    # Kenya's activity moves to Tanzania and a second one arrives in Kenya.
    moved = CHILD.format(stamp="2022-01-01T00:00:00", title="Wells", year=2021, value=100)
    write_file(
        kenya,
        [
            moved.replace('"KE"', '"TZ"'),
            moved.replace("XX-INC-C", "XX-INC-K"),
            moved.replace("XX-INC-C", "XX-INC-KT").replace(
                '<recipient-country code="KE"/>',
                '<recipient-country code="KE"/><recipient-country code="TZ"/>',
            ),
        ],
    )
    ingest(engine, kenya)
    assert country_counts(engine) == {
        ("XX-INC", "KE"): 2,
        ("XX-INC", "TZ"): 2,
        ("XX-INC", "UG"): 99,  # not recounted
    }
    # The file empties: Kenya and Tanzania go, Uganda is still untouched.
    write_file(kenya, [])
    ingest(engine, kenya)
    assert country_counts(engine) == {("XX-INC", "UG"): 99}
    assert all(scoped_always[1:]) and len(scoped_always) == 3


def test_the_numbers_of_facts_go_by_difference(
    engine: Engine, tmp_path: Path, scoped_always: list[bool]
) -> None:
    """An incremental refresh records the numbers of facts as the last ones plus those it
    stored minus those it deleted: it does not count the whole tables (here a number set by
    hand stays off by as much)."""
    path = tmp_path / "parent.xml"
    write_file(path, [PARENT])
    ingest(engine, path)
    with engine.begin() as conn:
        conn.execute(
            s.money_refresh.update().values(
                facts=s.money_refresh.c.facts + 1000,
                sector_facts=s.money_refresh.c.sector_facts + 100,
            )
        )
    write_file(path, [PARENT.replace(">500<", ">700<")])
    ingest(engine, path)
    with engine.connect() as conn:
        real = [
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (s.money_fact, s.money_fact_sector)
        ]
    assert real[0] > 0
    assert recorded_fact_counts(engine) == (real[0] + 1000, real[1] + 100)
    assert scoped_always == [False, True]


FUNDER = """<iati-activity last-updated-datetime="2022-01-01T00:00:00" default-currency="USD">
<iati-identifier>XX-INC-A</iati-identifier>
<reporting-org ref="XX-INC" type="10"><narrative>Org</narrative></reporting-org>
<title><narrative>Funder</narrative></title>
<transaction><transaction-type code="3"/><transaction-date iso-date="2022-03-01"/>
<value value-date="2022-03-01">900</value>
<receiver-org ref="XX-ALT" receiver-activity-id="XX-ALT-B"><narrative>B</narrative></receiver-org>
</transaction>
<transaction><transaction-type code="3"/><transaction-date iso-date="2022-04-01"/>
<value value-date="2022-04-01">100</value><receiver-org ref="XX-ALT"><narrative>B</narrative>
</receiver-org></transaction>
</iati-activity>"""
"""XX-INC-A disburses 900 to XX-ALT-B (by its activity id) and 100 to XX-ALT (no activity)."""

FUNDED = """<iati-activity last-updated-datetime="2022-01-01T00:00:00" default-currency="USD">
<iati-identifier>XX-ALT-B</iati-identifier>
<reporting-org ref="XX-ALT" type="10"><narrative>Alt</narrative></reporting-org>
<title><narrative>Funded</narrative></title>
<transaction><transaction-type code="1"/><transaction-date iso-date="2022-03-05"/>
<value value-date="2022-03-05">900</value>
<provider-org ref="XX-INC" provider-activity-id="XX-INC-A"><narrative>A</narrative>
</provider-org></transaction>
{spending}
</iati-activity>"""
"""XX-ALT-B: the 900 as incoming funds from XX-INC-A, and ``spending``."""

SPENDS = """<transaction><transaction-type code="4"/><transaction-date iso-date="2022-05-01"/>
<value value-date="2022-05-01">{value}</value></transaction>"""


def funder_expenditure(engine: Engine) -> Decimal:
    """XX-INC-A's expenditure, its publisher's disbursements counting as expenditure."""
    rules = Portal(
        (
            Profile(
                key="xx-inc",
                reporting_org_refs=("XX-INC",),
                money=MoneyRules(disbursements_are_expenditure=True),
            ),
        )
    )
    with engine.connect() as conn:
        rows = totals(conn, rules, Filters(activity="XX-INC-A"), ("expenditure",))
    return sum((r.value for r in rows), Decimal(0))


def test_the_funded_activity_arriving_and_going_flips_its_funders_figures(
    engine: Engine, tmp_path: Path, scoped_always: list[bool]
) -> None:
    """Whether A's disbursement to B is passed on (not A's expenditure) follows what B reports:
    only B's file changes, A's facts are made again, and equal a full rebuild's."""
    funder, funded = tmp_path / "funder.xml", tmp_path / "funded.xml"
    write_file(funder, [FUNDER])
    ingest(engine, funder)
    assert funder_expenditure(engine) == Decimal(1000)  # B is not held: all A's expenditure
    steps = [
        # B arrives and spends: the 900 is counted where it is spent.
        ([FUNDED.format(spending=SPENDS.format(value=800))], Decimal(100)),
        # B's new version reports no spending: the 900 is A's expenditure again.
        ([FUNDED.format(spending="").replace("2022-01-01T00:00:00", "2022-06-01T00:00:00")],
         Decimal(1000)),
        # B spends again, then goes.
        ([FUNDED.format(spending=SPENDS.format(value=50)).replace("2022-01", "2022-07")],
         Decimal(100)),
        ([], Decimal(1000)),
    ]  # fmt: skip
    for activities, expected in steps:
        write_file(funded, activities)
        ingest(engine, funded)
        assert funder_expenditure(engine) == expected, activities
        with engine.connect() as conn:
            got = snapshot(conn)
            passed = conn.execute(
                select(func.count()).select_from(s.money_fact).where(s.money_fact.c.passed_on)
            ).scalar_one()
        assert passed == (1 if expected == Decimal(100) else 0)
        assert not differences(got, full_rebuild_of(engine))
    assert scoped_always == [False, True, True, True, True]
