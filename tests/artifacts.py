"""The browser tests' screenshots and PDFs: where they go, and which a run wrote."""

from __future__ import annotations

from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
"""Gitignored; a run overwrites the files of the previous one that it writes again."""


def written_since(started: float) -> list[Path]:
    """The files of ARTIFACTS written since ``started`` (a time.time()), by any process of
    the run (the workers of ``pytest -n`` each write theirs)."""
    if not ARTIFACTS.is_dir():
        return []
    return sorted(p for p in ARTIFACTS.iterdir() if p.is_file() and p.stat().st_mtime >= started)
