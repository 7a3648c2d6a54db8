"""The portal's pages, one module each: every builder is ``build(conn, ctx, ...) -> Page``
(None: nothing there, a 404), callable without HTTP. What a page shows comes from the
datasets (``iatiportal.datasets``); a page arranges them for its template and lists them as
its data tables, so its HTML, ``.json``, ``.csv`` and ``.xlsx`` hold the same rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from iatiportal import i18n, standard
from iatiportal.datasets import Dataset
from iatiportal.datasets.context import Context
from iatiportal.i18n import gettext as _
from iatiportal.profile import StrategicPlan
from iatiportal.web.params import MAX_PAGE, whole_number
from iatiportal.web.render import DataTable, RowStream, columns

Narratives = list[tuple[str | None, str]]
PER_PAGE_CHOICES = (5, 10)
T = TypeVar("T")


def table(
    dataset: Dataset,
    rows: Iterable[Mapping[str, Any]] = (),
    *,
    stream: RowStream | None = None,
    total: int | None = None,
) -> DataTable:
    """A page's data table of ``dataset``: its rows under exactly the dataset's keys."""
    return DataTable(
        dataset.name, columns(*dataset.keys), list(dataset.shaped(rows)), stream, total
    )


def pick(ctx: Context, narratives: Narratives | None) -> tuple[str | None, str] | None:
    """The narrative in the page's language if published in it, else the first published
    (i18n.pick_narrative); templates show it with the ``narrative`` macro."""
    return i18n.pick_narrative(narratives, ctx.language)


def text_of(narrative: tuple[str | None, str] | None) -> str | None:
    return narrative[1] if narrative else None


def titled(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows whose ``title`` (a picked narrative: language and text) becomes its text."""
    return [{**r, "title": text_of(r.get("title"))} for r in rows]


def label(ctx: Context, codelist: str, code: str | None) -> str:
    """A code's name in the page's language (the code itself when the codelist lacks it)."""
    if code is None:
        return "–"
    return standard.code_names(codelist, ctx.language).get(code, code)


def plan_indicator(
    ctx: Context,
    plan: StrategicPlan | None,
    references: Iterable[tuple[str | None, str | None]],
) -> dict[str, Any] | None:
    """The strategic plan indicator an activity's indicator is linked to, as its pages show
    it ("Strategic plan indicator {code}: {statement}" and a badge): the indicator's reference
    code in the plan's ``indicator_vocabulary`` (``references``: its (vocabulary, code) pairs)::

        {"code": "SP_D_1.1_A",
         "statement": ("en", "..."),  # (lang, text) in the page's language, else English;
                                      # None: the code is not in the profile (shown alone)
         "kind": "common",            # "common", "complementary" or None (no badge)
         "kind_label": "Common"}      # the kind in the page's language, or None

    None where there is no plan or the indicator has no reference of that vocabulary."""
    code = plan.plan_indicator_of(references) if plan is not None else None
    if plan is None or code is None:
        return None
    found = plan.indicator(code)
    kind = found.kind if found is not None else None
    kinds = {"common": _("Common"), "complementary": _("Complementary")}
    return {
        "code": code,
        "statement": found.statement.pick(ctx.language) if found is not None else None,
        "kind": kind,
        "kind_label": kinds[kind] if kind is not None else None,
    }


@dataclass
class Pager:
    """One page of a list: "Showing 6 – 10 of 11" and the page links."""

    page: int
    per_page: int
    total: int

    def fit(self, total: int) -> Pager:
        """Set the total and keep the page within it."""
        self.total = total
        self.page = min(self.page, self.pages)
        return self

    def fetch(self, rows: Callable[[int, int], tuple[int, T]]) -> T:
        """The rows of this page from ``rows(offset, limit)``, which also gives the total; a
        page past the end shows the last page."""
        total, found = rows(self.offset, self.per_page)
        self.total = total
        if self.page > self.pages:
            self.page = self.pages
            _total, found = rows(self.offset, self.per_page)
        return found

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def first(self) -> int:
        return min(self.offset + 1, self.total)

    @property
    def last(self) -> int:
        return min(self.offset + self.per_page, self.total)


WHOLE = 10**9
"""Rows per page of a list in a data rendering: every row."""


def requested_page(ctx: Context, per_page: int | None = None) -> Pager:
    """The page the query string asks for (total not yet known); every row for data.
    ``per_page``: this list's fixed page size, else ``?per_page=`` (5 or 10)."""
    if ctx.whole_lists:
        return Pager(1, WHOLE, 0)
    if per_page is None:
        per_page = whole_number(ctx.params.get("per_page"), 1, max(PER_PAGE_CHOICES))
        if per_page not in PER_PAGE_CHOICES:
            per_page = 10
    # Beyond MAX_PAGE is past the end of any list: the page then shows the last page.
    page = whole_number(ctx.params.get("page"), 1, MAX_PAGE, clamp=True) or 1
    return Pager(page, per_page, 0)
