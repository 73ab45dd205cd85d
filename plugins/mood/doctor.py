"""``moodmix doctor`` line of the mood plugin: which model file jobs will load, and whether it loads."""

from __future__ import annotations

from typing import Any

from moodmix.engine.capability import DoctorCheck


def checks(plugin_settings: Any) -> list[DoctorCheck]:
    from moodmix.plugins.mood.model import SHIPPED_MODEL, MoodModel, MoodModelError

    path = getattr(plugin_settings, "model", "") or str(SHIPPED_MODEL)
    which = "the shipped model" if path == str(SHIPPED_MODEL) else "MOODMIX_PLUGINS__MOOD__MODEL"
    try:
        MoodModel.load(path)
    except MoodModelError as exc:
        return [DoctorCheck("mood", False, f"model {path} ({which}) cannot be used: {exc.message}",
                            hint="retrain with `moodmix mood train DIR -o FILE`, or unset "
                                 "MOODMIX_PLUGINS__MOOD__MODEL to use the shipped model")]
    return [DoctorCheck("mood", True, f"model {path} ({which})")]
