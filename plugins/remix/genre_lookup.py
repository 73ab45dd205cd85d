"""Which registry ``run`` reads genres from.

Genres come from every plugin's ``register_genres`` hook, but :class:`RunContext`
carries no registry. So ``run`` uses, in order: ``ctx.registry`` (should the engine add
one), a registry set with :func:`use_registry` (tests that register extra plugins), or
the process-wide registry built from :func:`get_plugin_manager` on first use.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from moodmix.engine.capability import Genre
from moodmix.engine.errors import CapabilityFailed
from moodmix.engine.registry import Registry
from moodmix.plugins.remix.recipe import Recipe, parse_recipe

_override: ContextVar[Registry | None] = ContextVar("moodmix_remix_registry", default=None)


@lru_cache(maxsize=1)
def _process_registry() -> Registry:
    from moodmix.engine.plugin_manager import get_plugin_manager

    return Registry.from_plugin_manager(get_plugin_manager())


def current_registry(ctx: Any = None) -> Registry:
    registry = getattr(ctx, "registry", None) or _override.get()
    return registry if registry is not None else _process_registry()


@contextmanager
def use_registry(registry: Registry) -> Iterator[Registry]:
    """Make remixes in this context look genres up in ``registry``."""
    token = _override.set(registry)
    try:
        yield registry
    finally:
        _override.reset(token)


def genre_recipe(genre: Genre) -> Recipe:
    """A genre's recipe as a validated :class:`Recipe` (third parties may give a dict or JSON)."""
    if genre.recipe is None:
        raise CapabilityFailed(f"genre {genre.name!r} comes without a recipe, so it cannot be remixed")
    try:
        return parse_recipe(genre.recipe, where=f"recipe of genre {genre.name!r}")
    except Exception as exc:  # a broken third-party preset is the plugin's fault, not the user's
        raise CapabilityFailed(f"genre {genre.name!r} has an invalid recipe: {exc}") from exc
