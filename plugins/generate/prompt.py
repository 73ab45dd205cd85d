"""Read a free-text prompt for the musical facts it states.

Only what the prompt says is returned; anything missing stays ``None`` so the
spec builder can tell stated values from defaults (and say which is which).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from moodmix.plugins.generate.styles import INSTRUMENT_WORDS, MOODS, NO_DRUM_PHRASES, STYLES
from moodmix.plugins.generate.theory import Key, mode_from_word, pitch_class


@dataclass(frozen=True)
class PromptFacts:
    """What a prompt states. ``None``/empty means "not stated"."""

    text: str
    tempo: float | None = None
    tonic: int | None = None
    mode: str | None = None
    flats: bool = False
    genre: str | None = None
    mood: str | None = None
    instruments: tuple[tuple[str, str], ...] = ()  # (voice, role) in prompt order
    no_drums: bool = False
    duration: float | None = None
    tempo_word: str | None = None  # "slow" / "fast" when no number is given
    matched: tuple[str, ...] = field(default_factory=tuple)  # words we understood

    @property
    def key(self) -> Key | None:
        if self.tonic is None:
            return None
        return Key(self.tonic, self.mode or "major", self.flats)


_TEMPO = re.compile(r"(\d{2,3}(?:\.\d+)?)\s*(?:bpm|b\.p\.m\.?|beats per minute)\b"
                    r"|\btempo\s*(?:of|=|:)?\s*(\d{2,3}(?:\.\d+)?)\b")
_ACC = r"(#|♯|b|♭|-sharp|-flat|\s+sharp|\s+flat)?"
_MODE = r"(major|minor|maj|min|m)?"
# "in F# minor", "key of Bb", "key: c sharp minor"
_KEY_WITH_PREFIX = re.compile(r"\b(?:in(?:\s+the)?(?:\s+key\s+of)?|key(?:\s+of)?\s*[:=]?)\s+([A-Ga-g])" + _ACC
                              + r"\s*" + _MODE + r"(?![\w#])", re.IGNORECASE)
# "F# minor", "Am", "Bbmaj" without a prefix: needs a capital letter and a mode word.
_KEY_BARE = re.compile(r"(?<![\w#])([A-G])" + _ACC + r"\s*(major|minor|maj|min|m)(?![\w#])")
_MODE_ONLY = re.compile(r"\b(major|minor)\s+(?:key|scale|tonality|mode)\b", re.IGNORECASE)
_DURATION_PATTERNS = (
    (re.compile(r"\b(\d{1,2}):([0-5]\d)\b"), lambda m: int(m[1]) * 60 + int(m[2])),
    (re.compile(r"\b(\d+(?:\.\d+)?)\s*(?:minutes?|mins?)\b", re.IGNORECASE), lambda m: float(m[1]) * 60),
    (re.compile(r"\b(\d+(?:\.\d+)?)\s*(?:seconds?|secs?)\b", re.IGNORECASE), lambda m: float(m[1])),
    # "30s" / "30 s" but not decades such as "80s" or "'90s".
    (re.compile(r"(?<!['’\d])\b(\d+(?:\.\d+)?)\s?s\b"), lambda m: None if _is_decade(m[1]) else float(m[1])),
)
_SLOW_WORDS = ("slow", "slowly", "downtempo", "slow-paced", "largo", "adagio")
_FAST_WORDS = ("fast", "quick", "uptempo", "up-tempo", "rapid", "allegro", "presto")


def _is_decade(number: str) -> bool:
    return number in ("50", "60", "70", "80", "90", "00")  # "30s" is far likelier a length


def parse_prompt(text: str) -> PromptFacts:
    """Everything ``text`` states about tempo, key, genre, mood, instruments and length."""
    clean = " ".join(text.replace("\n", " ").split())
    lower = clean.lower()
    matched: list[str] = []

    tempo = None
    if m := _TEMPO.search(lower):
        tempo = float(m[1] or m[2])
        matched.append(m[0])

    tonic = mode = None
    flats = False
    key_match = _KEY_WITH_PREFIX.search(clean) or _KEY_BARE.search(clean)
    if key_match:
        letter, acc, mode_word = key_match.groups()
        acc = (acc or "").strip(" -").lower()
        says_key = "key" in key_match[0].lower()
        if letter.isupper() or mode_word or acc or says_key:  # "in a dark room" is not a key
            tonic = pitch_class(letter, acc)
            flats = acc in ("b", "♭", "flat")
            mode = mode_from_word(mode_word) if mode_word else None
            matched.append(key_match[0].strip())
    if mode is None and (m := _MODE_ONLY.search(clean)):
        mode = m[1].lower()
        matched.append(m[0])

    duration = None
    for pattern, value in _DURATION_PATTERNS:
        for m in pattern.finditer(lower):
            seconds = value(m)
            if seconds is not None:
                duration = float(seconds)
                matched.append(m[0])
                break
        if duration is not None:
            break

    rest = f" {lower} "
    genre = _find_named(rest, {s.name: (s.name, *s.aliases) for s in STYLES.values()})
    if genre:
        matched.append(genre[1])
        rest = rest.replace(genre[1], " ")
    mood = _find_named(rest, {m.name: (m.name, *m.aliases) for m in MOODS.values()})
    if mood:
        matched.append(mood[1])

    no_drums = any(p in rest for p in NO_DRUM_PHRASES)
    for phrase in NO_DRUM_PHRASES:
        rest = rest.replace(phrase, " ")
    instruments = _find_instruments(rest)
    matched += [w for w, _ in instruments]

    tempo_word = None
    if tempo is None:
        words = set(re.findall(r"[a-z\-]+", lower))
        if words & set(_SLOW_WORDS):
            tempo_word = "slow"
        elif words & set(_FAST_WORDS):
            tempo_word = "fast"

    return PromptFacts(
        text=clean, tempo=tempo, tonic=tonic, mode=mode, flats=flats,
        genre=genre[0] if genre else None, mood=mood[0] if mood else None,
        instruments=tuple(v for _, v in instruments), no_drums=no_drums, duration=duration,
        tempo_word=tempo_word, matched=tuple(matched),
    )


def _find_named(text: str, names: dict[str, tuple[str, ...]]) -> tuple[str, str] | None:
    """The entry whose name or alias appears earliest in ``text`` (longest alias wins a tie)."""
    best: tuple[int, int, str, str] | None = None
    for canonical, words in names.items():
        for word in words:
            m = re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text)
            if m and (best is None or (m.start(), -len(word)) < (best[0], best[1])):
                best = (m.start(), -len(word), canonical, word)
    return (best[2], best[3]) if best else None


def _find_instruments(text: str) -> list[tuple[str, tuple[str, str]]]:
    """Instrument words in prompt order; longer phrases win ("synth bass" before "synth")."""
    found: list[tuple[int, str, tuple[str, str]]] = []
    taken: list[tuple[int, int]] = []
    for word in sorted(INSTRUMENT_WORDS, key=len, reverse=True):
        for m in re.finditer(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text):
            span = (m.start(), m.end())
            if any(a < span[1] and span[0] < b for a, b in taken):
                continue
            taken.append(span)
            found.append((m.start(), word, INSTRUMENT_WORDS[word]))
    found.sort()
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, tuple[str, str]]] = []
    for _, word, voice in found:
        if voice not in seen:
            seen.add(voice)
            out.append((word, voice))
    return out
