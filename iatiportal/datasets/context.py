"""What a request asks of the read side, passed explicitly to every page builder and dataset.

Nothing here travels in a ContextVar: a dataset's answer depends only on its arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from iatiportal.profile import Portal
from iatiportal.store import queries
from iatiportal.store.filters import Filters


def _read_now(_key: Hashable, compute: Callable[[], Any]) -> Any:
    return compute()


@dataclass(frozen=True)
class Context:
    """One request's reading of the portal.

    ``currency`` is the currency sums are converted to (None: as published, per currency);
    ``whole_lists`` is set for the data renderings (.json, .csv, .xlsx, the API), whose lists
    hold every row rather than one page; ``filters`` are the query string's (web.params), and
    ``notices`` say which of its values were not valid and were ignored. ``kept(key,
    compute)`` answers what depends on the whole store only (not on the request): the web
    keeps it for the data version the request reads (web.cache.PerVersion); by default it
    is read every time.
    """

    portal: Portal = field(default_factory=Portal)
    language: str = "en"
    currency: str | None = None
    whole_lists: bool = False
    filters: Filters = field(default_factory=Filters)
    params: Any = field(default_factory=dict)  # the query string (page, per_page, year, tab)
    notices: tuple[str, ...] = ()
    snapshot_dir: Path | None = None  # where the portal's bulk snapshot is
    rates_loaded: bool = False  # whether exchange rates are loaded (a currency can be chosen)
    kept: Callable[[Hashable, Callable[[], Any]], Any] = field(default=_read_now, repr=False)

    def countries(self, conn: Any) -> dict[str, int]:
        """The home publisher's recipient countries with how many activities each
        (queries.countries, kept per data version: the answer is shared, not to be changed)."""
        home = self.home
        found: dict[str, int] = self.kept(
            ("countries", home), lambda: queries.countries(conn, home)
        )
        return found

    @property
    def home(self) -> tuple[str, ...]:
        """The home publisher's reporting-org references (none: every publisher)."""
        return self.portal.home_org_refs

    def money(self, **narrowed: Any) -> Filters:
        """The filters of a page's money: the request's (every year, its ``year`` is what the
        page chooses to show), within the home publisher unless ``reporting_org`` names
        others, in the request's currency, then ``narrowed``."""
        chosen: dict[str, Any] = {
            "reporting_org": self.filters.reporting_org or self.home,
            "year": None,
            "currency": self.currency,
        }
        return replace(self.filters, **{**chosen, **narrowed})
