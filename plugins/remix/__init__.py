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
