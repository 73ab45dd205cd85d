"""Initial schema: the engine's tables plus the seed's composite indexes (plugins create their own)."""

from __future__ import annotations

from piccolo.engine.base import Engine

from moodmix.engine.db.tables import ALL_TABLES

INDEXES = (
    "CREATE INDEX IF NOT EXISTS audio_files_user_created ON audio_files (user, created_at)",
    "CREATE INDEX IF NOT EXISTS processing_jobs_user_status ON processing_jobs (user, status)",
    "CREATE INDEX IF NOT EXISTS processing_jobs_user_created ON processing_jobs (user, created_at)",
    "CREATE UNIQUE INDEX IF NOT EXISTS chat_identities_platform_user "
    "ON chat_identities (platform, platform_user_id)",
    "CREATE INDEX IF NOT EXISTS job_outputs_job_name ON job_outputs (job, name)",
    "CREATE INDEX IF NOT EXISTS processing_jobs_cache ON processing_jobs (cache_key, status)",
)


async def forwards(engine: Engine) -> None:
    for table in ALL_TABLES:
        await table.create_table(if_not_exists=True)
    for sql in INDEXES:
        await engine.run_ddl(sql.replace("(user,", '("user",'))
