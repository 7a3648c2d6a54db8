"""Browser fixtures: the demo portal served by ``iatiportal serve`` and Debian's Chromium driven
by Playwright.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium`` (``make test``
installs Debian's package where it is missing), with flags that keep Chromium off the network.
Screenshots and PDFs go to ``test-artifacts/screenshots/`` (gitignored); the run's summary names
the folder.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)
from serving import IATIPORTAL, served, without_proxies

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
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
_written: list[Path] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say where the screenshots and PDFs of this run are."""
    if _written:
        terminalreporter.write_sep("-", "browser screenshots and PDFs")
        terminalreporter.write_line(f"{len(_written)} files in {ARTIFACTS}")


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


@pytest.fixture
def artifact(record_property: Callable[[str, object], None]) -> Callable[[str], Path]:
    """A function naming a file of the artifacts folder (created; files overwritten) that the
    test then writes; the path is printed, recorded as a property and listed in the summary."""

    def path(name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        target = ARTIFACTS / name
        _written.append(target)
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
    phone = width < 600
    ctx = browser.new_context(
        base_url=portal,
        viewport={"width": width, "height": 844 if phone else 900},
        is_mobile=phone,
        has_touch=phone,
    )
    yield ctx.new_page()
    ctx.close()
