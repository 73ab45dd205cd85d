"""m0002 renames the old columns in place (data kept), and is a no-op on a new or already-migrated database."""

from __future__ import annotations

import importlib

from piccolo.engine.sqlite import SQLiteEngine

m0002 = importlib.import_module("moodmix.migrations.m0002_rename_columns")

OLD_SCHEMA = (
    "CREATE TABLE users (id TEXT PRIMARY KEY, username TEXT, is_service INTEGER DEFAULT 0)",
    "CREATE TABLE audio_files (id TEXT PRIMARY KEY, file_path TEXT)",
    "CREATE TABLE processing_jobs (id TEXT PRIMARY KEY, job_type TEXT)",
    "CREATE INDEX processing_jobs_job_type ON processing_jobs (job_type)",
    "CREATE TABLE job_outputs (id TEXT PRIMARY KEY, file_path TEXT)",
    "INSERT INTO audio_files VALUES ('a', 'uploads/ab/abc')",
    "INSERT INTO processing_jobs VALUES ('j', 'stems')",
)


async def test_old_columns_are_renamed_with_their_data(tmp_path):
    engine = SQLiteEngine(path=str(tmp_path / "old.sqlite"))
    for sql in OLD_SCHEMA:
        await engine.run_ddl(sql)
    await m0002.forwards(engine)
    await m0002.forwards(engine)  # safe to run again
    assert await m0002.columns(engine, "processing_jobs") == {"id", "capability"}
    assert await m0002.columns(engine, "audio_files") == {"id", "storage_key"}
    assert await m0002.columns(engine, "job_outputs") == {"id", "storage_key"}
    assert await m0002.columns(engine, "users") == {"id", "username"}
    assert await engine.run_ddl("SELECT storage_key FROM audio_files") == [{"storage_key": "uploads/ab/abc"}]
    assert await engine.run_ddl("SELECT capability FROM processing_jobs") == [{"capability": "stems"}]


async def test_a_new_database_is_left_as_it_is(tmp_path):
    engine = SQLiteEngine(path=str(tmp_path / "new.sqlite"))
    await engine.run_ddl("CREATE TABLE processing_jobs (id TEXT PRIMARY KEY, capability TEXT)")
    await engine.run_ddl("CREATE TABLE audio_files (id TEXT PRIMARY KEY, storage_key TEXT)")
    await engine.run_ddl("CREATE TABLE job_outputs (id TEXT PRIMARY KEY, storage_key TEXT)")
    await engine.run_ddl("CREATE TABLE users (id TEXT PRIMARY KEY)")
    await m0002.forwards(engine)
    assert await m0002.columns(engine, "processing_jobs") == {"id", "capability"}
