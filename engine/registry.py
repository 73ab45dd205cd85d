"""The capability and genre lists, collected from the plugin manager's hooks."""

from __future__ import annotations

from dataclasses import dataclass, field

import pluggy

from moodmix.engine.capability import DEFAULT_GENRE_SET, Capability, Genre
from moodmix.engine.errors import BadInput, NotFound


@dataclass
class Registry:
    """Capabilities and genres by name, built once per plugin manager."""

    capabilities: dict[str, Capability] = field(default_factory=dict)
    #: Genre set (``Genre.set``) -> genre name -> genre. The same name may live in several sets.
    genre_sets: dict[str, dict[str, Genre]] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)

    @property
    def genres(self) -> dict[str, Genre]:
        """The genres of the default set (``Genre.set``'s default)."""
        return self.genre_sets.get(DEFAULT_GENRE_SET, {})

    def genres_in(self, genre_set: str) -> dict[str, Genre]:
        """The genres of one set by name (empty for a set nobody fills)."""
        return self.genre_sets.get(genre_set, {})

    @classmethod
    def from_plugin_manager(cls, pm: pluggy.PluginManager) -> Registry:
        reg = cls()
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
