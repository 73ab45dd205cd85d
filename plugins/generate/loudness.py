"""Integrated loudness (ITU-R BS.1770-4), fast enough to measure inside the render loop.

Same K-weighting coefficients and gating as pyloudnorm (taken from its own
``Meter``), but the filters run as one float32 ``sosfilt`` over both channels
and the 400 ms blocks are built from 100 ms hops, not a Python loop per block.
Mastering measures two or three times per piece; with pyloudnorm that was a
quarter of the whole render time. The tests check agreement with pyloudnorm.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal


@lru_cache(maxsize=8)
def _k_weighting(sr: int) -> tuple[np.ndarray, float]:
    import pyloudnorm

    meter = pyloudnorm.Meter(sr)
    stages = [meter._filters["high_shelf"], meter._filters["high_pass"]]
    sos = np.vstack([np.concatenate([f.b, f.a]) for f in stages])
    gain = float(np.prod([f.passband_gain for f in stages]))
    return sos / sos[:, 3:4], gain


def integrated_loudness(audio: np.ndarray, sr: int) -> float:
    """LUFS of ``audio`` shaped ``(channels, frames)``; ``-inf`` for silence or under 0.4 s."""
    sos, gain = _k_weighting(sr)
    weighted = signal.sosfilt(sos.astype(np.float32), np.asarray(audio, dtype=np.float32), axis=-1) * gain
    hop = round(0.1 * sr)
    hops = weighted.shape[-1] // hop
    if hops < 4:
        return float("-inf")
    squares = np.square(weighted[:, : hops * hop], dtype=np.float64)
    hop_power = squares.reshape(weighted.shape[0], hops, hop).sum(axis=2)
    window = np.lib.stride_tricks.sliding_window_view(hop_power, 4, axis=1).sum(axis=2)
    blocks = window.sum(axis=0) / (4 * hop)
    with np.errstate(divide="ignore"):
        block_lufs = -0.691 + 10.0 * np.log10(blocks)
    loud = blocks[block_lufs >= -70.0]
    if loud.size == 0:
        return float("-inf")
    relative = -0.691 + 10.0 * np.log10(loud.mean()) - 10.0
    gated = blocks[(block_lufs > relative) & (block_lufs > -70.0)]
    return float(-0.691 + 10.0 * np.log10(gated.mean()))
