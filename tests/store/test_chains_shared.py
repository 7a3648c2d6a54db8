"""Funding links on every shared IATI file: the store's links equal a count made here, straight
from the XML with lxml (issue 15).

What is counted, on both sides the same way: a *link* is a distinct pair (funder activity
identifier, funded activity identifier) that a transaction publishes — incoming funds (type 1,
``IF`` in 1.0x) name the funder in ``provider-org/@provider-activity-id``; commitments and
disbursements (types 2 and 3, ``C`` and ``D``) name the funded activity in
``receiver-org/@receiver-activity-id`` — leaving out an activity naming itself. A link
*resolves* when both identifiers are the ``iati-identifier`` of an activity in the files.
Identifiers are compared after stripping whitespace around them, as the store keeps them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import Engine, func, select
from stores import KINDS, all_shared_files

from iatiportal.store import chains
from iatiportal.store import schema as s

pytestmark = pytest.mark.slow  # reads the store of all shared files, built once per run

TYPES = {"1": "1", "IF": "1", "2": "2", "C": "2", "3": "3", "D": "3"}


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def from_xml(folder: Path) -> tuple[set[str], set[tuple[str, str]], int, int]:
    """(identifiers, links, provider-activity-id attributes, receiver-activity-id attributes)."""
    identifiers: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    providers = receivers = 0
    for path in sorted(folder.rglob("*.xml")):
        for _, el in etree.iterparse(str(path), tag="iati-activity", recover=True, huge_tree=True):
            own = _clean(el.findtext("iati-identifier"))
            if own is not None:
                identifiers.add(own)
            for tx in el.iterfind("transaction"):
                code = tx.find("transaction-type")
                kind = TYPES.get((code.get("code") or "").strip()) if code is not None else None
                for org in tx.iterfind("provider-org"):
                    other = _clean(org.get("provider-activity-id"))
                    providers += other is not None
                    if kind == "1" and other is not None and own is not None and other != own:
                        pairs.add((other, own))
                for org in tx.iterfind("receiver-org"):
                    other = _clean(org.get("receiver-activity-id"))
                    receivers += other is not None
                    if kind in ("2", "3") and other and own is not None and other != own:
                        pairs.add((own, other))
            el.clear()
    return identifiers, pairs, providers, receivers


@pytest.fixture(scope="module", params=KINDS)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, shared: Path
) -> Iterator[Engine]:
    with all_shared_files(request.param, shared, tmp_path_factory, request.config) as (
        engine,
        statuses,
    ):
        assert statuses.count("ingested") >= 50
        yield engine


def test_links_equal_an_independent_count(store: Engine, shared: Path) -> None:
    identifiers, pairs, providers, receivers = from_xml(shared / "iati")
    resolved = {(a, b) for a, b in pairs if a in identifiers and b in identifiers}
    fl = s.funding_link
    with store.connect() as conn:
        rows = conn.execute(
            select(
                fl.c.funder_identifier,
                fl.c.funded_identifier,
                fl.c.funder_activity_id,
                fl.c.funded_activity_id,
            ).where(fl.c.evidence != "declared")
        ).all()
        warnings = conn.execute(
            select(func.count()).select_from(s.problem).where(s.problem.c.rule == chains.LINK_RULE)
        ).scalar_one()
    got = {(r.funder_identifier, r.funded_identifier) for r in rows}
    got_resolved = {
        (r.funder_identifier, r.funded_identifier)
        for r in rows
        if r.funder_activity_id is not None and r.funded_activity_id is not None
    }
    print(  # noqa: T201  (the figures for the issue's note, with -s)
        f"\nshared files: {providers} provider-activity-id and {receivers} receiver-activity-id "
        f"attributes; {len(pairs)} links by transactions, {len(resolved)} resolve; "
        f"{len(rows)} in the store ({len(got_resolved)} resolve); {warnings} link warnings"
    )
    assert len(got) == len(pairs) and got == pairs
    assert len(got_resolved) == len(resolved) and got_resolved == resolved
    assert warnings > 0
