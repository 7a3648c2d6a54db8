"""Indicator roll-ups (targets met) on a fixture whose expected counts are in its comment."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select

from iatiportal.store import schema as s
from iatiportal.store.load import ingest
from iatiportal.store.queries import IndicatorProgress, indicator_progress

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "indicator-progress.xml"


def test_targets_met_follow_the_rule(engine: Engine) -> None:
    summary = ingest(engine, [str(FIXTURE)])
    assert [f.status for f in summary.files] == ["ingested"]
    with engine.connect() as conn:
        ids = dict(conn.execute(select(s.activity.c.iati_identifier, s.activity.c.id)).all())
        in_2022 = indicator_progress(conn, ("XX-IND",), 2022)
        in_2021 = indicator_progress(conn, ("XX-IND",), 2021)
        any_year = indicator_progress(conn, ("XX-IND",), None)
        other_org = indicator_progress(conn, ("XX-NONE",), 2022)
    assert in_2022[ids["XX-IND-1"]] == IndicatorProgress(6, 6, 5, 4, 2)
    assert in_2022[ids["XX-IND-2"]] == IndicatorProgress(1, 1, 1, 0, 0)
    assert in_2021[ids["XX-IND-1"]] == IndicatorProgress(6, 1, 1, 1, 1)
    assert any_year[ids["XX-IND-1"]] == IndicatorProgress(indicators=6)
    assert other_org == {}
