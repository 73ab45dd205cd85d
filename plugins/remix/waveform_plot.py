"""Before/after waveform picture of a remix (PNG, matplotlib's Agg backend, no display needed).

Drawn from a min/max envelope per pixel column, so a 20-minute track costs no more
than a short one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

COLUMNS = 1200


def envelope(audio: np.ndarray, columns: int = COLUMNS) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of the mono downmix in ``columns`` equal slices."""
    mono = audio.mean(axis=0) if audio.ndim == 2 else audio
    columns = max(1, min(columns, mono.size))
    usable = mono[: mono.size - mono.size % columns].reshape(columns, -1)
    return usable.min(axis=1), usable.max(axis=1)


class EnvelopeMeter:
    """:func:`envelope` of a signal of ``frames`` frames fed block by block in order (a remix written
    to a file piece by piece is never whole in memory)."""

    def __init__(self, frames: int, columns: int = COLUMNS) -> None:
        self.columns = max(1, min(columns, frames))
        self.width = frames // self.columns  # frames per column; the remainder at the end is left out
        self.lo = np.full(self.columns, np.inf, dtype=np.float32)
        self.hi = np.full(self.columns, -np.inf, dtype=np.float32)
        self.pos = 0

    def add(self, block: np.ndarray) -> None:
        mono = block.mean(axis=0) if block.ndim == 2 else block
        start, stop = self.pos, min(self.pos + mono.size, self.columns * self.width)
        self.pos += mono.size
        if stop <= start:
            return
        mono = mono[: stop - start]
        first = start // self.width
        cuts = np.arange(first * self.width, stop, self.width)
        cuts[0] = start
        index = cuts - start
        columns = np.arange(first, first + index.size)
        np.minimum.at(self.lo, columns, np.minimum.reduceat(mono, index))
        np.maximum.at(self.hi, columns, np.maximum.reduceat(mono, index))

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        return self.lo, self.hi


def plot_before_after(path: Path, before: np.ndarray, before_sr: int, after: np.ndarray, after_sr: int,
                      *, title: str) -> Path:
    """Two stacked waveforms on a shared time axis, the remix below the original."""
    return plot_envelopes(path, envelope(before), before.shape[-1] / before_sr, envelope(after),
                          after.shape[-1] / after_sr, title=title)


def plot_envelopes(path: Path, before: tuple[np.ndarray, np.ndarray], before_s: float,
                   after: tuple[np.ndarray, np.ndarray], after_s: float, *, title: str) -> Path:
    """:func:`plot_before_after` from the two :func:`envelope` results and durations (seconds)."""
    from matplotlib.figure import Figure  # a bare Figure renders with Agg; pyplot's global state stays out

    fig = Figure(figsize=(12, 4.5), dpi=100)
    fig.subplots_adjust(left=0.06, right=0.99, top=0.92, bottom=0.11, hspace=0.08)
    axes = fig.subplots(2, 1, sharex=True)
    longest = max(before_s, after_s)
    for ax, (lo, hi), seconds, label, colour in ((axes[0], before, before_s, "original", "#5b6b7f"),
                                                 (axes[1], after, after_s, "remix", "#d1495b")):
        t = np.linspace(0.0, seconds, lo.size)
        ax.fill_between(t, lo, hi, color=colour, linewidth=0)
        ax.set_ylim(-1.05, 1.05)
        ax.set_xlim(0.0, longest)
        ax.set_ylabel(label)
        ax.grid(alpha=0.25)
    axes[0].set_title(title)
    axes[1].set_xlabel("seconds")
    fig.savefig(path, format="png")
    return path
