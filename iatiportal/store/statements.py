"""Statements built once and kept, their values bound by name at each execution (issue 14).

A page asks a few dozen questions, and building their statements (SQLAlchemy Core objects,
then their cache keys) cost more CPU than many of the queries themselves. A statement that
depends only on the shape of a question (which filters are set, which list, which elements)
is built once, with every value a bound parameter, and kept here under a key naming that
shape. SQLAlchemy then finds its compiled form by the statement's memoised cache key, without
walking it again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from sqlalchemy.sql.expression import Executable

MAX_KEPT = 1024
"""Statements kept; past that the least recently used go. The shapes of question are a few
hundred; searches (whose words are in their statements) come and go."""

_KEPT: OrderedDict[Hashable, Executable] = OrderedDict()
_LOCK = threading.Lock()

E = TypeVar("E", bound=Executable)


def kept(key: Hashable, build: Callable[[], E]) -> E:
    """The statement kept under ``key``, else ``build()``, kept. The key must name everything
    the statement is built from; values that vary are bound parameters, given at execution."""
    with _LOCK:
        found = _KEPT.get(key)
        if found is not None:
            _KEPT.move_to_end(key)
            return found  # type: ignore[return-value]  # built by this key's build
    built = build()
    with _LOCK:
        _KEPT[key] = built
        while len(_KEPT) > MAX_KEPT:
            _KEPT.popitem(last=False)
    return built


def clear() -> None:
    """Forget every kept statement (tests count what a question keeps)."""
    with _LOCK:
        _KEPT.clear()


def count() -> int:
    with _LOCK:
        return len(_KEPT)
