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
    return [DoctorCheck("mood", True, f"model {path} ({which})"), musicnn_check(plugin_settings)]


def musicnn_check(plugin_settings: Any) -> DoctorCheck:
    """Whether jobs with ``backend=auto`` get musicnn or fall back to the features-only model."""
    from moodmix.plugins.mood.musicnn.network import WEIGHTS, MusicnnError, load_models

    path = getattr(plugin_settings, "musicnn_weights", "") or str(WEIGHTS)
    try:
        load_models(path)
    except MusicnnError as exc:
        return DoctorCheck("mood musicnn", False, f"{exc.message}; mood falls back to the features-only model",
                           hint="reinstall moodmix, or point MOODMIX_PLUGINS__MOOD__MUSICNN_WEIGHTS at a "
                                "weights.npz made by `python -m moodmix.plugins.mood.musicnn.convert`")
    return DoctorCheck("mood musicnn", True, f"musicnn weights {path} (backend auto -> musicnn)")
