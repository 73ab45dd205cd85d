"""Fixtures: the example plugin installed, an API client per configuration, audio files.

Shared helpers live in ``support.py`` (import them from there: several folders have a
conftest.py, so ``from conftest import`` is ambiguous).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import (
    CONFIGS,
    PG_URL,
    WorkerProcess,
    base_env,
    drop_session_database,
    require_services,
    reset_postgres,
    stop_moto,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def pytest_sessionfinish(session, exitstatus):
    import asyncio
    import contextlib

    stop_moto()
    with contextlib.suppress(OSError):  # Postgres is down: nothing was created
        asyncio.run(drop_session_database())


@pytest.fixture(scope="session", autouse=True)
def example_plugin_site(tmp_path_factory) -> Path:
    """Install the third-party example plugin (tests/plugin_dist) like a user would, into its own site dir.

    It is then on sys.path for this process and on PYTHONPATH for every subprocess
    (workers, CLI, servers), so its entry point is discovered everywhere.
    """
    target = tmp_path_factory.mktemp("plugin-site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(Path(__file__).parent / "plugin_dist")],
                   check=True, capture_output=True)
    sys.path.insert(0, str(target))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(target), os.environ.get("PYTHONPATH")]))
    import importlib

    importlib.invalidate_caches()
    from moodmix.engine.plugin_manager import get_plugin_manager

    get_plugin_manager.cache_clear()
    yield target
    sys.path.remove(str(target))


@pytest.fixture(params=CONFIGS)
def config_name(request) -> str:
    if request.param in ("production", "s3"):
        require_services()
    return request.param


@pytest.fixture
def env_for(tmp_path):
    def make(config: str, **extra: str) -> dict[str, str]:
        return base_env(tmp_path / "data", config, **extra)

    return make


@pytest.fixture
async def api(config_name, env_for, tmp_path, monkeypatch):
    """An API client on the chosen configuration (with a worker process for production)."""
    from litestar.testing import AsyncTestClient

    from moodmix.engine.config import load_settings
    from moodmix.web.app import create_app

    env = env_for(config_name)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    worker = None
    if config_name in ("production", "s3"):
        await reset_postgres()
        from moodmix.engine.db.database import close_database, open_database
        from moodmix.engine.db.migrate import migrate

        engine = await open_database(PG_URL, pool=False)
        await migrate(engine)
        await close_database(engine)
        worker_env = dict(env)
        if config_name == "s3":  # no shared disk: the worker has its own, empty data folder
            worker_env["MOODMIX_DATA_DIR"] = str(tmp_path / "worker-data")
        worker = WorkerProcess(worker_env, tmp_path / "worker.log").start()
    settings = load_settings()
    from moodmix.engine.plugin_manager import build_plugin_manager

    app = create_app(settings, pm=build_plugin_manager())
    try:
        async with AsyncTestClient(app=app, timeout=60) as client:
            client.config_name = config_name
            client.worker = worker
            yield client
    finally:
        if worker:
            worker.stop()


@pytest.fixture
def demo_wav(tmp_path) -> Path:
    from moodmix.engine.demo import write_demo_track

    return write_demo_track(tmp_path / "demo.wav", seconds=6.0)
