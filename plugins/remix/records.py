"""The remix plugin's own table: who remixed which upload into what, with which recipe.

Deleting the user deletes their rows; deleting the upload or the job leaves the row with
a NULL link. The keys say so, so the engine deletes without knowing this table.
"""

from __future__ import annotations

from piccolo.columns import JSON, UUID, ForeignKey, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.engine.base import Engine
from piccolo.table import Table

from moodmix.engine.db.migrate import Migration, ensure_table
from moodmix.engine.db.tables import UNBOUND, AudioFile, ProcessingJob, User


class Remix(Table, tablename="remixes", db=UNBOUND):
    id = UUID(primary_key=True)
    user = ForeignKey(references=User, null=False, index=True, on_delete=OnDelete.cascade)
    original = ForeignKey(references=AudioFile, null=True, default=None, on_delete=OnDelete.set_null)
    job = ForeignKey(references=ProcessingJob, null=True, default=None, on_delete=OnDelete.set_null)
    genre = Varchar(length=64)
    effects = JSON(default="{}")
    created_at = Timestamptz(default=TimestamptzNow())


async def _create_remixes(engine: Engine) -> None:
    # Databases made before plugins owned tables already have "remixes" (with cascading keys).
    await ensure_table(engine, Remix)


MIGRATIONS = [Migration("0001_remixes", _create_remixes)]
