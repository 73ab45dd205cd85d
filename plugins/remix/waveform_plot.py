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


def plot_before_after(path: Path, before: np.ndarray, before_sr: int, after: np.ndarray, after_sr: int,
                      *, title: str) -> Path:
    """Two stacked waveforms on a shared time axis, the remix below the original."""
    from matplotlib.figure import Figure  # a bare Figure renders with Agg; pyplot's global state stays out

    fig = Figure(figsize=(12, 4.5), dpi=100)
    fig.subplots_adjust(left=0.06, right=0.99, top=0.92, bottom=0.11, hspace=0.08)
    axes = fig.subplots(2, 1, sharex=True)
    longest = max(before.shape[-1] / before_sr, after.shape[-1] / after_sr)
    for ax, audio, sr, label, colour in ((axes[0], before, before_sr, "original", "#5b6b7f"),
                                         (axes[1], after, after_sr, "remix", "#d1495b")):
        lo, hi = envelope(audio)
        t = np.linspace(0.0, audio.shape[-1] / sr, lo.size)
        ax.fill_between(t, lo, hi, color=colour, linewidth=0)
        ax.set_ylim(-1.05, 1.05)
        ax.set_xlim(0.0, longest)
        ax.set_ylabel(label)
        ax.grid(alpha=0.25)
    axes[0].set_title(title)
    axes[1].set_xlabel("seconds")
    fig.savefig(path, format="png")
    return path
