"""``iatiportal serve --workers N``: the same portal in N processes sharing one port.

uvicorn starts each worker process afresh (multiprocessing's spawn) and builds its app from an
import string, so a worker cannot be handed the engine or the profile the command read: the
command puts what it was given (the resolved store URL, the profile files, the snapshot folder,
the frame-ancestors sources, the public URL) in the environment variable ``SETTINGS_VAR``, and
every worker's ``app()`` reads them back and opens its own engine, page cache and Jinja
environment. Each worker's page cache watches the store's version on its own (web.cache), so an
ingest reaches every worker within ``recheck_data_every`` seconds of its commit.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import anyio.to_thread
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from iatiportal.profile import load_portal
from iatiportal.store.db import make_engine
from iatiportal.web.app import create_app

SETTINGS_VAR = "IATIPORTAL_SERVE_SETTINGS"

DEFAULT_THREADS = 40
"""Threads per worker that render pages and run queries: anyio's own default. Fewer (5, the
connections of SQLAlchemy's pool; 2) gave no lower CPU per answer that the noise of the
measurements could show (docs/serving.md, the HTTP path)."""


@dataclass(frozen=True)
class ServeSettings:
    """What every worker needs to build the same app as the others."""

    db_url: str  # resolved (store.db.resolve_url) and migrated by the command already
    profiles: tuple[str, ...]  # profile files (TOML), in order
    snapshot_dir: str
    frame_ancestors: str
    public_url: str | None = None  # validated by the command (web.address)
    threads: int = DEFAULT_THREADS  # the worker's thread pool (ThreadLimit)

    def environment(self) -> dict[str, str]:
        """The environment variable that carries these settings to the workers."""
        return {SETTINGS_VAR: json.dumps(asdict(self))}

    @classmethod
    def from_environment(cls) -> ServeSettings:
        raw = os.environ.get(SETTINGS_VAR)
        if raw is None:
            raise RuntimeError(
                f"{SETTINGS_VAR} is not set: start the workers with `iatiportal serve --workers N`"
            )
        found = json.loads(raw)
        return cls(
            db_url=str(found["db_url"]),
            profiles=tuple(str(p) for p in found["profiles"]),
            snapshot_dir=str(found["snapshot_dir"]),
            frame_ancestors=str(found["frame_ancestors"]),
            public_url=found.get("public_url"),
            threads=int(found.get("threads", DEFAULT_THREADS)),
        )


class ThreadLimit:
    """The app with at most ``threads`` threads of the thread pool at once (anyio's default
    limiter, which Starlette's run_in_threadpool and the streamed downloads use). The limiter
    belongs to the event loop, so it is set on the first call (uvicorn's lifespan startup),
    inside the loop that serves."""

    def __init__(self, app: ASGIApp, threads: int) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, not {threads}")
        self.app = app
        self.threads = threads
        self._set = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._set:
            anyio.to_thread.current_default_thread_limiter().total_tokens = self.threads
            self._set = True
        await self.app(scope, receive, send)


def app() -> ThreadLimit:
    """One worker's app (uvicorn's factory, ``iatiportal.web.workers:app``)."""
    settings = ServeSettings.from_environment()
    portal: Starlette = create_app(
        make_engine(settings.db_url),
        load_portal(list(settings.profiles)),
        snapshot_dir=Path(settings.snapshot_dir),
        frame_ancestors=settings.frame_ancestors,
        public_url=settings.public_url,
    )
    return ThreadLimit(portal, settings.threads)
