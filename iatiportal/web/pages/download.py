"""The bulk download page ``/-/download``: the snapshot's files, whether it is current and
whether a new one is being built."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection

from iatiportal.datasets import Dataset, Field
from iatiportal.datasets.context import Context
from iatiportal.exports import snapshot
from iatiportal.exports.manifest import read_manifest
from iatiportal.i18n import gettext as _
from iatiportal.web.pages import table
from iatiportal.web.render import Page

FILES = Dataset(
    "files",
    "The files of the bulk snapshot.",
    (
        Field("name", "string", "The file's name."),
        Field("bytes", "integer", "Its size."),
        Field("sha256", "string", "Its SHA-256 digest."),
    ),
)


def build(conn: Connection, ctx: Context) -> Page:
    manifest = read_manifest(ctx.snapshot_dir) if ctx.snapshot_dir else None
    current = manifest is not None and manifest.data_version == snapshot.version_key(conn)
    files = [
        {
            "name": f.name,
            "bytes": f.bytes,
            "sha256": f.sha256,
            "kind": _("SQLite database, gzip-compressed")
            if f.name == snapshot.SQLITE_NAME
            else _("CSV files and a data dictionary, zipped"),
        }
        for f in (manifest.files if manifest else [])
    ]
    return Page(
        "download.html",
        _("Download everything"),
        {
            "files": files,
            "built_at": manifest.built_at if manifest else None,
            "built": _moment(manifest.built_at) if manifest else None,
            "current": current,
            "building": ctx.snapshot_dir is not None and snapshot.building(ctx.snapshot_dir),
            "code_names": snapshot.CODE_NAMES_NAME,
            "rows": manifest.rows if manifest else {},
        },
        [table(FILES, files)],
    )


def _moment(iso: str) -> dt.datetime | None:
    """The manifest's ``built_at`` (ISO 8601, UTC) as a moment the page formats per locale."""
    try:
        return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        return None
