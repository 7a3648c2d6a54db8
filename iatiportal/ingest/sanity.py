"""Sanity rules on an activity's content, beyond its schema and codelists (warnings).

Each is a named rule whose problems are shown on /-/data-health and on the activity's page:

- ``placeholder-text``: a narrative holds placeholder text ("Lorem ipsum", "dolor sit amet",
  "insert text here", ...);
- ``percentages-sum``: the percentages of recipient countries and regions together, or of the
  sectors of one vocabulary, do not add up to 100 (within 0.01) where percentages are given;
- ``budget-outside-dates``: a budget period starts before the activity starts or ends after it
  ends (actual dates, else planned ones);
- ``transaction-after-end``: a transaction is dated after the activity's end date.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal

from iatiportal.ingest import records as r

PLACEHOLDER = re.compile(
    r"lorem ipsum|dolor sit amet|consectetur adipiscing|insert (?:the )?(?:text|description)"
    r"(?: here)?|text goes here|placeholder text",
    re.IGNORECASE,
)
_PLACEHOLDER_WORDS = ("ipsum", "amet", "adipiscing", "insert", "goes", "placeholder")
"""A word of each of PLACEHOLDER's alternatives: a text none of them is in (lower-cased) does
not match, and most texts are not searched (a case-blind search of six phrases cost more than
the other sanity rules together, issue 14)."""
_FOLDED_APART = ("\u0130", "\u0131", "\u017f")
"""The letters a case-blind ``re`` takes for a letter of PLACEHOLDER (İ and ı for i, ſ for s)
that ``str.lower`` does not turn into it; texts with one are always searched. Every other
letter that ``re`` matches case-blind lower-cases to the pattern's letter."""
HUNDRED = Decimal(100)
TOLERANCE = Decimal("0.01")


def _narratives(a: r.Activity) -> Iterator[tuple[str, str]]:
    """(where, text) of every narrative of the activity that people read."""
    for _lang, text in a.titles:
        yield "title", text
    for d in a.descriptions:
        for _lang, text in d.narratives:
            yield "description", text
    for res in a.results:
        for _lang, text in [*res.title, *res.description]:
            yield "result", text
        for ind in res.indicators:
            for _lang, text in [*ind.title, *ind.description]:
                yield "indicator", text
            for period in ind.periods:
                for value in [*period.targets, *period.actuals]:
                    for _lang, text in value.comment:
                        yield "indicator period", text


def placeholder(text: str) -> re.Match[str] | None:
    """``PLACEHOLDER.search(text)``, searching only a text that holds one of its words."""
    lowered = text.lower()
    for word in _PLACEHOLDER_WORDS:
        if word in lowered:
            return PLACEHOLDER.search(text)
    for letter in _FOLDED_APART:
        if letter in text:
            return PLACEHOLDER.search(text)
    return None


def _date(a: r.Activity, *types: str) -> dt.date | None:
    """The first date of the given activity-date types, in the order asked (2.0x codes)."""
    for wanted in types:
        for d in a.activity_dates:
            if d.type == wanted and d.iso_date is not None:
                return d.iso_date
    return None


def sanity_problems(a: r.Activity) -> list[r.Problem]:
    out: list[r.Problem] = []

    def problem(rule: str, message: str) -> None:
        out.append(r.Problem("warning", rule, message, a.source_line, a.iati_identifier))

    for where, text in _narratives(a):
        found = placeholder(text)
        if found:
            problem("placeholder-text", f"placeholder text {found.group(0)!r} in a {where}")
            break

    geography = [c.percentage for c in a.recipient_countries]
    geography += [x.percentage for x in a.recipient_regions]
    given = [p for p in geography if p is not None]
    if given and len(geography) > 1 and abs(sum(given) - HUNDRED) > TOLERANCE:
        problem(
            "percentages-sum",
            f"recipient country and region percentages add up to {sum(given)}, not 100",
        )
    by_vocabulary: dict[str, list[Decimal]] = defaultdict(list)
    for s in a.sectors:
        if s.percentage is not None:
            by_vocabulary[s.vocabulary].append(s.percentage)
    for vocabulary, percentages in sorted(by_vocabulary.items()):
        if abs(sum(percentages) - HUNDRED) > TOLERANCE:
            problem(
                "percentages-sum",
                f"sector percentages of vocabulary {vocabulary} add up to {sum(percentages)}, "
                "not 100",
            )

    start = _date(a, "2", "1")  # actual start, else planned start
    end = _date(a, "4", "3")  # actual end, else planned end
    outside = [
        b
        for b in a.budgets
        if (start is not None and b.period_start is not None and b.period_start < start)
        or (end is not None and b.period_end is not None and b.period_end > end)
    ]
    if outside:
        first = outside[0]
        problem(
            "budget-outside-dates",
            f"{len(outside)} budget period(s) outside the activity's dates "
            f"{start or '…'} – {end or '…'} (first: {first.period_start} – {first.period_end})",
        )
    if end is not None:
        # One pass, keeping a count: the transactions may be read back from a file (spill.py).
        late, last = 0, end
        for t in a.transactions:
            if t.transaction_date is not None and t.transaction_date > end:
                late += 1
                last = max(last, t.transaction_date)
        if late:
            problem(
                "transaction-after-end",
                f"{late} transaction(s) dated after the activity's end {end} (latest {last})",
            )
    return out
