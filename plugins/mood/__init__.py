"""Built-in ``mood`` plugin: mood, valence/arousal and a mood timeline for a track.

Hooks only, so importing the plugin is cheap: librosa, scikit-learn and
matplotlib load when a job or command needs them, and the model loads once per
process. The taxonomy is documented in :mod:`moodmix.plugins.mood.taxonomy`.
"""

from __future__ import annotations

from typing import Any

from moodmix.engine.hookspecs import hookimpl


@hookimpl
def register_capabilities() -> list:
    from moodmix.plugins.mood.capability import CAPABILITY

    return [CAPABILITY]


@hookimpl
def register_settings() -> type:
    from moodmix.plugins.mood.settings import MoodSettings

    return MoodSettings


@hookimpl
def register_tables() -> list:
    from moodmix.plugins.mood.records import Mood

    return [Mood]


@hookimpl
def register_migrations() -> list:
    from moodmix.plugins.mood.records import MIGRATIONS

    return list(MIGRATIONS)


@hookimpl
def register_commands(cli: Any) -> None:
    from moodmix.plugins.mood.cli import mood

    cli.add_command(mood)


@hookimpl
async def job_succeeded(job: Any, capability: Any, result: Any) -> None:
    """Keep a row per mood analysis in the ``moods`` table (the job's result holds the rest)."""
    if getattr(capability, "name", None) != "mood":
        return
    import json

    from moodmix.plugins.mood.records import Mood

    data = result.data
    await Mood(
        audio=job.audio_id, job=job.id, mood=data["mood"], confidence=float(data["confidence"]),
        valence=float(data["valence"]), arousal=float(data["arousal"]),
        features=json.dumps(data.get("features", {})),
    ).save()


@hookimpl
def doctor_checks(settings: Any) -> list:
    from moodmix.engine.config import convert_section
    from moodmix.plugins.mood.doctor import checks
    from moodmix.plugins.mood.settings import MoodSettings

    return checks(convert_section(settings.plugins.get("mood", {}), MoodSettings, "plugins.mood"))
