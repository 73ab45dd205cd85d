"""Turn prompt facts, explicit parameters and a seed into one complete musical spec.

Precedence for every field: explicit parameter > what the prompt states >
genre/mood default (with seeded variation). ``sources`` records which one won,
so a prompt with no usable words still yields music *and* says what it assumed.
"""

from __future__ import annotations

import re

import msgspec
import numpy as np

from moodmix.engine.errors import BadInput
from moodmix.plugins.generate.prompt import PromptFacts
from moodmix.plugins.generate.styles import DEFAULT_GENRE, DEFAULT_MOOD, MOODS, STYLES, Style
from moodmix.plugins.generate.theory import Key, parse_key, roman_chord

MIN_TEMPO, MAX_TEMPO = 40.0, 240.0
DEFAULT_DURATION = 20.0

#: The mood a genre implies when the prompt names none.
GENRE_MOODS = {
    "pop": "happy", "lofi": "calm", "hiphop": "dark", "trap": "dark", "house": "energetic",
    "techno": "energetic", "trance": "energetic", "edm": "energetic", "dnb": "energetic",
    "synthwave": "dark", "rock": "energetic", "jazz": "romantic", "funk": "happy", "ambient": "calm",
    "cinematic": "epic", "folk": "happy", "classical": "calm", "chiptune": "happy", "reggae": "happy",
}
#: Keys chosen when none is stated (guitar- and piano-friendly ones first).
COMMON_TONICS = (0, 2, 4, 5, 7, 9, 10, 3, 11, 1, 6, 8)


class MusicSpec(msgspec.Struct, kw_only=True):
    """Everything the composer and renderer need; saved as ``spec.json``."""

    prompt: str
    genre: str
    mood: str
    tempo: float
    key: str
    tonic: int
    mode: str
    time_signature: str
    progression: list[str]
    chords: list[str]
    instruments: dict[str, str]  # role -> voice ("chords": "piano", "drums": "boombap", ...)
    energy: float
    brightness: float
    swing: float
    duration: float
    seed: int
    sample_rate: int
    sources: dict[str, str]  # field -> "param" | "prompt" | "default" | "seed"
    notes: list[str] = msgspec.field(default_factory=list)

    @property
    def key_obj(self) -> Key:
        return Key(self.tonic, self.mode, flats=any(c in self.key.split()[0] for c in "b♭")).spelled()

    @property
    def style(self) -> Style:
        return STYLES[self.genre]

    def to_dict(self) -> dict:
        return msgspec.to_builtins(self)


class SpecOverrides(msgspec.Struct, kw_only=True):
    """The explicit parameters that override the prompt (all optional)."""

    duration: float | None = None
    tempo: float | None = None
    key: str | None = None
    genre: str | None = None
    mood: str | None = None


def build_spec(facts: PromptFacts, overrides: SpecOverrides, seed: int, sample_rate: int,
               max_duration: float) -> MusicSpec:
    """The full spec for ``facts``; raises :class:`BadInput` for explicit values we cannot honour."""
    rng = np.random.default_rng([seed, 101])
    sources: dict[str, str] = {}
    notes: list[str] = []

    genre = _pick_name("genre", overrides.genre, facts.genre, STYLES, sources)
    mood = _pick_name("mood", overrides.mood, facts.mood, MOODS, sources)
    if genre is None:
        genre = MOODS[mood].genre if mood else DEFAULT_GENRE
        sources["genre"] = "default"
    if mood is None:
        mood = GENRE_MOODS.get(genre, DEFAULT_MOOD)
        sources["mood"] = "default"
    style, mood_preset = STYLES[genre], MOODS[mood]

    key = _pick_key(overrides.key, facts, style, mood_preset.mode, rng, sources).spelled()
    tempo = _pick_tempo(overrides.tempo, facts, style, mood_preset.tempo_factor, rng, sources, notes)
    duration = _pick_duration(overrides.duration, facts.duration, max_duration, sources, notes)
    instruments = _pick_instruments(facts, style, sources)

    progression = list(style.progressions[key.mode][int(rng.integers(len(style.progressions[key.mode])))])
    chords = [roman_chord(key, numeral).name for numeral in progression]
    energy = float(np.clip(mood_preset.energy + rng.uniform(-0.05, 0.05), 0.0, 1.0))
    brightness = float(np.clip(0.5 * (style.brightness + mood_preset.brightness), 0.05, 1.0))
    return MusicSpec(
        prompt=facts.text, genre=genre, mood=mood, tempo=tempo, key=key.name, tonic=key.tonic, mode=key.mode,
        time_signature="4/4", progression=progression, chords=chords, instruments=instruments,
        energy=round(energy, 3), brightness=round(brightness, 3), swing=style.swing, duration=duration,
        seed=seed, sample_rate=sample_rate, sources=sources, notes=notes,
    )


def _name_key(name: str) -> str:
    """Case, spaces, '_' and '-' ignored, as the registry compares genre names."""
    return re.sub(r"[\s_-]+", "", name.strip().lower())


def _pick_name(field: str, explicit: str | None, stated: str | None, known: dict,
               sources: dict[str, str]) -> str | None:
    if explicit:
        name = _name_key(explicit)
        for canonical, preset in known.items():
            if name in {_name_key(n) for n in (canonical, *preset.aliases)}:
                sources[field] = "param"
                return canonical
        raise BadInput(f"unknown {field} {explicit!r}; choose one of {', '.join(sorted(known))}",
                       code=f"bad_{field}")
    if stated:
        sources[field] = "prompt"
    return stated


def _pick_key(explicit: str | None, facts: PromptFacts, style: Style, mood_mode: str | None,
              rng: np.random.Generator, sources: dict[str, str]) -> Key:
    default_mode = mood_mode or style.mode
    if explicit:
        try:
            key = parse_key(explicit)
        except ValueError as exc:
            raise BadInput(str(exc), code="bad_key") from exc
        sources["key"] = "param"
        if not any(w in explicit.lower() for w in ("maj", "min", "m")):
            key = Key(key.tonic, default_mode, key.flats)
        return key
    if facts.tonic is not None:
        sources["key"] = "prompt"
        return Key(facts.tonic, facts.mode or default_mode, facts.flats)
    weights = np.linspace(2.0, 0.5, len(COMMON_TONICS))
    tonic = int(rng.choice(COMMON_TONICS, p=weights / weights.sum()))
    sources["key"] = "seed"
    mode = facts.mode or default_mode
    if facts.mode:
        sources["mode"] = "prompt"
    return Key(tonic, mode, flats=tonic in (3, 5, 8, 10))


def _pick_tempo(explicit: float | None, facts: PromptFacts, style: Style, factor: float,
                rng: np.random.Generator, sources: dict[str, str], notes: list[str]) -> float:
    if explicit is not None:
        sources["tempo"] = "param"
        return float(explicit)
    if facts.tempo is not None:
        sources["tempo"] = "prompt"
        if not MIN_TEMPO <= facts.tempo <= MAX_TEMPO:
            clamped = float(np.clip(facts.tempo, MIN_TEMPO, MAX_TEMPO))
            notes.append(f"tempo {facts.tempo:g} BPM is outside {MIN_TEMPO:g}-{MAX_TEMPO:g}; used {clamped:g}")
            return clamped
        return float(facts.tempo)
    low, default, high = style.tempo
    word = {"slow": 0.85, "fast": 1.15}.get(facts.tempo_word or "", 1.0)
    tempo = default * factor * word * rng.uniform(0.97, 1.03)
    sources["tempo"] = "default"
    return float(round(np.clip(tempo, low * (0.9 if word < 1 else 1.0), high * (1.1 if word > 1 else 1.0))))


def _pick_duration(explicit: float | None, stated: float | None, max_duration: float,
                   sources: dict[str, str], notes: list[str]) -> float:
    if explicit is not None:
        sources["duration"] = "param"
        return float(explicit)
    if stated is not None:
        sources["duration"] = "prompt"
        if stated > max_duration or stated < 1.0:
            clamped = float(np.clip(stated, 1.0, max_duration))
            notes.append(f"length {stated:g} s is outside 1-{max_duration:g} s; used {clamped:g} s")
            return clamped
        return stated
    sources["duration"] = "default"
    return DEFAULT_DURATION


def _pick_instruments(facts: PromptFacts, style: Style, sources: dict[str, str]) -> dict[str, str]:
    roles = {"chords": style.chords, "melody": style.melody, "bass": style.bass, "drums": style.drums}
    if style.pad:
        roles["pad"] = "pad"
    named_roles: set[str] = set()
    for voice, role in facts.instruments:
        if role == "drums":
            if roles["drums"] == "none":
                roles["drums"] = "backbeat"
            continue
        if role == "chords" and "chords" in named_roles:
            role = "melody"  # a second harmony instrument carries the tune
        if role in named_roles:
            continue
        named_roles.add(role)
        roles[role] = voice
    if facts.no_drums:
        roles["drums"] = "none"
    if roles.get("pad") == roles["chords"]:
        roles.pop("pad")
    sources["instruments"] = "prompt" if facts.instruments or facts.no_drums else "default"
    return roles
