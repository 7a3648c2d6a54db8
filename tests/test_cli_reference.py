"""docs/cli.md is the commands' own --help (regenerate: python -m iatiportal.cli_reference)."""

from __future__ import annotations

from pathlib import Path

from iatiportal.cli_reference import render

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def test_cli_reference_is_up_to_date() -> None:
    text = render()
    assert "## iatiportal ingest" in text
    assert "--db URL" in text
    assert DOC.read_text(encoding="utf-8") == text, (
        "docs/cli.md is stale: run `python -m iatiportal.cli_reference > docs/cli.md`"
    )
