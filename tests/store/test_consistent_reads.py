"""Readers see the store before an ingest or after it, never a mix; a kill leaves one of the two.

Issue 10: between a file's commit and the rebuild of the derived tables, search answered 500
("database disk image is malformed") and money totals lagged the raw rows by seconds; a kill
during the derived refresh left the search index broken until the next ingest.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from serving import IATIPORTAL, served, without_proxies
from sqlalchemy import Engine, text

from iatiportal.store.db import make_engine, migrate

pytestmark = pytest.mark.slow

OLD_WORD, NEW_WORD = "ocelotfirst", "zebrafinchsecond"
BOTH_WORD = "quokkaeither"  # in the activity's title in both versions, and nowhere else


def _generate(shared: Path, n: int, out: Path, seed: int) -> None:
    tool = shared.parent / "tools" / "gen_iati.py"
    subprocess.run([sys.executable, str(tool), str(n), str(out), str(seed)], check=True)


def _first_identifier(xml: str) -> str:
    found = re.search(r"<iati-identifier>([^<]+)</iati-identifier>", xml)
    assert found, "the generated file has no activity"
    return found.group(1)


def _variants(shared: Path, folder: Path) -> tuple[Path, Path, str]:
    """Two versions of one file: B has every value ×10 and another word in the first title."""
    base = folder / "base.xml"
    _generate(shared, 300, base, 7)
    xml = base.read_text()
    ident = _first_identifier(xml)

    def titled(source: str, word: str) -> str:
        return re.sub(
            r'(<title><narrative xml:lang="en">)', rf"\g<1>{BOTH_WORD} {word} ", source, count=1
        )

    a = folder / "a.xml"
    a.write_text(titled(xml, OLD_WORD))
    times_ten = re.sub(
        r"(<value\b[^>]*>)([0-9.]+)(</value>)",
        lambda m: f"{m.group(1)}{Decimal(m.group(2)) * 10}{m.group(3)}",
        xml,
    )
    b = folder / "b.xml"
    b.write_text(titled(times_ten, NEW_WORD))
    return a, b, ident


def _ingest(db: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(IATIPORTAL), "ingest", "--quiet", "--no-snapshot", "--db", db, str(path)],
        capture_output=True, text=True, env=without_proxies(), timeout=600, check=False,
    )  # fmt: skip


@dataclass
class Polls:
    statuses: list[int] = field(default_factory=list)
    states: list[tuple[Decimal, Decimal]] = field(default_factory=list)  # (facts, raw rows)
    searched: list[tuple[int, int]] = field(default_factory=list)  # hits of old, new word
    titles: list[tuple[int, str]] = field(default_factory=list)  # hits of BOTH_WORD, 1st title
    errors: list[str] = field(default_factory=list)


def _get(url: str) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=30) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as e:
        return int(e.code), bytes(e.read())


def _expenditure(page: dict[str, Any]) -> tuple[Decimal, Decimal]:
    """The activity's expenditure from the money facts and from its transactions' rows."""
    tables = page["tables"]
    facts = sum(
        (
            Decimal(str(r["expenditure"] or 0))
            for r in tables["budget_and_expenditure_by_year"]["rows"]
        ),
        Decimal(0),
    )
    spent = [r for r in tables["transactions"]["rows"] if r["transaction_type"] == "4"]
    raw = sum((Decimal(str(r["value"])) for r in spent), Decimal(0))
    return facts, raw


def _poll(base: str, ident: str, stop: threading.Event, polls: Polls) -> None:
    while not stop.is_set():
        status, body = _get(f"{base}/activities/{quote(ident, safe='')}.json")
        polls.statuses.append(status)
        if status == 200:
            polls.states.append(_expenditure(json.loads(body)))
        hits = []
        for word in (OLD_WORD, NEW_WORD):
            status, body = _get(f"{base}/api/v1/search?q={word}")
            polls.statuses.append(status)
            hits.append(json.loads(body)["total"] if status == 200 else -1)
        polls.searched.append((hits[0], hits[1]))
        # One request, so one snapshot of the store: the index holds the activity exactly once.
        status, body = _get(f"{base}/api/v1/search?q={BOTH_WORD}")
        polls.statuses.append(status)
        if status == 200:
            found = json.loads(body)
            items = found.get("items") or []
            polls.titles.append((found["total"], str(items[0]["title"]) if items else ""))
        time.sleep(0.05)


def test_readers_never_see_half_an_ingest(db_url: str, shared: Path, tmp_path: Path) -> None:
    a, b, ident = _variants(shared, tmp_path)
    target = tmp_path / "publisher.xml"
    shutil.copyfile(a, target)
    first = _ingest(db_url, target)
    assert first.returncode == 0, first.stderr

    polls = Polls()
    stop = threading.Event()
    with served(db_url, tmp_path) as (base, _server):
        poller = threading.Thread(target=_poll, args=(base, ident, stop, polls))
        poller.start()
        try:
            for version in (b, a, b):
                shutil.copyfile(version, target)
                done = _ingest(db_url, target)
                assert done.returncode == 0, done.stderr
                time.sleep(1.5)  # the page cache rechecks the data version every second
        finally:
            stop.set()
            poller.join(timeout=60)

    assert polls.statuses and all(s == 200 for s in polls.statuses), sorted(set(polls.statuses))
    # Every poll saw the facts and the rows of one and the same ingest ...
    mixed = [state for state in polls.states if state[0] != state[1]]
    assert mixed == [], f"{len(mixed)} of {len(polls.states)} polls mixed two ingests: {mixed[:3]}"
    # ... and saw both versions, so the polls did cross the ingests.
    assert len({facts for facts, _raw in polls.states}) == 2
    # Search always answered and found the activity once, by exactly one of its two titles
    # (each word is a request of its own, so a pair of them may straddle an ingest: they are
    # checked one at a time).
    assert all(hits in (0, 1) for pair in polls.searched for hits in pair), set(polls.searched)
    assert {pair[0] for pair in polls.searched} == {0, 1} == {p[1] for p in polls.searched}
    assert polls.titles and all(total == 1 for total, _title in polls.titles), polls.titles[:3]
    worded = [(OLD_WORD in title, NEW_WORD in title) for _total, title in polls.titles]
    assert set(worded) == {(True, False), (False, True)}, set(worded)


def _consistent(engine: Engine) -> tuple[int, Decimal, Decimal]:
    """(activities, expenditure by the facts, expenditure by the rows); SQLite's integrity
    checks, of the file and of the full-text index, must pass."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            assert conn.execute(text("pragma integrity_check")).scalar() == "ok"
            conn.execute(text("INSERT INTO search_fts(search_fts) VALUES ('integrity-check')"))
            indexed = conn.execute(text("SELECT count(*) FROM search_fts")).scalar()
        else:
            indexed = conn.execute(text("SELECT count(*) FROM search_text")).scalar()
        activities = conn.execute(text("SELECT count(*) FROM activity WHERE is_current")).scalar()
        assert indexed == activities
        facts = conn.execute(
            text(
                "SELECT coalesce(sum(value), 0) FROM money_total "
                "WHERE measure = 'expenditure' AND converted_to IS NULL"
            )
        ).scalar()
        raw = conn.execute(
            text(
                'SELECT coalesce(sum(t.value), 0) FROM "transaction" t JOIN activity a '
                "ON a.id = t.activity_id WHERE a.is_current AND t.transaction_type = '4'"
            )
        ).scalar()
    scale = Decimal(10000) if engine.dialect.name == "sqlite" else Decimal(1)
    return int(activities or 0), Decimal(facts) / scale, Decimal(raw) / scale


def test_kill_at_any_moment_leaves_before_or_after(
    db_url: str, shared: Path, tmp_path: Path
) -> None:
    a, b, _ident = _variants(shared, tmp_path)
    target = tmp_path / "publisher.xml"
    shutil.copyfile(a, target)
    assert _ingest(db_url, target).returncode == 0
    engine = make_engine(db_url)
    migrate(engine)
    before = _consistent(engine)
    shutil.copyfile(b, target)
    started = time.monotonic()
    assert _ingest(db_url, target).returncode == 0
    whole = time.monotonic() - started
    after = _consistent(engine)
    assert before[1] == before[2] and after[1] == after[2] and after[1] == 10 * before[1]

    shutil.copyfile(a, target)
    seen = set()
    rng = random.Random(3)
    for _ in range(6):
        shutil.copyfile(rng.choice((a, b)), target)
        proc = subprocess.Popen(
            [str(IATIPORTAL), "ingest", "--quiet", "--no-snapshot", "--db", db_url, str(target)],
            env=without_proxies(), start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(rng.uniform(0.3, whole))  # start-up, parse, insert, refresh or commit
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        state = _consistent(engine)
        assert state in (before, after), state
        seen.add(state)
    engine.dispose()
    again = _ingest(db_url, target)
    assert again.returncode == 0, again.stderr
