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
    """A steady beat: ``first_beat + i * 60 / tempo`` seconds."""

    tempo: float
    first_beat: float

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


def fit_beat_grid(beats: Sequence[float], fallback_tempo: float | None) -> BeatGrid:
    """Fit a steady grid to beat times; tolerates missed or extra beats.

    Each beat gets an index from the median inter-beat interval (so a skipped beat
    keeps later indices right), then a line is fitted twice, dropping beats more
    than a tenth of a period off the first fit.
    """
    times = np.asarray([b for b in beats if math.isfinite(b) and b >= 0], dtype=float)
    times.sort()
    fallback = float(fallback_tempo) if fallback_tempo and fallback_tempo > 0 else 120.0
    if times.size < 4:
        return BeatGrid(fallback, float(times[0]) if times.size else 0.0)
    period = float(np.median(np.diff(times)))
    if period <= 0:
        return BeatGrid(fallback, float(times[0]))
    index = np.round((times - times[0]) / period)
    keep = np.ones(times.size, dtype=bool)
    slope, intercept = period, float(times[0])
    for _ in range(2):
        if keep.sum() < 4 or np.ptp(index[keep]) == 0:
            break
        slope, intercept = np.polyfit(index[keep], times[keep], 1)
        residual = np.abs(times - (intercept + slope * index))
        keep = residual <= 0.1 * slope
    tempo = 60.0 / float(slope)
    first = float(intercept) % float(slope)
    return BeatGrid(tempo, first)


def plan_tempo(recipe: Recipe, source: BeatGrid) -> TempoPlan:
    """Resolve the recipe's tempo wish against the source's beat grid."""
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
    grid = BeatGrid(target_tempo, source.first_beat / ratio)
    return TempoPlan(ratio=ratio, target_tempo=target_tempo, pitch_semitones=pitch, grid=grid)
