"""Refresh: keep the store in step with what publishers publish (``iatiportal refresh``).

A **sources file** lists what to follow, one source a line; ``#`` at the start of a line or
after a space starts a comment (a URL's ``#fragment`` is no comment)::

    # files of publishers, as URLs (http or https; user:password@ and tokens allowed)
    https://example.org/iati/activities.xml   # a comment
    # every dataset an IATI Registry publisher lists (its resources[0].url)
    publisher:unwomen

Each URL is downloaded with a conditional GET (``If-None-Match`` / ``If-Modified-Since``
from the ETag and Last-Modified the server sent last time, kept in ``refresh_source``), so an
unchanged file costs one 304 answer; a 200 whose body has the digest of the last one is not
ingested either. What changed is ingested through ``store.load.ingest``, which stores it as
``iatiportal ingest URL`` would (same name, same row), downloaded through the same bounded
downloader (``ingest.sources.download``).

Nothing stored is lost because a server failed: a file that cannot be downloaded (5xx, a
timeout, 404 or 410 too) keeps what the store holds from it, and so does every dataset of a
publisher whose registry answer failed. A file is removed only when the IATI Registry, having
answered, no longer lists its dataset (or lists it at another URL, once that one is stored).
A URL dropped from the sources file is left as it is stored.

Downloaded changes are ingested together (one refresh of the derived tables) up to
``CHUNK_BYTES`` on disk at a time, so the first refresh of the whole registry (about 10 GB)
never holds more than that on disk.

One refresh of a store runs at a time (``lock``): an ``flock`` on ``<store>.refresh.lock``
beside an SQLite store, a PostgreSQL session advisory lock otherwise.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Engine, delete, insert, select, update

from iatiportal.ingest.sources import (
    REGISTRY_URL,
    DownloadError,
    DownloadLimits,
    Source,
    SourceError,
    Validators,
    download,
    download_file,
    expand,
    is_url,
    location_key,
    redact,
    sha256_of,
)
from iatiportal.store import registry as registry_store
from iatiportal.store import schema as s
from iatiportal.store import version
from iatiportal.store.db import writing
from iatiportal.store.load import ingest, remove

PUBLISHER_PREFIX = "publisher:"
REFRESH_LOCK_KEY = 0x1A71_9048
"""The PostgreSQL advisory lock (session level) that a refresh holds for its whole run; not
``db.WRITE_LOCK_KEY``, which writers take per transaction (an ingest may run meanwhile)."""
CHUNK_BYTES = 1 << 30
PAGE_ROWS = 1000  # CKAN's largest page of package_search
REGISTRY_LIMITS = DownloadLimits(max_bytes=64 << 20, deadline=300.0, read_timeout=60.0)
"""A page of 1,000 datasets is about 5 MB of JSON: 64 MiB is room enough and bounds a hostile
answer."""
_PUBLISHER_ID = re.compile(r"[a-z0-9_-]{1,100}")  # CKAN's names: lower case, digits, - and _
_MAX_PAGES = 1000
_COMMENT = re.compile(r"(?:^|\s)#")  # not a URL's fragment: a comment follows a space

_memory_lock = threading.Lock()


class SourcesFileError(Exception):
    """The sources file cannot be read or has a line that is not a source: a usage error."""


class RegistryError(Exception):
    """The registry did not give a publisher's datasets (no answer, an error, not its API)."""


class AlreadyRunningError(Exception):
    """Another refresh of the same store is running."""


@dataclass(frozen=True)
class Entry:
    """One line of the sources file: a URL, or an IATI Registry publisher id."""

    line: int
    url: str | None = field(default=None, repr=False)  # private: may carry credentials
    publisher: str | None = None


def read_sources(path: Path) -> list[Entry]:
    """The entries of a sources file (see the module's docstring). Raises SourcesFileError
    naming the file and line of anything else."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SourcesFileError(f"{path}: cannot be read ({e})") from None
    entries: list[Entry] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = _COMMENT.split(raw, maxsplit=1)[0].strip()
        if not line:
            continue
        if is_url(line):
            try:
                expand([line])  # the checks of ``iatiportal ingest URL``
            except SourceError as e:
                raise SourcesFileError(f"{path}, line {number}: {e}") from None
            entries.append(Entry(number, url=line))
        elif line.startswith(PUBLISHER_PREFIX):
            publisher = line.removeprefix(PUBLISHER_PREFIX).strip()
            if not _PUBLISHER_ID.fullmatch(publisher):
                raise SourcesFileError(
                    f"{path}, line {number}: {publisher!r} is not an IATI Registry publisher id "
                    "(lower-case letters, digits, - and _)"
                )
            entries.append(Entry(number, publisher=publisher))
        else:
            raise SourcesFileError(
                f"{path}, line {number}: {redact(line)!r} is neither an http(s) URL nor "
                f"{PUBLISHER_PREFIX}<id>"
            )
    return entries


# -- the registry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    name: str
    url: str | None  # resources[0].url; None when the registry gives none


def _api(registry: str, action: str, params: dict[str, str | int]) -> Any:
    url = f"{registry.rstrip('/')}/api/3/action/{action}?{urlencode(params)}"
    with download_file() as path:
        try:
            with path.open("wb") as out:
                download(url, out, REGISTRY_LIMITS)
        except DownloadError as e:
            raise RegistryError(e.message) from None
        try:
            with path.open("rb") as f:
                doc = json.load(f)
        except (ValueError, RecursionError):
            raise RegistryError(f"{redact(url)} did not answer JSON") from None
    if not isinstance(doc, dict) or doc.get("success") is not True or "result" not in doc:
        raise RegistryError(f"{redact(url)} did not answer as the CKAN API does")
    return doc["result"]


def _dataset(item: Any) -> Dataset | None:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        return None
    resources = item.get("resources")
    first = resources[0] if isinstance(resources, list) and resources else None
    url = first.get("url") if isinstance(first, dict) else None
    return Dataset(item["name"], url.strip() if isinstance(url, str) and url.strip() else None)


def publisher_datasets(registry: str, publisher: str) -> list[Dataset]:
    """The datasets the registry lists for ``publisher`` (CKAN's ``organization_show``, then
    ``package_search`` page by page). Raises RegistryError when any answer is missing or not
    the API's: a partial list would make the datasets it misses look gone."""
    try:
        _api(registry, "organization_show", {"id": publisher})
    except RegistryError as e:
        raise RegistryError(f"the IATI Registry did not give publisher {publisher}: {e}") from None
    found: dict[str, Dataset] = {}
    start = 0
    for _page in range(_MAX_PAGES):
        try:
            result = _api(
                registry,
                "package_search",
                {"fq": f"organization:{publisher}", "rows": PAGE_ROWS, "start": start},
            )
        except RegistryError as e:
            raise RegistryError(
                f"the IATI Registry did not list the datasets of {publisher}: {e}"
            ) from None
        results = result.get("results") if isinstance(result, dict) else None
        count = result.get("count") if isinstance(result, dict) else None
        if not isinstance(results, list) or not isinstance(count, int):
            raise RegistryError(
                f"the IATI Registry's list of the datasets of {publisher} is not CKAN's "
                "package_search answer"
            )
        for item in results:
            dataset = _dataset(item)
            if dataset is None:
                raise RegistryError(
                    f"the IATI Registry's list of the datasets of {publisher} has an entry "
                    "without a name"
                )
            found.setdefault(dataset.name, dataset)
        start += len(results)
        if not results or start >= count:
            return list(found.values())
    raise RegistryError(f"the IATI Registry lists more than {_MAX_PAGES} pages for {publisher}")


def _publisher_iati_id(item: Any) -> Any:
    """A CKAN organisation's ``publisher_iati_id``: a field of its own, or among its extras."""
    if not isinstance(item, dict):
        return item  # a list of identifiers (a file)
    if "publisher_iati_id" in item:
        return item["publisher_iati_id"]
    extras = item.get("extras")
    for extra in extras if isinstance(extras, list) else []:
        if isinstance(extra, dict) and extra.get("key") == "publisher_iati_id":
            return extra.get("value")
    return None


def registry_publishers(registry: str) -> list[str]:
    """The IATI organisation identifiers of every publisher the registry lists (CKAN's
    ``organization_list`` with all fields and extras, page by page until an empty one).
    Raises RegistryError
    when an answer is missing or not the API's, or none has an identifier."""
    found: list[Any] = []
    offset = 0
    for _page in range(_MAX_PAGES):
        try:
            result = _api(
                registry,
                "organization_list",
                {
                    "all_fields": "true",
                    "include_extras": "true",
                    "limit": PAGE_ROWS,
                    "offset": offset,
                },
            )
        except RegistryError as e:
            raise RegistryError(f"the IATI Registry did not list its publishers: {e}") from None
        if not isinstance(result, list):
            raise RegistryError(
                "the IATI Registry's list of publishers is not CKAN's organization_list answer"
            )
        found += [_publisher_iati_id(item) for item in result]
        offset += len(result)
        if not result:  # pages may be shorter than asked (CKAN caps those with all fields)
            ids = registry_store.clean_ids(found)
            if not ids:
                raise RegistryError("the IATI Registry listed no publisher with an identifier")
            return ids
    raise RegistryError(f"the IATI Registry lists more than {_MAX_PAGES} pages of publishers")


def publishers_in_file(path: Path) -> list[str]:
    """The identifiers in a file: a saved ``organization_list`` answer (or its result, a list
    of organisations or of identifiers), as JSON; else one identifier a line."""
    if path.stat().st_size > REGISTRY_LIMITS.max_bytes:
        raise RegistryError(f"{path.name} is larger than {REGISTRY_LIMITS.max_bytes} bytes")
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        items: list[Any] = [line.split("#", 1)[0] for line in text.splitlines()]
    else:
        if isinstance(doc, dict):
            doc = doc.get("result")
        if not isinstance(doc, list):
            raise RegistryError(f"{path.name} is JSON but not a list of publishers")
        items = [_publisher_iati_id(item) for item in doc]
    ids = registry_store.clean_ids(items)
    if not ids:
        raise RegistryError(f"{path.name} holds no publisher identifier")
    return ids


# -- one run -----------------------------------------------------------------------------------


@dataclass
class Outcome:
    source: str  # a redacted URL, or publisher:<id>
    status: str  # ingested | unchanged | removed | failed
    detail: str


@dataclass
class RefreshSummary:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


@dataclass(frozen=True)
class _Target:
    url: str = field(repr=False)  # as given: may carry credentials
    name: str  # redacted
    key: str  # source_file.location_key
    publisher: str | None
    dataset: str | None


@dataclass
class _Note:
    """What to remember of a target once its file is stored (or found unchanged)."""

    target: _Target
    validators: Validators
    sha256: str | None
    changed: bool


def _target(url: str, publisher: str | None = None, dataset: str | None = None) -> _Target:
    name = redact(url)
    key = location_key(Source(url, name))
    return _Target(url, name, key, publisher, dataset)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _plural(n: int, word: str) -> str:
    if n == 1:
        return f"{n} {word}"
    return f"{n} {word[:-1]}ies" if word.endswith("y") else f"{n} {word}s"


class _Run:
    def __init__(
        self,
        engine: Engine,
        *,
        limits: DownloadLimits,
        validate: bool,
        chunk_bytes: int,
        allow_private: bool,
        report: Callable[[Outcome], None] | None,
        on_wait: Callable[[], None] | None,
    ) -> None:
        self.engine = engine
        self.allow_private = allow_private
        self.limits = limits
        self.validate = validate
        self.chunk_bytes = chunk_bytes
        self.report = report
        self.on_wait = on_wait
        self.summary = RefreshSummary()
        with engine.connect() as conn:
            self.stored = {r.location_key: r for r in conn.execute(select(s.refresh_source))}
            self.files = {
                r.location_key: r
                for r in conn.execute(
                    select(
                        s.source_file.c.location_key,
                        s.source_file.c.ingested_at,
                        s.source_file.c.error_rule,
                        s.source_file.c.activity_count,
                    )
                )
            }
        self.pending: list[tuple[_Target, Path, Validators, str]] = []
        self.pending_bytes = 0
        self.notes: list[_Note] = []
        self.done: set[str] = set()  # keys stored or found unchanged in this run

    def say(self, source: str, status: str, detail: str) -> None:
        outcome = Outcome(source, status, detail)
        self.summary.outcomes.append(outcome)
        if self.report is not None:
            self.report(outcome)

    def kept(self, key: str) -> str:
        file = self.files.get(key)
        if file is None or file.ingested_at is None:
            return "nothing is stored from it"
        return f"the store keeps its {_plural(file.activity_count, 'activity')}"

    def is_stored(self, key: str) -> bool:
        file = self.files.get(key)
        return file is not None and file.ingested_at is not None and file.error_rule is None

    def fetch(self, target: _Target, files: contextlib.ExitStack) -> None:
        row = self.stored.get(target.key)
        validators = None
        if row is not None and self.is_stored(target.key):
            validators = Validators(row.etag, row.last_modified)
        with contextlib.ExitStack() as this:
            path = this.enter_context(download_file())
            try:
                with path.open("wb") as out:
                    fetched = download(
                        target.url,
                        out,
                        self.limits,
                        validators,
                        public_only=target.publisher is not None and not self.allow_private,
                    )
            except DownloadError as e:
                listed = ""
                if e.status in (404, 410) and target.dataset is not None:
                    listed = f" (the IATI Registry still lists dataset {target.dataset})"
                self.say(target.name, "failed", f"{e.message}{listed}; {self.kept(target.key)}")
                return
            if fetched.not_modified:
                digest = row.sha256 if row is not None else None
                self.notes.append(_Note(target, fetched.validators, digest, False))
                self.done.add(target.key)
                self.say(target.name, "unchanged", "not modified (HTTP 304)")
                return
            digest = sha256_of(path)
            if row is not None and row.sha256 == digest and self.is_stored(target.key):
                self.notes.append(_Note(target, fetched.validators, digest, False))
                self.done.add(target.key)
                self.say(target.name, "unchanged", "the same content as last time")
                return
            files.push(this.pop_all())  # kept until the chunk is ingested
        self.pending.append((target, path, fetched.validators, digest))
        self.pending_bytes += path.stat().st_size
        if self.pending_bytes >= self.chunk_bytes:
            self.flush(files)

    def flush(self, files: contextlib.ExitStack) -> None:
        """Ingest what was downloaded (one ingest: one refresh of the derived tables), then
        write down what the run learnt, and remove the downloads."""
        if self.pending:
            sources = [Source(t.url, t.name, downloaded=str(p)) for t, p, _v, _d in self.pending]
            summary = ingest(self.engine, sources, validate=self.validate, on_wait=self.on_wait)
            by_name = {f.source: f for f in summary.files}
            for target, _path, validators, digest in self.pending:
                outcome = by_name[target.name]
                if outcome.status == "failed":
                    # Nothing remembered: the next run downloads it again (the failure may
                    # have been the store's, a full disk).
                    self.notes.append(_Note(target, Validators(), None, False))
                    self.say(target.name, "failed", f"{outcome.error}; {self.kept(target.key)}")
                    continue
                self.done.add(target.key)
                self.notes.append(_Note(target, validators, digest, True))
                if outcome.status == "unchanged":
                    self.say(target.name, "unchanged", "the same content as stored")
                else:
                    detail = _plural(outcome.activities, "activity")
                    if outcome.organisations:
                        detail += f", {_plural(outcome.organisations, 'organisation')}"
                    self.say(target.name, "ingested", detail)
        self.pending, self.pending_bytes = [], 0
        files.close()
        self.write_notes()

    def write_notes(self) -> None:
        if not self.notes:
            return
        now = _now()
        t = s.refresh_source.c
        with writing(self.engine, self.on_wait) as conn:
            for note in self.notes:
                target = note.target
                before = self.stored.get(target.key)
                changed_at = now if note.changed else (before.changed_at if before else None)
                conn.execute(delete(s.refresh_source).where(t.location_key == target.key))
                conn.execute(
                    insert(s.refresh_source).values(
                        location_key=target.key,
                        url=target.name,
                        publisher=target.publisher,
                        dataset=target.dataset,
                        etag=note.validators.etag,
                        last_modified=note.validators.last_modified,
                        sha256=note.sha256,
                        checked_at=now if note.sha256 else None,
                        changed_at=changed_at,
                    )
                )
                if not note.changed and note.sha256:
                    # Found unchanged without an ingest: /-/data-health says when it was checked.
                    conn.execute(
                        update(s.source_file)
                        .where(s.source_file.c.location_key == target.key)
                        .values(checked_at=now)
                    )
            version.bump(conn, content=False)
        self.notes = []

    def remove(self, rows: Sequence[tuple[Any, str]]) -> None:
        """Remove the files of these ``refresh_source`` rows (each with why), in one
        transaction and one refresh of the derived tables."""
        if not rows:
            return
        sources = [Source(row.url, row.url) for row, _why in rows]
        removed = remove(self.engine, sources, on_wait=self.on_wait)
        with writing(self.engine, self.on_wait) as conn:
            keys = [row.location_key for row, _why in rows]
            conn.execute(delete(s.refresh_source).where(s.refresh_source.c.location_key.in_(keys)))
            version.bump(conn, content=False)
        for (row, why), gone in zip(rows, removed, strict=True):
            held = _plural(gone.activities, "activity")
            self.say(row.url, "removed", f"{why}: removed from the store, with its {held}")


def refresh(
    engine: Engine,
    entries: Sequence[Entry],
    *,
    registry: str = REGISTRY_URL,
    limits: DownloadLimits | None = None,
    validate: bool = True,
    chunk_bytes: int = CHUNK_BYTES,
    allow_private: bool = False,
    report: Callable[[Outcome], None] | None = None,
    on_wait: Callable[[], None] | None = None,
) -> RefreshSummary:
    """Bring the store in step with ``entries`` (see the module's docstring); ``report`` is
    called with each outcome as it is known. Take ``lock`` around it. One failing source or
    publisher is an outcome, never an exception. A file the registry lists is downloaded from
    a public address only (``sources.download``'s ``public_only``), unless ``allow_private``:
    publishers choose those URLs, and the portal's machine has services of its own."""
    run = _Run(
        engine,
        limits=limits or DownloadLimits(),
        validate=validate,
        chunk_bytes=chunk_bytes,
        allow_private=allow_private,
        report=report,
        on_wait=on_wait,
    )
    targets: dict[str, _Target] = {}
    listed: dict[str, dict[str, Dataset]] = {}  # publisher -> its datasets, when resolved
    for entry in entries:
        if entry.url is not None:
            target = _target(entry.url)
            targets.setdefault(target.key, target)
            continue
        publisher = entry.publisher or ""
        if publisher in listed:
            continue
        try:
            datasets = publisher_datasets(registry, publisher)
        except RegistryError as e:
            run.say(f"{PUBLISHER_PREFIX}{publisher}", "failed", f"{e}; its files stay as stored")
            continue
        listed[publisher] = {d.name: d for d in datasets}
        for dataset in datasets:
            if dataset.url is None or not is_url(dataset.url):
                run.say(
                    f"{PUBLISHER_PREFIX}{publisher}",
                    "failed",
                    f"the IATI Registry gives dataset {dataset.name} no http(s) file URL",
                )
                continue
            target = _target(dataset.url, publisher, dataset.name)
            # A URL listed in the sources file too becomes the dataset's.
            listed_before = targets.get(target.key)
            if listed_before is None or listed_before.publisher is None:
                targets[target.key] = target

    with contextlib.ExitStack() as files:
        for target in targets.values():
            run.fetch(target, files)
        run.flush(files)

    # The registry answered for these publishers: their stored files that it no longer lists
    # go; a dataset that moved to another URL goes once the new URL is stored.
    gone: list[tuple[Any, str]] = []
    for row in run.stored.values():
        if row.publisher not in listed or row.location_key in targets:
            continue
        now_listed = listed[row.publisher].get(row.dataset)
        if now_listed is None:
            why = f"the IATI Registry no longer lists dataset {row.dataset} of {row.publisher}"
            gone.append((row, why))
        elif now_listed.url is not None and _target(now_listed.url).key in run.done:
            gone.append((row, f"dataset {row.dataset} of {row.publisher} moved to another URL"))
    run.remove(gone)
    return run.summary


@contextlib.contextmanager
def lock(
    engine: Engine, *, wait: bool, on_wait: Callable[[], None] | None = None
) -> Iterator[None]:
    """Hold the store's refresh lock for the block. Raises AlreadyRunningError when another
    refresh holds it, unless ``wait`` (then ``on_wait`` is called once, and it waits)."""
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database in (None, "", ":memory:"):
            if not _memory_lock.acquire(blocking=False):
                if not wait:
                    raise AlreadyRunningError
                if on_wait is not None:
                    on_wait()
                _memory_lock.acquire()
            try:
                yield
            finally:
                _memory_lock.release()
            return
        with Path(f"{database}.refresh.lock").open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not wait:
                    raise AlreadyRunningError from None
                if on_wait is not None:
                    on_wait()
                fcntl.flock(handle, fcntl.LOCK_EX)
            yield  # closing the file releases the lock
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        got = conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({REFRESH_LOCK_KEY})").scalar()
        if not got:
            if not wait:
                raise AlreadyRunningError
            if on_wait is not None:
                on_wait()
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({REFRESH_LOCK_KEY})")
        try:
            yield
        finally:
            conn.exec_driver_sql(f"SELECT pg_advisory_unlock({REFRESH_LOCK_KEY})")
