"""An activity with thousands of transactions is read as it is parsed (ingest.long_activity)
and its rows leave in bounded batches (issue 10), with the same records, problems and stored
XML as reading its whole element gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from big_activity import IDENTIFIER, SMALL, write
from lxml import etree

from iatiportal.ingest import records as r
from iatiportal.ingest.parse import iter_file
from iatiportal.ingest.split import Part

TRANSACTIONS = 3000


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write(tmp_path_factory.mktemp("long") / "messy.xml", TRANSACTIONS, messy=True)


def read(path: Path, part: Part | None = None) -> dict[str, r.Activity]:
    items = iter_file(path, part=part) if part else iter_file(path)
    return {a.iati_identifier: a for a in items if isinstance(a, r.Activity)}


def read_whole(path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, r.Activity]:
    """Every activity read from its whole element, as before issue 10."""
    with monkeypatch.context() as m:
        m.setattr("iatiportal.ingest.parse.LONG", 10**9)
        return read(path)


def as_compared(act: r.Activity) -> dict[str, Any]:
    return {
        "transactions": [
            (t.ref, t.transaction_type, t.value, t.transaction_date, t.description,
             t.provider_org, t.receiver_org)
            for t in act.transactions
        ],
        "problems": sorted((p.severity, p.rule, p.message, p.line, p.iati_identifier)
                           for p in act.problems),
        "raw_xml": etree.tostring(etree.fromstring(act.raw_xml), method="c14n"),
        "schema_valid": act.schema_valid,
        "budgets": len(act.budgets),
        "results": len(act.results),
        "documents": len(act.document_links),
    }  # fmt: skip


def test_a_long_activity_reads_as_its_whole_element_does(
    messy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    streamed = read(messy)
    whole = read_whole(messy, monkeypatch)
    assert streamed.keys() == whole.keys() == {IDENTIFIER, SMALL}
    big = streamed[IDENTIFIER]
    assert len(big.transactions) == TRANSACTIONS
    # The one difference, which shows that it was read as it was parsed: a transaction taken
    # out of the tree declares the namespace that it uses (declared on the file's root).
    declared = b'<transaction xmlns:ext="http://example.org/extension" ref="T1234">'
    assert declared in big.raw_xml
    assert declared not in whole[IDENTIFIER].raw_xml
    for ident in (IDENTIFIER, SMALL):
        assert as_compared(streamed[ident]) == as_compared(whole[ident]), ident
    rules = {p.rule for p in big.problems}
    assert {"schema", "value-format", "transaction-type"} <= rules
    assert not big.schema_valid


def test_the_stored_xml_is_the_published_activity(messy: Path) -> None:
    big = read(messy)[IDENTIFIER]
    published = next(
        a
        for a in etree.parse(str(messy)).getroot().iterfind("iati-activity")
        if a.findtext("iati-identifier") == IDENTIFIER
    )
    stored = etree.fromstring(big.raw_xml)
    assert etree.tostring(stored, method="c14n") == etree.tostring(published, method="c14n")
    assert len(stored.findall("transaction")) == TRANSACTIONS


def test_each_reader_of_a_shared_file_gets_its_own_activities(
    messy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = [read(messy, Part(k, 2)) for k in range(2)]
    assert sorted(k for p in parts for k in p) == sorted([IDENTIFIER, SMALL])
    big = next(p[IDENTIFIER] for p in parts if IDENTIFIER in p)
    assert as_compared(big) == as_compared(read_whole(messy, monkeypatch)[IDENTIFIER])
