"""Tempo octave choice: which relative (×⅓ … ×3) of the strongest periodicity is the beat.

Half, double and triple tempo are periodic too, so the autocorrelation alone cannot
say which level listeners tap; the strongest prior-weighted peak alone is right on
about three clips in four of the real-instrument corpus, and the misses are octave errors (slow songs with
busy eighths read double, fast ones with driving eighths read half). Each candidate is
scored on the evidence for it as the beat:

* periodicity at its period, at half and double it and (low band) at four periods, in the
  full band, the low band (kick, bass) and the high band (hi-hats, shakers);
* onset strength on its beats, half-way between them and on every other beat, per band
  (a snare half-way means the tempo is too slow; weak alternate beats, too fast);
* where it lies on a log-tempo scale (listeners tap 70–180 BPM most).

The score is a linear function of those features, learned on the training split of the
real-instrument corpus by ``bench/train_tempo_octave.py`` (a pairwise logistic
regression: the right candidate against each wrong one) and shipped as a few
coefficients in ``octave_model.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

#: Relatives of the strongest peak that may be the beat (3/2 and 2/3 for ternary metres).
FACTORS = (1 / 3, 1 / 2, 2 / 3, 1.0, 3 / 2, 2.0, 3.0)
#: Candidates outside this range are not considered.
RANGE_BPM = (40.0, 250.0)
#: Two tempi within this fraction are the same candidate.
SAME_TEMPO = 0.04
MODEL_PATH = Path(__file__).with_name("octave_model.json")


@dataclass(frozen=True)
class Rhythm:
    """Onset envelopes of three bands and their periodicity (``lags`` in frames, shared)."""

    fps: float
    full: np.ndarray
    low: np.ndarray
    high: np.ndarray
    lags: np.ndarray
    acf_full: np.ndarray
    acf_low: np.ndarray
    acf_high: np.ndarray

    @property
    def acf(self) -> np.ndarray:
        """The periodicity the candidates come from: full and low band, half and half."""
        return (self.acf_full + self.acf_low) / 2


def candidate_tempi(bpm: float) -> list[float]:
    """``bpm`` and its relatives in :data:`FACTORS` that lie in :data:`RANGE_BPM`, ``bpm`` first."""
    low, high = RANGE_BPM
    out = [bpm]
    for factor in FACTORS:
        b = bpm * factor
        if low <= b <= high and all(abs(b / x - 1.0) > SAME_TEMPO for x in out):
            out.append(b)
    return out


def candidate_features(rhythm: Rhythm, tempi: list[float]) -> dict[str, np.ndarray]:
    """Each feature of each candidate in ``tempi``, by name (the names the model file lists)."""
    fps = rhythm.fps
    periods = np.array([60.0 * fps / b for b in tempi])
    at = lambda acf, lag: np.interp(lag, rhythm.lags, acf, left=0.0, right=0.0)  # noqa: E731
    top = float(np.max(at(rhythm.acf, periods))) or 1.0
    log_tempo = np.log2(np.asarray(tempi) / 120.0)
    f: dict[str, np.ndarray] = {
        "log_tempo": log_tempo,
        "log_tempo_sq": log_tempo**2,
        "acf": at(rhythm.acf, periods) / top,
        "acf_double_period": at(rhythm.acf, 2 * periods) / top,
        "acf_half_period": at(rhythm.acf, periods / 2) / top,
        "acf_full": at(rhythm.acf_full, periods),
        "acf_low": at(rhythm.acf_low, periods),
        "acf_high": at(rhythm.acf_high, periods),
        "acf_low_half_period": at(rhythm.acf_low, periods / 2),
        "acf_high_half_period": at(rhythm.acf_high, periods / 2),
        "acf_low_double_period": at(rhythm.acf_low, 2 * periods),
        "acf_low_four_periods": at(rhythm.acf_low, 4 * periods),  # a bar of 4/4: the kick pattern
        "acf_high_double_period": at(rhythm.acf_high, 2 * periods),
    }
    for band, env in (("full", rhythm.full), ("low", rhythm.low), ("high", rhythm.high)):
        env = _above_median(env)
        beats, half_way, alternate = np.zeros((3, len(tempi)))
        for i, period in enumerate(periods):
            on, mid = grid_strength(env, period)
            on2, mid2 = grid_strength(env, 2 * period)
            beats[i] = on
            half_way[i] = mid / on if on > 0 else 0.0
            alternate[i] = mid2 / on2 if on2 > 0 else 0.0
        f[f"beat_{band}"] = beats
        f[f"half_way_{band}"] = half_way
        f[f"alternate_{band}"] = alternate
    return f


def choose_tempo(rhythm: Rhythm, bpm: float) -> list[tuple[float, float]]:
    """The candidates around ``bpm`` as (bpm, score), best first, scored by the shipped model."""
    model = load_model()
    tempi = candidate_tempi(bpm)
    features = candidate_features(rhythm, tempi)
    x = np.stack([features[name] for name in model["features"]], axis=1)
    scores = ((x - model["mean"]) / model["scale"]) @ model["weights"]
    order = np.argsort(-scores, kind="stable")
    return [(tempi[i], float(scores[i])) for i in order]


def grid_strength(env: np.ndarray, period: float) -> tuple[float, float]:
    """Mean onset strength on the best-aligned beat grid of ``period`` frames, and half-way between.

    Each position reads the envelope's maximum within one frame (beats rarely fall on a
    whole frame); the grid's phase is the one with the strongest beats.
    """
    if period < 2.0 or env.size < 2 * period:
        return 0.0, 0.0
    peak = np.maximum(np.maximum(env, np.roll(env, 1)), np.roll(env, -1))
    count = int((env.size - 1) // period)
    ticks = np.arange(count) * period

    def mean_at(phase: float) -> float:
        pos = np.round(phase + ticks).astype(int)
        return float(peak[pos[pos < env.size]].mean())

    phases = np.arange(0.0, period, 1.0)
    strengths = [mean_at(p) for p in phases]
    best = float(phases[int(np.argmax(strengths))])
    return max(strengths), mean_at((best + period / 2) % period)


@cache
def load_model(path: Path = MODEL_PATH) -> dict:
    """The shipped coefficients: feature names, their mean and scale, and the weights."""
    raw = json.loads(Path(path).read_text())
    return {"features": tuple(raw["features"]), "mean": np.asarray(raw["mean"]),
            "scale": np.asarray(raw["scale"]), "weights": np.asarray(raw["weights"])}


def _above_median(env: np.ndarray) -> np.ndarray:
    """``env`` less its median, floored at 0 and scaled to unit deviation (onsets only)."""
    env = np.maximum(env - float(np.median(env)), 0.0)
    std = float(env.std())
    return env / std if std > 0 else env
