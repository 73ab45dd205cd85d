"""Built-in ``stems`` plugin: source separation (Demucs when weights are present, else DSP).

Importing this package is cheap: torch, demucs and librosa load inside ``run``.
"""

from __future__ import annotations

from moodmix.engine.hookspecs import hookimpl


@hookimpl
def register_capabilities() -> list:
    from moodmix.plugins.stems.capability import STEMS

    return [STEMS]


@hookimpl
def register_models() -> list:
    from moodmix.plugins.stems.known_models import MODELS

    return list(MODELS)


@hookimpl
def register_settings() -> type:
    from moodmix.plugins.stems.settings import StemsSettings

    return StemsSettings


@hookimpl
def doctor_checks(settings) -> list:
    from moodmix.plugins.stems.doctor import checks

    return checks(settings)
