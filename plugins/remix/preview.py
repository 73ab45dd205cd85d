"""Which part of the track a run renders: all of it, or a preview window plus the context it needs.

The track is cut into chunks on bar lines (:func:`chunk_bounds`); the full render stretches
them one by one (:func:`~.stretch.stretch_chunks`), and a preview renders only the chunks its
window covers, from stems of that stretch plus some seconds before it (reverb and delay tails
that ring into the window) — so the preview is the full render's audio, apart from its edges.

Loudness is the one thing a window cannot measure: the full render's drum level and master
gain come from the whole track. :class:`PreviewLevels` estimates them from how loud the
window is compared with the whole input, so a preview is about as loud as that part of the
full render will be.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from moodmix.engine.loudness import integrated_loudness
from moodmix.plugins.remix.stretch import CHUNK_CONTEXT_S, CROSSFADE_S
from moodmix.plugins.remix.structure import BarScores
from moodmix.plugins.remix.tempo import BeatGrid

#: Source audio before a preview's first chunk whose effects (reverbs, delays) ring into it.
EFFECTS_CONTEXT_S = 3.0
#: Chunks are about this long: whole bars, a power of two of them when the tempo allows.
CHUNK_TARGET_S = 8.0
#: Fade at both ends of a preview clip (its edges are not the full render's anyway).
EDGE_FADE_S = 0.01


def chunk_bounds(grid: BeatGrid, frames: int, sr: int) -> list[int]:
    """Source frames where chunks meet (0 first, ``frames`` last): just before downbeats."""
    if grid.steady and grid.tempo > 0:
        bar = 4 * grid.period
        bars = max(1, 2 ** round(math.log2(max(1.0, CHUNK_TARGET_S / bar))))
        step = bars * bar
        first = grid.first_beat - math.floor(grid.first_beat / step) * step
    else:
        step, first = CHUNK_TARGET_S, 0.0
    lead = CROSSFADE_S / 2  # the crossfade ends as the downbeat starts
    cuts = [round((t - lead) * sr) for t in np.arange(first, frames / sr, step)]
    cuts = [c for c in cuts if 0.5 * step * sr < c < frames - 0.5 * step * sr]
    return [0, *cuts, frames]


def output_bounds(bounds: list[int], ratio: float) -> list[int]:
    """Chunk boundaries in output frames (after the stretch)."""
    return [round(b / ratio) for b in bounds]


def effect_context(sr: int, ratio: float) -> int:
    """Frames an LFO effect runs before each chunk boundary; within the lead-in a preview has on
    either side of the stretch, so both runs restart it on the same audio."""
    return round(min(1.5, 0.9 * CHUNK_CONTEXT_S / max(1.0, ratio)) * sr)


def crossfade_frames(sr: int) -> int:
    return round(CROSSFADE_S * sr)


@dataclass(frozen=True)
class Span:
    """Chunks ``first..last-1`` are rendered; ``window`` (output frames) is what is kept."""

    first: int
    last: int
    src_lo: int  # source frames loaded and processed
    src_hi: int
    window: tuple[int, int]  # output frames
    src_window: tuple[int, int]  # the source frames the window was made from
    preview: bool = False
    score: float | None = None

    @classmethod
    def whole(cls, bounds: list[int], ratio: float) -> Span:
        out = round(bounds[-1] / ratio)
        return cls(0, len(bounds) - 1, 0, bounds[-1], (0, out), (0, bounds[-1]))

    def crop(self, audio: np.ndarray, out_start: int, sr: int) -> np.ndarray:
        """The window out of ``audio`` (which starts at output frame ``out_start``); faded ends on a preview."""
        lo, hi = self.window[0] - out_start, self.window[1] - out_start
        part = audio[:, max(0, lo):max(0, hi)]
        if part.shape[1] < hi - lo:
            part = np.pad(part, ((0, 0), (0, hi - lo - part.shape[1])))
        if self.preview:
            n = min(part.shape[1] // 2, round(EDGE_FADE_S * sr))
            ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
            part = part.copy()
            part[:, :n] *= ramp
            part[:, part.shape[1] - n:] *= ramp[::-1]
        return part

    def describe(self, sr: int) -> dict:
        return {"start_s": round(self.src_window[0] / sr, 3), "end_s": round(self.src_window[1] / sr, 3),
                "seconds": round((self.window[1] - self.window[0]) / sr, 3),
                "output_start_s": round(self.window[0] / sr, 6),
                "score": None if self.score is None else round(self.score, 3)}


def window_score(scores: BarScores, start_s: float, end_s: float, duration_s: float) -> float:
    """Mean repetition + energy of the bars starting in the window; intro and outro count less."""
    starts = np.asarray(scores.starts)
    inside = (starts >= start_s - 0.1) & (starts < end_s - 0.1)
    if not inside.any():
        return -1.0
    edge = 0.1 * duration_s
    penalty = 0.25 if start_s < edge or end_s > duration_s - edge else 0.0
    return float(scores.combined()[inside].mean()) - penalty


def preview_span(scores: BarScores, bounds: list[int], ratio: float, sr: int, seconds: float,
                 step: int = 1, phase: int = 0) -> Span | None:
    """The best window of ``seconds`` (output time) starting on a chunk boundary (every ``step``-th from
    the ``phase``-th: one chunk into a separation piece); ``None``: the track is not longer than that,
    render all of it."""
    frames = bounds[-1]
    out_len = round(seconds * sr)
    src_len = round(seconds * ratio * sr)
    if src_len >= frames:
        return None
    duration = frames / sr
    candidates = [i for i in range(min(phase, len(bounds) - 2), len(bounds) - 1, max(1, step))
                  if bounds[i] + src_len <= frames] or [0]
    first = max(candidates, key=lambda i: window_score(scores, bounds[i] / sr, (bounds[i] + src_len) / sr,
                                                       duration))
    src_lo_win = bounds[first]
    last = next(j for j in range(first + 1, len(bounds)) if bounds[j] >= src_lo_win + src_len)
    context = round((CHUNK_CONTEXT_S + EFFECTS_CONTEXT_S) * sr)
    out_lo = round(src_lo_win / ratio)
    return Span(first, last, max(0, src_lo_win - context),
                min(frames, bounds[last] + round(CHUNK_CONTEXT_S * sr)), (out_lo, out_lo + out_len),
                (src_lo_win, src_lo_win + src_len), preview=True,
                score=window_score(scores, src_lo_win / sr, (src_lo_win + src_len) / sr, duration))


def _power(audio: np.ndarray, sr: int) -> float:
    level = integrated_loudness(audio, sr)
    return 0.0 if level is None else 10 ** (level / 10)


@dataclass(frozen=True)
class PreviewLevels:
    """How much louder the window is than the whole input (dB), to carry levels over to the full track."""

    offset_db: float

    @classmethod
    def estimate(cls, mix: np.ndarray, sr: int, whole_lufs: float | None, span: Span) -> PreviewLevels:
        window = integrated_loudness(mix[:, span.src_window[0]:span.src_window[1]], sr)
        if whole_lufs is None or window is None:
            return cls(0.0)
        return cls(window - whole_lufs)

    def music_full(self, music: np.ndarray, sr: int, span: Span, out_start: int) -> float | None:
        """The full render's music loudness, estimated from the window's."""
        level = integrated_loudness(span.crop(music, out_start, sr), sr)
        return None if level is None else level - self.offset_db

    def preview_target(self, mastered: np.ndarray, music: np.ndarray, drums: np.ndarray | None, sr: int,
                       span: Span, target: float) -> float:
        """The loudness target for the window so it gets the gain the full render would apply.

        Powers add: the full mix ≈ (music scaled to the whole track + drums, which play throughout)
        times what the master chain did to the window's power.
        """
        p_mixed, p_music = _power(mastered, sr), _power(music, sr)
        p_drums = _power(drums, sr) if drums is not None else 0.0
        if p_mixed <= 0.0 or p_music + p_drums <= 0.0:
            return target
        master = p_mixed / (p_music + p_drums)
        p_full = master * (p_music * 10 ** (-self.offset_db / 10) + p_drums)
        return target + 10 * math.log10(p_mixed / p_full)
