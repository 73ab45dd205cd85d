"""Fixtures for the browser tests: the real server on a loopback port, and headless Chromium.

The browser is the system Chromium (Debian package ``chromium``) driven by Playwright for
Python; Playwright's own browser download is never used. CI installs both with::

    apt-get update && apt-get install -y chromium
    pip install playwright

A missing browser or Playwright fails the tests (it does not skip them).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

INSTALL_HINT = ("install them with 'apt-get update && apt-get install -y chromium' and "
                "'pip install playwright' (never 'playwright install')")
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium")
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def find_chromium() -> str:
    """The Chromium binary: $MOODMIX_CHROMIUM, else the Debian package's, else one on PATH."""
    override = os.environ.get("MOODMIX_CHROMIUM")
    if override:
        if not os.access(override, os.X_OK):
            pytest.fail(f"MOODMIX_CHROMIUM={override} is not an executable file")
        return override
    for path in CHROMIUM_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail(f"Chromium is not installed; {INSTALL_HINT}")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str, token: str | None = None) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> str:
    """``moodmix serve`` (uvicorn, in-process jobs) on a free loopback port; yields its base URL."""
    root = tmp_path_factory.mktemp("web-server")
    port = _free_port()
    env = {**os.environ, "MOODMIX_DATA_DIR": str(root / "data"), "MOODMIX_SECRET_KEY": "test",
           "MOODMIX_RATE_LIMIT": "100000", "HF_HUB_OFFLINE": "1", "MOODMIX_LOG_LEVEL": "WARNING"}
    log_path = root / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moodmix", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--server", "uvicorn"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if _get_json(f"{base}/health")["data"]["status"] == "ok":
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the server did not come up; its log:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.25)
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def capabilities(server) -> dict[str, dict]:
    return {c["name"]: c for c in _get_json(f"{server}/api/v1/capabilities")["data"]}


@pytest.fixture(scope="session")
def genres(server) -> list[dict]:
    return _get_json(f"{server}/api/v1/genres")["data"]


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(f"Playwright for Python is not installed; {INSTALL_HINT}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    """A fresh tab (own session storage); fails the test on uncaught JavaScript errors."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900},
                                  base_url=server)
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def demo_track(tmp_path_factory) -> Path:
    from moodmix.engine.demo import write_demo_track

    return write_demo_track(tmp_path_factory.mktemp("audio") / "demo-song.wav", seconds=6.0)



@pytest.fixture(scope="session")
def recordings(tmp_path_factory) -> dict[str, Path]:
    """A real Vorbis OGG, and an MP3 and a FLAC made from it (see tests/real_recordings.py)."""
    from real_recordings import make_recordings

    return make_recordings(tmp_path_factory.mktemp("recordings"))
