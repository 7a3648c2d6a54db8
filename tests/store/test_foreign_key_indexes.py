"""Every foreign key has an index that starts with its column.

Deleting a row checks (and cascades to) the rows that point at it: without such an index,
PostgreSQL reads the whole referencing table once per deleted row. Re-ingesting a changed
300-activity file into a 46,856-activity store spent about 16 s of its 55 s there (issue 14:
document links' categories and languages), a cost that grows with the store.
"""

from __future__ import annotations

from iatiportal.store import schema as s


def test_every_foreign_key_column_leads_an_index() -> None:
    missing = []
    for table in s.metadata.sorted_tables:
        leading = {next(iter(index.columns)).name for index in table.indexes}
        if table.primary_key.columns:
            leading.add(next(iter(table.primary_key.columns)).name)
        for fk in table.foreign_keys:
            if fk.parent.name not in leading:
                missing.append(f"{table.name}.{fk.parent.name} -> {fk.target_fullname}")
    assert not missing, missing
