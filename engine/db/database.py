"""Engine construction from a URL and binding of the tables to it (the engine's and every plugin's)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pluggy
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

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


def plugin_tables(pm: pluggy.PluginManager) -> dict[str, list[type[Table]]]:
    """Plugin name -> the tables it returns from ``register_tables``."""
    out: dict[str, list[type[Table]]] = {}
    for impl in pm.hook.register_tables.get_hookimpls():
        out[impl.plugin_name] = list(impl.function() or [])
    return out


def bind(engine: Engine, pm: pluggy.PluginManager | None = None, *, tables: Iterable[type[Any]] = ()) -> None:
    """Point the engine's tables, the plugins' (when ``pm`` is given) and ``tables`` at ``engine``."""
    chosen = [*ALL_TABLES, *tables]
    if pm is not None:
        chosen += [t for owned in plugin_tables(pm).values() for t in owned]
    for table in chosen:
        table._meta.db = engine


def is_postgres(engine: Engine) -> bool:
    return isinstance(engine, PostgresEngine)


async def open_database(url: str, *, pool: bool = True, pm: pluggy.PluginManager | None = None) -> Engine:
    """Make, bind and (Postgres) pool an engine; SQLite gets WAL for concurrent readers.

    With ``pm`` the plugins' tables are bound too (``migrate`` binds them as well).
    """
    engine = make_engine(url)
    bind(engine, pm)
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
