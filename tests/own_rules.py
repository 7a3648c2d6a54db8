"""The problems of the portal's own rules, without those of the IATI Standard rule set.

The fixtures of the ingest tests are small activities (no sector, no recipient country, ...)
that the rule set (iatiportal.ingest.rulesets, tested in tests/ingest/test_rulesets.py) finds
much to say about; tests about reading files compare what the reading itself finds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from iatiportal.ingest.rulesets import RULES

T = TypeVar("T")


def _rule(item: Any) -> str:
    return str(item.rule)


def own(items: Iterable[T], rule: Callable[[T], str] = _rule) -> list[T]:
    """``items`` (problems, or rows with their rule given by ``rule``) of the portal's rules."""
    return [item for item in items if rule(item) not in RULES]


def rule_key(row: dict[str, Any]) -> str:
    return str(row["rule"])
