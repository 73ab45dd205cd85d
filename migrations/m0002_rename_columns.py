"""Columns say what they hold: ``capability`` (was ``job_type``), ``storage_key`` (was ``file_path``);
``users.is_service``, never read or written, goes.

Databases created after the rename already have the new names (m0001 builds tables from the
current classes), so each step runs only where the old column is still there. Both SQLite
(3.25+ renames, 3.35+ drops) and Postgres take these statements.
"""

from __future__ import annotations

from piccolo.engine.base import Engine

RENAMES = (
    ("processing_jobs", "job_type", "capability"),
    ("audio_files", "file_path", "storage_key"),
    ("job_outputs", "file_path", "storage_key"),
)
DROPS = (("users", "is_service"),)


async def columns(engine: Engine, table: str) -> set[str]:
    """The column names of ``table`` (constants only reach this SQL)."""
    if engine.engine_type == "sqlite":
        rows = await engine.run_ddl(f"PRAGMA table_info({table})")
        return {r["name"] for r in rows or []}
    rows = await engine.run_ddl(
        "SELECT column_name FROM information_schema.columns "
        f"WHERE table_schema = current_schema() AND table_name = '{table}'")
    return {r["column_name"] for r in rows or []}


async def forwards(engine: Engine) -> None:
    for table, old, new in RENAMES:
        present = await columns(engine, table)
        if old in present and new not in present:
            await engine.run_ddl(f"ALTER TABLE {table} RENAME COLUMN {old} TO {new}")
    for table, column in DROPS:
        if column in await columns(engine, table):
            await engine.run_ddl(f"ALTER TABLE {table} DROP COLUMN {column}")
