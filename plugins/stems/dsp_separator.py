"""Offline source separation from signal processing alone (no model weights needed).

Every stem is the input's STFT times a soft mask, and the four masks sum to one in
every time-frequency bin, so the stems add back to the input exactly (the inverse
STFT is linear). The masks come from a cascade of two-way soft splits, each with a
reason:

1. drums vs. pitched — harmonic/percussive separation by median filtering (Fitzgerald):
   drums are broadband and short (smooth across a wide frequency span), pitched sounds
   are narrowband and sustained (smooth across time);
2. vocals vs. accompaniment, within the pitched part — accompaniment is steady over a
   few seconds (a long time median) and repeats (REPET-SIM: the median of the most
   similar frames at least two seconds away); the background model is the geometric
   mean of the two. A sung melody neither holds still nor comes back the same, so what
   the background model cannot explain is voice;
3. bass vs. other, within the accompaniment — a steep low-band crossover.

Masks are computed on analysis bands (single FFT bins up to 1.5 kHz, widths doubling
per octave above) and the slow models on frames pooled by four: five to twenty times
fewer cells than the full spectrogram, which keeps the separator above 20x realtime
on one core.

On top of the cascade, a small learned network (:mod:`.mask_net`, shipped weights, numpy
only) can re-decide each cell from the same signal models plus stereo width, level, onset and
peakiness cues; it replaces the fixed rules when ``DspConfig.learned`` is set and its weights
are present. Its masks are a softmax, so they too sum to one.

Channels share the masks (computed from the channels' mean magnitude), so the
stereo image of each stem follows the input. Long input is processed in chunks of
``chunk_seconds`` with complementary crossfades: memory stays bounded and the
crossfaded stems still sum to the input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from scipy import fft as sfft
from scipy import ndimage

Progress = Callable[[float, str | None], None]
STEMS = ("drums", "bass", "vocals", "other")
EPS = 1e-10


@dataclass(frozen=True)
class DspConfig:
    """Tuning knobs (times in seconds, frequencies in Hz, so they hold at any sample rate).

    Defaults were tuned on ``bench/synth_mixtures.py`` songs (see ``bench/separation_quality.py``).
    """

    fft_seconds: float = 2048 / 44100
    full_resolution_hz: float = 1500.0  # analysis bands: one bin wide below, doubling per octave above
    harmonic_seconds: float = 0.25  # time median: pitched content is steady over this
    percussive_bands: int = 71  # frequency median (in analysis bands): drums are broadband
    hpss_power: float = 3.0
    pool_frames: int = 4  # the vocal models work on frames pooled by this factor (speed)
    steady_seconds: float = 3.0  # long time median: pads/chords stay, a sung melody moves on
    repeat_neighbors: int = 8  # REPET-SIM: median of this many most similar frames ...
    repeat_min_gap_seconds: float = 2.0  # ... at least this far away (repeats, not the same note)
    repeat_top_hz: float = 6000.0  # frame similarity looks at the spectrum below this
    vocal_margin: float = 2.0  # background weight in the vocal mask (> 1: fewer false vocals)
    vocal_power: float = 2.0
    vocal_low_hz: float = 120.0  # voices have (almost) nothing below this
    bass_hz: float = 300.0  # crossover bass/other
    bass_slope: float = 8.0  # crossover steepness (order)
    chunk_seconds: float = 30.0
    crossfade_seconds: float = 1.0
    learned: bool = True  # use the shipped mask network (mask_net.py) when its weights are there


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

def analysis_bands(n_bins: int, sr: int, n_fft: int, full_resolution_hz: float) -> np.ndarray:
    """Start bin of each analysis band: single bins at low frequencies, octave-doubling widths above."""
    starts = []
    i = 0
    while i < n_bins:
        starts.append(i)
        f = i * sr / n_fft
        i += 1 if f < full_resolution_hz else 2 ** (int(np.log2(f / full_resolution_hz)) + 1)
    return np.asarray(starts)


def _odd(n: float, minimum: int = 3) -> int:
    return max(minimum, round(n)) | 1


def median_along(a: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Running median along one axis (edges repeated).

    One 1-D filter per row: scipy's 1-D median is a sliding heap, several times
    faster than its n-D filter with a ``(size, 1)`` footprint, which re-selects each window.
    """
    src = np.ascontiguousarray(np.moveaxis(a, axis, -1))
    out = np.empty_like(src)
    for i in range(src.shape[0]):
        ndimage.median_filter(src[i], size=size, mode="nearest", output=out[i])
    return np.moveaxis(out, -1, axis)


def _pool_frames(mag: np.ndarray, factor: int) -> np.ndarray:
    n = mag.shape[0] // factor * factor
    pooled = mag[:n].reshape(-1, factor, mag.shape[1]).mean(axis=1)
    if n < mag.shape[0]:
        pooled = np.vstack([pooled, mag[n:].mean(axis=0, keepdims=True)])
    return pooled


def _unpool_frames(pooled: np.ndarray, n_frames: int, factor: int) -> np.ndarray:
    """Linear interpolation from pooled frame centres back to every frame."""
    pos = (np.arange(n_frames) - (factor - 1) / 2) / factor
    i0 = np.clip(np.floor(pos).astype(int), 0, pooled.shape[0] - 1)
    i1 = np.minimum(i0 + 1, pooled.shape[0] - 1)
    w = np.clip(pos - i0, 0.0, 1.0)[:, None].astype(np.float32)
    return pooled[i0] * (1 - w) + pooled[i1] * w


def repeating_model(frames: np.ndarray, min_gap: int, neighbours: int, top: int) -> np.ndarray | None:
    """REPET-SIM: each frame as the median of its most similar frames at least ``min_gap`` away.

    ``None`` when the excerpt is too short to hold repetitions.
    """
    n = frames.shape[0]
    if n <= 2 * min_gap + neighbours:
        return None
    feats = np.sqrt(frames[:, :top])
    feats = feats / (np.linalg.norm(feats, axis=1, keepdims=True) + EPS)
    sim = feats @ feats.T
    idx = np.arange(n)
    sim[np.abs(idx[:, None] - idx[None, :]) < min_gap] = -np.inf
    nearest = np.argpartition(-sim, neighbours, axis=1)[:, :neighbours]
    return np.median(frames[nearest], axis=1)


def band_models(bands: np.ndarray, centres: np.ndarray, sr: int, hop: int, cfg: DspConfig) -> dict[str, np.ndarray]:
    """The signal models behind the masks, each ``(frames, bands)``: harmonic, percussive, background."""
    harm = median_along(bands, _odd(cfg.harmonic_seconds * sr / hop), axis=0)
    perc = median_along(bands, _odd(cfg.percussive_bands), axis=1)
    factor = max(1, cfg.pool_frames)
    pooled = _pool_frames(bands, factor)
    pooled_hop = hop * factor
    steady = median_along(pooled, _odd(cfg.steady_seconds * sr / pooled_hop), axis=0)
    top = int(np.searchsorted(centres, cfg.repeat_top_hz)) + 1
    repeat = repeating_model(pooled, max(1, round(cfg.repeat_min_gap_seconds * sr / pooled_hop)),
                             cfg.repeat_neighbors, top)
    model = steady if repeat is None else np.sqrt(steady * repeat)
    background = np.minimum(_unpool_frames(model, bands.shape[0], factor), bands)
    return {"harmonic": harm, "percussive": perc, "background": background}


def band_masks(bands: np.ndarray, centres: np.ndarray, sr: int, hop: int, cfg: DspConfig,
               models: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Soft masks ``(frames, bands)`` from band magnitudes; they sum to one everywhere."""
    models = models or band_models(bands, centres, sr, hop, cfg)
    harm, perc, background = models["harmonic"], models["percussive"], models["background"]
    p = cfg.hpss_power
    drums = perc ** p / (perc ** p + harm ** p + EPS)
    foreground = bands - background
    q = cfg.vocal_power
    vocal = foreground ** q / (foreground ** q + (cfg.vocal_margin * background) ** q + EPS)
    vocal *= 1.0 / (1.0 + (cfg.vocal_low_hz / np.maximum(centres, 1.0)) ** 4)

    low = 1.0 / (1.0 + (centres / cfg.bass_hz) ** cfg.bass_slope)
    pitched = 1.0 - drums
    vocals = pitched * vocal
    accomp = pitched - vocals
    bass = accomp * low
    other = accomp - bass
    return _silent_to_other(bands, {"drums": drums, "bass": bass, "vocals": vocals, "other": other})


def _silent_to_other(bands: np.ndarray, stem_masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Silent cells have nothing to share out: they go to "other", so the masks still sum to one."""
    silent = bands <= EPS
    if silent.any():
        for name in ("drums", "bass", "vocals"):
            stem_masks[name][silent] = 0.0
        stem_masks["other"][silent] = 1.0
    return stem_masks


def band_layout(n_bins: int, sr: int, n_fft: int, cfg: DspConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start bin, width and centre frequency (Hz) of each analysis band."""
    starts = analysis_bands(n_bins, sr, n_fft, cfg.full_resolution_hz)
    widths = np.diff(np.append(starts, n_bins))
    centres = ((starts + (widths - 1) / 2) * sr / n_fft).astype(np.float32)
    return starts, widths, centres


def to_bands(mag: np.ndarray, starts: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """Mean magnitude of each analysis band, ``(..., frames, bands)`` float32."""
    return (np.add.reduceat(mag, starts, axis=-1) / widths).astype(np.float32)


def masks(mag: np.ndarray, sr: int, n_fft: int, cfg: DspConfig, *, side: np.ndarray | None = None,
          net: object | None = None) -> dict[str, np.ndarray]:
    """Soft masks ``(frames, bins)`` for each stem from a ``(frames, bins)`` magnitude; they sum to one.

    With ``net`` (a :class:`~moodmix.plugins.stems.mask_net.MaskNet`), the masks come from
    the small learned network over the same signal models; ``side`` is the side (L-R)
    magnitude, the stereo cue it uses (zeros for mono).
    """
    starts, widths, centres = band_layout(mag.shape[1], sr, n_fft, cfg)
    bands = to_bands(mag, starts, widths)
    if net is None:
        per_band = band_masks(bands, centres, sr, n_fft // 4, cfg)
    else:
        side_bands = np.zeros_like(bands) if side is None else to_bands(side, starts, widths)
        models = band_models(bands, centres, sr, n_fft // 4, cfg)
        per_band = _silent_to_other(bands, net.masks(bands, side_bands, centres, models))
    band_of_bin = np.repeat(np.arange(len(starts)), widths)
    return {name: m[:, band_of_bin].astype(np.float32, copy=False) for name, m in per_band.items()}


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
        net = None
        if self.config.learned:
            from moodmix.plugins.stems.mask_net import shipped

            net = shipped()
        side = np.abs(spec[0] - spec[1]) / 2 if net is not None and spec.shape[0] == 2 else None
        stem_masks = masks(mag, sr, n_fft, self.config, side=side, net=net)
        out = {name: istft(spec * stem_masks[name][None], n_fft, audio.shape[-1]) for name in STEMS[:3]}
        # the last stem by subtraction: same result (the inverse STFT is linear), one transform fewer
        out["other"] = audio - out["drums"] - out["bass"] - out["vocals"]
        return out

    def separate(self, audio: np.ndarray, sr: int, progress: Progress | None = None) -> dict[str, np.ndarray]:
        """Stems shaped like ``audio``; progress is reported after each chunk."""
        audio = np.asarray(audio, dtype=np.float32)
        out = {name: np.empty_like(audio) for name in STEMS}
        for start, stems in self.separate_blocks(audio, sr, progress):
            for name in STEMS:
                out[name][:, start:start + stems[name].shape[1]] = stems[name]
        return out

    def separate_blocks(self, audio: np.ndarray, sr: int,
                        progress: Progress | None = None) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """``(start frame, stems)`` for consecutive finished stretches of the track, chunk by chunk.

        Chunks of ``chunk_seconds`` overlap by ``crossfade_seconds`` and are cross-faded with
        complementary ramps; a stretch is yielded as soon as no later chunk reaches it, so only one
        chunk's stems and one fade's tail are held, whatever the track's length.
        """
        audio = np.asarray(audio, dtype=np.float32)
        frames = audio.shape[-1]
        chunk = max(1, int(self.config.chunk_seconds * sr))
        fade = min(int(self.config.crossfade_seconds * sr), chunk // 4)
        if frames <= chunk + fade:
            result = self.separate_chunk(audio, sr)
            if progress is not None:
                progress(1.0, "dsp chunk 1/1")
            yield 0, result
            return
        step = chunk - fade
        starts = list(range(0, frames - fade, step))
        ramp = np.sin(0.5 * np.pi * (np.arange(fade) + 0.5) / fade).astype(np.float32) ** 2
        tail: dict[str, np.ndarray] = {}  # the previous chunk's faded-out end, waiting for this chunk
        for i, start in enumerate(starts):
            end = min(frames, start + chunk)
            weight = np.ones(end - start, np.float32)
            if i > 0:
                weight[:fade] = ramp
            if end < frames:
                weight[-fade:] = 1.0 - ramp
            stems = self.separate_chunk(audio[:, start:end], sr)
            done = starts[i + 1] - start if i + 1 < len(starts) else end - start
            block: dict[str, np.ndarray] = {}
            for name in STEMS:
                part = stems[name] * weight
                if name in tail:
                    part[:, :tail[name].shape[1]] += tail[name]
                block[name], tail[name] = part[:, :done], part[:, done:]
            if progress is not None:
                progress((i + 1) / len(starts), f"dsp chunk {i + 1}/{len(starts)}")
            yield start, block
