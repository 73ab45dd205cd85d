"""Turn recipe effect structs into a pedalboard chain and run it.

Each recipe effect is named after its pedalboard class and shares its parameter names,
so the mapping is mechanical; the only extras are tempo-synced delays and cutoffs kept
below Nyquist (a 20 kHz filter on 22.05 kHz audio would otherwise misbehave).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import numpy as np

from moodmix.plugins.remix.recipe import BaseEffect, Delay, Resample

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
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32, copy=False)


def _fit_length(audio: np.ndarray, frames: int) -> np.ndarray:
    if audio.shape[1] >= frames:
        return audio[:, :frames]
    return np.pad(audio, ((0, 0), (0, frames - audio.shape[1])))
