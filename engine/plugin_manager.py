"""Builds the pluggy manager: built-in plugins, then third-party entry points.

Operators can narrow what loads, as datasette and pytest allow:

- ``MOODMIX_DISABLE_PLUGINS=name,name`` skips those plugins (built-in or not);
- ``MOODMIX_LOAD_PLUGINS=name,name`` loads only those third-party entry points
  (an empty value loads none).
"""

from __future__ import annotations

import importlib
import logging
import os
from functools import lru_cache
from importlib.metadata import entry_points

import pluggy

from moodmix.engine import hookspecs

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "moodmix.plugins"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "moodmix.plugins.analyze",
    "moodmix.plugins.stems",
    "moodmix.plugins.mood",
    "moodmix.plugins.generate",
    "moodmix.plugins.remix",
)


def _env_list(name: str) -> list[str] | None:
    raw = os.environ.get(name)
    if raw is None:
        return None
    return [p.strip() for p in raw.split(",") if p.strip()]


def build_plugin_manager(*, load_entry_points: bool = True) -> pluggy.PluginManager:
    """A fresh manager (tests use this; the process-wide one is :func:`get_plugin_manager`)."""
    pm = pluggy.PluginManager("moodmix")
    pm.add_hookspecs(hookspecs)
    disabled = set(_env_list("MOODMIX_DISABLE_PLUGINS") or [])
    for dotted in DEFAULT_PLUGINS:
        short = dotted.rsplit(".", 1)[1]
        if dotted in disabled or short in disabled:
            continue
        try:
            module = importlib.import_module(dotted)
        except ModuleNotFoundError as exc:  # a built-in not yet present in this build
            if exc.name and dotted.startswith(exc.name):
                log.debug("built-in plugin %s missing", dotted)
                continue
            raise
        if _declares_hooks(module):
            pm.register(module, name=dotted)
    if load_entry_points:
        allow = _env_list("MOODMIX_LOAD_PLUGINS")
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in disabled or (allow is not None and ep.name not in allow):
                continue
            if pm.get_plugin(ep.name) is not None:
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken third-party plugin must not take the server down
                log.error("plugin %s failed to load: %s", ep.name, exc)
                continue
            pm.register(plugin, name=ep.name)
    return pm


def _declares_hooks(module: object) -> bool:
    return any(
        hasattr(getattr(module, attr, None), "moodmix_impl") for attr in dir(module)
    )


@lru_cache(maxsize=1)
def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager."""
    return build_plugin_manager()
