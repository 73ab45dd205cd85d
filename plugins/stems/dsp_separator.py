"""Offline source separation from signal processing alone (no model weights needed).

Every stem is the input's STFT times a soft mask, and the four masks sum to one in
every time-frequency bin, so the stems add back to the input exactly (the inverse
STFT is linear). The masks come from a cascade of two-way soft splits, each with a
reason:

1. drums vs. pitched — harmonic/percussive separation by median filtering (Fitzgerald):
   drums are broadband and short (smooth across frequency), pitched sounds are
   narrowband and sustained (smooth across time);
2. vocals vs. accompaniment, within the pitched part — accompaniment repeats (the
   same chord/beat comes back every bar: REPET-SIM, a median over the most similar
   frames) and is steady, while a voice sings a melody that does not repeat and wobbles
   (vibrato), so what a repetition/steadiness model cannot explain is voice;
3. bass vs. other, within the accompaniment — bass is the low band.

Channels share the masks (computed from the channels' mean magnitude), so the
stereo image of each stem follows the input. Long input is processed in chunks of
``chunk_seconds`` with complementary crossfades: memory stays bounded and the
crossfaded stems still sum to the input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import fft as sfft
from scipy import ndimage

Progress = Callable[[float, str | None], None]
STEMS = ("drums", "bass", "vocals", "other")
EPS = 1e-10


@dataclass(frozen=True)
class DspConfig:
    """Tuning knobs (times in seconds, frequencies in Hz, so they hold at any sample rate)."""

    fft_seconds: float = 2048 / 44100
    harmonic_seconds: float = 0.2  # time median for pitched content
    percussive_hz: float = 400.0  # frequency median for drums
    hpss_power: float = 2.0
    steady_seconds: float = 0.8  # long time median: pads stay, sung notes move
    repeat_neighbors: int = 8  # REPET-SIM: frames averaged into the repeating model
    repeat_min_gap_seconds: float = 0.6  # ... taken at least this far from the frame itself
    vocal_power: float = 2.0
    vocal_low_hz: float = 120.0  # voices have (almost) nothing below this
    bass_hz: float = 220.0  # crossover bass/other
    bass_slope: float = 4.0  # crossover steepness (order)
    chunk_seconds: float = 30.0
    crossfade_seconds: float = 1.0


# -- STFT with a periodic Hann window and 75 % overlap (the OLA of window² is constant) --

def _window(n_fft: int) -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


def stft(x: np.ndarray, n_fft: int) -> np.ndarray:
    """``(channels, frames, bins)`` complex64 of ``(channels, samples)`` (zero-padded, centred)."""
    hop = n_fft // 4
    pad = n_fft // 2
    n_frames = 1 + (x.shape[-1] + 2 * pad - n_fft + hop - 1) // hop
    total = (n_frames - 1) * hop + n_fft
    xp = np.zeros((x.shape[0], total), np.float32)
    xp[:, pad:pad + x.shape[-1]] = x
    frames = np.lib.stride_tricks.sliding_window_view(xp, n_fft, axis=-1)[:, ::hop][:, :n_frames]
    return sfft.rfft(frames * _window(n_fft), axis=-1).astype(np.complex64, copy=False)


def istft(spec: np.ndarray, n_fft: int, length: int) -> np.ndarray:
    """Inverse of :func:`stft` (least-squares overlap-add), ``(channels, length)`` float32."""
    hop = n_fft // 4
    pad = n_fft // 2
    win = _window(n_fft)
    frames = sfft.irfft(spec, n=n_fft, axis=-1).astype(np.float32, copy=False) * win
    channels, n_frames, _ = frames.shape
    total = (n_frames - 1) * hop + n_fft
    out = np.zeros((channels, total + 4 * n_fft), np.float32)
    norm = np.zeros(total + 4 * n_fft, np.float32)
    for r in range(4):  # frames r, r+4, r+8 ... tile without overlapping
        sub = frames[:, r::4]
        span = sub.shape[1] * n_fft
        out[:, r * hop:r * hop + span] += sub.reshape(channels, span)
        norm[r * hop:r * hop + span] += np.tile(win * win, sub.shape[1])
    out = out[:, pad:pad + length]
    norm = norm[pad:pad + length]
    return out / np.maximum(norm, 1e-3)


# -- masks --

def _frames(seconds: float, sr: int, hop: int, minimum: int = 3) -> int:
    n = max(minimum, round(seconds * sr / hop))
    return n | 1  # odd, so medians are centred


def _repeating_model(mag: np.ndarray, sr: int, hop: int, n_fft: int, cfg: DspConfig) -> np.ndarray:
    """REPET-SIM: each frame as the median of its most similar frames elsewhere in the chunk."""
    n_frames = mag.shape[0]
    gap = max(1, round(cfg.repeat_min_gap_seconds * sr / hop))
    k = cfg.repeat_neighbors
    if n_frames <= 2 * gap + k:
        return mag.copy()
    top = min(mag.shape[1], int(6000 * n_fft / sr) + 1)
    feats = np.sqrt(mag[:, :top])
    feats = feats / (np.linalg.norm(feats, axis=1, keepdims=True) + EPS)
    sim = feats @ feats.T
    idx = np.arange(n_frames)
    sim[np.abs(idx[:, None] - idx[None, :]) < gap] = -np.inf
    nearest = np.argpartition(-sim, k, axis=1)[:, :k]
    model = np.median(mag[nearest], axis=1)
    return np.minimum(model, mag)


def masks(mag: np.ndarray, sr: int, n_fft: int, cfg: DspConfig) -> dict[str, np.ndarray]:
    """Soft masks ``(frames, bins)`` for each stem; they sum to one everywhere."""
    hop = n_fft // 4
    freqs = np.arange(mag.shape[1]) * sr / n_fft
    harm = ndimage.median_filter(mag, size=(_frames(cfg.harmonic_seconds, sr, hop), 1), mode="nearest")
    perc_bins = max(3, round(cfg.percussive_hz * n_fft / sr)) | 1
    perc = ndimage.median_filter(mag, size=(1, perc_bins), mode="nearest")
    p = cfg.hpss_power
    m_drums = perc ** p / (perc ** p + harm ** p + EPS)

    steady = ndimage.median_filter(mag, size=(_frames(cfg.steady_seconds, sr, hop), 1), mode="nearest")
    repeat = _repeating_model(mag, sr, hop, n_fft, cfg)
    background = np.minimum(np.maximum(steady, repeat), mag)
    foreground = mag - background
    q = cfg.vocal_power
    m_vocal = foreground ** q / (foreground ** q + background ** q + EPS)
    m_vocal *= 1.0 / (1.0 + (cfg.vocal_low_hz / np.maximum(freqs, 1.0)) ** 4)

    low = 1.0 / (1.0 + (freqs / cfg.bass_hz) ** cfg.bass_slope)
    pitched = 1.0 - m_drums
    vocals = pitched * m_vocal
    accomp = pitched - vocals
    bass = accomp * low
    other = accomp - bass
    silent = mag <= EPS
    if silent.any():  # nothing to share out: leave it with "other" so masks still sum to one
        for m in (m_drums, vocals, bass):
            m[silent] = 0.0
        other[silent] = 1.0
    return {"drums": m_drums, "bass": bass, "vocals": vocals, "other": other}


class DspSeparator:
    """Four stems (drums, bass, vocals, other) from any ``(channels, frames)`` array."""

    def __init__(self, config: DspConfig | None = None) -> None:
        self.config = config or DspConfig()

    def n_fft(self, sr: int) -> int:
        target = self.config.fft_seconds * sr
        return int(2 ** max(8, round(np.log2(target))))

    def separate_chunk(self, audio: np.ndarray, sr: int) -> dict[str, np.ndarray]:
        n_fft = self.n_fft(sr)
        spec = stft(audio, n_fft)
        mag = np.abs(spec).mean(axis=0)
        out = {}
        for name, mask in masks(mag, sr, n_fft, self.config).items():
            out[name] = istft(spec * mask[None].astype(np.float32), n_fft, audio.shape[-1])
        return out

    def separate(self, audio: np.ndarray, sr: int, progress: Progress | None = None) -> dict[str, np.ndarray]:
        """Stems shaped like ``audio``; progress is reported after each chunk."""
        audio = np.asarray(audio, dtype=np.float32)
        frames = audio.shape[-1]
        chunk = max(1, int(self.config.chunk_seconds * sr))
        fade = min(int(self.config.crossfade_seconds * sr), chunk // 4)
        if frames <= chunk + fade:
            result = self.separate_chunk(audio, sr)
            if progress is not None:
                progress(1.0, "dsp chunk 1/1")
            return result
        step = chunk - fade
        starts = list(range(0, frames - fade, step))
        out = {name: np.zeros_like(audio) for name in STEMS}
        ramp = np.sin(0.5 * np.pi * (np.arange(fade) + 0.5) / fade).astype(np.float32) ** 2
        for i, start in enumerate(starts):
            end = min(frames, start + chunk)
            weight = np.ones(end - start, np.float32)
            if i > 0:
                weight[:fade] = ramp
            if end < frames:
                weight[-fade:] = 1.0 - ramp
            stems = self.separate_chunk(audio[:, start:end], sr)
            for name in STEMS:
                out[name][:, start:end] += stems[name] * weight
            if progress is not None:
                progress((i + 1) / len(starts), f"dsp chunk {i + 1}/{len(starts)}")
        return out
