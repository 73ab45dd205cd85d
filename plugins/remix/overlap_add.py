"""Overlap-add of parts that arrive in order of their start, handed out as soon as no later part reaches.

The streamed render (stretch and time-varying effects, chunk by chunk) and the piece-wise
separation of a long track both sum cross-faded parts this way; one buffer serves both.
"""

from __future__ import annotations

import numpy as np


class OverlapAdd:
    """Frames ``base ..`` still open to later parts; silence where no part lands."""

    def __init__(self, channels: int = 2) -> None:
        self.base = 0
        self.buf = np.zeros((channels, 0), np.float32)

    @property
    def end(self) -> int:
        """One past the last frame any part has reached."""
        return self.base + self.buf.shape[1]

    def add(self, start: int, part: np.ndarray) -> None:
        if start < self.base:
            raise ValueError("parts must be added in order of their start")
        self._grow(start + part.shape[1])
        self.buf[:, start - self.base:start - self.base + part.shape[1]] += part

    def take(self, upto: int) -> np.ndarray:
        """Frames ``base .. upto`` (the caller knows no later part reaches them); zeros past the last part."""
        if upto < self.base:
            raise ValueError("frames are handed out in order: these went out already")
        self._grow(upto)
        out = self.buf[:, : upto - self.base]
        self.buf = self.buf[:, upto - self.base:].copy()
        self.base = upto
        return out

    def _grow(self, end: int) -> None:
        if end - self.base > self.buf.shape[1]:
            grown = np.zeros((self.buf.shape[0], end - self.base), np.float32)
            grown[:, : self.buf.shape[1]] = self.buf
            self.buf = grown
