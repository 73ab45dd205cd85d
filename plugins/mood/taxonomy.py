"""The mood taxonomy: which labels exist and where each sits on the valence/arousal plane.

Coordinates follow Russell's circumplex model (valence = unpleasant..pleasant,
arousal = calm..excited, both in [-1, 1]). A track's valence and arousal are the
probability-weighted mean of these coordinates, so they stay in [-1, 1] and move
smoothly when the classifier hesitates between neighbouring moods.

=========  =======  =======  ===============================================
mood       valence  arousal  what it sounds like
=========  =======  =======  ===============================================
happy       +0.80    +0.45   bright major keys, bouncy mid tempo, clear beat
energetic   +0.45    +0.90   fast, loud, dense, driving drums
calm        +0.45    -0.75   slow, soft, sparse, sustained, no hard attacks
romantic    +0.70    -0.25   warm, legato, seventh chords, gentle pulse
sad         -0.70    -0.50   slow minor, soft, low-mid register, falling lines
dark        -0.65    -0.15   low register, dim timbre, phrygian/minor drones
tense       -0.65    +0.80   tense / angry: fast, loud, dissonant, distorted
epic        +0.20    +0.70   big, wide register, building, pounding low drums
=========  =======  =======  ===============================================
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mood:
    """One label of the taxonomy."""

    name: str
    valence: float
    arousal: float
    description: str
    aliases: tuple[str, ...] = ()


TAXONOMY: tuple[Mood, ...] = (
    Mood("happy", 0.80, 0.45, "bright, major, bouncy mid tempo", ("joyful", "cheerful", "uplifting")),
    Mood("energetic", 0.45, 0.90, "fast, loud, dense, driving", ("energy", "party", "exciting")),
    Mood("calm", 0.45, -0.75, "slow, soft, sparse, sustained", ("peaceful", "relaxed", "chill", "relaxing")),
    Mood("romantic", 0.70, -0.25, "warm, legato, seventh chords", ("tender", "love", "sentimental")),
    Mood("sad", -0.70, -0.50, "slow, minor, soft, falling", ("melancholic", "melancholy", "sorrowful")),
    Mood("dark", -0.65, -0.15, "low, dim, ominous", ("ominous", "gloomy", "sinister", "mysterious")),
    Mood("tense", -0.65, 0.80, "tense or angry: fast, loud, dissonant", ("angry", "aggressive", "anxious")),
    Mood("epic", 0.20, 0.70, "big, wide, building, heroic", ("heroic", "cinematic", "triumphant")),
)

MOOD_NAMES: tuple[str, ...] = tuple(m.name for m in TAXONOMY)
BY_NAME: dict[str, Mood] = {m.name: m for m in TAXONOMY}


def resolve_label(raw: str) -> str | None:
    """The taxonomy name for a folder or user label (``"Angry"`` -> ``"tense"``), or ``None``."""
    key = raw.strip().lower().replace("-", "_").replace(" ", "_")
    if key in BY_NAME:
        return key
    if key in ("tense_angry", "tense/angry"):
        return "tense"
    for mood in TAXONOMY:
        if key in mood.aliases:
            return mood.name
    return None


def valence_arousal(distribution: dict[str, float]) -> tuple[float, float]:
    """Probability-weighted position on the valence/arousal plane, clipped to [-1, 1]."""
    total = sum(distribution.values()) or 1.0
    valence = sum(p * BY_NAME[name].valence for name, p in distribution.items()) / total
    arousal = sum(p * BY_NAME[name].arousal for name, p in distribution.items()) / total
    return max(-1.0, min(1.0, valence)), max(-1.0, min(1.0, arousal))


def as_dict() -> dict[str, dict[str, object]]:
    """The taxonomy as JSON-ready data (saved inside every model file, served with results)."""
    return {
        m.name: {"valence": m.valence, "arousal": m.arousal, "description": m.description,
                 "aliases": list(m.aliases)}
        for m in TAXONOMY
    }
