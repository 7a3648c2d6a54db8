"""Build the demo's store: the sample IATI files and the bundled reference extract, so that
the demo shows everything on a machine without the shared data folder."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from iatiportal import reference
from iatiportal.demo import REFERENCE, demo_files
from iatiportal.store.load import IngestSummary, ingest


@dataclass
class DemoSummary:
    ingest: IngestSummary
    reference: reference.LoadSummary


def load_demo(engine: Engine) -> DemoSummary:
    """Ingest the sample files into ``engine``'s store and load the reference extract for the
    demo's countries (``iatiportal/demo/reference``) with ``reference.load``."""
    summary = ingest(engine, [str(p) for p in demo_files()])
    return DemoSummary(summary, reference.load(engine, REFERENCE))
