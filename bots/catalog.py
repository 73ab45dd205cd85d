"""What the engine offers right now, seen from a chat: actions on a track, actions on a prompt, genres.

Read from the backend at runtime (and refreshed now and then) so new capabilities and
genres show up in the bots without a code change. Everything comes from what each capability
declares: which parameter is a genre and from which set (``genre_params``), which parameters are
for experts (``advanced``: never asked for in chat); the bots name no capability.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from moodmix.bots.backend import BotBackend
from moodmix.engine.errors import BadInput, NotFound

COMMAND_NAME_RE = re.compile(r"^[a-z0-9_]{1,32}$")
REFRESH_S = 300.0


def _norm(name: str) -> str:
    return re.sub(r"[\s_-]+", "", name.strip().lower())


@dataclass
class Catalog:
    """Capabilities by name and the genre list (each genre with its ``set``), as the engine describes them."""

    capabilities: dict[str, dict] = field(default_factory=dict)
    genres: list[dict] = field(default_factory=list)

    @classmethod
    async def load(cls, backend: BotBackend) -> Catalog:
        caps = await backend.capabilities()
        genres = await backend.genres()
        return cls(capabilities={c["name"]: c for c in caps}, genres=list(genres))

    # ---- classification ------------------------------------------------------------------------
    def capability(self, name: str) -> dict:
        try:
            return self.capabilities[name]
        except KeyError:
            known = ", ".join(sorted(self.capabilities)) or "none"
            raise NotFound(f"unknown action {name!r}; available: {known}", code="unknown_capability") from None

    @staticmethod
    def _required(cap: dict, kind: str) -> list[dict]:
        return [i for i in cap.get("inputs", []) if i.get("kind") == kind and i.get("required", True)]

    def track_actions(self) -> list[dict]:
        """Capabilities that work on exactly one track and need nothing else (usable after an upload)."""
        return [c for c in self.capabilities.values()
                if len(self._required(c, "audio")) == 1 and not self._required(c, "text")
                and COMMAND_NAME_RE.match(c["name"])]

    def prompt_actions(self) -> list[dict]:
        """Capabilities driven by a text prompt alone (e.g. generating music)."""
        return [c for c in self.capabilities.values()
                if self._required(c, "text") and not self._required(c, "audio")
                and COMMAND_NAME_RE.match(c["name"])]

    @staticmethod
    def param_names(cap: dict) -> set[str]:
        return set((cap.get("params_schema") or {}).get("properties", {}))

    @staticmethod
    def asked_params(cap: dict) -> set[str]:
        """The parameters a chat may ask for: all but the ``advanced`` ones."""
        return Catalog.param_names(cap) - set(cap.get("advanced") or ())

    @staticmethod
    def genre_param(cap: dict) -> str | None:
        """The parameter that takes a genre (the first of ``genre_params``), if any."""
        return next(iter(cap.get("genre_params") or {}), None)

    def takes_genre(self, cap: dict) -> bool:
        return self.genre_param(cap) is not None

    @staticmethod
    def audio_outputs(cap: dict) -> list[str]:
        return [o["name"] for o in cap.get("outputs", []) if o.get("kind") == "audio"]

    @staticmethod
    def short_description(cap: dict, limit: int = 100) -> str:
        text = (cap.get("description") or cap["name"]).strip().splitlines()[0]
        return text if len(text) <= limit else text[: limit - 1] + "…"

    # ---- genres --------------------------------------------------------------------------------
    def genres_for(self, cap: dict | None = None) -> list[dict]:
        """The genres ``cap``'s genre parameter offers (its set); every genre without ``cap``."""
        if cap is None:
            return list(self.genres)
        param = self.genre_param(cap)
        wanted = (cap.get("genre_params") or {}).get(param) if param else None
        return [g for g in self.genres if wanted is not None and g.get("set") == wanted]

    def genre_names(self, cap: dict | None = None) -> list[str]:
        return [g["name"] for g in self.genres_for(cap)]

    def genre_sets(self) -> dict[str, list[str]]:
        """Set name -> genre names, for the sets some capability here takes."""
        sets = {s for c in self.capabilities.values() for s in (c.get("genre_params") or {}).values()}
        return {s: [g["name"] for g in self.genres if g.get("set") == s] for s in sorted(sets)}

    def resolve_genre(self, text: str, cap: dict | None = None) -> str:
        """The canonical name for ``text`` among ``cap``'s genres (name or alias, case and separators ignored)."""
        key = _norm(text or "")
        for genre in self.genres_for(cap):
            if key and any(_norm(n) == key for n in (genre["name"], *genre.get("aliases", []))):
                return genre["name"]
        known = ", ".join(dict.fromkeys(self.genre_names(cap))) or "none yet"
        raise BadInput(f"unknown genre {text!r}; choose one of: {known}", code="unknown_genre")

    @staticmethod
    def genre_line(genre: dict, limit: int = 100) -> str:
        """The genre's description up to its first colon or full stop (``"Lo-fi: 80 BPM, …"`` → ``"80 BPM, …"``)."""
        text = (genre.get("description") or "").strip()
        head, sep, rest = text.partition(": ")
        if sep and len(head) < 30:
            text = rest
        text = text.split(". ")[0].rstrip(".")
        return text if len(text) <= limit else text[: limit - 1] + "…"

    def match_genre_choices(self, prefix: str, cap: dict | None = None, limit: int = 25) -> list[tuple[str, str]]:
        """``(label, name)`` for autocomplete: the genre with its description, within Discord's 100 characters."""
        by_name = {g["name"]: g for g in self.genres_for(cap)}
        return [((f"{name} — {self.genre_line(by_name[name], 100)}")[:100], name)
                for name in self.match_genres(prefix, cap, limit)]

    def split_actions(self) -> list[dict]:
        """Track actions that take no genre and give several audio outputs (e.g. stems), for a button."""
        return [c for c in self.track_actions() if not self.takes_genre(c) and len(self.audio_outputs(c)) > 1]

    def match_genres(self, prefix: str, cap: dict | None = None, limit: int = 25) -> list[str]:
        """Genre names for autocomplete: those of ``cap``'s set whose name or alias contains what was typed."""
        key = _norm(prefix or "")
        hits = [g["name"] for g in self.genres_for(cap)
                if not key or any(key in _norm(n) for n in (g["name"], *g.get("aliases", [])))]
        return list(dict.fromkeys(hits))[:limit]

    @staticmethod
    def summary(job: dict) -> str | None:
        """The capability's one line about a finished job (its ``summarize``), else its data's ``summary``."""
        result = job.get("result") or {}
        line = result.get("summary") or (result.get("data") or {}).get("summary")
        return line if isinstance(line, str) and line else None


class CatalogCache:
    """Keeps a :class:`Catalog`, reloading it when older than ``max_age``."""

    def __init__(self, backend: BotBackend, max_age: float = REFRESH_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.backend = backend
        self.max_age = max_age
        self.clock = clock
        self._catalog: Catalog | None = None
        self._loaded_at = 0.0

    async def get(self) -> Catalog:
        if self._catalog is None or self.clock() - self._loaded_at > self.max_age:
            self._catalog = await Catalog.load(self.backend)
            self._loaded_at = self.clock()
        return self._catalog

    @property
    def current(self) -> Catalog:
        """The last loaded catalog (call :meth:`get` once at start-up)."""
        if self._catalog is None:
            raise RuntimeError("the catalog has not been loaded yet")
        return self._catalog
