"""Turn recipe effect structs into a pedalboard chain and run it.

Each recipe effect is named after its pedalboard class and shares its parameter names,
so the mapping is mechanical; the only extras are tempo-synced delays and cutoffs kept
below Nyquist (a 20 kHz filter on 22.05 kHz audio would otherwise misbehave).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import numpy as np

from moodmix.plugins.remix.recipe import BaseEffect, Chorus, Delay, Phaser, Resample

_CUTOFF_FIELDS = ("cutoff_frequency_hz", "centre_frequency_hz")


def to_plugin(effect: BaseEffect, *, sample_rate: int, bpm: float):
    """The pedalboard plugin for one recipe effect at this sample rate and tempo."""
    import pedalboard

    kwargs = msgspec.structs.asdict(effect)
    if isinstance(effect, Delay):
        beats = kwargs.pop("beats")
        if beats is not None:
            kwargs["delay_seconds"] = min(4.0, beats * 60.0 / bpm)
    if isinstance(effect, Resample):
        kwargs["target_sample_rate"] = min(kwargs["target_sample_rate"], float(sample_rate))
    for name in _CUTOFF_FIELDS:
        if name in kwargs:
            kwargs[name] = min(kwargs[name], 0.45 * sample_rate)
    return getattr(pedalboard, type(effect).__name__)(**kwargs)


def apply_effects(audio: np.ndarray, sample_rate: int, effects: Sequence[BaseEffect], *,
                  bpm: float) -> np.ndarray:
    """Run ``audio`` (channels, frames) through the chain; same shape out, float32."""
    if not effects:
        return audio
    import pedalboard

    board = pedalboard.Pedalboard([to_plugin(e, sample_rate=sample_rate, bpm=bpm) for e in effects])
    out = board(np.ascontiguousarray(audio, dtype=np.float32), sample_rate, reset=True)
    if out.shape[1] != audio.shape[1]:  # resampling plugins may round the length
        out = _fit_length(out, audio.shape[1])
    out = np.asarray(out, dtype=np.float32)
    return np.nan_to_num(out, copy=False, nan=0.0, posinf=0.0, neginf=0.0)  # in place: no second copy


def _fit_length(audio: np.ndarray, frames: int) -> np.ndarray:
    if audio.shape[1] >= frames:
        return audio[:, :frames]
    return np.pad(audio, ((0, 0), (0, frames - audio.shape[1])))


def is_time_varying(effects: Sequence[BaseEffect]) -> bool:
    """Whether the chain has an LFO (chorus, phaser): its output depends on where processing began."""
    return any(isinstance(e, (Chorus, Phaser)) for e in effects)


def apply_effects_chunked(audio: np.ndarray, sample_rate: int, effects: Sequence[BaseEffect], *, bpm: float,
                          bounds: Sequence[int], offset: int = 0, context: int = 0,
                          fade: int = 0) -> np.ndarray:
    """:func:`apply_effects`, restarted at every chunk boundary that falls inside ``audio``.

    An LFO's phase follows the start of processing, so a preview (which starts mid-track) could
    never match the full render of a chorus. Restarted ``context`` frames before each boundary
    (the same frames in either run), the chain comes out the same in both. ``audio`` holds frames
    ``offset ..`` of the domain ``bounds`` are in; neighbouring chunks crossfade over ``fade`` frames.
    Time-invariant chains are run in one go.
    """
    if not effects or not is_time_varying(effects):
        return apply_effects(audio, sample_rate, effects, bpm=bpm)
    end = offset + audio.shape[1]
    edges = chunk_edges(bounds, offset, end)
    out = np.zeros_like(audio, dtype=np.float32)
    for i in range(len(edges) - 1):
        keep_lo, y = effects_chunk(audio, sample_rate, effects, bpm=bpm, edges=edges, i=i, offset=offset,
                                   context=context, fade=fade)
        out[:, keep_lo - offset:keep_lo - offset + y.shape[1]] += y
    return out


def chunk_edges(bounds: Sequence[int], start: int, end: int) -> list[int]:
    """Where :func:`apply_effects_chunked` restarts the chain on frames ``start..end``."""
    return [start, *(b for b in bounds if start < b < end), end]


def effects_chunk(audio: np.ndarray, sample_rate: int, effects: Sequence[BaseEffect], *, bpm: float,
                  edges: Sequence[int], i: int, offset: int, context: int,
                  fade: int) -> tuple[int, np.ndarray]:
    """Chunk ``i`` (``edges[i]..edges[i+1]``) through a restarted chain, faded for the overlap-add: the
    frame it starts at and its audio. ``audio`` holds frames ``offset ..``, at least the chunk, its
    ``context`` before and half the fade after."""
    half = fade // 2
    end = offset + audio.shape[1]
    lo, hi = edges[i], edges[i + 1]
    start = lo if i == 0 else max(offset, lo - context)
    stop = min(end, hi + (half if i < len(edges) - 2 else 0))
    y = apply_effects(audio[:, start - offset:stop - offset], sample_rate, effects, bpm=bpm)
    keep_lo = lo if i == 0 else max(start, lo - half)
    t = np.arange(keep_lo, stop)
    gain = np.ones(t.size, dtype=np.float32)
    if i > 0 and half:
        gain *= np.clip((t - (lo - half)) / (2 * half), 0, 1)
    if i < len(edges) - 2 and half:
        gain *= np.clip(((hi + half) - t) / (2 * half), 0, 1)
    return keep_lo, y[:, keep_lo - start:] * gain
