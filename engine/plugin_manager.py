"""Builds the pluggy manager from the plugin entry-point group (:data:`moodmix.PLUGIN_GROUP`).

Built-in plugins are announced in moodmix's own ``pyproject.toml`` in that group, so they
load through exactly the same code as a third party's, and the same settings switch them:

- ``disable_plugins`` (``MOODMIX_DISABLE_PLUGINS=name,name``) skips those entry points;
- ``load_plugins`` (``MOODMIX_LOAD_PLUGINS=name,name``) loads only those (empty loads none).

As datasette and pytest do, a plugin that fails to import is logged and skipped rather than
taking the server down.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from moodmix import PLUGIN_GROUP
from moodmix.engine import hookspecs
from moodmix.engine.config import Settings, load_settings

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = PLUGIN_GROUP
#: The distribution whose entry points load first (so its genres and commands are the defaults).
CORE_DISTRIBUTION = "moodmix"


def plugin_entry_points() -> list[EntryPoint]:
    """Every announced plugin, moodmix's own first, then the rest by name (a stable order)."""
    eps = list(entry_points(group=ENTRY_POINT_GROUP))

    def order(ep: EntryPoint) -> tuple[int, str]:
        dist = (ep.dist.name if ep.dist else "").lower()
        return (0 if dist == CORE_DISTRIBUTION else 1, ep.name)

    seen: set[str] = set()
    unique = []
    for ep in sorted(eps, key=order):
        if ep.name not in seen:  # one distribution found twice on sys.path
            seen.add(ep.name)
            unique.append(ep)
    return unique


def is_enabled(name: str, settings: Settings) -> bool:
    if name in settings.disable_plugins:
        return False
    return settings.load_plugins is None or name in settings.load_plugins


def build_plugin_manager(settings: Settings | None = None, *, extra: Iterable[Any] = ()) -> pluggy.PluginManager:
    """A fresh manager: enabled entry-point plugins, then ``extra`` plugin objects (tests use these)."""
    settings = settings or load_settings()
    pm = pluggy.PluginManager("moodmix")
    pm.add_hookspecs(hookspecs)
    for ep in plugin_entry_points():
        if not is_enabled(ep.name, settings) or pm.get_plugin(ep.name) is not None:
            continue
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken plugin must not take the server down
            log.error("plugin %s failed to load: %s", ep.name, exc)
            continue
        pm.register(plugin, name=ep.name)
    for plugin in extra:
        pm.register(plugin)
    return pm


@lru_cache(maxsize=1)
def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager (settings from the environment)."""
    return build_plugin_manager()
