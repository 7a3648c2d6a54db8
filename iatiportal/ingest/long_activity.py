"""Reading an activity with very many transactions while it is parsed (issue 10).

The parser reads whole ``iati-activity`` elements; lxml holds about 4 KB per transaction of
such a tree, so one valid activity with 100,000 transactions took 400 MB before a line of it was
read. Past ``LONG`` transactions the parser hands each further one to a ``LongActivity`` as its
end tag is parsed: it is read into a record (kept in a ``SpillList``), checked against the
schema on its own (``transaction`` is declared globally in every IATI version), checked against
the rule set's rules about transactions (ingest.rulesets.TransactionRules), written to a
temporary file as XML and taken out of the tree. What the activity's element keeps is small.

So that nothing changes for the activity: the first transaction of each run of transactions
stays in the tree (the schema check of the activity still sees where transactions are; XML
Schema ignores the processing instruction that marks where the run's others were), and the
stored XML is the element's with each run put back where its marker is, byte for byte as
published (a transaction that uses a namespace declared above it gets that declaration on
itself, as when an element is copied out of its document).
"""

from __future__ import annotations

import re
import tempfile
import uuid
import weakref

from lxml import etree

from iatiportal.ingest import records as r
from iatiportal.ingest import rulesets
from iatiportal.ingest.extract import read_transaction, reader_for
from iatiportal.ingest.spill import SpillList
from iatiportal.ingest.validate import SchemaCheck

LONG = 1000
"""Transactions of an activity read with its element; the others as they are parsed."""


class LongActivity:
    """The transactions of one open ``iati-activity`` element, read as they are parsed."""

    def __init__(self, activity: etree._Element, version: str | None, *, validate: bool) -> None:
        self.reader = reader_for(activity)
        self.transactions: SpillList[r.Transaction] = SpillList()
        self.schema = SchemaCheck(version) if validate else None
        # The rule set's rules about transactions, run on each as it is read.
        self.rules = (
            rulesets.TransactionRules(rulesets.today())
            if validate and rulesets.applies(version)
            else None
        )
        self._token = f"iatiportal-{uuid.uuid4().hex}"
        self._xml = tempfile.TemporaryFile()  # noqa: SIM115 - closed by xml()
        weakref.finalize(self, self._xml.close)  # an activity skipped before its xml() is read
        self._runs: list[tuple[int, int]] = []  # byte range in _xml of each run taken out
        self._marker: etree._Element | None = None  # where the current run was
        self._holder = etree.Element("taken")  # a transaction is serialised here, alone

    def take(self, transaction: etree._Element) -> None:
        """Read a complete ``transaction`` child of the activity; take it out of the tree
        unless it starts a run of transactions."""
        self.transactions.append(read_transaction(self.reader, transaction))
        if self.rules is not None:
            self.rules.add(transaction)
        before = transaction.getprevious()
        if self._marker is not None and before is self._marker:
            # Text between the previous transaction taken out and this one (its tail in the
            # file) was parsed after that one left: it is the marker's tail now.
            self._write((self._marker.tail or "").encode("utf-8"))
            self._marker.tail = None
        elif isinstance(before, etree._Element) and before.tag == "transaction":
            self._marker = etree.ProcessingInstruction(self._token, str(len(self._runs)))
            before.addnext(self._marker)
            start = self._xml.tell()
            self._runs.append((start, start))
        else:
            return  # the first of a run: read now, kept in the tree for the schema and XML
        if self.schema is not None:
            self.schema.check(transaction)
        self._holder.append(transaction)  # out of the activity (with its tail, if parsed)
        self._write(etree.tostring(transaction, encoding="utf-8", with_tail=True))
        self._holder.remove(transaction)

    def _write(self, data: bytes) -> None:
        self._xml.write(data)
        start, _end = self._runs[-1]
        self._runs[-1] = (start, self._xml.tell())

    def problems(self, identifier: str) -> list[r.Problem]:
        """What reading the transactions found (their activity's identifier now known)."""
        for p in self.reader.problems:
            p.iati_identifier = identifier
        return self.reader.problems

    def xml(self, activity: etree._Element) -> bytes:
        """The activity's XML as published: its element with the runs put back."""
        skeleton = etree.tostring(activity, encoding="utf-8", with_tail=False)
        marker = re.compile(rb"<\?" + self._token.encode() + rb" ([0-9]+)\?>")
        pieces = marker.split(skeleton)
        out: list[bytes] = []
        for n, piece in enumerate(pieces):
            if n % 2 == 0:
                out.append(piece)
            else:
                start, end = self._runs[int(piece)]
                self._xml.seek(start)
                out.append(self._xml.read(end - start))
        self._xml.close()
        return b"".join(out)
