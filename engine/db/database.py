"""Engine construction from a URL and binding of the tables to it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine

from moodmix.engine.db.sqlite_pool import PooledSQLiteEngine
from moodmix.engine.db.tables import ALL_TABLES


def make_engine(url: str) -> Engine:
    """``sqlite:///path`` or ``postgresql://user@host:port/db``."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = url.split("sqlite:///", 1)[1] if "sqlite:///" in url else parsed.path
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return PooledSQLiteEngine(path=path, timeout=30, isolation_level=None)
    if parsed.scheme in ("postgres", "postgresql", "postgresql+asyncpg"):
        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        return PostgresEngine(config={"dsn": dsn})
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://…")


def bind(engine: Engine) -> None:
    for table in ALL_TABLES:
        table._meta.db = engine


def is_postgres(engine: Engine) -> bool:
    return isinstance(engine, PostgresEngine)


async def open_database(url: str, *, pool: bool = True) -> Engine:
    """Make, bind and (Postgres) pool an engine; SQLite gets WAL for concurrent readers."""
    engine = make_engine(url)
    bind(engine)
    if is_postgres(engine):
        if pool:
            await engine.start_connection_pool(min_size=1, max_size=10)
    else:
        await engine.run_ddl("PRAGMA journal_mode=WAL;")
    return engine


async def close_database(engine: Engine) -> None:
    if is_postgres(engine) and getattr(engine, "pool", None) is not None:
        await engine.close_connection_pool()
    if isinstance(engine, PooledSQLiteEngine):
        await engine.close_pool()
