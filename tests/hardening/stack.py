"""The system under test for the hardening suite: private databases, in-process apps, real servers.

``tests/conftest.py``'s ``api`` fixture drops and recreates the schema of the shared ``test``
database; on a machine where several people run the suite at once, that wipes their tables
mid-test (and theirs wipe ours). Every hardening test therefore gets a database of its own on
the same Postgres server, created here and dropped afterwards. Redis is shared safely: each
test already uses its own queue name (``base_env``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from support import PG_ADMIN_URL, PG_URL, WorkerProcess, base_env, free_port, real_server  # noqa: F401


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def admin_sql(sql: str) -> None:
    """Run one statement on the server's maintenance connection (the shared database, never its tables)."""
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def private_database(prefix: str = "hardening") -> AsyncIterator[str]:
    """A fresh, migrated Postgres database; yields its URL and drops it afterwards."""
    from moodmix.engine.db.database import close_database, open_database
    from moodmix.engine.db.migrate import migrate

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    await admin_sql(f'CREATE DATABASE "{name}"')
    url = _with_database(PG_URL, name)
    try:
        engine = await open_database(url, pool=False)
        try:
            await migrate(engine)
        finally:
            await close_database(engine)
        yield url
    finally:
        await admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


#: Configurations with Postgres + Redis and a separate worker process.
QUEUED_CONFIGS = ("production", "s3")


def stack_env(data_dir: Path, config: str, database_url: str | None, **extra: str) -> dict[str, str]:
    """``base_env`` pointed at a private database — never at the shared one."""
    env = base_env(data_dir, config, **extra)
    if config in QUEUED_CONFIGS:
        assert database_url, f"the {config} configuration needs a private database"
        env["MOODMIX_DATABASE_URL"] = database_url
    return env




@asynccontextmanager
async def app_client(config: str, tmp_path: Path, monkeypatch, **extra: str):
    """An in-process API client (with a real worker process for production) on a private database."""
    from litestar.testing import AsyncTestClient

    from moodmix.engine.config import load_settings
    from moodmix.engine.plugin_manager import build_plugin_manager
    from moodmix.web.app import create_app

    async with _maybe_database(config) as db_url:
        env = stack_env(tmp_path / "data", config, db_url, **extra)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        data_dirs = [tmp_path / "data"]
        worker = None
        if config in QUEUED_CONFIGS:
            worker_env = dict(env)
            if config == "s3":  # no shared disk: the worker has its own data folder
                worker_env["MOODMIX_DATA_DIR"] = str(tmp_path / "worker-data")
                data_dirs.append(tmp_path / "worker-data")
            worker = WorkerProcess(worker_env, tmp_path / "worker.log").start()
        try:
            app = create_app(load_settings(), pm=build_plugin_manager())
            async with AsyncTestClient(app=app, timeout=60) as client:
                client.config_name = config
                client.worker = worker
                client.data_dirs = data_dirs
                yield client
        finally:
            if worker:
                worker.stop()


@asynccontextmanager
async def _maybe_database(config: str) -> AsyncIterator[str | None]:
    if config not in QUEUED_CONFIGS:
        yield None
        return
    async with private_database() as url:
        yield url


def temp_leftovers(*data_dirs: Path) -> list[str]:
    """Anything left under the data folders' ``temp/`` (files or folders)."""
    roots = [d / "temp" for d in data_dirs if (d / "temp").exists()]
    return sorted(str(p) for root in roots for p in root.rglob("*"))


