"""Browser fixtures: the demo portal served by ``iatiportal serve`` and Debian's Chromium driven
by Playwright.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium`` (``make test``
installs Debian's package where it is missing), with flags that keep Chromium off the network.
Screenshots and PDFs go to ``test-artifacts/screenshots/`` (gitignored, tests/artifacts.py); the
run's summary (tests/conftest.py) names the folder.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from artifacts import ARTIFACTS
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    ViewportSize,
    expect,
    sync_playwright,
)
from serving import IATIPORTAL, served, without_proxies
from viewing import sized_page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
WAIT_MS = 90_000
EXPECT_MS = 20_000
"""How long a page load or an action (Playwright's default: 30 s), and an expectation (5 s),
may take before the test fails: what only a busy machine needs (two workers of ``pytest -n``
on two cores, each with its Chromium and portal, next to PostgreSQL), which a test that
passes never waits for. A run on a loaded machine timed out a page's network idle at 30 s."""


@pytest.fixture(scope="session")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of ``iatiportal serve --profile unwomen`` over the demo data, on 127.0.0.1."""
    folder = tmp_path_factory.mktemp("browser")
    db = folder / "demo.db"
    env = without_proxies()
    loaded = subprocess.run(
        [str(IATIPORTAL), "demo", "--no-serve", "--db", str(db)],
        capture_output=True, text=True, env=env, cwd=folder, timeout=120, check=False,
    )  # fmt: skip
    assert loaded.returncode == 0, f"iatiportal demo --no-serve failed:\n{loaded.stderr}"
    with served(str(db), folder, "--profile", "unwomen") as (base, _server):
        yield base


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless; fails (never skips) where it is not installed."""
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} not found: the browser tests need Debian's chromium. Run `make test` "
            "(it installs it), or `apt-get install chromium`.",
            pytrace=False,
        )
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    new_context = chromium.new_context

    def patient_context(**options: Any) -> BrowserContext:
        ctx = new_context(**options)
        ctx.set_default_timeout(WAIT_MS)
        return ctx

    chromium.new_context = patient_context  # type: ignore[method-assign]
    expect.set_options(timeout=EXPECT_MS)
    yield chromium
    chromium.close()


@pytest.fixture
def context(browser: Browser, portal: str) -> Iterator[BrowserContext]:
    """A fresh desktop-sized browser context on the portal (JavaScript on)."""
    ctx = browser.new_context(base_url=portal, viewport=DESKTOP)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture(scope="session")
def artifact_names(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of the run holding a file per artifact name taken, shared by every worker of
    ``pytest -n`` (their tmp folders are in the run's)."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "artifact-names"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture
def artifact(
    record_property: Callable[[str, object], None],
    artifact_names: Path,
    request: pytest.FixtureRequest,
) -> Callable[[str], Path]:
    """A function naming a file of the artifacts folder (created; a previous run's file is
    overwritten) that the test then writes; the path is printed, recorded as a property and
    listed in the summary. A name is taken once per run: a second test, in any worker, that
    asks for it fails instead of overwriting the first one's file."""

    def path(name: str) -> Path:
        try:
            with (artifact_names / name).open("x") as taken:
                taken.write(request.node.nodeid)
        except FileExistsError:
            owner = (artifact_names / name).read_text()
            pytest.fail(f"artifact {name} is already written by {owner} in this run")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        target = ARTIFACTS / name
        record_property("artifact", str(target))
        print(f"browser artifact: {target}")  # noqa: T201
        return target

    return path


@pytest.fixture(params=[390, 1366], ids=["390px", "1366px"], scope="module")
def width(request: pytest.FixtureRequest) -> int:
    """The widths the pages are checked at: a phone's and a laptop's."""
    return int(request.param)


@pytest.fixture
def sized(browser: Browser, portal: str, width: int) -> Iterator[Page]:
    """A page of the portal at ``width`` (a phone, with touch, below 600 px)."""
    with sized_page(browser, portal, width) as page:
        yield page
