"""The whole-track render in bounded memory: the same steps as the in-memory path, as streams.

A 20-minute track slowed to lofi tempo makes every whole-length array about 600 MB, and the
in-memory path holds several at once. Here each step pulls fixed-size blocks from the one
before it and keeps only what it must: a chunk and its context for the stretch and for chains
restarted per chunk (the same chunks, cuts and crossfades as :func:`.stretch.stretch_chunks`
and :func:`.effects.apply_effects_chunked`), filter and effect state for everything else
(pedalboard with ``reset=False``), and float WAV scratch files where a whole-track level is
needed before the next step can run:

1. music bus (stems → gain → effects → sum → stretch) and drums → two scratch files, their
   loudness measured on the way (the drums are levelled against the whole music);
2. ducking, drum level and master chain → a scratch file;
3. :func:`~moodmix.engine.loudness.normalize_blocks` → the remix file, written block by block.

Every step gives the in-memory path's samples (tests compare the two bit for bit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from moodmix.engine import audio_io
from moodmix.engine.capability import RunContext
from moodmix.engine.errors import CapabilityFailed
from moodmix.engine.loudness import LoudnessMeter, Normalized, normalize_blocks
from moodmix.engine.pedal_stream import BoardStream
from moodmix.plugins.remix.drums import DrumRenderer, duck_envelope
from moodmix.plugins.remix.effects import chunk_edges, effects_chunk, is_time_varying, to_plugin
from moodmix.plugins.remix.overlap_add import OverlapAdd
from moodmix.plugins.remix.preview import crossfade_frames, effect_context, output_bounds
from moodmix.plugins.remix.recipe import STEM_NAMES, BaseEffect, Recipe
from moodmix.plugins.remix.stretch import CHUNK_CONTEXT_S, CROSSFADE_S, is_identity, stretch_chunk
from moodmix.plugins.remix.tempo import TempoPlan
from moodmix.plugins.remix.waveform_plot import EnvelopeMeter

#: Frames per block between steps (about 3 s at 44.1 kHz); any size gives the same samples.
BLOCK_FRAMES = 1 << 17
CHANNELS = 2


class Stream:
    """``frames`` frames of stereo float32, handed out in order by :meth:`read`."""

    def __init__(self, frames: int) -> None:
        self.frames, self.made = frames, 0
        self._buf = np.zeros((CHANNELS, 0), np.float32)

    def read(self, n: int) -> np.ndarray:
        """The next ``n`` frames (fewer at the end)."""
        parts, held = [self._buf], self._buf.shape[1]
        while held < n and self.made < self.frames:
            block = self._next()
            block = block[:, : self.frames - self.made]
            self.made += block.shape[1]
            parts.append(block)
            held += block.shape[1]
        joined = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
        self._buf = joined[:, n:]
        return joined[:, :n]

    @property
    def done(self) -> bool:
        """Whether every frame has been read."""
        return self.made >= self.frames and not self._buf.shape[1]

    def _next(self) -> np.ndarray:
        raise NotImplementedError

    def blocks(self, size: int = BLOCK_FRAMES) -> Iterator[np.ndarray]:
        while True:
            block = self.read(size)
            if not block.shape[1]:
                return
            yield block


class Silence(Stream):
    def _next(self) -> np.ndarray:
        return np.zeros((CHANNELS, min(BLOCK_FRAMES, self.frames - self.made)), np.float32)


class FileStream(Stream):
    """A stem file as stereo at the run's rate, cut or padded with silence to ``frames``."""

    def __init__(self, path: Path, sr: int, frames: int, scratch: Path) -> None:
        super().__init__(frames)
        info = audio_io.probe(path)
        if info.sample_rate != sr or info.format != "wav":  # rare (uploaded stems): convert it once
            audio, stem_sr = audio_io.load_audio(path)
            audio = audio_io.to_channels(audio_io.resample(audio, stem_sr, sr), CHANNELS)
            path = audio_io.save_audio(scratch, audio[:, :frames], sr, format="wav", bit_depth="float")
            del audio
        self._blocks = audio_io.read_blocks(path, block=BLOCK_FRAMES, stop=frames)

    def _next(self) -> np.ndarray:
        block = next(self._blocks, None)
        if block is None:
            return np.zeros((CHANNELS, min(BLOCK_FRAMES, self.frames - self.made)), np.float32)
        audio_io.check_samples(block.T)
        return audio_io.to_channels(block, CHANNELS)


class Gain(Stream):
    def __init__(self, source: Stream, gain: np.float32) -> None:
        super().__init__(source.frames)
        self.source, self.gain = source, gain

    def _next(self) -> np.ndarray:
        block = self.source.read(BLOCK_FRAMES)
        block *= self.gain
        return block


class Sum(Stream):
    """The streams added in order (as ``bus += stem``)."""

    def __init__(self, sources: Sequence[Stream]) -> None:
        super().__init__(sources[0].frames)
        self.sources = sources

    def _next(self) -> np.ndarray:
        total = self.sources[0].read(BLOCK_FRAMES).copy()
        for source in self.sources[1:]:
            total += source.read(total.shape[1])
        return total


class _Window:
    """Frames ``base ..`` of a stream, read ahead on demand and dropped once behind."""

    def __init__(self, source: Stream) -> None:
        self.source, self.base = source, 0
        self.buf = np.zeros((CHANNELS, 0), np.float32)

    def get(self, lo: int, hi: int) -> np.ndarray:
        hi = min(hi, self.source.frames)
        if hi > self.base + self.buf.shape[1]:
            more = self.source.read(hi - self.base - self.buf.shape[1])
            self.buf = np.concatenate([self.buf, more], axis=1)
        return self.buf[:, lo - self.base:hi - self.base]

    def drop(self, lo: int) -> None:
        if lo > self.base:
            self.buf = self.buf[:, lo - self.base:].copy()
            self.base = lo


class Effects(Stream):
    """:func:`.effects.apply_effects_chunked` over a whole stream whose frames ``bounds`` are in."""

    def __init__(self, source: Stream, effects: Sequence[BaseEffect], sr: int, *, bpm: float,
                 bounds: Sequence[int], context: int, fade: int) -> None:
        super().__init__(source.frames)
        self.source, self.effects, self.sr, self.bpm = source, list(effects), sr, bpm
        self.chunked = bool(effects) and is_time_varying(effects)
        if self.chunked:
            self.window, self.acc = _Window(source), OverlapAdd(CHANNELS)
            self.edges, self.i = chunk_edges(bounds, 0, source.frames), 0
            self.context, self.fade = context, fade
        elif effects:
            import pedalboard

            board = pedalboard.Pedalboard([to_plugin(e, sample_rate=sr, bpm=bpm) for e in effects])
            self.board = BoardStream(board, sr, CHANNELS)

    def _next(self) -> np.ndarray:
        if not self.effects:
            return self.source.read(BLOCK_FRAMES)
        if self.chunked:
            return self._next_chunk()
        block = self.source.read(BLOCK_FRAMES)
        out = self.board.process(block) if block.shape[1] else np.zeros((CHANNELS, 0), np.float32)
        if self.source.done:
            out = np.concatenate([out, self.board.finish()], axis=1)
        return np.nan_to_num(out, copy=False, nan=0.0, posinf=0.0, neginf=0.0)

    def _next_chunk(self) -> np.ndarray:
        edges, i, half = self.edges, self.i, self.fade // 2
        lo, hi = edges[i], edges[i + 1]
        start = lo if i == 0 else max(0, lo - self.context)
        stop = min(self.frames, hi + (half if i < len(edges) - 2 else 0))
        audio = self.window.get(start, stop)
        keep_lo, y = effects_chunk(audio, self.sr, self.effects, bpm=self.bpm, edges=edges, i=i, offset=start,
                                   context=self.context, fade=self.fade)
        self.acc.add(keep_lo, y)
        self.i += 1
        if self.i < len(edges) - 1:
            nxt = edges[self.i]
            next_start = max(0, nxt - self.context)
            self.window.drop(next_start)
            return self.acc.take(max(next_start, nxt - half))
        return self.acc.take(self.frames)


class Stretch(Stream):
    """:func:`.stretch.stretch_chunks` of a whole stream (source frames; ``bounds`` from 0 to its length)."""

    def __init__(self, source: Stream, sr: int, *, ratio: float, pitch_semitones: float, varispeed: bool,
                 bounds: list[int]) -> None:
        super().__init__(round(bounds[-1] / ratio))
        self.source, self.sr, self.bounds, self.k = source, sr, bounds, 0
        self.speed = {"ratio": ratio, "pitch_semitones": pitch_semitones, "varispeed": varispeed}
        self.window, self.acc = _Window(source), OverlapAdd(CHANNELS)
        self.context, self.half = round(CHUNK_CONTEXT_S * sr), round(CROSSFADE_S * sr / 2)

    def _next(self) -> np.ndarray:
        bounds, k, ratio = self.bounds, self.k, self.speed["ratio"]
        in_start = max(0, bounds[k] - self.context)
        audio = self.window.get(in_start, bounds[k + 1] + self.context)
        part = stretch_chunk(audio, self.sr, **self.speed, bounds=bounds, k=k, lead_in=k == 0, offset=in_start,
                             window=(0, self.frames))
        if part is not None:
            self.acc.add(*part)
        self.k += 1
        if self.k < len(bounds) - 1:
            self.window.drop(max(0, bounds[self.k] - self.context))
            return self.acc.take(max(self.acc.base, round(bounds[self.k] / ratio) - self.half))
        return self.acc.take(self.frames)


class Drums(Stream):
    """The drum pattern (mono, as :func:`.drums.render_pattern`) on both channels."""

    def __init__(self, renderer: DrumRenderer, frames: int) -> None:
        super().__init__(min(frames, renderer.frames))
        self.renderer = renderer

    def _next(self) -> np.ndarray:
        part = self.renderer.render(BLOCK_FRAMES)
        return np.stack([part, part])


class Mix(Stream):
    """Music ducked under the kick plus the levelled drums, from the two scratch files."""

    def __init__(self, music: Path, drums: Path, frames: int, *, drum_gain: np.float32 | None,
                 duck: Callable[[int, int], np.ndarray] | None) -> None:
        super().__init__(frames)
        self.music = audio_io.read_blocks(music, block=BLOCK_FRAMES)
        self.drums = audio_io.read_blocks(drums, block=BLOCK_FRAMES)
        self.drum_gain, self.duck = drum_gain, duck

    def _next(self) -> np.ndarray:
        music, drums = next(self.music), next(self.drums)
        if self.drum_gain is not None:
            drums *= self.drum_gain
        if self.duck is not None:
            music = music * self.duck(self.made, music.shape[1])[None, :]
        return music + drums


def music_stream(ctx: RunContext, stem_paths: dict[str, Path], recipe: Recipe, plan: TempoPlan, sr: int,
                 bounds: list[int], level: float, stretch_mode: str) -> Stream:
    """The whole track's music bus as a stream (what ``pipeline._music_bus`` gives for the whole span)."""
    per_stem = stretch_mode == "stems"
    pitch = float(recipe.pitch_semitones)
    identity = is_identity(plan.ratio, pitch, recipe.varispeed)
    bpm = plan.target_tempo if per_stem else plan.target_tempo / plan.ratio
    frames = bounds[-1]

    def speed(x: Stream) -> Stream:
        if identity:
            return x
        return Stretch(x, sr, ratio=plan.ratio, pitch_semitones=pitch, varispeed=recipe.varispeed, bounds=bounds)

    domain = output_bounds(bounds, plan.ratio) if per_stem and not identity else bounds
    stems: list[Stream] = []
    for name in STEM_NAMES:
        settings = recipe.stems.get(name)
        if settings.mute:
            continue
        x: Stream = FileStream(stem_paths[name], sr, frames, ctx.temp_dir / f"stem-{name}-{sr}.wav")
        x = Gain(x, np.float32(level * 10 ** (settings.gain_db / 20)))
        if per_stem:
            x = speed(x)
        stems.append(Effects(x, settings.effects, sr, bpm=bpm, bounds=domain, context=effect_context(sr, plan.ratio),
                             fade=crossfade_frames(sr)))
    if not stems:
        return speed(Silence(frames))
    bus = Sum(stems) if len(stems) > 1 else stems[0]
    return bus if per_stem else speed(bus)


def render_whole(ctx: RunContext, music: Stream, recipe: Recipe, plan: TempoPlan, sr: int, bounds: list[int], *,
                 seed: int, target_lufs: float, ceiling_dbtp: float, remix_path: Path,
                 reference_lufs: float) -> tuple[Normalized, int, tuple[np.ndarray, np.ndarray]]:
    """Drums, master chain and loudness over ``music``, the remix written to ``remix_path``; returns the
    loudness report, the remix's length in frames and its waveform envelope."""
    frames = music.frames
    out_bounds = output_bounds(bounds, plan.ratio)
    context, fade = effect_context(sr, plan.ratio), crossfade_frames(sr)
    scratch = ctx.temp_dir
    pattern = recipe.drums
    mixed: Stream = music
    music_file = drums_file = None
    if pattern is not None:
        ctx.progress(0.6, "processing the stems and drums")
        renderer = DrumRenderer(pattern, plan.grid, sr=sr, frames=max(out_bounds[-1], frames), seed=seed)
        drums = Effects(Drums(renderer, frames), pattern.effects, sr, bpm=plan.target_tempo, bounds=out_bounds,
                        context=context, fade=fade)
        music_file, drums_file = scratch / "remix-music.wav", scratch / "remix-drums.wav"
        music_meter, drum_meter = LoudnessMeter(sr), LoudnessMeter(sr)
        with (audio_io.AudioWriter(music_file, sr, CHANNELS, format="wav", bit_depth="float") as mw,
              audio_io.AudioWriter(drums_file, sr, CHANNELS, format="wav", bit_depth="float") as dw):
            for block in music.blocks():
                beat = drums.read(block.shape[1])
                for writer, meter, part in ((mw, music_meter, block), (dw, drum_meter, beat)):
                    writer.write(part)
                    meter.add(part)
                ctx.progress(0.6 + 0.19 * mw.frames / max(1, frames), "processing the stems and drums")
        music_level, drum_level = music_meter.finish(), drum_meter.finish()
        gain = None
        if drum_level is not None:
            reference = music_level if music_level is not None else reference_lufs
            gain = np.float32(10 ** ((reference + pattern.level_db - drum_level) / 20))
        duck = None
        if pattern.sidechain is not None and renderer.kick_times.size:
            sidechain = pattern.sidechain

            def duck(start: int, count: int) -> np.ndarray:
                return duck_envelope(renderer.kick_times, sidechain, sr=sr, frames=count, start=start)
        mixed = Mix(music_file, drums_file, frames, drum_gain=gain, duck=duck)
    ctx.progress(0.8, "mastering")
    mastered = Effects(mixed, recipe.master, sr, bpm=plan.target_tempo, bounds=out_bounds, context=context, fade=fade)
    mastered_file = scratch / "remix-mastered.wav"
    with audio_io.AudioWriter(mastered_file, sr, CHANNELS, format="wav", bit_depth="float") as writer:
        for block in mastered.blocks():
            writer.write(block)
            ctx.progress(0.8 + 0.049 * writer.frames / max(1, frames), "mastering")
    for path in (music_file, drums_file):
        if path is not None:
            path.unlink(missing_ok=True)

    ctx.progress(0.85, "setting the loudness")
    envelope = EnvelopeMeter(frames)
    finite = True
    fmt = remix_path.suffix.lstrip(".")
    with audio_io.AudioWriter(remix_path, sr, CHANNELS, format=fmt, bit_depth="24") as writer:
        def sink(block: np.ndarray) -> None:
            nonlocal finite
            finite = finite and bool(np.isfinite(block).all())
            writer.write(block)
            envelope.add(block)

        report = normalize_blocks(lambda: audio_io.read_blocks(mastered_file, block=BLOCK_FRAMES), sr, CHANNELS,
                                  target_lufs=target_lufs, ceiling_dbtp=ceiling_dbtp, scratch=scratch, sink=sink)
    mastered_file.unlink(missing_ok=True)
    if not finite:
        raise CapabilityFailed("the remix contains NaN or infinite samples")
    return report, frames, envelope.result()
