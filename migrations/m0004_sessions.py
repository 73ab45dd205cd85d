"""Browser sessions: ``users.token_version`` (bumped to end every token of a user at once) and the
``refresh_tokens`` table (hashed, one-time refresh tokens grouped in families).

New databases get both from m0001 (built from the current table classes); older ones get them here.
"""

from __future__ import annotations

from piccolo.engine.base import Engine

from moodmix.engine.db.tables import RefreshToken
from moodmix.migrations.m0002_rename_columns import columns


async def forwards(engine: Engine) -> None:
    if "token_version" not in await columns(engine, "users"):
        await engine.run_ddl("ALTER TABLE users ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0")
    await RefreshToken.create_table(if_not_exists=True)
