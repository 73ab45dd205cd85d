"""Where a preview should sit: the track's most representative stretch, found from its structure.

A chorus is what people recognise a song by: it comes back several times, and it is
usually the loudest part. So every bar gets two scores from beat-synchronous features —
*repetition* (how many other bars of the track look like it, from a chroma + timbre
self-similarity matrix) and *energy* (RMS) — and a preview starts at the bar whose next
``n`` bars score best together. The first and last bars (intro, fade-out) are only chosen
when nothing else fits. Scores are computed once per track and cached, so any preview
length (and the full render) reuses them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Features are computed on mono audio at this rate: structure needs no more.
STRUCTURE_SR = 22_050
HOP = 512


@dataclass(frozen=True)
class BarScores:
    """Per bar of the source grid: start time (s), repetition and energy, both scaled to 0..1."""

    starts: list[float]
    repetition: list[float]
    energy: list[float]

    def combined(self) -> np.ndarray:
        return 0.5 * np.asarray(self.repetition) + 0.5 * np.asarray(self.energy)


def bar_starts(first_downbeat: float, bar_s: float, duration: float) -> np.ndarray:
    """Bar lines from the first downbeat (and whole bars before it) up to ``duration``."""
    first = first_downbeat - np.floor(first_downbeat / bar_s) * bar_s
    return np.arange(first, duration, bar_s)


def _scaled(values: np.ndarray) -> np.ndarray:
    low, high = float(np.min(values)), float(np.max(values))
    return np.zeros_like(values) if high - low < 1e-9 else (values - low) / (high - low)


def score_bars(mono: np.ndarray, sr: int, starts: np.ndarray) -> BarScores:
    """Repetition and energy of each bar beginning at ``starts`` (seconds) of ``mono`` (frames,)."""
    import librosa

    y = librosa.resample(np.asarray(mono, dtype=np.float32), orig_sr=sr, target_sr=STRUCTURE_SR) \
        if sr != STRUCTURE_SR else np.asarray(mono, dtype=np.float32)
    chroma = librosa.feature.chroma_stft(y=y, sr=STRUCTURE_SR, hop_length=HOP)
    mfcc = librosa.feature.mfcc(y=y, sr=STRUCTURE_SR, hop_length=HOP, n_mfcc=13)[1:]  # timbre, not level
    rms = librosa.feature.rms(y=y, hop_length=HOP)[0]
    frames = librosa.time_to_frames(starts, sr=STRUCTURE_SR, hop_length=HOP)
    bounds = np.append(frames, chroma.shape[1]).clip(0, chroma.shape[1])
    features = np.vstack([librosa.util.normalize(chroma, axis=0), librosa.util.normalize(mfcc, axis=0)])
    synced = librosa.util.sync(features, bounds, aggregate=np.mean)[:, : len(starts)]
    energy = librosa.util.sync(rms[None, :], bounds, aggregate=np.mean)[0, : len(starts)]
    n = synced.shape[1]
    if n < 3:
        return BarScores([float(s) for s in starts[:n]], [0.0] * n, _scaled(energy).tolist())
    unit = synced / np.maximum(1e-9, np.linalg.norm(synced, axis=0, keepdims=True))
    similarity = unit.T @ unit
    np.fill_diagonal(similarity, 0.0)
    for k in (-1, 1):  # the neighbouring bar is alike by continuity, not by repetition
        idx = np.arange(max(0, -k), n - max(0, k))
        similarity[idx, idx + k] = 0.0
    # How many bars elsewhere are near-copies of this one (a soft count: similarity above the median).
    threshold = np.median(similarity[similarity > 0]) if np.any(similarity > 0) else 0.0
    repetition = np.clip(similarity - threshold, 0.0, None).sum(axis=1)
    loud = 20 * np.log10(np.maximum(energy, 1e-6))
    return BarScores([float(s) for s in starts[:n]], _scaled(repetition).tolist(),
                     _scaled(np.maximum(loud, loud.max() - 30.0)).tolist())


def best_window(scores: BarScores, bars: int, *, step: int = 1) -> int:
    """Index of the first bar of the best ``bars``-bar window (starting every ``step`` bars)."""
    combined = scores.combined()
    n = combined.size
    if n <= bars:
        return 0
    candidates = list(range(0, n - bars + 1, max(1, step))) or [0]
    edge = max(1, n // 10)  # intro and outro: fine only when nothing else is

    def value(i: int) -> float:
        penalty = 0.25 if i < edge or i + bars > n - edge else 0.0
        return float(combined[i:i + bars].mean()) - penalty

    return max(candidates, key=value)
