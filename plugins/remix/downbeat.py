"""Which detected beat starts a bar, so a pattern's first step lands on "one".

Beat trackers give beats, not bars. Chords change on the first beat of a bar, and the
kick and bass lean on it too, so each beat phase is scored by the spectral flux of two
bands around its beats — 30–200 Hz (kick, bass) and 200–2000 Hz (chord changes), each
normalised by its mean — and the strongest phase is taken as the downbeat. When no
phase stands out the grid is left as it is.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import signal

from moodmix.plugins.remix.tempo import BeatGrid

ANALYSIS_SR = 4_000
FRAME = 256
HOP = 64
BANDS = ((30.0, 200.0), (200.0, 2000.0))


def band_flux(mono: np.ndarray, sr: int) -> tuple[np.ndarray, float]:
    """Summed, mean-normalised positive log-magnitude flux of :data:`BANDS`, and its frame rate."""
    from moodmix.engine.audio_io import resample

    y = resample(np.asarray(mono, dtype=np.float32)[None, :], sr, ANALYSIS_SR)[0]
    freqs, _, spec = signal.stft(y, ANALYSIS_SR, nperseg=FRAME, noverlap=FRAME - HOP, boundary=None)
    total = np.zeros(spec.shape[1])
    for low, high in BANDS:
        band = (freqs >= low) & (freqs < high)
        mag = np.log1p(100 * np.abs(spec[band]))
        flux = np.concatenate([[0.0], np.maximum(np.diff(mag, axis=1), 0.0).sum(axis=0)])
        mean = flux.mean()
        if mean > 0:
            total += flux / mean
    return total, ANALYSIS_SR / HOP


def bar_offset(flux: np.ndarray, frame_rate: float, grid: BeatGrid, beats_per_bar: int = 4,
               min_contrast: float = 1.15) -> int:
    """How many beats after ``grid.first_beat`` the bars start (0..beats_per_bar-1)."""
    last = min(grid.end, flux.size / frame_rate)
    first_index = max(0, math.ceil((grid.start - grid.first_beat) / grid.period - 0.5))
    times = grid.first_beat + grid.period * np.arange(first_index, int((last - grid.first_beat) / grid.period))
    if times.size < 2 * beats_per_bar:
        return 0
    reach = max(1, round(0.04 * frame_rate))
    frames = np.round(times * frame_rate).astype(int)
    strength = np.array([flux[max(0, f - reach): f + reach + 1].max(initial=0.0) for f in frames])
    index = np.round((times - grid.first_beat) / grid.period).astype(int)
    totals = np.array([strength[index % beats_per_bar == k].mean() for k in range(beats_per_bar)])
    best = int(np.argmax(totals))
    others = np.delete(totals, best)
    if others.max(initial=0.0) <= 0 or totals[best] / others.max() < min_contrast:
        return 0
    return best


def align_to_bars(grid: BeatGrid, mono: np.ndarray, sr: int) -> BeatGrid:
    """The grid with ``first_beat`` moved onto the first downbeat (unchanged for a guessed grid)."""
    if not grid.steady:
        return grid
    flux, rate = band_flux(mono, sr)
    offset = bar_offset(flux, rate, grid)
    return dataclasses.replace(grid, first_beat=grid.first_beat + offset * grid.period)
