"""A pedalboard plugin or chain fed block by block, giving what one call on the joined blocks gives.

With ``reset=False`` pedalboard keeps every plugin's state between calls, so consecutive blocks
come out as the whole signal would; plugins with latency (look-ahead limiters, resamplers) return
that many fewer frames at first, so the start is aligned and :meth:`BoardStream.finish` feeds
silence until the last input frame is out (what a single call does inside).
"""

from __future__ import annotations

from typing import Any

import numpy as np


class BoardStream:
    """``process`` blocks of ``(channels, frames)`` float32 in order, then ``finish``; each returns the
    output frames that are ready, the total equal to the input's length."""

    def __init__(self, plugin: Any, sample_rate: int, channels: int) -> None:
        self.plugin, self.sr, self.channels = plugin, sample_rate, channels
        self.fed = self.out = 0
        plugin.reset()

    def process(self, block: np.ndarray) -> np.ndarray:
        block = np.ascontiguousarray(block, dtype=np.float32)
        self.fed += block.shape[1]
        return self._emit(self.plugin(block, self.sr, reset=False))

    def finish(self) -> np.ndarray:
        parts = []
        for _ in range(64):  # latency is bounded; a plugin that never catches up would loop forever
            if self.out >= self.fed:
                break
            silence = np.zeros((self.channels, self.fed - self.out), np.float32)  # just the latency: more
            # silence changes what a look-ahead limiter does to the last frames
            parts.append(self._emit(self.plugin(silence, self.sr, reset=False)))
        return np.concatenate(parts, axis=1) if parts else np.zeros((self.channels, 0), np.float32)

    def _emit(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=np.float32)
        if y.size == 0:  # nothing out yet: pedalboard shapes it (0, frames)
            return np.zeros((self.channels, 0), np.float32)
        y = y[:, : max(0, self.fed - self.out)]
        self.out += y.shape[1]
        return y
