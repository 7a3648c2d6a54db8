"""Where the IATI schemas and codelists live on this machine.

The portal ships without copies of the IATI standard in the repository: `make` (through
`iatiportal standard fetch`) unpacks the schemas of versions 1.01-2.03 and the 2.03
codelists from the pyIATI source distribution on PyPI into ``iatiportal/standard/data``.
An operator may point ``IATIPORTAL_STANDARD_DIR`` at another copy laid out the same way.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from lxml import etree

PYIATI_VERSION = "0.4.1"
PYIATI_SHA256 = "b6f8f0d596746bd774ed3e84cdad50dfa7dd501ac70e6399f2bb0244bfd5b0ef"
SCHEMA_VERSIONS = ("1.01", "1.02", "1.03", "1.04", "1.05", "2.01", "2.02", "2.03")
CODELIST_VERSION = "2.03"


class StandardMissingError(RuntimeError):
    """The schemas and codelists are not installed."""


def data_dir() -> Path:
    """The folder holding ``schemas/<version>/`` and ``codelists/``."""
    env = os.environ.get("IATIPORTAL_STANDARD_DIR")
    return Path(env) if env else Path(__file__).resolve().parent / "data"


def schema_path(version: str, kind: str = "activities") -> Path:
    """The XSD for ``version`` (one of SCHEMA_VERSIONS); kind is activities or organisations."""
    path = data_dir() / "schemas" / version / f"iati-{kind}-schema.xsd"
    if not path.is_file():
        raise StandardMissingError(
            f"IATI schema {path} is missing: run `iatiportal standard fetch` (or `make`)"
        )
    return path


def codelist_dir() -> Path:
    path = data_dir() / "codelists"
    if not path.is_dir():
        raise StandardMissingError(
            f"IATI codelists {path} are missing: run `iatiportal standard fetch` (or `make`)"
        )
    return path


def is_installed() -> bool:
    base = data_dir()
    return (base / "codelists").is_dir() and all(
        (base / "schemas" / v / "iati-activities-schema.xsd").is_file() for v in SCHEMA_VERSIONS
    )


def shared_standard_dir() -> Path | None:
    """The team's newer copy of the standard (``$IATIPORTAL_SHARED_DATA/iati-standard``)."""
    base = Path(os.environ.get("IATIPORTAL_SHARED_DATA", "../shared/data")) / "iati-standard"
    return base if (base / "codelists").is_dir() else None


def fetch(target: Path | None = None, overlay: Path | None = None) -> Path:
    """Download the pinned pyIATI sdist from PyPI and unpack schemas and codelists.

    pyIATI (2018) predates the final 2.03 schema and today's codelists (sector 74020, for
    one). Where ``overlay`` (default: the shared folder, when present) holds a newer
    ``schemas/<version>`` or ``codelists/{embedded,non-embedded}``, those files win.
    """
    target = target or data_dir()
    overlay = overlay or shared_standard_dir()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
             ":all:", f"pyIATI=={PYIATI_VERSION}", "-d", tmp],
            check=True,
        )
        sdist = next(Path(tmp).glob("pyIATI-*.tar.gz"))
        digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
        if digest != PYIATI_SHA256:
            raise RuntimeError(f"{sdist.name}: sha256 {digest} is not the pinned {PYIATI_SHA256}")
        staging = Path(tmp) / "standard"
        prefix = f"pyIATI-{PYIATI_VERSION}/iati/resources/standard/"
        with tarfile.open(sdist) as tar:
            for member in tar.getmembers():
                if not member.isfile() or not member.name.startswith(prefix):
                    continue
                parts = member.name[len(prefix):].split("/")
                if len(parts) == 3 and parts[1] == "schemas":
                    dest = staging / "schemas" / parts[0].replace("-", ".") / parts[2]
                elif len(parts) == 3 and parts[1] == "codelists" and parts[0] == "2-03":
                    dest = staging / "codelists" / parts[2]
                else:
                    continue
                src = tar.extractfile(member)
                if src is None:
                    continue
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(src.read())
        note = (f"Unpacked from pyIATI {PYIATI_VERSION} (PyPI, sha256 {PYIATI_SHA256}),\n"
                "iati/resources/standard/<version>/schemas and 2-03/codelists.\n")
        if overlay is not None:
            for xsd in (overlay / "schemas").glob("*/*.xsd"):
                dest = staging / "schemas" / xsd.parent.name / xsd.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(xsd, dest)
            for xml in (overlay / "codelists").glob("*/*.xml"):
                shutil.copyfile(xml, staging / "codelists" / xml.name)
            note += f"Overlaid with the newer schemas and codelists of {overlay}.\n"
        (staging / "SOURCE").write_text(note, encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staging, target)
    return target


@functools.cache
def code_names(name: str, language: str = "en") -> dict[str, str]:
    """Code -> name of a codelist, in ``language`` where the codelist has it, else English."""
    path = codelist_dir() / f"{name}.xml"
    if not path.is_file():
        return {}
    lang_attr = "{http://www.w3.org/XML/1998/namespace}lang"
    names: dict[str, str] = {}
    tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    for item in tree.iterfind(".//codelist-item"):
        code = (item.findtext("code") or "").strip()
        chosen = english = None
        for narrative in item.iterfind("name/narrative"):
            lang = (narrative.get(lang_attr) or "en").lower()
            if lang == language and narrative.text:
                chosen = narrative.text.strip()
            if lang == "en" and narrative.text and english is None:
                english = narrative.text.strip()
        if code:
            names[code] = chosen or english or code
    return names
