"""Tempo (BPM), its confidence, and beat positions from onset-strength envelopes.

1. Periodicity: the onset envelope's autocorrelation in ~8 s windows (mean removed,
   normalised, averaged), so a steady beat scores near 1 and noise near 0 — that
   number is the confidence. The low-band envelope's (kick, bass) is averaged in:
   it tells the beat from loud off-beat hi-hats, which otherwise make 3/2 or
   double the tempo look as periodic as the tempo itself.
2. Octave choice: half and double tempo always correlate too. A log-normal prior
   centred on 120 BPM picks the strongest peak; then :mod:`.octave` scores that peak
   and its relatives (×⅓ … ×3) on the evidence for each as the beat (periodicity and
   onset strength per band at each metrical level, onsets per beat) with a small
   learned linear model, and the best one wins. The runners-up are returned as candidates.
3. Beats: Ellis' dynamic-programming tracker (:mod:`.beats`) seeded with that tempo.
4. Precision: peak lags are interpolated between frames, and when the beats are
   regular the BPM is re-estimated from a straight line fitted through the beat
   times (±0.1 BPM on steady material instead of ±2.5 BPM from whole frames).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from moodmix.plugins.analyze.beats import beat_times, track_beats, trim_silent_beats
from moodmix.plugins.analyze.features import HOP_LENGTH, as_mono, onset_envelopes
from moodmix.plugins.analyze.octave import Rhythm, choose_tempo

MIN_BPM, MAX_BPM = 30.0, 300.0
PRIOR_CENTER_BPM = 120.0
PRIOR_OCTAVES = 1.0
WINDOW_SECONDS = 8.0
#: Shorter audio holds too few beats for a tempo worth reporting.
MIN_SECONDS = 2.0
#: Below this periodicity there is no steady beat to speak of (white noise scores 0.03–0.16;
#: short excerpts score higher by chance, hence the floor that grows as frames get fewer).
MIN_PERIODICITY = 0.15
NOISE_FLOOR_SCALE = 2.5
#: Below this the tempo is reported but flagged as uncertain (real music mostly scores 0.3–0.9).
WEAK_PERIODICITY = 0.3
#: Inter-beat intervals within this fraction of the median count as regular.
REGULAR_TOLERANCE = 0.08
#: Beats further than this from the fitted grid are left out of the BPM refit.
OUTLIER_SECONDS = 0.015
#: Two tempi within this fraction are the same candidate.
OCTAVE_TOLERANCE = 0.04


@dataclass(frozen=True)
class TempoEstimate:
    """Tempo in BPM (``None`` when there is no beat), confidence 0..1, beat times in seconds."""

    bpm: float | None
    confidence: float
    beats: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: Other plausible tempi (usually half/double), best first, each (bpm, score).
    candidates: tuple[tuple[float, float], ...] = ()
    note: str | None = None

    def as_dict(self, *, max_beats: int | None = None, include_beats: bool = True) -> dict:
        beats = self.beats if max_beats is None else self.beats[:max_beats]
        out: dict = {
            "bpm": None if self.bpm is None else round(self.bpm, 2),
            "confidence": round(self.confidence, 4),
            "candidates": [{"bpm": round(b, 2), "score": round(s, 4)} for b, s in self.candidates],
            "beat_count": int(self.beats.size),
            "note": self.note,
        }
        if include_beats:
            out["beats"] = [round(float(t), 3) for t in beats]
            out["beats_truncated"] = bool(beats.size < self.beats.size)
        return out


def estimate_tempo(y: np.ndarray, sr: int, *, with_beats: bool = True) -> TempoEstimate:
    """Tempo and beats of audio ``y`` (mono, or ``(channels, frames)``) sampled at ``sr``."""
    y = as_mono(y)
    onset, low_onset, high_onset = onset_envelopes(y, sr)
    return estimate_tempo_from_onsets(onset, sr, hop_length=HOP_LENGTH, low_envelope=low_onset,
                                      high_envelope=high_onset, with_beats=with_beats, duration=y.size / sr)


def estimate_tempo_from_onsets(onset_envelope: np.ndarray, sr: int, *, hop_length: int = HOP_LENGTH,
                               low_envelope: np.ndarray | None = None, high_envelope: np.ndarray | None = None,
                               with_beats: bool = True, duration: float | None = None,
                               metrical: bool = True) -> TempoEstimate:
    """Tempo and beats from an onset-strength envelope at ``sr / hop_length`` frames per second.

    ``low_envelope`` (same frames, onsets below ~500 Hz), when given, takes part in
    every step: its periodicity is averaged in, which settles the metrical level
    when off-beat hi-hats are as strong as the kicks in the full band; the octave
    choice reads it; and beats are placed on both envelopes together, so they land
    on the kick rather than between kicks. ``high_envelope`` (onsets above ~4 kHz:
    hi-hats) is read by the octave choice only. A missing band is read as the full one.
    ``metrical=False`` keeps the strongest prior-weighted peak (to measure what the
    octave choice adds, in ``bench/tempo_key_accuracy.py``).
    """
    env = np.asarray(onset_envelope, dtype=np.float64)
    low = None if low_envelope is None else np.asarray(low_envelope, dtype=np.float64)
    high = None if high_envelope is None else np.asarray(high_envelope, dtype=np.float64)
    fps = sr / hop_length
    duration = env.size / fps if duration is None else duration
    if duration < MIN_SECONDS:
        return TempoEstimate(None, 0.0, note=f"too short for a tempo ({duration:.2f} s; needs at least "
                                             f"{MIN_SECONDS:g} s)")
    if not np.any(env > 0):
        return TempoEstimate(None, 0.0, note="no onsets (silence), so no tempo")
    rhythm = rhythm_of(env, fps, low, high)
    if rhythm is None:
        return TempoEstimate(None, 0.0, note="too short for a tempo")
    ranked = ranked_tempi(rhythm.lags, rhythm.acf, fps)
    bpm, height, _ = ranked[0]
    confidence = float(np.clip(height, 0.0, 1.0))
    if confidence < max(MIN_PERIODICITY, NOISE_FLOOR_SCALE / np.sqrt(env.size)):
        return TempoEstimate(None, confidence, note="no steady beat found, so no tempo")
    if metrical:
        bpm = choose_tempo(rhythm, bpm)[0][0]
    note = "weak beat: the tempo is uncertain" if confidence < WEAK_PERIODICITY else None
    candidates = tuple((b, s) for b, _, s in ranked if abs(b / bpm - 1.0) > OCTAVE_TOLERANCE)[:3]
    if not with_beats:
        return TempoEstimate(bpm, confidence, candidates=candidates, note=note)
    placing = env if low is None else _standardised(env) + _standardised(low)
    beat_frames = trim_silent_beats(placing, track_beats(placing, 60.0 * fps / bpm))
    beats = beat_times(placing, beat_frames, sr, hop_length)
    refined = regular_beat_bpm(beats, bpm)
    return TempoEstimate(refined or bpm, confidence, beats, candidates, note)


def rhythm_of(env: np.ndarray, fps: float, low: np.ndarray | None = None,
              high: np.ndarray | None = None) -> Rhythm | None:
    """The envelopes and periodicities tempo is read from (``None`` when too short for any lag)."""
    lags, acf = periodicity(env, fps)
    if acf.size == 0:
        return None
    return Rhythm(fps, env, _band_or_full(low, env), _band_or_full(high, env), lags, acf,
                  _band_periodicity(low, fps, acf), _band_periodicity(high, fps, acf))


def tempo_prior(bpm: np.ndarray) -> np.ndarray:
    """Log-normal weight on BPM: 1 at 120, 0.84 at 180, 0.74 at 70, 0.61 at 60 and 240."""
    return np.exp(-0.5 * (np.log2(bpm / PRIOR_CENTER_BPM) / PRIOR_OCTAVES) ** 2)


def periodicity(env: np.ndarray, fps: float, *, window_seconds: float = WINDOW_SECONDS,
                min_bpm: float = MIN_BPM, max_bpm: float = MAX_BPM) -> tuple[np.ndarray, np.ndarray]:
    """Lags (frames) and mean normalised autocorrelation of ``env`` over windows of ~8 s.

    Each window has its mean removed, so the value is ~1 for a perfectly periodic
    envelope at that lag and ~0 for noise; windows are weighted by their energy.
    """
    width = min(env.size, round(window_seconds * fps))
    min_lag = max(1, int(np.floor(60.0 * fps / max_bpm)))
    max_lag = min(int(np.ceil(60.0 * fps / min_bpm)), width // 2)
    if max_lag <= min_lag:
        return np.zeros(0), np.zeros(0)
    step = max(1, width // 4)
    # A light [1, 2, 1] smoothing widens one-frame onset spikes, so that autocorrelation
    # peaks span several lags and survive a period that falls between two frames.
    env = np.convolve(env, [0.25, 0.5, 0.25], mode="same")
    windows = np.lib.stride_tricks.sliding_window_view(env, width)[::step]
    windows = windows - windows.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(windows, n=2 * width, axis=1)
    acf = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, : max_lag + 1]
    total = acf[:, 0].sum()
    if total <= 0:
        return np.zeros(0), np.zeros(0)
    mean_acf = acf.sum(axis=0) / total
    lags = np.arange(min_lag, max_lag + 1, dtype=np.float64)
    return lags, mean_acf[min_lag:]


def regular_beat_bpm(beats: np.ndarray, bpm: float, *, min_beats: int = 6) -> float | None:
    """BPM from a least-squares line through the beat times, when the beats are regular.

    Missing beats are allowed (beat numbers come from rounding); ``None`` when
    fewer than ``min_beats`` beats or too many irregular intervals.
    """
    if beats.size < min_beats:
        return None
    period = 60.0 / bpm
    intervals = np.diff(beats)
    regular = np.abs(intervals / period - 1.0) <= REGULAR_TOLERANCE
    if regular.mean() < 0.8:
        return None
    # Number the beats interval by interval, so a slightly wrong period cannot drift.
    numbers = np.concatenate([[0.0], np.cumsum(np.maximum(1.0, np.round(intervals / period)))])
    slope, intercept = np.polyfit(numbers, beats, 1)
    # One refit without outliers (beats the tracker bent towards a stray onset).
    residual = np.abs(beats - (slope * numbers + intercept))
    inliers = residual <= max(OUTLIER_SECONDS, 3.0 * float(np.median(residual)))
    if inliers.sum() >= min_beats:
        slope = np.polyfit(numbers[inliers], beats[inliers], 1)[0]
    if slope <= 0 or abs(slope / period - 1.0) > REGULAR_TOLERANCE:
        return None
    return float(60.0 / slope)


def ranked_tempi(lags: np.ndarray, acf: np.ndarray, fps: float) -> list[tuple[float, float, float]]:
    """Autocorrelation peaks as (bpm, height, prior-weighted score), best score first.

    Peak lag and height are interpolated between frames: a beat period rarely is a
    whole number of frames, and comparing whole-frame heights would favour
    whichever metrical level happens to land on one (e.g. 3/2 of the period).
    """
    inner = np.flatnonzero((acf[1:-1] > acf[:-2]) & (acf[1:-1] >= acf[2:])) + 1
    ranked = []
    for i in inner if inner.size else [int(np.argmax(acf))]:
        lag, height = _parabolic_peak(lags, acf, int(i))
        bpm = 60.0 * fps / lag
        ranked.append((bpm, height, height * float(tempo_prior(np.array(bpm)))))
    return sorted(ranked, key=lambda r: -r[2])


def _band_or_full(band: np.ndarray | None, env: np.ndarray) -> np.ndarray:
    """A band's envelope, or the full band's where it is missing or silent."""
    return env if band is None or not np.any(band > 0) else band


def _band_periodicity(band: np.ndarray | None, fps: float, full_acf: np.ndarray) -> np.ndarray:
    """A band's :func:`periodicity` on the full band's lags, or the full band's where it has none."""
    if band is None or not np.any(band > 0):
        return full_acf
    acf = periodicity(band, fps)[1]
    return acf if acf.size == full_acf.size else full_acf


def _standardised(env: np.ndarray) -> np.ndarray:
    """``env`` scaled to unit standard deviation (left alone when flat)."""
    std = float(env.std())
    return env / std if std > 0 else env


def _parabolic_peak(lags: np.ndarray, values: np.ndarray, i: int) -> tuple[float, float]:
    """Sub-frame (lag, height) of the peak at index ``i`` from a parabola through 3 points."""
    if 0 < i < values.size - 1:
        a, b, c = values[i - 1], values[i], values[i + 1]
        denom = a - 2 * b + c
        if denom < 0:
            offset = 0.5 * (a - c) / denom
            return float(lags[i] + offset), float(b - 0.25 * (a - c) * offset)
    return float(lags[i]), float(values[i])
