"""Test support shared by every test folder: configurations, service checks, worker and S3 processes.

Three configurations run the same API tests:
- ``embedded``: SQLite + taskiq's in-process broker (jobs run inside the app);
- ``production``: Postgres + Redis stream broker + a separate ``moodmix worker`` process;
- ``s3``: as production, with S3 storage (moto's server) and no shared disk between API and worker.
Set ``MOODMIX_TEST_CONFIGS=embedded`` to run only that one; otherwise a missing Postgres/Redis
fails the run (it is never skipped).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

#: The server's shared database: used only to create and drop this session's own database.
PG_ADMIN_URL = os.environ.get("MOODMIX_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
#: This test session's private database (created on first use), so concurrent runs never collide.
PG_SESSION_DB = f"moodmix_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
PG_URL = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_SESSION_DB
_pg_created = False
REDIS_URL = os.environ.get("MOODMIX_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CONFIGS = [c for c in os.environ.get("MOODMIX_TEST_CONFIGS", "embedded,production,s3").split(",") if c]


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def services_up() -> bool:
    return _port_open("127.0.0.1", 5432) and _port_open("127.0.0.1", 6379)


def require_services() -> None:
    """Fail (never skip) without Postgres and Redis: ``scripts/services`` starts them, and
    ``MOODMIX_TEST_CONFIGS=embedded`` is the explicit way to run without them."""
    if not services_up():
        pytest.fail("Postgres (127.0.0.1:5432) and Redis (127.0.0.1:6379) must be running: run "
                    "./scripts/services, or set MOODMIX_TEST_CONFIGS=embedded")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def drop_session_database() -> None:
    if _pg_created:
        await _admin(f'DROP DATABASE IF EXISTS "{PG_SESSION_DB}" WITH (FORCE)')


async def reset_postgres() -> None:
    """Empty this session's private database (creating it on first use)."""
    import asyncpg

    global _pg_created
    if not _pg_created:
        await _admin(f'CREATE DATABASE "{PG_SESSION_DB}"')
        _pg_created = True
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


class MotoServer:
    """moto's standalone S3-compatible server on a loopback port."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = Path(sys.executable).with_name("moto_server")
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(self.port)], stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while not _port_open("127.0.0.1", self.port):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"moto server did not start: {log_path.read_text()[-1000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)


_MOTO: MotoServer | None = None


def moto_url() -> str:
    """Start moto once per test session (on first use)."""
    global _MOTO
    known = os.environ.get("MOODMIX_TEST_MOTO_URL")  # conftest may be imported twice (importlib mode)
    if known:
        return known
    if _MOTO is None:
        import tempfile

        _MOTO = MotoServer(Path(tempfile.mkdtemp(prefix="moto-")) / "moto.log")
        os.environ["MOODMIX_TEST_MOTO_URL"] = _MOTO.url
    return _MOTO.url


def stop_moto() -> None:
    if _MOTO is not None:
        _MOTO.stop()


def base_env(data_dir: Path, config: str, **extra: str) -> dict[str, str]:
    env = {
        "MOODMIX_DATA_DIR": str(data_dir),
        "MOODMIX_SECRET_KEY": "test-secret-" + uuid.uuid4().hex,
        "MOODMIX_RATE_LIMIT": "100000",
        "MOODMIX_LOG_LEVEL": "WARNING",
        "MOODMIX_RETRY_BACKOFF_S": "0.2",
    }
    if config == "s3":
        env["MOODMIX_STORAGE_URL"] = f"s3://moodmix-test/{uuid.uuid4().hex[:8]}?endpoint={moto_url()}&create=1"
        env.update({"MOODMIX_S3_ACCESS_KEY_ID": "test", "MOODMIX_S3_SECRET_ACCESS_KEY": "test",
                    "MOODMIX_S3_REGION": "us-east-1"})
    if config in ("production", "s3"):
        env["MOODMIX_DATABASE_URL"] = PG_URL
        env["MOODMIX_REDIS_URL"] = REDIS_URL
        env["MOODMIX_QUEUE_NAME"] = f"moodmix-test-{uuid.uuid4().hex[:8]}"
    env.update(extra)
    return env


class WorkerProcess:
    """A real ``moodmix worker`` in its own process (production configuration)."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "moodmix", "worker"], env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def real_server(env: dict[str, str], log_path: Path, *, workers: int = 1,
                server: str = "granian") -> Iterator[str]:
    """``moodmix serve`` on a loopback port; yields its base URL."""
    port = free_port()
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "moodmix", "serve", "--host", "127.0.0.1", "--port",
                                 str(port), "--server", server, "--workers", str(workers)],
                                env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"server exited: {log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("server did not answer /health within 90 s")
            time.sleep(0.2)
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@contextlib.asynccontextmanager
async def engine_runtime(data_dir: Path, **env: str):
    """An in-process Runtime on SQLite with the built-in plugins (jobs run inside it), for unit tests
    that call the engine's parts directly."""
    import msgspec

    from moodmix.engine.config import load_settings
    from moodmix.engine.plugin_manager import build_plugin_manager
    from moodmix.engine.runtime import Runtime

    settings = load_settings(environ={"MOODMIX_DATA_DIR": str(data_dir), "MOODMIX_LOG_LEVEL": "WARNING",
                                      "MOODMIX_SECRET_KEY": "engine-unit-tests-secret-0123456789abcdef",
                                      "MOODMIX_JOB_RETRIES": "1", **env})
    only_builtins = msgspec.structs.replace(settings, disable_plugins=["example"])
    rt = await Runtime.start(settings, pm=build_plugin_manager(only_builtins), role="api")
    try:
        yield rt
    finally:
        await rt.stop()
