"""Built-in ``remix`` plugin: the remix capability and the genre presets it plays.

Both arrive through the ordinary hooks, so a third-party plugin can add a genre by
returning :class:`moodmix.engine.capability.Genre` objects from ``register_genres``;
its ``recipe`` is a :class:`moodmix.plugins.remix.recipe.Recipe` (or the same as a dict).
"""

from __future__ import annotations

from moodmix.engine.hookspecs import hookimpl


@hookimpl
def register_capabilities():
    from moodmix.plugins.remix.capability import REMIX

    return [REMIX]


@hookimpl
def register_genres():
    from moodmix.plugins.remix.genres import GENRES

    return list(GENRES)


@hookimpl
def register_tables():
    from moodmix.plugins.remix.records import Remix

    return [Remix]


@hookimpl
def register_migrations():
    from moodmix.plugins.remix.records import MIGRATIONS

    return list(MIGRATIONS)


@hookimpl
async def job_succeeded(job, capability, result) -> None:
    """Keep the seed's ``remixes`` record (who remixed which track into what, with which recipe)."""
    if getattr(capability, "name", None) != "remix":
        return
    import json

    from moodmix.plugins.remix.records import Remix

    data = result.data or {}
    await Remix(user=job.user_id, original=job.audio_id, job=job.id, genre=str(data.get("genre") or "custom")[:64],
                effects=json.dumps(data.get("recipe") or {})).save()
