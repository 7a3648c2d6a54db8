"""The IATI schemas and codelists: installed by `make`, and a clear error when missing."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from iatiportal import standard
from iatiportal.cli import main
from iatiportal.demo import demo_files

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


# pyIATI's 2018 2.03 organisation schema, reduced to its fault: a choice whose branches start
# with the same element, which libxml2 refuses ("The content model is not determinist").
NOT_DETERMINIST = """<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="iati-organisations" type="documentLinkWithReceipientCountry"/>
  <xs:complexType name="documentLinkWithReceipientCountry">
    <xs:choice>
      <xs:sequence><xs:element name="title"/><xs:element name="category"/></xs:sequence>
      <xs:sequence><xs:element name="title"/><xs:element name="language"/></xs:sequence>
    </xs:choice>
  </xs:complexType>
</xs:schema>
"""


@pytest.fixture
def broken_standard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the installed standard whose 2.03 organisation schema does not compile."""
    copy = tmp_path / "standard"
    shutil.copytree(standard.data_dir(), copy)
    broken = copy / "schemas" / "2.03" / "iati-organisations-schema.xsd"
    broken.write_text(NOT_DETERMINIST, encoding="utf-8")
    monkeypatch.setenv("IATIPORTAL_STANDARD_DIR", str(copy))
    return broken


def test_a_schema_that_does_not_compile_is_an_installation_error(broken_standard: Path) -> None:
    with pytest.raises(standard.SchemaCompileError) as raised:
        standard.check()
    assert raised.value.path == broken_standard
    assert "not determinist" in raised.value.reason


@pytest.mark.parametrize(
    "command",
    [
        ["ingest", "--no-snapshot", *map(str, demo_files())],
        ["demo", "--no-serve"],
        ["serve"],
        ["standard", "check"],
    ],
    ids=["ingest", "demo", "serve", "standard-check"],
)
def test_commands_stop_at_start_on_a_schema_that_does_not_compile(
    broken_standard: Path, tmp_path: Path, command: list[str]
) -> None:
    db = tmp_path / "store.db"
    result = CliRunner().invoke(main, [*command[:1], *command[1:], "--db", str(db)]
                                if command[0] != "standard" else command)  # fmt: skip
    assert result.exit_code == 2, result.output
    assert str(broken_standard) in result.output
    assert "does not compile" in result.output
    assert "not determinist" in result.output
    assert "iatiportal standard fetch" in result.output
    if db.exists():  # nothing was read, nothing recorded against the demo's files
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM source_file").fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM problem").fetchone() == (0,)


def test_standard_check_says_what_the_copy_was_made_from() -> None:
    result = CliRunner().invoke(main, ["standard", "check"])
    assert result.exit_code == 0, result.output
    assert "work." in result.output
    assert standard.source_note().splitlines()[0] in result.output
