"""The store's version: one integer that every writer raises in its own transaction.

Pages, API answers, ETags and the page cache follow it, so whatever a writer commits (files,
derived tables, exchange rates, reference data) makes them new, and a writer that rolls back
leaves it as it was. Readers read one row instead of aggregating the tables they depend on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

from sqlalchemy import Connection, insert, select, update

from iatiportal.store import schema as s

_row = s.store_version.c.id == 1


class StoreVersion(NamedTuple):
    version: int
    content_version: int  # the version of the last change to what the store holds
    changed_at: dt.datetime | None  # UTC, when ``version`` was last raised


NEVER_WRITTEN = StoreVersion(0, 0, None)


def current(conn: Connection) -> StoreVersion:
    """The version the connection's transaction sees (NEVER_WRITTEN for a new store)."""
    v = s.store_version.c
    row = conn.execute(select(v.version, v.content_version, v.changed_at).where(_row)).first()
    if row is None:
        return NEVER_WRITTEN
    return StoreVersion(int(row.version), int(row.content_version), row.changed_at)


def bump(conn: Connection, *, content: bool = True) -> None:
    """Raise the version in the caller's transaction, which must be a writer's
    (``db.writing``: one at a time, so the first writer of a new store may insert the row);
    ``content`` False for a change that only says when files were last checked."""
    v = s.store_version.c
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    values: dict[str, Any] = {"version": v.version + 1, "changed_at": now}
    if content:
        values["content_version"] = v.version + 1
    if conn.execute(update(s.store_version).where(_row).values(values)).rowcount == 0:
        first = NEVER_WRITTEN.version + 1
        conn.execute(
            insert(s.store_version).values(
                id=1,
                version=first,
                content_version=first if content else NEVER_WRITTEN.content_version,
                changed_at=now,
            )
        )
