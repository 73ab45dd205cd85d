"""Worker pools and fair scheduling: the pool a job is routed to, its priority (short jobs first),
when a retry may run again, and the pool of the worker that claimed it.

New databases get the columns from m0001 (built from the current table classes); older ones get
them here. Rows queued before this step were all in the one queue: they go to the ``cpu`` pool.
"""

from __future__ import annotations

from piccolo.engine.base import Engine

from moodmix.migrations.m0002_rename_columns import columns

ADDS = (
    ("pool", "VARCHAR(16) NOT NULL DEFAULT 'cpu'"),
    ("priority", "INTEGER NOT NULL DEFAULT 1"),
    ("run_after", "TIMESTAMPTZ NULL"),
    ("worker_pool", "VARCHAR(16) NULL"),
)


async def forwards(engine: Engine) -> None:
    present = await columns(engine, "processing_jobs")
    for name, ddl in ADDS:
        if name not in present:
            await engine.run_ddl(f"ALTER TABLE processing_jobs ADD COLUMN {name} {ddl}")
    await engine.run_ddl("CREATE INDEX IF NOT EXISTS processing_jobs_pool_status ON processing_jobs (pool, status)")
