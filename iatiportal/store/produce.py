"""Rows from one file, made inline or by worker processes so parsing and writing overlap.

The producer reads the file (iterparse, extraction, validation) and turns records into rows
with allocated ids; the process that owns the database connection only inserts them. A large
file is shared by several workers (each parses the whole file but reads every n-th activity),
so all cores work while the main process writes: a thread per worker reads its messages
ahead (READ_AHEAD), so that a worker does not wait on its pipe while the writer inserts
(see bench/ingest.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import pickle
import queue
import subprocess
import sys
import threading
import traceback
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iatiportal.ingest import records as r
from iatiportal.ingest.errors import FileError
from iatiportal.ingest.parse import WHOLE, iter_file
from iatiportal.ingest.split import Part, find_cuts
from iatiportal.store.rows import (
    FIRST_FLUSH_ROWS,
    FLUSH_ROWS,
    Batch,
    Conversions,
    RowBuffer,
    add_activity,
    add_organisation,
)

WORKER_MIN_BYTES = 4 << 20
"""Files at least this large are parsed in a worker process (start-up costs about 0.2 s)."""


@dataclass
class Produced:
    """What the producer learnt of the file, besides its rows."""

    header: r.FileHeader | None = None
    activities: int = 0
    organisations: int = 0
    activity_ids: set[str] = field(default_factory=set)
    organisation_ids: set[str] = field(default_factory=set)
    problems: Counter[str] = field(default_factory=Counter)  # by severity
    rules: Counter[str] = field(default_factory=Counter)
    bytes_done: int = 0

    def merge(self, other: Produced) -> None:
        self.header = self.header or other.header
        self.activities += other.activities
        self.organisations += other.organisations
        self.activity_ids |= other.activity_ids
        self.organisation_ids |= other.organisation_ids
        self.problems.update(other.problems)
        self.rules.update(other.rules)
        self.bytes_done = max(self.bytes_done, other.bytes_done)


@dataclass
class Job:
    path: Path
    source: str
    file_id: int
    next_ids: dict[str, int]
    validate: bool
    recorded_at: dt.datetime
    part: Part = WHOLE
    conversions: Conversions = dataclasses.field(default_factory=dict)
    tables: tuple[str, ...] = ()
    """The tables in the order of inserts (parents first): a worker cuts its batches into
    messages in this order (see ``pieces``)."""


Message = tuple[str, Any]
"""("rows", Batch), ("progress", (part, bytes, records)), ("done", Produced); from workers
also ("piece", Batch) before the "rows" that ends a batch (see ``pieces``), ("error",
FileError arguments) and ("crash", traceback)."""


def produce(job: Job) -> Iterator[Message]:
    """Read the file and yield batches of rows, progress, and finally a summary."""
    buf = RowBuffer(job.next_ids, (job.part.index, job.part.count), job.conversions)
    flush_at = FIRST_FLUSH_ROWS
    done = Produced()

    def add_problems(items: list[r.Problem]) -> None:
        for p in items:
            done.problems[p.severity] += 1
            done.rules[p.rule] += 1
            buf.rows["problem"].append(
                {  # problems have no allocated id
                    "source_file_id": job.file_id,
                    "file_path": job.source,
                    "line": p.line,
                    "iati_identifier": p.iati_identifier,
                    "severity": p.severity,
                    "rule": p.rule,
                    "message": p.message,
                    "recorded_at": job.recorded_at,
                }
            )
            buf.count += 1

    def on_bytes(n: int) -> None:
        done.bytes_done = n

    for item in iter_file(job.path, validate=job.validate, progress=on_bytes, part=job.part):
        if isinstance(item, r.Activity):
            for batch in add_activity(buf, item, job.file_id, FLUSH_ROWS):
                yield "rows", batch
            item.transactions.close()
            done.activity_ids.add(item.iati_identifier)
            done.activities += 1
            add_problems(item.problems)
        elif isinstance(item, r.Organisation):
            add_organisation(buf, item, job.file_id)
            done.organisation_ids.add(item.organisation_identifier)
            done.organisations += 1
            add_problems(item.problems)
        elif isinstance(item, r.Problem):
            add_problems([item])
        else:
            done.header = item
        if buf.count >= flush_at:
            flush_at = FLUSH_ROWS
            yield "rows", buf.take()
            yield (
                "progress",
                (job.part.index, done.bytes_done, done.activities + done.organisations),
            )
    yield "rows", buf.take()
    yield "done", done


def worker_main() -> None:
    """A worker process (``python -m iatiportal.store.worker``): read a pickled Job on stdin,
    write pickled messages on stdout until the file is done.

    A plain subprocess rather than multiprocessing: nothing but this module and the ingest
    package is imported (a worker stays near 30 MB), the pipe's capacity makes the worker wait
    for the writer, and the worker ends with a broken pipe if the writer is killed.
    """
    job = pickle.load(sys.stdin.buffer)  # noqa: S301 - from our own parent, over a private pipe
    out = sys.stdout.buffer

    def send(message: Message) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        out.write(len(data).to_bytes(_LENGTH, "big"))
        out.write(data)

    try:
        for kind, payload in produce(job):
            if kind == "rows":
                # The last piece is "rows": the writer takes a batch's pieces one after the
                # other, so rows go in in the same order as whole batches (the ids that the
                # database assigns, of problems and derived rows, stay as they were).
                last: Batch = {}
                for piece in pieces(payload, job.tables):
                    if last:
                        send(("piece", last))
                    last = piece
                send(("rows", last))
            else:
                send((kind, payload))
    except FileError as e:
        send(("error", (e.rule, e.message, e.line)))
    except Exception:  # noqa: BLE001 - any other failure is reported, with its traceback
        send(("crash", traceback.format_exc()))
    out.flush()


MESSAGE_ROWS = 4_000
"""Rows in one message of a worker at most. A batch (FLUSH_ROWS; at 20,000 rows, 6 MB pickled
on average for the 69 MB benchmark file) goes in pieces of about 1 MB, so the messages read
ahead and the one being unpickled cost the writer a few MB instead of tens (issue 14: 31 MB
of pickled batches were queued at the writer's peak)."""


def pieces(batch: Batch, order: Sequence[str], size: int = MESSAGE_ROWS) -> Iterator[Batch]:
    """``batch`` as batches of at most ``size`` rows, the tables in ``order`` first and in
    that order (then any other), so that inserted one after the other, parents still go in
    before their children."""
    piece: Batch = {}
    room = size
    for table in [*(t for t in order if t in batch), *(t for t in batch if t not in order)]:
        columns, values = batch[table]
        start = 0
        while start < len(values):
            chunk = values[start : start + room]
            piece[table] = (columns, chunk)
            start += len(chunk)
            room -= len(chunk)
            if room == 0:
                yield piece
                piece, room = {}, size
    if piece:
        yield piece


def worker_count(path: Path) -> int:
    """How many worker processes parse ``path``: none for small files, else one per core.

    ``IATIPORTAL_INGEST_WORKERS`` overrides (0 parses in the writing process).
    """
    setting = os.environ.get("IATIPORTAL_INGEST_WORKERS")
    if setting is not None:
        return max(0, int(setting))
    if path.stat().st_size < WORKER_MIN_BYTES:
        return 0
    return min(2, os.cpu_count() or 1) if (os.cpu_count() or 1) > 1 else 0


_LENGTH = 8
"""Bytes of the length before each pickled message from a worker."""

READ_AHEAD = 1
"""Messages of each worker queued while the writer inserts (the reading thread holds one more
while it waits to queue it): the workers go on parsing instead of waiting on a full pipe
(64 KiB, less than one batch), at the cost of holding two batches per worker, pickled (4 MB
on average for the 69 MB benchmark file, 11 MB at most)."""


def _read_ahead(proc: subprocess.Popen[bytes], stop: threading.Event) -> queue.Queue[bytes | None]:
    """A thread that reads the worker's messages (pickled, unread) into a queue of at most
    READ_AHEAD; None in the queue when the worker's output ended before a whole message."""
    ahead: queue.Queue[bytes | None] = queue.Queue(READ_AHEAD)
    stream = proc.stdout
    assert stream is not None  # noqa: S101 - Popen(stdout=PIPE) sets it

    def put(item: bytes | None) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            while True:
                head = stream.read(_LENGTH)
                data = stream.read(int.from_bytes(head, "big")) if len(head) == _LENGTH else b""
                if not data:
                    put(None)
                    return
                if not put(data):
                    return
        except (OSError, ValueError):  # the pipe was closed under us: the writer is done
            put(None)

    threading.Thread(target=read, name="ingest-read-ahead", daemon=True).start()
    return ahead


def _receive(
    ahead: queue.Queue[bytes | None], proc: subprocess.Popen[bytes], source: str
) -> Message:
    """The worker's next message, read ahead."""
    data = ahead.get()
    if data is None:
        raise RuntimeError(f"an ingest worker for {source} died (exit code {proc.wait()})")
    message: Message = pickle.loads(data)  # noqa: S301 - our own child
    return message


def messages(job: Job, workers: int | None = None) -> Iterator[Message]:
    """``produce(job)``, shared by worker processes for large files; one "done" at the end
    and progress as (bytes read, records) of the whole file.

    Raises FileError like ``produce``.
    """
    n = worker_count(job.path) if workers is None else workers
    if n == 0:
        for kind, payload in produce(job):
            yield kind, payload[1:] if kind == "progress" else payload
        return
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "iatiportal.store.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        for _ in range(n)
    ]
    total = Produced()
    seen: dict[int, tuple[int, int]] = {}  # progress of each part: bytes read, records
    stop = threading.Event()
    try:
        cuts = find_cuts(job.path, n) or ()
        for k, proc in enumerate(procs):
            assert proc.stdin is not None  # noqa: S101 - Popen(stdin=PIPE) sets it
            pickle.dump(dataclasses.replace(job, part=Part(k, n, cuts)), proc.stdin)
            proc.stdin.close()
        ahead = [_read_ahead(proc, stop) for proc in procs]
        active = list(enumerate(procs))
        while active:
            # Round robin, one batch per worker: each only writes, so none can deadlock.
            for k, proc in list(active):
                kind, payload = _receive(ahead[k], proc, job.source)
                while kind == "piece":
                    yield "rows", payload
                    kind, payload = _receive(ahead[k], proc, job.source)
                if kind == "error":
                    raise FileError(*payload)
                if kind == "crash":
                    raise RuntimeError(f"an ingest worker failed on {job.source}:\n{payload}")
                if kind == "done":
                    total.merge(payload)
                    active.remove((k, proc))
                elif kind == "progress":
                    part, bytes_done, records = payload
                    seen[part] = (bytes_done, records)
                    yield kind, (max(b for b, _ in seen.values()), sum(n for _, n in seen.values()))
                else:
                    yield kind, payload
        yield "done", total
    finally:
        stop.set()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
