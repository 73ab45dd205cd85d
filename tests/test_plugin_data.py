"""Plugins own their tables: bound and migrated by the engine, tracked as ``NAME:id``, and kept
consistent by their foreign keys when the engine deletes rows (SQLite and Postgres)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pluggy
import pytest
from piccolo.columns import JSON, UUID, ForeignKey, Real, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table
from support import PG_URL, require_services, reset_postgres

from moodmix.engine import hookspecs
from moodmix.engine.db.database import close_database, open_database
from moodmix.engine.db.migrate import Migration, migrate
from moodmix.engine.db.tables import UNBOUND, AudioFile, ProcessingJob, User
from moodmix.engine.hookspecs import hookimpl
from moodmix.plugins.mood.records import Mood
from moodmix.plugins.remix.records import Remix


class Note(Table, tablename="notes_plugin_notes", db=UNBOUND):
    user = ForeignKey(references=User)
    text = Varchar(length=50)


class Notes:
    """A third-party plugin with one table and one migration."""

    runs = 0

    @hookimpl
    def register_tables(self):
        return [Note]

    @hookimpl
    def register_migrations(self):
        async def create(engine) -> None:
            Notes.runs += 1
            await Note.create_table(if_not_exists=True)

        return [Migration("0001_notes", create)]


def manager(*plugins: object, builtins: bool = True) -> pluggy.PluginManager:
    from moodmix.engine.plugin_manager import build_plugin_manager

    pm = build_plugin_manager() if builtins else pluggy.PluginManager("moodmix")
    if not builtins:
        pm.add_hookspecs(hookspecs)
    for plugin in plugins:
        pm.register(plugin, name=type(plugin).__name__.lower())
    return pm


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db.sqlite'}"
    require_services()
    await reset_postgres()
    return PG_URL


async def test_a_plugin_table_is_migrated_once_and_tracked_by_plugin_name(db_url: str) -> None:
    pm = manager(Notes(), builtins=False)
    Notes.runs = 0
    engine = await open_database(db_url, pool=False, pm=pm)
    try:
        first = await migrate(engine, pm)
        assert first[0] == "m0001_initial" and first[-1] == "notes:0001_notes"
        assert await migrate(engine, pm) == []
        assert Notes.runs == 1
        ids = {r["id"] for r in await engine.run_ddl("SELECT id FROM moodmix_migrations")}
        assert "notes:0001_notes" in ids
        user = User(username="nora")
        await user.save()
        await Note(user=user.id, text="hello").save()
        assert await Note.count() == 1
    finally:
        await close_database(engine)


async def _audio(user: User) -> AudioFile:
    audio = AudioFile(user=user.id, filename="a.wav", storage_key="k", sha256="0" * 64, size_bytes=1,
                      content_type="audio/wav", format="wav", duration=6.0, sample_rate=22050, channels=1)
    await audio.save()
    return audio


async def test_engine_deletes_leave_plugin_rows_consistent_by_schema(db_url: str) -> None:
    engine = await open_database(db_url, pool=False, pm=manager())
    try:
        await migrate(engine, manager())
        user = User(username=f"ann{uuid.uuid4().hex[:6]}")
        await user.save()
        audio = await _audio(user)
        await Mood(audio=audio.id, mood="calm", confidence=0.5).save()
        await Remix(user=user.id, original=audio.id, genre="lofi").save()
        await AudioFile.delete().where(AudioFile.id == audio.id)  # the engine knows nothing of moods/remixes
        mood = await Mood.select().first()
        remix = await Remix.select().first()
        assert mood["audio"] is None and mood["mood"] == "calm"
        assert remix["original"] is None
        await User.delete().where(User.id == user.id)
        assert await Remix.count() == 0  # a user's remixes go with the user
    finally:
        await close_database(engine)


class OldMood(Table, tablename="moods", db=UNBOUND):
    """``moods`` as m0001 used to create it (keys cascading by piccolo's default)."""

    id = UUID(primary_key=True)
    audio = ForeignKey(references=AudioFile, null=True, index=True)
    job = ForeignKey(references=ProcessingJob, null=True, default=None)
    mood = Varchar(length=32)
    confidence = Real(default=0.0)
    valence = Real(null=True, default=None)
    arousal = Real(null=True, default=None)
    features = JSON(default="{}")
    created_at = Timestamptz(default=TimestamptzNow())


async def test_old_databases_get_the_new_delete_rule(db_url: str) -> None:
    from moodmix.migrations.m0001_initial import forwards

    engine = await open_database(db_url, pool=False, pm=manager())
    try:
        OldMood._meta.db = engine
        await forwards(engine)  # an m0001-era database: engine tables plus the old moods table
        await OldMood.create_table()
        await engine.run_ddl("CREATE TABLE IF NOT EXISTS moodmix_migrations ("
                             "id VARCHAR(128) PRIMARY KEY, applied_at VARCHAR(40) NOT NULL)")
        await engine.run_ddl("INSERT INTO moodmix_migrations VALUES ('m0001_initial', 'then')")
        user = User(username="old")
        await user.save()
        audio = await _audio(user)
        await OldMood(audio=audio.id, mood="sad").save()
        ran = await migrate(engine, manager())
        assert "mood:0001_moods" in ran
        assert (await Mood.select().first())["mood"] == "sad"  # rows survive the upgrade
        await AudioFile.delete().where(AudioFile.id == audio.id)
        rows = await Mood.select()
        assert len(rows) == 1 and rows[0]["audio"] is None
    finally:
        await close_database(engine)


MIGRATE_ONCE = """
import asyncio, json, sys
from moodmix.engine.db.database import close_database, open_database
from moodmix.engine.db.migrate import migrate
from moodmix.engine.plugin_manager import build_plugin_manager

async def main():
    pm = build_plugin_manager()
    engine = await open_database(sys.argv[1], pm=pm)
    try:
        print(json.dumps(await migrate(engine, pm)))
    finally:
        await close_database(engine)

asyncio.run(main())
"""


def test_processes_starting_together_migrate_a_fresh_database_once(db_url: str) -> None:
    """An API and several workers start at once on an empty database: one migrates, none fails."""
    import json
    import subprocess
    import sys

    procs = [subprocess.Popen([sys.executable, "-c", MIGRATE_ONCE, db_url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err[-400:] for _, err in outs]
    ran = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    applied = [step for steps in ran for step in steps]
    assert applied and "m0001_initial" in applied
    assert len(applied) == len(set(applied))  # every step ran in exactly one process
    assert sorted(len(steps) > 0 for steps in ran) == [False, False, False, True]
