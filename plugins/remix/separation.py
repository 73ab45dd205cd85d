"""Stems for the part of the track a run renders, separated piece by piece on a fixed grid.

Separators look at their whole input (the dsp one finds repeats across it, demucs blends
overlapping segments), so stems of a 20-second clip are not the whole track's stems over
those 20 seconds. Cut at fixed places (every few stretch chunks, with some context on both
sides), a piece separates the same whichever run asks for it: a preview separates the one
or two pieces it needs and gets the full render's stems there.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from moodmix.engine import audio_io
from moodmix.engine.capability import RunContext
from moodmix.engine.errors import CapabilityFailed
from moodmix.plugins.remix.overlap_add import OverlapAdd
from moodmix.plugins.remix.recipe import STEM_NAMES

#: Stretch chunks per separation piece (about 24 s at 120 BPM). A preview starts one chunk into a
#: piece, so everything before its window that shapes it (stretch phase, reverb tails) is separated
#: exactly as in the full render.
CHUNKS_PER_PIECE = 3
#: Audio each piece is separated with on both sides, then dropped.
CONTEXT_S = 4.0
#: Crossfade between neighbouring pieces.
CROSSFADE_S = 0.04


def piece_bounds(bounds: list[int]) -> list[int]:
    """Every :data:`CHUNKS_PER_PIECE`-th chunk boundary, and the track's end."""
    cuts = bounds[:-1:CHUNKS_PER_PIECE]
    return [*cuts, bounds[-1]] if cuts[-1] != bounds[-1] else cuts


def separate_span(ctx: RunContext, mix: np.ndarray | Callable[[int, int], np.ndarray], sr: int, bounds: list[int],
                  lo: int, hi: int,
                  core: tuple[int, int], *, backend: str,
                  progress: tuple[float, float] = (0.1, 0.5)) -> tuple[dict[str, Path], str]:
    """Stems of source frames ``lo..hi`` as float WAV files, written piece by piece as each stretch is
    final (a memory map of the whole stems would stay resident: 1.6 GB for 20 minutes).

    Only the pieces overlapping ``core`` are separated; the rest of ``lo..hi`` (a preview's lead-in
    for effects and stretch) comes from those pieces' context, or stays silent.
    """
    pieces = piece_bounds(bounds)
    frames = bounds[-1]
    read = mix if callable(mix) else lambda a, b: mix[:, a:b]  # a reader: the track stays in a file
    context, half = round(CONTEXT_S * sr), round(CROSSFADE_S * sr / 2)
    wanted = [k for k in range(len(pieces) - 1) if pieces[k] < core[1] and pieces[k + 1] > core[0]]
    out = {name: _OverlapAdd(ctx.temp_dir / f"stem-{name}.wav", sr, hi - lo) for name in STEM_NAMES}
    used = "unknown"
    start, end = progress
    for n, k in enumerate(wanted):
        a, b = pieces[k], pieces[k + 1]
        in_lo, in_hi = max(0, a - context), min(frames, b + context)
        clip = audio_io.save_audio(ctx.temp_dir / f"piece-{k}.wav", read(in_lo, in_hi), sr, format="wav",
                                   bit_depth="float")
        step = (end - start) / len(wanted)
        result = ctx.call("stems", inputs={"audio": clip},
                          params={"mode": "4stems", "backend": backend, "format": "wav"},
                          progress=(start + n * step, start + (n + 1) * step))
        used = result.backend or used
        fade_in = k > 0 and n > 0  # the first piece separated keeps its lead-in context, unfaded
        fade_out = k < len(pieces) - 2 and n < len(wanted) - 1
        keep_lo = max(lo, in_lo, a - half) if fade_in or k == 0 else max(lo, in_lo)
        keep_hi = min(hi, in_hi, b + half) if fade_out or k == len(pieces) - 2 else min(hi, in_hi)
        t = np.arange(keep_lo, keep_hi)
        weight = np.ones(t.size, dtype=np.float32)
        if fade_in:
            weight *= np.clip((t - (a - half)) / max(1, 2 * half), 0, 1).astype(np.float32)
        if fade_out:
            weight *= np.clip(((b + half) - t) / max(1, 2 * half), 0, 1).astype(np.float32)
        for name in STEM_NAMES:
            path = result.files.get(name)
            if path is None:
                raise CapabilityFailed(f"the stems capability returned no {name} stem")
            audio, stem_sr = audio_io.load_audio(path)
            audio = audio_io.to_channels(audio_io.resample(audio, stem_sr, sr), 2)
            part = audio[:, keep_lo - in_lo:keep_hi - in_lo]
            out[name].add(keep_lo - lo, part * weight[:part.shape[1]])
        ctx.release_audio(clip)  # the nested run's decode of the piece would stay cached to the end
        clip.unlink(missing_ok=True)
    return {name: acc.close() for name, acc in out.items()}, used


class _OverlapAdd:
    """A stereo float WAV of ``frames`` frames that is the sum of parts added in order of their start;
    a stretch is written once no later part can reach it, silence where no part does."""

    def __init__(self, path: Path, sr: int, frames: int) -> None:
        self.writer = audio_io.AudioWriter(path, sr, 2, format="wav", bit_depth="float")
        self.frames, self.acc = frames, OverlapAdd(2)

    def add(self, start: int, part: np.ndarray) -> None:
        self._write(self.acc.take(start))  # nothing added later reaches before ``start``
        self.acc.add(start, part)

    def close(self) -> Path:
        self._write(self.acc.take(max(self.frames, self.acc.end)))
        return self.writer.close()

    def _write(self, block: np.ndarray) -> None:
        if block.shape[1]:
            self.writer.write(block)
