"""The French catalog is complete and the template of messages is current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "iatiportal" / "web" / "locale"


def test_messages_template_is_current(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "--no-location",
            "--sort-output",
            "--omit-header",
            "-k",
            "_",
            "-k",
            "gettext",
            "-k",
            "ngettext:1,2",
            "-o",
            str(fresh),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with fresh.open("rb") as f:
        extracted = {m.id for m in read_po(f) if m.id}
    with (LOCALE / "messages.pot").open("rb") as f:
        committed = {m.id for m in read_po(f) if m.id}
    assert extracted == committed, "run `make messages` to update the catalogs"


def test_french_catalog_translates_every_message() -> None:
    with (LOCALE / "messages.pot").open("rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    with (LOCALE / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        french = {m.id: m.string for m in read_po(f) if m.id}
    missing = sorted(str(m) for m in wanted if not french.get(m))
    assert missing == []
    assert french["Overview"] == "Vue d'ensemble"
