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
def register_commands(cli: Any) -> None:
    from moodmix.plugins.mood.cli import mood

    cli.add_command(mood)
