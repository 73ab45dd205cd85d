"""From detected beats to a stretch ratio and a beat grid for the synthesised drums.

Beat trackers report a coarse tempo (tempogram bins are several BPM apart at 120 BPM),
and a stretch computed from it would let added drums drift away from the music within
a minute. A least-squares line through the beat times gives the period to a fraction
of a percent, and its intercept gives the phase the drums lock to.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from moodmix.plugins.remix.recipe import Recipe


@dataclass(frozen=True)
class BeatGrid:
    """A steady beat: ``first_beat + i * 60 / tempo`` seconds, heard from ``start`` to ``end``."""

    tempo: float
    first_beat: float
    start: float = 0.0  # the first detected beat: added drums come in here
    end: float = math.inf  # a beat after the last detected one: added drums stop here
    steady: bool = True  # False: too few beats were found, the tempo is a guess

    @property
    def period(self) -> float:
        return 60.0 / self.tempo


@dataclass(frozen=True)
class TempoPlan:
    """How the track is sped up and where the drums go afterwards."""

    ratio: float  # speed factor: the output lasts input / ratio
    target_tempo: float
    pitch_semitones: float  # total pitch change heard (varispeed included)
    grid: BeatGrid  # beat grid of the output


def fit_beat_grid(beats: Sequence[float], tempo: float | None, *, trust_tempo: bool = True) -> BeatGrid:
    """A steady grid through beat times; tolerates missed, extra and misplaced beats.

    A ``tempo`` from the analyzer is kept when the beats agree with it (it refines its
    BPM over the whole track; ``trust_tempo=False`` for trackers that only give a
    tempogram bin); otherwise each beat gets an index from the median
    inter-beat interval (so a skipped beat keeps later indices right) and a line is
    fitted twice, dropping beats more than 20 ms off the first fit. The phase is a
    circular mean of the beats against that period, again without outliers.
    """
    times = np.asarray([b for b in beats if math.isfinite(b) and b >= 0], dtype=float)
    times.sort()
    fallback = float(tempo) if tempo and tempo > 0 else 120.0
    if times.size < 4:
        return BeatGrid(fallback, float(times[0]) if times.size else 0.0, steady=False)
    median_ioi = float(np.median(np.diff(times)))
    if median_ioi <= 0:
        return BeatGrid(fallback, float(times[0]), steady=False)
    if trust_tempo and tempo and abs(60.0 / tempo / median_ioi - 1.0) <= 0.08:
        period = 60.0 / float(tempo)
    else:
        period = _regression_period(times, median_ioi)
    phase = _phase(times, period)
    start = phase + period * math.floor((times[0] - phase) / period + 0.5)
    end = phase + period * (math.floor((times[-1] - phase) / period + 0.5) + 1)
    return BeatGrid(60.0 / period, phase, max(0.0, start), end)


def _regression_period(times: np.ndarray, median_ioi: float) -> float:
    index = np.round((times - times[0]) / median_ioi)
    keep = np.ones(times.size, dtype=bool)
    slope = median_ioi
    for _ in range(2):
        if keep.sum() < 4 or np.ptp(index[keep]) == 0:
            break
        slope, intercept = np.polyfit(index[keep], times[keep], 1)
        keep = np.abs(times - (intercept + slope * index)) <= 0.02
    return float(slope)


def _phase(times: np.ndarray, period: float) -> float:
    """Where the beat falls within a period (seconds, 0 ≤ phase < period)."""
    angles = 2 * np.pi * (times % period) / period
    mean = math.atan2(np.sin(angles).mean(), np.cos(angles).mean())
    off = np.abs(np.angle(np.exp(1j * (angles - mean))))
    near = off <= 2 * np.pi * 0.1
    if near.sum() >= 2:
        mean = math.atan2(np.sin(angles[near]).mean(), np.cos(angles[near]).mean())
    return (mean % (2 * np.pi)) / (2 * np.pi) * period


def plan_tempo(recipe: Recipe, source: BeatGrid) -> TempoPlan:
    """Resolve the recipe's tempo wish against the source's beat grid."""
    if recipe.tempo is not None and not source.steady:
        # No beat to speak of (ambient, speech): keep the timing, lay the drums over it from the start.
        pitch = float(recipe.pitch_semitones)
        return TempoPlan(1.0, float(recipe.tempo), pitch, BeatGrid(float(recipe.tempo), 0.0, steady=False))
    if recipe.tempo is not None:
        target_tempo = float(recipe.tempo)
        ratio = target_tempo / source.tempo
        if recipe.fold_octaves:
            candidates = [target_tempo / (source.tempo * k) for k in (0.5, 1.0, 2.0)]
            ratio = min(candidates, key=lambda r: abs(math.log(r)))
        if not 0.5 <= ratio <= 2.0:  # out of reach: stretch as far as allowed, drums follow the music
            ratio = min(2.0, max(0.5, ratio))
            target_tempo = source.tempo * ratio
    else:
        ratio = float(recipe.tempo_ratio or 1.0)
        target_tempo = source.tempo * ratio
    pitch = float(recipe.pitch_semitones)
    if recipe.varispeed:
        pitch += 12.0 * math.log2(ratio)
    grid = BeatGrid(target_tempo, source.first_beat / ratio, source.start / ratio, source.end / ratio,
                    source.steady)
    return TempoPlan(ratio=ratio, target_tempo=target_tempo, pitch_semitones=pitch, grid=grid)
