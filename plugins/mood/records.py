"""The mood plugin's own table: one ``moods`` row per finished mood job (the job's result holds the rest).

Its foreign keys say what happens when the engine deletes an upload or a job (the row
stays, the link becomes NULL), so the engine needs no knowledge of this table.
"""

from __future__ import annotations

from piccolo.columns import JSON, UUID, ForeignKey, Real, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.engine.base import Engine
from piccolo.table import Table

from moodmix.engine.db.migrate import Migration, ensure_table
from moodmix.engine.db.tables import UNBOUND, AudioFile, ProcessingJob


class Mood(Table, tablename="moods", db=UNBOUND):
    id = UUID(primary_key=True)
    audio = ForeignKey(references=AudioFile, null=True, index=True, on_delete=OnDelete.set_null)
    job = ForeignKey(references=ProcessingJob, null=True, default=None, on_delete=OnDelete.set_null)
    mood = Varchar(length=32)
    confidence = Real()
    valence = Real(null=True, default=None)
    arousal = Real(null=True, default=None)
    features = JSON(default="{}")
    created_at = Timestamptz(default=TimestamptzNow())


async def _create_moods(engine: Engine) -> None:
    # Databases made before plugins owned tables already have "moods" (with cascading keys).
    await ensure_table(engine, Mood)


MIGRATIONS = [Migration("0001_moods", _create_moods)]
