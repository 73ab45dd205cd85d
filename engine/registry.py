"""The capability and genre lists and each plugin's settings, collected from the plugin manager's hooks."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pluggy

from moodmix.engine.capability import DEFAULT_GENRE_SET, Capability, Genre
from moodmix.engine.config import Settings, convert_section, load_settings
from moodmix.engine.errors import BadInput, NotFound

log = logging.getLogger(__name__)


@dataclass
class Registry:
    """Capabilities and genres by name, built once per plugin manager."""

    capabilities: dict[str, Capability] = field(default_factory=dict)
    #: Genre set (``Genre.set``) -> genre name -> genre. The same name may live in several sets.
    genre_sets: dict[str, dict[str, Genre]] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    #: Plugin name -> its validated settings struct (only plugins that implement ``register_settings``).
    settings_by_plugin: dict[str, Any] = field(default_factory=dict)
    #: The engine settings this registry was built with: what a request-time ``Capability.check`` may read
    #: (model folder, download policy) without any process-wide state.
    settings: Settings | None = None

    @property
    def genres(self) -> dict[str, Genre]:
        """The genres of the default set (``Genre.set``'s default)."""
        return self.genre_sets.get(DEFAULT_GENRE_SET, {})

    def genres_in(self, genre_set: str) -> dict[str, Genre]:
        """The genres of one set by name (empty for a set nobody fills)."""
        return self.genre_sets.get(genre_set, {})

    def plugin_settings(self, plugin: str) -> Any:
        """Plugin ``plugin``'s settings struct (defaults where none were given), or ``None`` if it has none."""
        return self.settings_by_plugin.get(plugin)

    def capability_settings(self, name: str) -> Any:
        """The settings of the plugin that provides capability ``name`` (what its ``run`` gets)."""
        owner = self.owners.get(name)
        return self.plugin_settings(owner) if owner is not None else None

    @classmethod
    def from_plugin_manager(cls, pm: pluggy.PluginManager, settings: Settings | None = None) -> Registry:
        """Collect every plugin's declarations; ``settings`` (default: from the environment) fill
        ``[plugins.NAME]``, and a bad value raises ``ValueError`` naming ``plugins.NAME.FIELD``."""
        reg = cls()
        reg.settings = settings if settings is not None else load_settings()
        reg.settings_by_plugin = _plugin_settings(pm, reg.settings)
        for impl in pm.hook.register_capabilities.get_hookimpls():
            owner = impl.plugin_name
            for cap in impl.function() or []:
                if cap.name in reg.capabilities:
                    raise RuntimeError(
                        f"capability {cap.name!r} is registered by both "
                        f"{reg.owners[cap.name]} and {owner}"
                    )
                reg.capabilities[cap.name] = cap
                reg.owners[cap.name] = owner
        for batch in pm.hook.register_genres():
            for genre in batch or []:
                reg.genre_sets.setdefault(genre.set, {}).setdefault(genre.name, genre)
        return reg

    def capability(self, name: str) -> Capability:
        try:
            return self.capabilities[name]
        except KeyError:
            known = ", ".join(sorted(self.capabilities)) or "none"
            raise NotFound(
                f"unknown capability {name!r}; available: {known}", code="unknown_capability"
            ) from None

    def genre(self, name: str, genre_set: str = DEFAULT_GENRE_SET) -> Genre:
        """The genre of ``genre_set`` called ``name`` or one of its aliases (case and separators ignored)."""
        key = name.strip().lower().replace(" ", "").replace("_", "").replace("-", "")
        genres = self.genres_in(genre_set)
        for genre in genres.values():
            names = (genre.name, *genre.aliases)
            if any(key == n.lower().replace(" ", "").replace("_", "").replace("-", "") for n in names):
                return genre
        known = ", ".join(sorted(genres)) or "none"
        raise BadInput(f"unknown genre {name!r}; valid genres: {known}", code="unknown_genre")


def _plugin_settings(pm: pluggy.PluginManager, settings: Settings) -> dict[str, Any]:
    """Validate each plugin's ``[plugins.NAME]`` section against the struct it registers."""
    raw = {_key(name): values for name, values in settings.plugins.items()}
    out: dict[str, Any] = {}
    for impl in pm.hook.register_settings.get_hookimpls():
        struct = impl.function()
        if struct is None:
            continue
        name = impl.plugin_name
        out[name] = convert_section(raw.pop(_key(name), {}), struct, f"plugins.{name}")
    loaded = {_key(p) for p, _ in pm.list_name_plugin()}
    for name in raw:
        if name not in loaded:
            log.warning("settings for plugin %r are ignored: no such plugin is loaded", name)
    return out


def _key(plugin: str) -> str:
    """Plugin names as environment variables can spell them (``my-plugin`` is ``MY_PLUGIN``)."""
    return plugin.lower().replace("-", "_")
