"""Loudness normalisation to a LUFS target with a true-peak ceiling.

Raising a track to -14 LUFS usually pushes its peaks past the ceiling, and limiting the
peaks lowers its loudness again, so gain and limiting are solved together: a lookahead
limiter driven by a 4×-oversampled (inter-sample) peak envelope, and a secant search on
the gain in front of it. The search measures loudness on a K-weighted copy computed once
(gain changes in the limiter are slow next to the K-weighting filters); the final figure
is measured again with pyloudnorm on the real output, and the true peak is checked on an
oversampled copy, trimming if needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal

BLOCK = 32  # samples per step of the limiter's gain computer
CHUNK = 1 << 19


@dataclass(frozen=True)
class MasterReport:
    loudness_lufs: float
    true_peak_dbtp: float
    gain_db: float  # make-up gain before the limiter
    max_reduction_db: float  # deepest gain reduction of the limiter


def oversampling_factor(sr: int) -> int:
    """BS.1770-4 asks for ≥ 192 kHz when looking for inter-sample peaks (4× at 48 kHz)."""
    return max(2, min(16, math.ceil(192_000 / sr)))


def peak_envelope(audio: np.ndarray, sr: int) -> np.ndarray:
    """Per-sample max of |signal| over all channels and the oversampled points (frames,)."""
    factor = oversampling_factor(sr)
    frames = audio.shape[1]
    env = np.zeros(frames, dtype=np.float32)
    pad = 64
    for start in range(0, frames, CHUNK):
        lo, hi = max(0, start - pad), min(frames, start + CHUNK + pad)
        seg = np.asarray(audio[:, lo:hi], dtype=np.float32)
        up = signal.resample_poly(seg, factor, 1, axis=1)
        peaks = np.abs(up).max(axis=0).reshape(-1, factor).max(axis=1)
        keep = slice(start - lo, start - lo + min(CHUNK, frames - start))
        env[start:start + min(CHUNK, frames - start)] = np.maximum(peaks[keep], np.abs(seg[:, keep]).max(axis=0))
    return env


def true_peak_db(audio: np.ndarray, sr: int) -> float:
    """Oversampled peak level in dBTP (-inf for silence)."""
    peak = float(peak_envelope(audio, sr).max(initial=0.0))
    return 20.0 * math.log10(peak) if peak > 0 else -math.inf


class KWeightedMeter:
    """BS.1770 gated loudness, vectorised, using pyloudnorm's K-weighting filter design."""

    def __init__(self, sr: int) -> None:
        from pyloudnorm.iirfilter import IIRfilter

        self.sr = sr
        self.stages = [IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, sr, "high_shelf"),
                       IIRfilter(0.0, 0.5, 38.0, sr, "high_pass")]

    def weight(self, audio: np.ndarray) -> np.ndarray:
        out = np.asarray(audio, dtype=np.float64)
        for stage in self.stages:
            out = stage.passband_gain * signal.lfilter(stage.b, stage.a, out, axis=-1)
        return out

    def loudness(self, weighted: np.ndarray, gain: np.ndarray | float = 1.0) -> float:
        """Integrated loudness of ``weighted * gain`` (gain per sample or scalar)."""
        power = np.square(weighted * gain).sum(axis=0)  # channel weights are 1 for L/R
        block, hop = int(0.4 * self.sr), int(0.1 * self.sr)
        if power.size < block:
            return -math.inf
        csum = np.concatenate([[0.0], np.cumsum(power)])
        starts = np.arange(0, power.size - block + 1, hop)
        z = (csum[starts + block] - csum[starts]) / block
        with np.errstate(divide="ignore"):
            lk = -0.691 + 10.0 * np.log10(z)
        gated = z[lk >= -70.0]
        if gated.size == 0:
            return -math.inf
        relative = -0.691 + 10.0 * math.log10(gated.mean()) - 10.0
        gated = z[(lk >= -70.0) & (lk >= relative)]
        return -0.691 + 10.0 * math.log10(gated.mean()) if gated.size else -math.inf


def limiter_reduction_db(envelope: np.ndarray, ceiling_db: float, sr: int, *, release_ms: float = 80.0,
                         lookahead_ms: float = 1.5) -> np.ndarray:
    """Gain reduction in dB (frames,) that keeps ``envelope`` under ``ceiling_db``.

    Computed per block of :data:`BLOCK` samples: block peaks, an exponential release,
    a max-filter that starts the reduction ``lookahead_ms`` early, a moving average
    narrower than that max-filter (so every peak stays covered), then linear
    interpolation back to samples.
    """
    frames = envelope.size
    with np.errstate(divide="ignore"):
        over = np.maximum(20.0 * np.log10(envelope) - ceiling_db, 0.0)
    blocks = -(-frames // BLOCK)
    padded = np.zeros(blocks * BLOCK)
    padded[:frames] = over
    rb = padded.reshape(blocks, BLOCK).max(axis=1)
    if not rb.any():
        return np.zeros(frames)
    decay = math.exp(-BLOCK / (sr * release_ms / 1000.0))
    held = _release(rb, decay)
    width = math.ceil(lookahead_ms / 1000.0 * sr / BLOCK) + 1
    held = ndimage.maximum_filter1d(held, size=2 * width + 1, mode="nearest")
    held = ndimage.uniform_filter1d(held, size=2 * (width - 1) + 1, mode="nearest")
    centres = (np.arange(blocks) + 0.5) * BLOCK
    return np.interp(np.arange(frames), centres, held)


def _release(values: np.ndarray, decay: float) -> np.ndarray:
    """Peak hold with exponential fall: out[i] = max(values[i], out[i-1] * decay)."""
    out = values.copy()
    prev = 0.0
    for i, v in enumerate(values.tolist()):  # ~30k steps per minute of audio: cheap in plain Python
        prev = v if v > prev * decay else prev * decay
        out[i] = prev
    return out


def master(audio: np.ndarray, sr: int, *, target_lufs: float = -14.0, ceiling_dbtp: float = -1.0,
           margin_db: float = 0.3, max_gain_db: float = 40.0) -> tuple[np.ndarray, MasterReport]:
    """Bring ``audio`` (channels, frames) to ``target_lufs`` with true peaks ≤ ``ceiling_dbtp``."""
    import pyloudnorm

    audio = np.nan_to_num(np.asarray(audio, dtype=np.float32))
    meter = KWeightedMeter(sr)
    weighted = meter.weight(audio)
    start = meter.loudness(weighted)
    if not math.isfinite(start):  # silence or too short to gate: nothing to normalise
        tp = true_peak_db(audio, sr)
        return audio, MasterReport(start, tp, 0.0, 0.0)
    envelope = peak_envelope(audio, sr)
    limit_at = ceiling_dbtp - margin_db

    def render(gain_db: float) -> tuple[np.ndarray, float]:
        reduction = limiter_reduction_db(envelope * 10 ** (gain_db / 20), limit_at, sr)
        gain = 10.0 ** ((gain_db - reduction) / 20.0)
        return gain, meter.loudness(weighted, gain)

    g0 = min(max_gain_db, target_lufs - start)
    gain, level = render(g0)
    g1 = g0 + (target_lufs - level)
    for _ in range(8):  # secant search: loudness rises more slowly than gain once limiting bites
        if abs(level - target_lufs) < 0.05 or g1 > max_gain_db:
            break
        gain1, level1 = render(g1)
        slope = (level1 - level) / (g1 - g0) if g1 != g0 else 1.0
        g0, gain, level = g1, gain1, level1
        g1 = g0 + (target_lufs - level) / max(0.2, min(1.5, slope))
    out = (audio * gain[None, :].astype(np.float32)).astype(np.float32)
    tp = true_peak_db(out, sr)
    if tp > ceiling_dbtp - 0.05:  # the gain changes themselves can add a little inter-sample peak
        out *= np.float32(10 ** ((ceiling_dbtp - 0.1 - tp) / 20))
        tp = true_peak_db(out, sr)
    measured = float(pyloudnorm.Meter(sr).integrated_loudness(out.T.astype(np.float64)))
    max_reduction = float(g0 - 20 * np.log10(gain.min())) if gain.size else 0.0
    return out, MasterReport(measured, tp, float(g0), max_reduction)
