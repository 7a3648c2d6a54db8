"""The read model: named datasets, each typed rows plus the metadata of its fields.

Pages (their HTML tables and their ``.json``, ``.csv`` and ``.xlsx`` renderings), the API's
lists and items, the ``?format=`` downloads, the bulk CSV zip and the OpenAPI item schemas are
all renderings of these datasets, so a field has one key in every format. Nothing here knows
HTTP or HTML. The money datasets are in ``figures``, the row lists in ``store.listing``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from iatiportal.store.listing import Field, Resource

__all__ = ["Dataset", "Field", "of_resource"]


@dataclass(frozen=True)
class Dataset:
    """A named table: its fields in order (each row holds exactly these keys)."""

    name: str
    description: str
    fields: tuple[Field, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def shaped(self, rows: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
        """The rows with exactly the dataset's keys (a missing key is None)."""
        keys = self.keys
        for row in rows:
            yield {k: row.get(k) for k in keys}


def of_resource(resource: Resource) -> Dataset:
    """The dataset of an API row list (store.listing)."""
    return Dataset(resource.name, resource.description, resource.fields)
