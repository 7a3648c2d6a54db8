"""The IATI schemas and codelists: installed by `make`, and a clear error when missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from iatiportal import standard
from iatiportal.cli import main

UNWOMEN = "iati/unwomen/XM-DAC-41146_unwomen_dportal-covid19-extract_2021-06-15.xml"


def test_every_schema_version_and_the_codelists_are_installed() -> None:
    assert standard.is_installed()
    for version in standard.SCHEMA_VERSIONS:
        assert standard.schema_path(version).stat().st_size > 10_000
    assert (standard.codelist_dir() / "Currency.xml").is_file()


def test_ingest_without_the_standard_is_a_usage_error(
    tmp_path: Path, shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IATIPORTAL_STANDARD_DIR", str(tmp_path / "nowhere"))
    db = f"sqlite:///{tmp_path / 'store.db'}"
    result = CliRunner().invoke(main, ["ingest", "--db", db, str(shared / UNWOMEN)])
    assert result.exit_code == 2
    assert "iatiportal standard fetch" in result.output
    # Without validation the schemas are not needed.
    result = CliRunner().invoke(
        main, ["ingest", "--quiet", "--no-validate", "--db", db, str(shared / UNWOMEN)]
    )
    assert result.exit_code == 0, result.output
