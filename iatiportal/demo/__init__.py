"""The bundled sample data: UN Women-shaped, written by the iatiportal team, clearly marked
as sample data (see data/README.md)."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
REFERENCE = Path(__file__).resolve().parent / "reference"
"""The reference extract for the demo's countries (see reference/README.md)."""


def demo_files() -> list[Path]:
    """The sample activity and organisation files."""
    return sorted(DATA.glob("*.xml"))
