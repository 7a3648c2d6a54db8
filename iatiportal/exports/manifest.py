"""What says which bulk snapshot is served: its folder's ``manifest.json``, and the store's
content version it records. Standard library only, so that a quiet ingest that finds nothing
changed can tell whether the snapshot is current without loading SQLAlchemy
(``store.unchanged``); ``snapshot`` builds and serves the snapshot with these.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

MANIFEST_NAME = "manifest.json"
GENERATION_NAME = re.compile(r"(files-\d{8}T\d{6}Z-[0-9a-f]{6})?")


@dataclass
class SnapshotFile:
    name: str
    bytes: int
    sha256: str


@dataclass
class Manifest:
    built_at: str  # ISO 8601, UTC
    data_version: str  # key_of the store's content version when built
    iatiportal_version: str
    files: list[SnapshotFile]
    rows: dict[str, int]  # rows per CSV
    folder: str = ""  # the subfolder holding the files ("": beside the manifest, as before)


def key_of(content_version: int) -> str:
    """What the store holds, as the manifest records it: the store's content version (raised
    by every writer, but not when unchanged files were only checked again)."""
    return json.dumps(["store", content_version])


def read_manifest(folder: Path) -> Manifest | None:
    try:
        raw = json.loads((folder / MANIFEST_NAME).read_text())
        raw["files"] = [SnapshotFile(**f) for f in raw["files"]]
        manifest = Manifest(**raw)
    except (OSError, ValueError, TypeError, KeyError):
        return None
    # Only a subfolder this module names: the manifest never sends a download elsewhere.
    return manifest if GENERATION_NAME.fullmatch(manifest.folder) else None


def configured_dir() -> Path | None:
    """The folder $IATIPORTAL_SNAPSHOT_DIR names (None: not set)."""
    configured = os.environ.get("IATIPORTAL_SNAPSHOT_DIR")
    return Path(configured) if configured else None


def beside_sqlite(database: str) -> Path:
    """The default folder of an SQLite store's snapshot: ``<db file>.snapshot``."""
    return Path(f"{database}.snapshot")
