"""Apply the modules in ``moodmix.migrations`` that have not run yet, in name order."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from piccolo.engine.base import Engine

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


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(migrations_pkg.__path__) if m.name.startswith("m"))


async def applied(engine: Engine) -> set[str]:
    await engine.run_ddl(TRACKING_DDL)
    rows = await engine.run_ddl("SELECT id FROM moodmix_migrations")
    return {r["id"] for r in rows or []}


async def migrate(engine: Engine) -> list[str]:
    """Run pending migrations; returns the ids applied now."""
    from datetime import UTC, datetime

    done = await applied(engine)
    ran: list[str] = []
    for name in available():
        if name in done:
            continue
        module = importlib.import_module(f"moodmix.migrations.{name}")
        await module.forwards(engine)
        stamp = datetime.now(UTC).isoformat()
        await engine.run_ddl(
            f"INSERT INTO moodmix_migrations (id, applied_at) VALUES ('{name}', '{stamp}')")
        ran.append(name)
    return ran
