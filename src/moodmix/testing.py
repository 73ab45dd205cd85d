"""Helpers and pytest fixtures for testing moodmix and moodmix plugins (our own tests use them too).

Installed moodmix registers this module as a pytest plugin (entry point ``pytest11``), so a plugin's
tests get these fixtures without a ``conftest.py``:

- ``moodmix_env`` — extra ``MOODMIX_*`` variables for this test (override or parametrize it);
- ``moodmix_settings`` — settings on a temporary data folder (SQLite, in-process queue);
- ``moodmix_plugin(obj, name=None)`` — register a plugin object or module for one test;
- ``moodmix_registry()`` — the registry of installed plugins plus those registered;
- ``moodmix_run(name, inputs=..., params=...)`` — run a capability as ``moodmix run`` does;
- ``moodmix_audio(kind="tone", seconds=2.0)`` — a short generated audio file;
- ``moodmix_client`` — an API client on a running app, with ``signup``/``upload``/``wait_job``.

Plain helpers, for use without pytest: :func:`make_registry`, :func:`run_local`, :func:`tone`,
:func:`click_track`, :func:`write_wav`. Importing this module stays cheap (it is loaded by every
pytest run where moodmix is installed): numpy, Litestar and the engine load inside the helpers.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

try:  # strict-mode pytest-asyncio needs its own decorator on async fixtures; auto mode accepts both
    from pytest_asyncio import fixture as async_fixture
except ImportError:  # pragma: no cover - without pytest-asyncio, async tests need another runner
    async_fixture = pytest.fixture

if TYPE_CHECKING:
    import numpy as np
    import pluggy

    from moodmix.engine.capability import RunResult
    from moodmix.engine.config import Settings
    from moodmix.engine.registry import Registry


# -- plain helpers -------------------------------------------------------------------------------


def make_registry(*plugins: Any, settings: Settings | None = None) -> Registry:
    """Registry of the installed plugins plus ``plugins`` (modules or objects with hookimpls)."""
    from moodmix.engine.plugin_manager import build_plugin_manager
    from moodmix.engine.registry import Registry

    return Registry.from_plugin_manager(build_plugin_manager(settings, extra=plugins), settings)


def run_local(name: str, output_dir: Path, *, inputs: dict[str, Path] | None = None,
              texts: dict[str, str] | None = None, params: dict[str, Any] | None = None,
              registry: Registry | None = None, settings: Settings | None = None,
              progress: list | None = None) -> RunResult:
    """Run capability ``name``; when ``progress`` is a list, every report is appended to it."""
    from moodmix.engine.config import load_settings
    from moodmix.engine.execution import run_capability

    settings = settings or load_settings(environ={})
    reg = registry or make_registry(settings=settings)

    def record(fraction: float, message: str | None = None) -> None:
        if progress is not None:
            progress.append((fraction, message))

    return run_capability(reg, name, inputs=inputs, texts=texts, params=params, output_dir=output_dir,
                          settings=settings, progress=record)


def tone(freq: float = 440.0, seconds: float = 2.0, sr: int = 22050, amp: float = 0.3,
         channels: int = 1) -> np.ndarray:
    """A sine tone shaped ``(channels, frames)``."""
    import numpy as np

    t = np.arange(int(seconds * sr)) / sr
    y = (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.repeat(y[None, :], channels, axis=0)


def click_track(bpm: float = 120.0, seconds: float = 8.0, sr: int = 22050, amp: float = 0.8) -> np.ndarray:
    """Short decaying noise bursts on every beat, shaped ``(1, frames)``."""
    import numpy as np

    rng = np.random.default_rng(0)
    y = np.zeros(int(seconds * sr), dtype=np.float32)
    burst = (rng.standard_normal(int(0.03 * sr)) * np.exp(-np.linspace(0, 8, int(0.03 * sr)))).astype(np.float32)
    step = 60.0 / bpm
    t = 0.0
    while t < seconds:
        i = int(t * sr)
        seg = burst[: max(0, min(len(burst), len(y) - i))]
        y[i:i + len(seg)] += amp * seg
        t += step
    return y[None, :]


def write_wav(path: Path, audio: np.ndarray, sr: int = 22050) -> Path:
    from moodmix.engine import audio_io

    return audio_io.save_audio(path, audio, sr, format="wav")


def plugin_name(plugin: Any) -> str:
    """The name a plugin registered for a test goes by (its module's last part, or its class name)."""
    module_name = getattr(plugin, "__name__", None)
    if isinstance(module_name, str):
        return module_name.rsplit(".", 1)[-1]
    return type(plugin).__name__.lower()


# -- fixture state -------------------------------------------------------------------------------


class TestPlugins:
    """Plugins registered for one test, and the plugin managers built from them."""

    __test__ = False  # not a test class, whatever pytest's name patterns say

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.plugins: list[tuple[Any, str]] = []
        self.frozen_by: str | None = None

    def register(self, plugin: Any, name: str | None = None) -> Any:
        if self.frozen_by:
            raise RuntimeError(f"moodmix_plugin() was called after {self.frozen_by} started: register plugins "
                               "first (in the test before the first request, or in a fixture)")
        self.plugins.append((plugin, name or plugin_name(plugin)))
        return plugin

    def plugin_manager(self) -> pluggy.PluginManager:
        """Installed (enabled) plugins, then the registered ones under their names."""
        from moodmix.engine.plugin_manager import build_plugin_manager

        pm = build_plugin_manager(self.settings)
        for plugin, name in self.plugins:
            pm.register(plugin, name=name)
        return pm


class ApiClient:
    """A Litestar test client on :func:`moodmix.web.app.create_app`, started at its first request.

    Starting late lets a test register plugins (``moodmix_plugin``) in any order. Every attribute of
    Litestar's ``AsyncTestClient`` is available once started (``client.app.state.service`` …).
    """

    def __init__(self, plugins: TestPlugins) -> None:
        self._plugins = plugins
        self._http: Any = None

    async def start(self) -> ApiClient:
        if self._http is None:
            from litestar.testing import AsyncTestClient

            from moodmix.web.app import create_app

            self._plugins.frozen_by = "moodmix_client"
            app = create_app(self._plugins.settings, pm=self._plugins.plugin_manager())
            http = AsyncTestClient(app=app, timeout=60)
            await http.__aenter__()
            self._http = http
        return self

    async def close(self) -> None:
        if self._http is not None:
            http, self._http = self._http, None
            await http.__aexit__(None, None, None)

    def __getattr__(self, name: str) -> Any:
        if self._http is None:
            raise AttributeError(f"{name!r}: the client starts at its first request (or `await client.start()`)")
        return getattr(self._http, name)

    async def request(self, method: str, url: str, **kwargs: Any) -> Any:
        await self.start()
        return await self._http.request(method, url, **kwargs)

    async def get(self, url: str, **kwargs: Any) -> Any:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> Any:
        return await self.request("POST", url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> Any:
        return await self.request("PUT", url, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> Any:
        return await self.request("PATCH", url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> Any:
        return await self.request("DELETE", url, **kwargs)

    async def signup(self, username: str | None = None, password: str = "correct horse 1") -> dict[str, str]:
        """Register a fresh user; returns the ``Authorization`` headers to send as them."""
        username = username or f"user{uuid.uuid4().hex[:8]}"
        resp = await self.post("/api/v1/auth/register", json={"username": username, "password": password,
                                                              "email": f"{username}@example.com"})
        if resp.status_code != 201:
            raise AssertionError(f"sign-up failed: {resp.status_code} {resp.text}")
        return {"Authorization": f"Bearer {resp.json()['data']['token']}"}

    async def upload(self, headers: dict[str, str], path: Path, filename: str | None = None) -> str:
        """Upload an audio file as the user of ``headers``; returns its file id."""
        resp = await self.post("/api/v1/files", headers=headers,
                               files={"file": (filename or path.name, path.read_bytes(), "application/octet-stream")})
        if resp.status_code != 201:
            raise AssertionError(f"upload failed: {resp.status_code} {resp.text}")
        return resp.json()["data"]["id"]

    async def wait_job(self, headers: dict[str, str], job_id: str, timeout: float = 120.0) -> dict[str, Any]:
        """Poll a job until it succeeded, failed or was cancelled; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            resp = await self.get(f"/api/v1/jobs/{job_id}", headers=headers)
            if resp.status_code != 200:
                raise AssertionError(f"job {job_id}: {resp.status_code} {resp.text}")
            job = resp.json()["data"]
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} did not finish in {timeout} s: {job}")
            await asyncio.sleep(0.1)


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def moodmix_env() -> dict[str, str]:
    """Extra ``MOODMIX_*`` variables for :func:`moodmix_settings`: override this fixture, or parametrize
    it (``@pytest.mark.parametrize("moodmix_env", [{"MOODMIX_PLUGINS__NAME__FIELD": "x"}])``)."""
    return {}


@pytest.fixture
def moodmix_settings(tmp_path: Path, moodmix_env: dict[str, str]) -> Settings:
    """Settings for one test: a temporary data folder (SQLite database, local storage), the in-process
    queue, no rate limit worth the name. The process environment is not read, only ``moodmix_env``."""
    from moodmix.engine.config import load_settings

    environ = {
        "MOODMIX_DATA_DIR": str(tmp_path / "moodmix-data"),
        "MOODMIX_SECRET_KEY": "moodmix-test-" + uuid.uuid4().hex,
        "MOODMIX_RATE_LIMIT": "100000",
        "MOODMIX_RETRY_BACKOFF_S": "0.2",
        "MOODMIX_LOG_LEVEL": "WARNING",
        **moodmix_env,
    }
    return load_settings(environ=environ)


@pytest.fixture
def _moodmix_plugins(moodmix_settings: Settings) -> TestPlugins:
    return TestPlugins(moodmix_settings)


@pytest.fixture
def moodmix_plugin(_moodmix_plugins: TestPlugins):
    """``moodmix_plugin(obj, name=None)`` registers a plugin (module or object with hookimpls) for this
    test; ``name`` (default: the module's last part) is its entry-point name. Returns ``obj``."""
    return _moodmix_plugins.register


@pytest.fixture
def moodmix_registry(_moodmix_plugins: TestPlugins):
    """``moodmix_registry()``: the registry of installed plugins plus those registered for this test."""
    from moodmix.engine.registry import Registry

    def build() -> Registry:
        return Registry.from_plugin_manager(_moodmix_plugins.plugin_manager(), _moodmix_plugins.settings)

    return build


@pytest.fixture
def moodmix_run(_moodmix_plugins: TestPlugins, tmp_path: Path):
    """``moodmix_run(name, inputs=..., texts=..., params=..., progress=list)`` runs a capability with the
    same validation, temporary folders and output checks as a worker; outputs go to a fresh folder."""
    from moodmix.engine.registry import Registry

    def run(name: str, *, inputs: dict[str, Path] | None = None, texts: dict[str, str] | None = None,
            params: dict[str, Any] | None = None, progress: list | None = None) -> RunResult:
        out = tmp_path / f"run-{name}-{uuid.uuid4().hex[:6]}"
        registry = Registry.from_plugin_manager(_moodmix_plugins.plugin_manager(), _moodmix_plugins.settings)
        return run_local(name, out, inputs=inputs, texts=texts, params=params, registry=registry,
                         settings=_moodmix_plugins.settings, progress=progress)

    return run


@pytest.fixture
def moodmix_audio(tmp_path: Path):
    """``moodmix_audio(kind="tone" | "click", seconds=2.0, sr=22050, channels=1, **kw)`` writes a short
    generated WAV file and returns its path (``kw`` goes to :func:`tone` or :func:`click_track`)."""

    def make(kind: str = "tone", seconds: float = 2.0, sr: int = 22050, channels: int = 1, **kw: Any) -> Path:
        import numpy as np

        if kind == "tone":
            audio = tone(seconds=seconds, sr=sr, channels=channels, **kw)
        elif kind == "click":
            audio = np.repeat(click_track(seconds=seconds, sr=sr, **kw), channels, axis=0)
        else:
            raise ValueError(f"moodmix_audio: kind must be 'tone' or 'click', not {kind!r}")
        return write_wav(tmp_path / f"{kind}-{uuid.uuid4().hex[:6]}.wav", audio, sr)

    return make


@async_fixture
async def moodmix_client(_moodmix_plugins: TestPlugins):
    """An API client (Litestar ``AsyncTestClient``) on an app with ``moodmix_settings`` and every plugin
    registered with ``moodmix_plugin``; it starts at its first request and jobs run in-process."""
    client = ApiClient(_moodmix_plugins)
    try:
        yield client
    finally:
        await client.close()
