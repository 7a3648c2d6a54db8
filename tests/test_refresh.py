"""``iatiportal refresh`` against a local HTTP server that plays the IATI Registry (CKAN's API)
and the publishers' servers: what each run prints, its exit status and what the store holds
after it, on both databases."""

from __future__ import annotations

import gc
import http.server
import json
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from iatiportal import cli, refresh
from iatiportal.cli import main
from iatiportal.store import registry
from iatiportal.store import schema as s
from iatiportal.store.db import make_engine, migrate

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


@dataclass
class File:
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    status: int = 200  # another status is sent without a body
    redirect: str | None = None  # a path of the server to send the client to (302)
    hang: bool = False  # send nothing until the test ends


@dataclass
class World:
    """What the server serves; the test changes it between runs."""

    files: dict[str, File] = field(default_factory=dict)
    publishers: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # id -> (dataset,
    # path)
    registry_status: int = 200  # for package_search
    organisations: list[dict[str, Any]] = field(default_factory=list)  # organization_list
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    base: str = ""


PAGE_LIMIT = 2  # the registry's largest page here: the client must read every page


def _handler(world: World) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def reply(self, status: int, body: bytes = b"", **headers: str) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def api(self, status: int, doc: dict[str, Any]) -> None:
            self.reply(status, json.dumps(doc).encode(), Content_Type="application/json")

        def do_GET(self) -> None:
            world.requests.append((self.path, dict(self.headers.items())))
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path == "/api/3/action/organization_show":
                if query.get("id") in world.publishers:
                    return self.api(200, {"success": True, "result": {"name": query["id"]}})
                return self.api(404, {"success": False, "error": {"__type": "Not Found Error"}})
            if parts.path == "/api/3/action/organization_list":
                offset = int(query.get("offset", 0))
                limit = min(int(query.get("limit", 10)), PAGE_LIMIT)
                page = world.organisations[offset : offset + limit]
                return self.api(200, {"success": True, "result": page})
            if parts.path == "/api/3/action/package_search":
                if world.registry_status != 200:
                    return self.reply(world.registry_status)
                publisher = query["fq"].removeprefix("organization:")
                listed = world.publishers.get(publisher, [])
                start = int(query.get("start", 0))
                rows = min(int(query.get("rows", 10)), PAGE_LIMIT)
                results = [
                    {"name": name, "resources": [{"url": f"{world.base}{path}"}]}
                    for name, path in listed[start : start + rows]
                ]
                return self.api(
                    200, {"success": True, "result": {"count": len(listed), "results": results}}
                )
            file = world.files.get(parts.path)
            if file is None:
                return self.reply(404)
            if file.hang:
                world.release.wait(30)
                return self.reply(200, file.body)
            if file.redirect is not None:
                return self.reply(302, Location=file.redirect)
            if file.status != 200:
                return self.reply(file.status)
            validators = {}
            if file.etag is not None:
                validators["ETag"] = file.etag
            if file.last_modified is not None:
                validators["Last_Modified"] = file.last_modified
            if (file.etag is not None and self.headers.get("If-None-Match") == file.etag) or (
                file.last_modified is not None
                and self.headers.get("If-Modified-Since") == file.last_modified
            ):
                return self.reply(304, **validators)
            return self.reply(200, file.body, Content_Type="application/xml", **validators)

    return Handler


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The server on 127.0.0.1 (the downloader reads loopback like any host), no proxies,
    downloads below the test's folder."""
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    state = World()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


def fixture(name: str, **kwargs: Any) -> File:
    return File((FIXTURES / name).read_bytes(), **kwargs)


def run_refresh(*args: str) -> tuple[int, list[str], str]:
    """``iatiportal refresh ARGS`` in this process: (exit status, stdout lines, stderr)."""
    result = CliRunner().invoke(main, ["refresh", *args])
    outcome = (result.exit_code, result.stdout.splitlines(), result.stderr)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    del result  # its traceback would keep the command's engine alive
    gc.collect()
    return outcome


def stored(url: str) -> dict[str, Any]:
    """What the store holds: current identifiers, files by name, refresh rows by URL."""
    engine: Engine = make_engine(url)
    try:
        with engine.connect() as conn:
            current = conn.execute(
                select(s.activity.c.iati_identifier).where(s.activity.c.is_current)
            ).scalars()
            files = conn.execute(select(s.source_file.c.path, s.source_file.c.activity_count))
            rows = conn.execute(
                select(
                    s.refresh_source.c.url,
                    s.refresh_source.c.publisher,
                    s.refresh_source.c.dataset,
                    s.refresh_source.c.etag,
                    s.refresh_source.c.last_modified,
                )
            )
            return {
                "current": sorted(current),
                "files": {r.path: r.activity_count for r in files},
                "refresh": {r.url: tuple(r)[1:] for r in rows},
            }
    finally:
        engine.dispose()


def conditional(world: World, path: str) -> dict[str, str]:
    """The conditional headers of the last request for ``path``."""
    headers = [h for p, h in world.requests if p == path][-1]
    return {k: v for k, v in headers.items() if k.startswith("If-")}


def test_refresh_ingests_what_changed_and_keeps_what_a_failing_server_published(
    db_url: str, world: World, tmp_path: Path
) -> None:
    base = world.base
    world.files = {
        "/plain/disbursements.xml": fixture("money-disbursements.xml", etag='"d1"'),
        "/plain/moved.xml": File(redirect="/files/currencies.xml"),
        "/files/currencies.xml": fixture("money-currencies.xml", etag='"c1"'),
        "/plain/slow.xml": fixture("v105-sector-vocabulary.xml"),
        "/pub/langs.xml": fixture(
            "v203-narratives-multilingual.xml", last_modified="Mon, 30 Nov 2026 10:00:00 GMT"
        ),
        "/pub/hier.xml": fixture("v201-hierarchy-parent-child.xml", etag='"h1"'),
        "/pub/failing.xml": fixture("v102-narratives-element-text.xml", etag='"f1"'),
        "/pub/missing.xml": fixture("v105-result-type.xml", etag='"m1"'),
        "/pub/same.xml": fixture("v104-activity-date-types.xml"),  # no validators
        "/pub/move-a.xml": fixture("v103-participating-org-roles.xml", etag='"a1"'),
    }
    world.publishers = {
        "pub": [
            ("pub-langs", "/pub/langs.xml"),
            ("pub-hier", "/pub/hier.xml"),
            ("pub-failing", "/pub/failing.xml"),
            ("pub-missing", "/pub/missing.xml"),
            ("pub-same", "/pub/same.xml"),
            ("pub-move", "/pub/move-a.xml"),
        ]
    }
    sources = tmp_path / "sources.txt"
    sources.write_text(
        "# publishers' files\n"
        f"{base}/plain/disbursements.xml\n"
        f"{base}/plain/moved.xml   # redirected\n"
        f"{base}/plain/slow.xml\n"
        "\n"
        "publisher:pub\n",
        encoding="utf-8",
    )
    args = (str(sources), "--db", db_url, "--registry", base, "--no-validate", "--no-snapshot")
    # The registry's files are local; the timeout (slow.xml hangs in the second run) leaves
    # the served files room on a loaded machine (the server is a thread of this process).
    args += ("--timeout", "3", "--allow-private-addresses")

    status, lines, _ = run_refresh(*args)
    assert (status, lines) == (
        0,
        [
            f"ingested  {base}/plain/disbursements.xml: 2 activities",
            f"ingested  {base}/plain/moved.xml: 2 activities",
            f"ingested  {base}/plain/slow.xml: 1 activity",
            f"ingested  {base}/pub/langs.xml: 1 activity",
            f"ingested  {base}/pub/hier.xml: 2 activities",
            f"ingested  {base}/pub/failing.xml: 1 activity",
            f"ingested  {base}/pub/missing.xml: 1 activity",
            f"ingested  {base}/pub/same.xml: 1 activity",
            f"ingested  {base}/pub/move-a.xml: 1 activity",
            "Refresh: 9 ingested, 0 unchanged, 0 removed, 0 failed",
        ],
    )
    first = stored(db_url)
    assert first["current"] == sorted(
        ["XX-DISB-1", "XX-EXP-1", "XX-CUR-EUR", "XX-CUR-NONE", "XX-TEST-105-SECTORS",
         "XX-TEST-LANGS", "XX-TEST-PARENT", "XX-TEST-CHILD", "XX-TEST-102-TEXT",
         "XX-TEST-105-RESULTS", "XX-TEST-104-DATES", "XX-TEST-103-ROLES"]
    )  # fmt: skip
    assert first["refresh"] == {
        f"{base}/plain/disbursements.xml": (None, None, '"d1"', None),
        f"{base}/plain/moved.xml": (None, None, '"c1"', None),  # the redirect target's
        f"{base}/plain/slow.xml": (None, None, None, None),
        f"{base}/pub/langs.xml": ("pub", "pub-langs", None, "Mon, 30 Nov 2026 10:00:00 GMT"),
        f"{base}/pub/hier.xml": ("pub", "pub-hier", '"h1"', None),
        f"{base}/pub/failing.xml": ("pub", "pub-failing", '"f1"', None),
        f"{base}/pub/missing.xml": ("pub", "pub-missing", '"m1"', None),
        f"{base}/pub/same.xml": ("pub", "pub-same", None, None),
        f"{base}/pub/move-a.xml": ("pub", "pub-move", '"a1"', None),
    }
    assert conditional(world, "/plain/disbursements.xml") == {}

    # Second run: unchanged (304 by ETag, by Last-Modified, a 200 with the same body), changed
    # behind a redirect, gone from the registry, failing (500, 404 while listed, a timeout),
    # and a dataset moved to another URL.
    world.files["/files/currencies.xml"] = fixture("money-conversion.xml", etag='"c2"')
    del world.files["/pub/hier.xml"]
    world.publishers["pub"].remove(("pub-hier", "/pub/hier.xml"))
    world.files["/pub/failing.xml"].status = 500
    del world.files["/pub/missing.xml"]
    world.files["/plain/slow.xml"].hang = True
    world.files["/pub/move-b.xml"] = world.files.pop("/pub/move-a.xml")
    world.publishers["pub"][-1] = ("pub-move", "/pub/move-b.xml")

    status, lines, _ = run_refresh(*args)
    assert (status, lines) == (
        1,
        [
            f"unchanged {base}/plain/disbursements.xml: not modified (HTTP 304)",
            f"FAILED    {base}/plain/slow.xml: could not download {base}/plain/slow.xml: the "
            "server sent nothing for 3 s; the store keeps its 1 activity",
            f"unchanged {base}/pub/langs.xml: not modified (HTTP 304)",
            f"FAILED    {base}/pub/failing.xml: could not download {base}/pub/failing.xml: "
            "HTTP 500 Internal Server Error; the store keeps its 1 activity",
            f"FAILED    {base}/pub/missing.xml: could not download {base}/pub/missing.xml: "
            "HTTP 404 Not Found (the IATI Registry still lists dataset pub-missing); the store "
            "keeps its 1 activity",
            f"unchanged {base}/pub/same.xml: the same content as last time",
            # What changed is ingested together, after the downloads.
            f"ingested  {base}/plain/moved.xml: 1 activity",
            f"ingested  {base}/pub/move-b.xml: 1 activity",
            f"removed   {base}/pub/hier.xml: the IATI Registry no longer lists dataset pub-hier "
            "of pub: removed from the store, with its 2 activities",
            f"removed   {base}/pub/move-a.xml: dataset pub-move of pub moved to another URL: "
            "removed from the store, with its 1 activity",
            "Refresh: 2 ingested, 3 unchanged, 2 removed, 3 failed",
        ],
    )
    assert conditional(world, "/plain/disbursements.xml") == {"If-None-Match": '"d1"'}
    assert conditional(world, "/files/currencies.xml") == {"If-None-Match": '"c1"'}
    assert conditional(world, "/pub/langs.xml") == {
        "If-Modified-Since": "Mon, 30 Nov 2026 10:00:00 GMT"
    }
    second = stored(db_url)
    assert second["current"] == sorted(
        ["XX-DISB-1", "XX-EXP-1", "XX-CONV-1", "XX-TEST-105-SECTORS", "XX-TEST-LANGS",
         "XX-TEST-102-TEXT", "XX-TEST-105-RESULTS", "XX-TEST-104-DATES", "XX-TEST-103-ROLES"]
    )  # fmt: skip
    assert second["files"] == {
        f"{base}/plain/disbursements.xml": 2,
        f"{base}/plain/moved.xml": 1,
        f"{base}/plain/slow.xml": 1,
        f"{base}/pub/langs.xml": 1,
        f"{base}/pub/failing.xml": 1,
        f"{base}/pub/missing.xml": 1,
        f"{base}/pub/same.xml": 1,
        f"{base}/pub/move-b.xml": 1,
    }
    assert f"{base}/pub/hier.xml" not in second["refresh"]
    assert second["refresh"][f"{base}/pub/move-b.xml"] == ("pub", "pub-move", '"a1"', None)

    # Third run: the registry fails. Nothing of the publisher is fetched, nothing removed,
    # even the dataset the registry would no longer list.
    world.registry_status = 503
    world.publishers["pub"].remove(("pub-langs", "/pub/langs.xml"))
    world.files["/plain/slow.xml"].hang = False
    world.requests.clear()
    status, lines, _ = run_refresh(*args)
    search = f"{base}/api/3/action/package_search?fq=organization%3Apub&rows=1000&start=0"
    assert (status, lines) == (
        1,
        [
            "FAILED    publisher:pub: the IATI Registry did not list the datasets of pub: could "
            f"not download {search}: HTTP 503 Service Unavailable; its files stay as stored",
            f"unchanged {base}/plain/disbursements.xml: not modified (HTTP 304)",
            f"unchanged {base}/plain/moved.xml: not modified (HTTP 304)",
            f"unchanged {base}/plain/slow.xml: the same content as last time",
            "Refresh: 0 ingested, 3 unchanged, 0 removed, 1 failed",
        ],
    )
    assert not any(path.startswith("/pub/") for path, _ in world.requests)
    assert stored(db_url)["current"] == second["current"]


def test_a_publisher_the_registry_does_not_know_is_a_failure(
    sqlite_url: str, world: World, tmp_path: Path
) -> None:
    sources = tmp_path / "sources.txt"
    sources.write_text("publisher:nobody\n", encoding="utf-8")
    show = f"{world.base}/api/3/action/organization_show?id=nobody"
    status, lines, _ = run_refresh(
        str(sources), "--db", sqlite_url, "--registry", world.base, "--no-validate"
    )
    assert (status, lines) == (
        1,
        [
            "FAILED    publisher:nobody: the IATI Registry did not give publisher nobody: could "
            f"not download {show}: HTTP 404 Not Found; its files stay as stored",
            "Refresh: 0 ingested, 0 unchanged, 0 removed, 1 failed",
        ],
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("file:///etc/passwd", "'file:///etc/passwd' is neither an http(s) URL nor publisher:<id>"),
        ("publisher:Not An Id", "'Not An Id' is not an IATI Registry publisher id"),
        ("https://:8080/a.xml", "https://:8080/a.xml: not a valid URL (no host)"),
    ],
)
def test_a_line_that_is_no_source_is_a_usage_error(
    sqlite_url: str, tmp_path: Path, line: str, message: str
) -> None:
    sources = tmp_path / "sources.txt"
    sources.write_text(f"# ok\nhttps://example.org/a.xml\n{line}\n", encoding="utf-8")
    status, _, err = run_refresh(str(sources), "--db", sqlite_url)
    assert status == 2
    assert f"{sources}, line 3: {message}" in err


def test_a_second_refresh_of_a_store_exits_with_3_or_waits(
    db_url: str, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first refresh is held on a download that hangs; a second one says so and exits
    with 3, and with --wait it waits, then runs."""
    world.files = {"/a.xml": fixture("money-disbursements.xml", hang=True, etag='"a"')}
    sources = tmp_path / "sources.txt"
    sources.write_text(f"{world.base}/a.xml\n", encoding="utf-8")
    engine = make_engine(db_url)
    migrate(engine)
    entries = refresh.read_sources(sources)
    done: list[refresh.RefreshSummary] = []

    def first() -> None:
        with refresh.lock(engine, wait=False):
            done.append(refresh.refresh(engine, entries, validate=False))

    thread = threading.Thread(target=first)
    thread.start()
    try:
        while not world.requests:  # the first refresh holds the lock and waits for the file
            threading.Event().wait(0.05)
        status, lines, err = run_refresh(str(sources), "--db", db_url, "--no-validate")
        assert (status, lines) == (3, [])
        assert err == (
            "another refresh of this store is running: not starting a second one "
            "(--wait waits for it)\n"
        )
        said = threading.Event()
        say = cli._say_refresh_waiting
        monkeypatch.setattr(cli, "_say_refresh_waiting", lambda: (say(), said.set()))
        # Once the second refresh waits, the first one's download ends.
        releaser = threading.Thread(target=lambda: said.wait(60) and world.release.set())
        releaser.start()
        waited = run_refresh(
            str(sources), "--db", db_url, "--no-validate", "--no-snapshot", "--wait"
        )
        releaser.join(60)
        thread.join(60)
    finally:
        world.release.set()
        thread.join(30)
        engine.dispose()
    assert [o.status for o in done[0].outcomes] == ["ingested"]
    status, lines, err = waited
    assert err.startswith("another refresh of this store is running: waiting for it to finish\n")
    assert (status, lines) == (
        0,
        [
            f"unchanged {world.base}/a.xml: the same content as last time",
            "Refresh: 0 ingested, 1 unchanged, 0 removed, 0 failed",
        ],
    )


def test_a_registry_answer_that_is_not_the_apis_removes_nothing(
    sqlite_url: str, world: World, tmp_path: Path
) -> None:
    """A registry that answers, but not as CKAN does, is a failure: its empty or broken list
    must not make the publisher's stored datasets look gone."""
    world.files = {"/pub/a.xml": fixture("money-disbursements.xml", etag='"a"')}
    world.publishers = {"pub": [("pub-a", "/pub/a.xml")]}
    sources = tmp_path / "sources.txt"
    sources.write_text("publisher:pub\n", encoding="utf-8")
    args = (str(sources), "--db", sqlite_url, "--registry", world.base, "--no-validate")
    args += ("--allow-private-addresses",)
    assert run_refresh(*args)[0] == 0

    world.registry_status = 299  # a 2xx without a body: not JSON
    status, lines, _ = run_refresh(*args)
    search = f"{world.base}/api/3/action/package_search?fq=organization%3Apub&rows=1000&start=0"
    assert (status, lines) == (
        1,
        [
            "FAILED    publisher:pub: the IATI Registry did not list the datasets of pub: "
            f"{search} did not answer JSON; its files stay as stored",
            "Refresh: 0 ingested, 0 unchanged, 0 removed, 1 failed",
        ],
    )
    assert stored(sqlite_url)["current"] == ["XX-DISB-1", "XX-EXP-1"]


def test_validators_a_server_should_not_have_sent_are_not_kept(
    sqlite_url: str, world: World, tmp_path: Path
) -> None:
    """An ETag of 2,000 characters is neither stored nor sent back; the digest still finds
    the file unchanged. A URL's #fragment is no comment."""
    world.files = {"/a.xml": fixture("money-disbursements.xml", etag='"' + "x" * 2000 + '"')}
    sources = tmp_path / "sources.txt"
    sources.write_text(f"{world.base}/a.xml#part # a comment\n", encoding="utf-8")
    args = (str(sources), "--db", sqlite_url, "--no-validate", "--no-snapshot")
    assert run_refresh(*args)[:2] == (
        0,
        [
            f"ingested  {world.base}/a.xml#part: 2 activities",
            "Refresh: 1 ingested, 0 unchanged, 0 removed, 0 failed",
        ],
    )
    assert stored(sqlite_url)["refresh"] == {f"{world.base}/a.xml#part": (None, None, None, None)}
    assert run_refresh(*args)[:2] == (
        0,
        [
            f"unchanged {world.base}/a.xml#part: the same content as last time",
            "Refresh: 0 ingested, 1 unchanged, 0 removed, 0 failed",
        ],
    )
    assert conditional(world, "/a.xml") == {}


def test_a_file_the_registry_lists_at_a_private_address_is_refused(
    sqlite_url: str, world: World, tmp_path: Path
) -> None:
    """Publishers choose the URLs the registry lists: one on the portal's own machine (here
    127.0.0.1) is not asked for, unless --allow-private-addresses. The sources file's own URLs
    are the operator's, and read wherever they are."""
    world.files = {
        "/pub/a.xml": fixture("money-disbursements.xml"),
        "/own.xml": fixture("money-currencies.xml"),
    }
    world.publishers = {"pub": [("pub-a", "/pub/a.xml")]}
    sources = tmp_path / "sources.txt"
    sources.write_text(f"publisher:pub\n{world.base}/own.xml\n", encoding="utf-8")
    status, lines, _ = run_refresh(
        str(sources), "--db", sqlite_url, "--registry", world.base, "--no-validate"
    )
    assert (status, lines) == (
        1,
        [
            f"FAILED    {world.base}/pub/a.xml: could not download {world.base}/pub/a.xml: the "
            "server is at 127.0.0.1, which is not a public address; nothing is stored from it",
            f"ingested  {world.base}/own.xml: 2 activities",
            "Refresh: 1 ingested, 0 unchanged, 0 removed, 1 failed",
        ],
    )
    assert [path for path, _ in world.requests if not path.startswith("/api/")] == ["/own.xml"]
    assert stored(sqlite_url)["current"] == ["XX-CUR-EUR", "XX-CUR-NONE"]


def test_registry_publishers_are_loaded_page_by_page_and_spare_rules_1_14_8_and_1_18_8(
    db_url: str, world: World, tmp_path: Path
) -> None:
    # An activity file and an organisation file whose reporting-org identifiers have no
    # registration agency prefix; ingested before the list is loaded, the problems say that
    # registered publishers could not be spared.
    activities = FIXTURES / "rules-prefix.xml"
    organisations = FIXTURES / "rules-prefix-org.xml"
    result = CliRunner().invoke(
        main, ["ingest", "--db", db_url, str(activities), str(organisations)]
    )
    assert result.exit_code == 0, result.output

    def prefix_problems() -> dict[str, str]:
        engine = make_engine(db_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    select(s.problem.c.iati_identifier, s.problem.c.message).where(
                        s.problem.c.rule.in_(["1.14.8", "1.18.8"])
                    )
                )
                return {r.iati_identifier: r.message for r in rows}
        finally:
            engine.dispose()

    before = prefix_problems()
    assert set(before) == {"XX-PREFIX-UNREGISTERED-1", "XX-PREFIX-REGISTERED-1", "XX-PREFIX-ORG"}
    assert all(m.endswith(registry.NOT_SPARED) for m in before.values())
    # The registry: five organisations on pages of two; the identifier as CKAN gives it (a
    # field, or one of the extras), one without any.
    world.organisations = [
        {"name": "registered", "publisher_iati_id": "XX-PREFIX-REGISTERED"},
        {"name": "org", "extras": [{"key": "publisher_iati_id", "value": " XX-PREFIX-ORG "}]},
        {"name": "none", "extras": []},
        {"name": "other", "publisher_iati_id": "GB-COH-123"},
        {"name": "last", "publisher_iati_id": "XM-DAC-41146"},
    ]
    result = CliRunner().invoke(
        main, ["registry", "publishers", "--db", db_url, "--from", world.base]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "4 registered publishers stored; 2 problems of theirs removed\n"
    offsets = [
        parse_qs(urlsplit(p).query)["offset"][0]
        for p, _ in world.requests
        if "organization_list" in p
    ]
    assert offsets == ["0", "2", "4", "5"]
    after = prefix_problems()
    assert list(after) == ["XX-PREFIX-UNREGISTERED-1"]
    assert registry.NOT_SPARED not in after["XX-PREFIX-UNREGISTERED-1"]
    # Ingested again with the list loaded: spared at once.
    (tmp_path / "again.xml").write_bytes(activities.read_bytes())
    result = CliRunner().invoke(main, ["ingest", "--db", db_url, str(tmp_path / "again.xml")])
    assert result.exit_code == 0, result.output
    assert prefix_problems() == after
    # From a file, one identifier a line: the unregistered one is spared too.
    listed = tmp_path / "publishers.txt"
    listed.write_text("XX-PREFIX-UNREGISTERED  # a comment\nXX-PREFIX-REGISTERED\n")
    result = CliRunner().invoke(
        main, ["registry", "publishers", "--db", db_url, "--from", str(listed)]
    )
    assert result.exit_code == 0, result.output
    assert prefix_problems() == {}


def test_a_registry_that_lists_no_publisher_changes_nothing(sqlite_url: str, world: World) -> None:
    world.organisations = [{"name": "none"}]
    result = CliRunner().invoke(
        main, ["registry", "publishers", "--db", sqlite_url, "--from", world.base]
    )
    assert result.exit_code == 1
    assert "not loaded: the IATI Registry listed no publisher with an identifier" in result.stderr
