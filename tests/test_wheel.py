"""``pip install`` gives the whole portal: a wheel built as ``make wheel`` builds it, installed
into a fresh virtualenv outside the repository, runs ``iatiportal demo`` with no shared folder
and serves the demo without problems, with its chart and map scripts."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from lxml import html
from serving import PROXY_VARS

from iatiportal.standard import install
from iatiportal.web import vendor

REPO = Path(__file__).resolve().parent.parent
LOCAL = ("PYTHONPATH", "IATIPORTAL_STANDARD_DIR", "IATIPORTAL_NODE_MODULES",
         "IATIPORTAL_DATABASE_URL", "VIRTUAL_ENV", *PROXY_VARS)  # fmt: skip


def _sources(dest: Path) -> None:
    """The repository's files (tracked, or new and not ignored), as a fresh clone has them."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True, capture_output=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for rel in filter(None, listed):
        src = REPO / rel
        if src.is_file() and not src.is_symlink():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def _get(url: str) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, b""


def _free_port() -> int:
    import socket  # noqa: PLC0415 - only here

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.slow
def test_the_wheel_installed_in_a_fresh_venv_serves_the_demo(tmp_path: Path) -> None:
    # Build: the sources, the standard fetched as `make` fetches it (IATI, else PyPI's copies;
    # never the shared folder), the browser libraries from node_modules; then the wheel.
    src = tmp_path / "src"
    _sources(src)
    fetched = install.fetch(src / "iatiportal" / "standard" / "data")
    assert "Overlaid" not in fetched.note
    vendor.bundle(REPO / "node_modules", src / "iatiportal" / "web" / "npm")
    env = {k: v for k, v in os.environ.items() if k not in LOCAL}
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir",
         str(tmp_path / "dist"), str(src)],
        check=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("iatiportal-*.whl")

    # Install into a fresh virtualenv, far from the repository.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        check=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    shutil.rmtree(src)  # nothing may be read from the build tree
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import iatiportal; print(iatiportal.__file__)"],
        check=True, capture_output=True, text=True, env=env, cwd=tmp_path,
    ).stdout  # fmt: skip
    assert where.startswith(str(venv))

    # Run the demo with an empty shared folder.
    run = tmp_path / "run"
    run.mkdir()
    (tmp_path / "empty").mkdir()
    env["IATIPORTAL_SHARED_DATA"] = str(tmp_path / "empty")
    iatiportal = str(venv / "bin" / "iatiportal")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "demo.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [iatiportal, "demo", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
            env=env, cwd=run,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while not _answering(base):
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"iatiportal demo did not serve:\n{log_path.read_text()}")
                time.sleep(0.2)

            problems = subprocess.run(
                [iatiportal, "problems", "--db", "iatiportal-demo.db", "--json"],
                check=True, capture_output=True, text=True, env=env, cwd=run,
            ).stdout.splitlines()  # fmt: skip
            assert problems == []
            with sqlite3.connect(run / "iatiportal-demo.db") as conn:
                files = conn.execute(
                    "SELECT path, status, activity_count, organisation_count FROM source_file "
                    "ORDER BY path"
                ).fetchall()
                budgets = conn.execute("SELECT count(*) FROM organisation_budget").fetchone()[0]
            assert [(p, s) for p, s, _a, _o in files] == [
                ("XM-DAC-41146-sample-activities.xml", "ok"),
                ("XM-DAC-41146-sample-organisation.xml", "ok"),
            ]
            assert files[1][3] == 1
            assert budgets > 0

            status, page = _get(base + "/")
            assert status == 200
            # The names shipped with the package: Mali's M49 region and an activity's status
            # in Spanish (the 2018 codelists fetched offline have no UNSDG-Goals list).
            status, country = _get(base + "/countries/ML?lang=es")
            assert status == 200
            assert "África · África subsahariana" in country.decode()
            status, activity = _get(base + "/activities/XM-DAC-41146-MLI_D_1.1?lang=es")
            assert status == 200
            assert '<dd class="status">Ejecución</dd>' in activity.decode()
            scripts = html.fromstring(page).xpath("//script/@src")
            served = {s.split("?")[0].rsplit("/", 1)[-1] for s in scripts if "/vendor/" in s}
            assert served >= {*vendor.CHARTS, *vendor.MAPS}, scripts
            for name in vendor.FILES:
                status, body = _get(f"{base}/static/vendor/{name}")
                assert status == 200, name
                assert len(body) > 1000, name
            # Every font file a font's CSS names (Chinese: one per Unicode range) is in the wheel.
            for prefix in vendor.FOLDERS:
                index = prefix.removesuffix("files/") + "index.css"
                _status, css = _get(f"{base}/static/vendor/{index}")
                fonts = set(re.findall(r"\./files/([a-z0-9-]+\.woff2)", css.decode()))
                assert fonts, prefix
                for font in sorted(fonts):
                    assert _get(f"{base}/static/vendor/{prefix}{font}")[0] == 200, font
            stats = subprocess.run(
                [iatiportal, "stats", "--db", "iatiportal-demo.db", "--json"],
                check=True, capture_output=True, text=True, env=env, cwd=run,
            ).stdout  # fmt: skip
            assert json.loads(stats)["organisations"] == 1
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _answering(base: str) -> bool:
    try:
        return _get(base + "/about")[0] == 200
    except (urllib.error.URLError, OSError):
        return False
