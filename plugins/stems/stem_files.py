"""Stems written as they are separated, so a long track's stems never sit in memory together.

A stem's file format depends on its whole length: a WAV stem that anywhere exceeds full scale (the
sources cancelled in the mix) is kept as float, others are 24-bit. So each stem is first streamed to a
float WAV in the run's temp folder while its peak is tracked, and then copied block by block into its
output file once the choice is known (renamed, where the float WAV is already the output).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from moodmix.engine.audio_io import AudioWriter
from moodmix.engine.capability import RunContext

COPY_BLOCK = 1 << 18


class StemFiles:
    """One streamed output per stem name; :meth:`write` blocks in order, then :meth:`finish`."""

    def __init__(self, ctx: RunContext, names: tuple[str, ...] | list[str], sr: int, channels: int,
                 fmt: str) -> None:
        self.ctx, self.sr, self.channels, self.fmt = ctx, sr, channels, fmt
        ctx.temp_dir.mkdir(parents=True, exist_ok=True)
        self.peaks = dict.fromkeys(names, 0.0)
        self.staged = {name: AudioWriter(ctx.temp_dir / f"stem-{name}.float.wav", sr, channels, format="wav",
                                         bit_depth="float") for name in names}

    def write(self, stems: dict[str, np.ndarray]) -> None:
        for name, block in stems.items():
            if block.size:
                # as np.max(np.abs(...)) of the whole stem: NaN never counts as over full scale
                self.peaks[name] = max(self.peaks[name], float(np.max(np.abs(block))))
            self.staged[name].write(block)

    def finish(self, progress: Callable[[int, str], None] | None = None) -> tuple[dict[str, Path], list[str]]:
        """The output files by stem, and the stems that exceed full scale somewhere."""
        files: dict[str, Path] = {}
        over = [name for name, peak in self.peaks.items() if peak > 1.0]
        for i, (name, staged) in enumerate(self.staged.items()):
            staged.close()
            float_wav = self.fmt == "wav" and name in over
            target = self.ctx.output_path(name, f".{self.fmt}")
            if float_wav:
                files[name] = Path(shutil.move(staged.path, target))  # temp and output may be two disks
            else:
                with sf.SoundFile(str(staged.path)) as src, \
                        self.ctx.open_audio(name, self.sr, self.channels, format=self.fmt, bit_depth="24") as out:
                    while len(block := src.read(COPY_BLOCK, dtype="float32", always_2d=True)):
                        out.write(block.T)
                staged.path.unlink(missing_ok=True)
                files[name] = target
            if progress is not None:
                progress(i + 1, name)
        return files, over

    def abort(self) -> None:
        for staged in self.staged.values():
            staged.close()
            staged.path.unlink(missing_ok=True)
