"""The mood plugin's settings: ``[plugins.mood]`` in the TOML file or ``MOODMIX_PLUGINS__MOOD__*``."""

from __future__ import annotations

import msgspec


class MoodSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    #: A model trained with ``moodmix mood train`` (``MOODMIX_PLUGINS__MOOD__MODEL``); empty: the shipped one.
    model: str = ""
    #: Converted musicnn weights (``MOODMIX_PLUGINS__MOOD__MUSICNN_WEIGHTS``); empty: the shipped ``weights.npz``.
    musicnn_weights: str = ""


def load_mood_settings(config_file: str | None = None, environ: dict[str, str] | None = None) -> MoodSettings:
    """The settings outside a job (``moodmix mood eval``); jobs get them as ``ctx.plugin_settings``."""
    from moodmix.engine.config import load_section

    return load_section(MoodSettings, toml_table="plugins.mood", env_prefix="MOODMIX_PLUGINS__MOOD__",
                        config_file=config_file, environ=environ)
