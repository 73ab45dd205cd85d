"""Apply the schema steps not yet applied: the engine's (``moodmix.migrations``), then each plugin's.

The engine's modules run in name order and are recorded by name (``m0001_initial``); a
plugin's :class:`Migration` objects (``register_migrations``) run in the order of their ids
and are recorded as ``PLUGIN:id``, where ``PLUGIN`` is the plugin's entry-point name.
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pluggy
from piccolo.engine.base import Engine
from piccolo.table import Table

import moodmix.migrations as migrations_pkg


@dataclass(frozen=True)
class Migration:
    """One schema step of a plugin (``register_migrations``): ``forwards(engine)`` runs it once."""

    id: str
    forwards: Callable[[Engine], Awaitable[None]]


TRACKING_DDL = (
    "CREATE TABLE IF NOT EXISTS moodmix_migrations ("
    "id VARCHAR(128) PRIMARY KEY, applied_at VARCHAR(40) NOT NULL)"
)
#: Postgres advisory-lock key held while migrating (any constant; "moodmix" in ASCII).
PG_LOCK_KEY = 0x6D6F6F646D6978
#: What a recorded id may contain (it reaches SQL as a literal).
_SAFE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(migrations_pkg.__path__) if m.name.startswith("m"))


def plugin_migrations(pm: pluggy.PluginManager) -> list[tuple[str, Migration]]:
    """``(recorded id, migration)`` of every plugin, plugins in load order, each plugin's by id."""
    out: list[tuple[str, Migration]] = []
    for impl in pm.hook.register_migrations.get_hookimpls():
        steps = sorted(impl.function() or [], key=lambda m: m.id)
        ids = [m.id for m in steps]
        if len(set(ids)) != len(ids):
            raise RuntimeError(f"plugin {impl.plugin_name} declares a migration id twice: {ids}")
        for m in steps:
            recorded = f"{impl.plugin_name}:{m.id}"
            if not _SAFE_ID.match(recorded):
                raise RuntimeError(f"migration id {recorded!r} may hold only letters, digits and _.:-")
            out.append((recorded, m))
    return out


async def applied(engine: Engine) -> set[str]:
    await engine.run_ddl(TRACKING_DDL)
    rows = await engine.run_ddl("SELECT id FROM moodmix_migrations")
    return {r["id"] for r in rows or []}


async def _record(engine: Engine, migration_id: str) -> None:
    stamp = datetime.now(UTC).isoformat()
    await engine.run_ddl(f"INSERT INTO moodmix_migrations (id, applied_at) VALUES ('{migration_id}', '{stamp}')")


async def migrate(engine: Engine, pm: pluggy.PluginManager | None = None) -> list[str]:
    """Run pending migrations (the engine's, then the plugins' of ``pm``, default: the process's).

    Returns the ids applied now. Plugin tables are bound to ``engine`` first, so a plugin's
    migration may call ``MyTable.create_table(if_not_exists=True)``.
    """
    from moodmix.engine.db.database import bind

    if pm is None:
        from moodmix.engine.plugin_manager import get_plugin_manager

        pm = get_plugin_manager()
    bind(engine, pm)
    async with migration_lock(engine):
        return await _migrate_locked(engine, pm)


@asynccontextmanager
async def migration_lock(engine: Engine) -> AsyncIterator[None]:
    """One migrating process at a time: an API and N workers often start together on a fresh database.

    Postgres: one transaction holding an advisory lock, so the steps also apply all or nothing
    (its DDL is transactional). SQLite: an exclusive ``flock`` on ``DB.migrate.lock`` beside the file.
    """
    if engine.engine_type == "postgres":
        async with engine.transaction():
            await engine.run_ddl(f"SELECT pg_advisory_xact_lock({PG_LOCK_KEY})")
            yield
        return
    path = getattr(engine, "path", None)
    try:
        import fcntl
    except ImportError:  # not POSIX: no cross-process lock
        fcntl = None  # type: ignore[assignment]
    if fcntl is None or not path or path == ":memory:":
        yield
        return
    with open(Path(f"{path}.migrate.lock"), "a+") as handle:
        await asyncio.to_thread(fcntl.flock, handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


async def _migrate_locked(engine: Engine, pm: pluggy.PluginManager) -> list[str]:
    done = await applied(engine)
    steps: list[tuple[str, Callable[[Engine], Awaitable[None]]]] = [
        (name, importlib.import_module(f"moodmix.migrations.{name}").forwards) for name in available()]
    steps += [(mid, m.forwards) for mid, m in plugin_migrations(pm)]
    ran: list[str] = []
    for migration_id, forwards in steps:
        if migration_id in done:
            continue
        await forwards(engine)
        await _record(engine, migration_id)
        ran.append(migration_id)
    return ran


_PG_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


async def ensure_table(engine: Engine, table: type[Table]) -> None:
    """Create ``table`` if it is missing, and give existing foreign keys the ``ON DELETE`` rule it declares.

    For a plugin's first migration of a table that older databases may already hold (made
    before plugins owned their tables, when keys defaulted to ``CASCADE``). SQLite cannot
    alter a key, so there the table is rebuilt and its rows copied; Postgres swaps the constraint.
    """
    await table.create_table(if_not_exists=True)
    wanted = {fk._meta.db_column_name: fk for fk in table._meta.foreign_key_columns}
    name = table._meta.tablename
    if engine.engine_type == "sqlite":
        rows = await engine.run_ddl(f"PRAGMA foreign_key_list({name})")
        stale = [r for r in rows or [] if r["from"] in wanted
                 and r["on_delete"].upper() != wanted[r["from"]]._foreign_key_meta.on_delete.value]
        if stale:
            await _rebuild_sqlite(engine, table)
        return
    rows = await engine.run_ddl(
        "SELECT con.conname, att.attname, con.confdeltype FROM pg_constraint con JOIN pg_attribute att "
        "ON att.attrelid = con.conrelid AND att.attnum = ANY(con.conkey) "
        f"WHERE con.contype = 'f' AND con.conrelid = '{name}'::regclass")
    for row in rows or []:
        fk = wanted.get(row["attname"])
        action = fk._foreign_key_meta.on_delete.value if fk is not None else None
        if fk is None or _PG_ACTIONS.get(row["confdeltype"]) == action:
            continue
        target = fk._foreign_key_meta.resolved_references._meta
        key = target.primary_key._meta.db_column_name
        await engine.run_ddl(
            f'ALTER TABLE {name} DROP CONSTRAINT "{row["conname"]}", ADD CONSTRAINT "{row["conname"]}" '
            f'FOREIGN KEY ("{row["attname"]}") REFERENCES {target.tablename} ("{key}") ON DELETE {action}')


async def _rebuild_sqlite(engine: Engine, table: type[Table]) -> None:
    """Recreate ``table`` from its class and copy the rows over, in one transaction."""
    name = table._meta.tablename
    old = f"{name}__old"
    async with engine.transaction():
        present = {r["name"] for r in await engine.run_ddl(f"PRAGMA table_info({name})") or []}
        columns = ", ".join(f'"{c._meta.db_column_name}"' for c in table._meta.columns
                            if c._meta.db_column_name in present)
        await engine.run_ddl(f"ALTER TABLE {name} RENAME TO {old}")
        indexes = await engine.run_ddl(
            f"SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = '{old}' AND sql IS NOT NULL")
        for index in indexes or []:  # they kept their names: free them for the new table
            await engine.run_ddl(f'DROP INDEX "{index["name"]}"')
        await table.create_table()
        await engine.run_ddl(f"INSERT INTO {name} ({columns}) SELECT {columns} FROM {old}")
        await engine.run_ddl(f"DROP TABLE {old}")
