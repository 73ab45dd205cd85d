"""Musical key from chroma: correlate the pitch-class profile with 24 key templates.

The method is Krumhansl-Schmuckler: average the chroma over the track, then take
the Pearson correlation with a major and a minor key profile rotated to each of
the 12 tonics. It needs no model files, is fast, and its failure mode (confusing
relative or fifth-related keys) is reported honestly through the runner-up and
the confidence.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from moodmix.plugins.analyze.features import as_mono, chromagrams

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
#: How musicians usually spell each tonic (flats where the key signature has flats).
MAJOR_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")

Mode = Literal["major", "minor"]
ProfileName = Literal["albrecht", "temperley", "krumhansl"]

#: Krumhansl & Kessler (1982) probe-tone ratings, tonic first.
KRUMHANSL = (
    np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]),
    np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]),
)
#: Temperley (1999), "What's key for key?" — revised weights that favour the triad.
TEMPERLEY = (
    np.array([5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0]),
    np.array([5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0]),
)
#: Albrecht & Shanahan (2013): pitch-class frequencies counted in a large corpus.
ALBRECHT = (
    np.array([0.238, 0.006, 0.111, 0.006, 0.137, 0.094, 0.016, 0.214, 0.009, 0.080, 0.008, 0.081]),
    np.array([0.220, 0.006, 0.104, 0.123, 0.019, 0.103, 0.012, 0.214, 0.062, 0.022, 0.061, 0.052]),
)

PROFILES: dict[str, tuple[np.ndarray, np.ndarray]] = {
    "albrecht": ALBRECHT,
    "temperley": TEMPERLEY,
    "krumhansl": KRUMHANSL,
}
#: Exact keys on ``bench/analyze_accuracy.py --songs 96`` (songs with melody, bass,
#: detuning; bass chroma included): albrecht 76%, temperley 67%, krumhansl 56%.
#: All three get plain cadences in all 24 keys right.
DEFAULT_PROFILE: ProfileName = "albrecht"

#: Shorter audio is mostly the analysis window's edges; no key is reported.
MIN_SECONDS = 0.25
#: Margin (in correlation) between the best and second key at which confidence saturates.
CONFIDENCE_MARGIN = 0.05


@dataclass(frozen=True)
class KeyCandidate:
    """One of the 24 keys with its correlation to the track's pitch-class profile."""

    key: str  # tonic, sharps only: "F#"
    mode: Mode
    correlation: float

    @property
    def name(self) -> str:
        names = MAJOR_NAMES if self.mode == "major" else MINOR_NAMES
        return f"{names[PITCH_CLASSES.index(self.key)]} {self.mode}"

    @property
    def camelot(self) -> str:
        """DJ notation (``8A`` = A minor, ``8B`` = C major): adjacent numbers mix well."""
        pc = PITCH_CLASSES.index(self.key)
        relative_major = pc if self.mode == "major" else (pc + 3) % 12
        number = (7 * relative_major + 8) % 12 or 12
        return f"{number}{'B' if self.mode == 'major' else 'A'}"

    def as_dict(self) -> dict:
        return {"key": self.key, "mode": self.mode, "name": self.name, "camelot": self.camelot,
                "correlation": round(self.correlation, 4)}


@dataclass(frozen=True)
class KeyEstimate:
    """The best key (``None`` for silence), how sure we are, and the runner-up."""

    key: str | None
    mode: Mode | None
    confidence: float
    correlation: float | None = None
    runner_up: KeyCandidate | None = None
    profile: str = DEFAULT_PROFILE
    note: str | None = None

    @property
    def best(self) -> KeyCandidate | None:
        if self.key is None or self.mode is None or self.correlation is None:
            return None
        return KeyCandidate(self.key, self.mode, self.correlation)

    def as_dict(self) -> dict:
        best = self.best
        out = asdict(self)
        out["name"] = best.name if best else None
        out["camelot"] = best.camelot if best else None
        out["confidence"] = round(self.confidence, 4)
        out["correlation"] = None if self.correlation is None else round(self.correlation, 4)
        out["runner_up"] = self.runner_up.as_dict() if self.runner_up else None
        return out


def pitch_class_profile(chroma: np.ndarray) -> np.ndarray:
    """A 12-vector summarising ``(12, frames)`` chroma (or passing a 12-vector through).

    Frames are weighted by the square root of their energy: loud passages count
    more than quiet ones, but a few loud hits cannot drown the rest.
    """
    chroma = np.asarray(chroma, dtype=np.float64)
    if chroma.ndim == 1:
        return chroma
    energy = chroma.sum(axis=0)
    active = energy > 0
    if not active.any():
        return np.zeros(12)
    frames = chroma[:, active] / energy[active]
    return frames @ np.sqrt(energy[active]) / np.sqrt(energy[active]).sum()


def key_correlations(profile_vector: np.ndarray, profile: str = DEFAULT_PROFILE) -> np.ndarray:
    """Pearson correlation with all 24 keys: index ``pc`` is major, ``12 + pc`` minor."""
    major, minor = PROFILES[profile]
    v = np.asarray(profile_vector, dtype=np.float64)
    v = v - v.mean()
    scores = np.empty(24)
    for mode_index, template in enumerate((major, minor)):
        for pc in range(12):
            t = np.roll(template, pc)
            t = t - t.mean()
            denom = np.linalg.norm(v) * np.linalg.norm(t)
            scores[mode_index * 12 + pc] = float(v @ t / denom) if denom > 0 else 0.0
    return scores


def estimate_key_from_chroma(chroma: np.ndarray, *, bass_chroma: np.ndarray | None = None,
                             profile: str = DEFAULT_PROFILE, duration: float | None = None) -> KeyEstimate:
    """Key of a ``(12, frames)`` chroma matrix (or a 12-vector pitch-class profile).

    With ``bass_chroma`` (the chroma below ~250 Hz) the score of each key is the
    mean of both correlations: bass lines dwell on chord roots, which points at
    the tonic more directly than the full mix (+7 to +10 points of exact keys on
    ``bench/analyze_accuracy.py``).
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown key profile {profile!r}; choose one of {', '.join(PROFILES)}")
    if duration is not None and duration < MIN_SECONDS:
        return KeyEstimate(None, None, 0.0, profile=profile,
                           note=f"too short for a key ({duration:.2f} s; needs at least {MIN_SECONDS:g} s)")
    pcp = pitch_class_profile(chroma)
    if not _pitched(pcp):
        return KeyEstimate(None, None, 0.0, profile=profile,
                           note="no pitched content (silence or flat spectrum), so no key")
    scores = key_correlations(pcp, profile)
    if bass_chroma is not None:
        bass = pitch_class_profile(bass_chroma)
        if _pitched(bass):
            scores = (scores + key_correlations(bass, profile)) / 2
    order = np.argsort(scores)[::-1]
    best, second = (_candidate(int(i), float(scores[i])) for i in order[:2])
    margin = best.correlation - second.correlation
    confidence = max(0.0, best.correlation) * (1.0 - np.exp(-margin / CONFIDENCE_MARGIN))
    return KeyEstimate(best.key, best.mode, float(confidence), best.correlation, second, profile)


def estimate_key(y: np.ndarray, sr: int, *, profile: str = DEFAULT_PROFILE) -> KeyEstimate:
    """Key of audio ``y`` (mono, or ``(channels, frames)``) sampled at ``sr``."""
    y = as_mono(y)
    chroma, bass_chroma, _ = chromagrams(y, sr)
    return estimate_key_from_chroma(chroma, bass_chroma=bass_chroma, profile=profile, duration=y.size / sr)


def _pitched(pcp: np.ndarray) -> bool:
    """Whether a pitch-class profile has any shape to correlate (not silent, not flat)."""
    return bool(np.any(pcp > 0)) and float(np.ptp(pcp)) > 1e-9 * float(pcp.max())


def _candidate(index: int, correlation: float) -> KeyCandidate:
    mode: Mode = "major" if index < 12 else "minor"
    return KeyCandidate(PITCH_CLASSES[index % 12], mode, correlation)
