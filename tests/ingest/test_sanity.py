"""Sanity rules at ingest: each rule fires on its failing activity of the fixture, and only
there; the activity page and data health show the problems."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from own_rules import own
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from iatiportal.ingest.sanity import PLACEHOLDER, placeholder
from iatiportal.store import schema as s
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sanity-rules.xml"
RULES = {"placeholder-text", "percentages-sum", "budget-outside-dates", "transaction-after-end"}


def test_each_rule_fires_on_its_activity(sqlite_engine: Engine) -> None:
    assert not ingest(sqlite_engine, [str(FIXTURE)]).failed
    with sqlite_engine.connect() as conn:
        found = sorted(
            (p.iati_identifier, p.rule, p.severity)
            for p in conn.execute(select(s.problem).where(s.problem.c.rule.in_(RULES)))
        )
    assert found == [
        ("XX-SANE-BUDGET", "budget-outside-dates", "warning"),
        ("XX-SANE-LATE", "transaction-after-end", "warning"),
        ("XX-SANE-LOREM", "placeholder-text", "warning"),
        ("XX-SANE-PCT", "percentages-sum", "warning"),
        ("XX-SANE-PCT", "percentages-sum", "warning"),
    ]
    with TestClient(create_app(sqlite_engine)) as client:
        page = BeautifulSoup(client.get("/activities/XX-SANE-LOREM").text, "html.parser")
        assert "placeholder-text" in [li["data-rule"] for li in page.select("ul.problems li")]
        clean = BeautifulSoup(client.get("/activities/XX-SANE-OK").text, "html.parser")
        assert own(clean.select("ul.problems li"), lambda li: str(li["data-rule"])) == []
        health = client.get("/-/data-health.json").json()["tables"]["rules"]["rows"]
        assert {r["rule"] for r in health} >= RULES


@pytest.mark.parametrize(
    "text",
    [
        "Lorem ipsum",
        "DOLOR SIT AMET",
        "consectetur adipiscing elit",
        "Insert the description here",
        "insert text",
        "Text goes here",
        "PLACEHOLDER TEXT",
        # Letters that a case-blind search takes for i and s but str.lower does not make so.
        "LOREM \u0130PSUM",
        "lorem \u0131psum",
        "dolor \u017fit amet",
        "In\u017fert text here",
    ],
)
def test_placeholder_found_as_the_pattern_finds_it(text: str) -> None:
    expected = PLACEHOLDER.search(text)
    assert expected is not None  # the case itself is one the pattern finds
    found = placeholder(f"Water for all. {text}.")
    assert found is not None
    assert found.group(0) == expected.group(0)


@pytest.mark.parametrize("text", ["Water for all", "ipsum alone", "Insert a pump", ""])
def test_no_placeholder_in_ordinary_text(text: str) -> None:
    assert placeholder(text) is None
