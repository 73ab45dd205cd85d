"""A test plugin with data of its own: a table (created and changed by two migrations), settings, routes
that store and read a row per user, and a capability that reads the settings. The tests register it as ``notes``.

Like a third party's, it imports only the plugin contract: ``moodmix.hookimpl``, the engine's ``User``
table to point a foreign key at, ``Migration`` and the errors.
"""

from __future__ import annotations

import msgspec
from litestar import get, post
from piccolo.columns import UUID, Boolean, ForeignKey, Text, Timestamptz
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from moodmix import hookimpl
from moodmix.engine.capability import Capability, InputSpec, RunContext, RunResult
from moodmix.engine.db.migrate import Migration
from moodmix.engine.db.tables import UNBOUND, User
from moodmix.engine.errors import BadInput


class NotesSettings(msgspec.Struct, forbid_unknown_fields=True):
    greeting: str = "Hello"
    max_length: int = 200


class Note(Table, tablename="test_plugin_notes", db=UNBOUND):
    id = UUID(primary_key=True)
    user = ForeignKey(references=User, on_delete=OnDelete.cascade)
    text = Text()
    pinned = Boolean(default=False)  # added by the second migration
    created_at = Timestamptz(default=TimestamptzNow())


async def create_notes(engine) -> None:
    await engine.run_ddl(
        'CREATE TABLE IF NOT EXISTS test_plugin_notes (id UUID PRIMARY KEY, '
        '"user" UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE, text TEXT NOT NULL, '
        'created_at TIMESTAMPTZ NOT NULL)')


async def add_pinned(engine) -> None:
    await engine.run_ddl("ALTER TABLE test_plugin_notes ADD COLUMN pinned BOOLEAN NOT NULL DEFAULT FALSE")


class NewNote(msgspec.Struct, forbid_unknown_fields=True):
    text: str
    pinned: bool = False


@get("/notes")
async def list_notes(user: dict, plugin_settings: NotesSettings) -> dict:
    rows = await Note.select(Note.text, Note.pinned).where(Note.user == user["id"]).order_by(Note.created_at)
    return {"greeting": f"{plugin_settings.greeting}, {user['username']}",
            "notes": [{"text": r["text"], "pinned": r["pinned"]} for r in rows]}


@post("/notes", status_code=201)
async def add_note(user: dict, plugin_settings: NotesSettings, data: NewNote) -> dict:
    text = data.text.strip()
    limit = plugin_settings.max_length
    if not text or len(text) > limit:
        raise BadInput(f"a note holds 1 to {limit} characters", code="bad_note")
    await Note(user=user["id"], text=text, pinned=data.pinned).save()
    return {"text": text, "pinned": data.pinned}


@get("/greeting")
async def greeting(plugin_settings: NotesSettings, service: object) -> dict:
    return {"greeting": plugin_settings.greeting, "capabilities": len(service.capabilities())}


def greet(ctx: RunContext) -> RunResult:
    """A capability that reads this plugin's settings the way ``run`` gets them."""
    return RunResult(data={"summary": f"{ctx.plugin_settings.greeting}, {ctx.texts['name']}"}, backend="text")


@hookimpl
def register_capabilities():
    return [Capability(name="notes-greet", description="Greet someone.", run=greet,
                       inputs=(InputSpec("name", "text"),))]


@hookimpl
def register_settings():
    return NotesSettings


@hookimpl
def register_tables():
    return [Note]


@hookimpl
def register_migrations():
    # Listed out of order on purpose: they run in the order of their ids.
    return [Migration("0002_pinned", add_pinned), Migration("0001_notes", create_notes)]


@hookimpl
def register_routes():
    return [list_notes, add_note, greeting]
