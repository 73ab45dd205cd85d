"""Loudness and true peak, measured one way for every plugin (ITU-R BS.1770-4 / EBU R 128).

Part of the plugin toolkit, like :mod:`moodmix.engine.capability`: a plugin that reports or
targets a level uses these functions, so two plugins never disagree about the same audio.

- :func:`integrated_loudness`: gated loudness in LUFS, K-weighting filters designed by
  pyloudnorm, 400 ms blocks every 100 ms, absolute (-70 LUFS) and relative (-10 LU) gates.
  Audio shorter than one block is measured over **what there is** (the whole input is one
  block, no padding), so a 0.2 s burst reads the level it plays at.
- :func:`true_peak`: the largest magnitude after 4× oversampling (2× from 88.2 kHz, none from
  176.4 kHz), by soxr; pyloudnorm has no true-peak meter.
- :func:`normalize`: gain to a LUFS target, then pedalboard's look-ahead true-peak limiter;
  the true peak is then measured and trimmed, since peaks between samples can still exceed
  the limiter's ceiling.

A level that does not exist — digital silence, or nothing above the -70 LUFS gate — is
``None``, never ``-inf`` or NaN (JSON has neither). Audio is ``(channels, frames)`` or 1-D mono.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

#: BS.1770 gating block and its hop (75 % overlap).
BLOCK_SECONDS = 0.4
HOP_SECONDS = 0.1
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
#: BS.1770 channel weights in pyloudnorm's order L, R, C, Ls, Rs; further channels (LFE, …) are left out.
CHANNEL_WEIGHTS = (1.0, 1.0, 1.0, 1.41, 1.41)
#: Frames per step when filtering or oversampling, so memory stays bounded on hour-long files.
CHUNK_FRAMES = 1 << 20
#: The limiter aims this far under the ceiling; inter-sample peaks that still poke through are trimmed.
LIMITER_MARGIN_DB = 0.3
#: How close to the target :func:`normalize` must land before it stops adjusting the gain.
LOUDNESS_TOLERANCE_LU = 0.1


@dataclass(frozen=True)
class Levels:
    """Levels of one signal; ``None`` where a value does not exist (silence, below the gate)."""

    integrated_lufs: float | None
    true_peak_dbtp: float | None
    sample_peak_dbfs: float | None
    #: Mean square over all channels and samples in dBFS (not AES17: a full-scale sine reads −3.01).
    rms_dbfs: float | None
    #: Why a value is missing, or how it was measured when that is not the usual way.
    note: str | None = None

    def as_dict(self) -> dict[str, float | str | None]:
        """JSON-ready, values rounded to 0.01 dB."""
        return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def to_db(value: float, *, power: bool = False) -> float | None:
    """Decibels of an amplitude (or a power); ``None`` for zero."""
    if not value > 0 or not math.isfinite(value):
        return None
    return (10.0 if power else 20.0) * math.log10(value)


def _as_channels(audio: np.ndarray) -> np.ndarray:
    return np.atleast_2d(np.asarray(audio, dtype=np.float32))


def measure_levels(audio: np.ndarray, sr: int) -> Levels:
    """Integrated loudness, true peak, sample peak and RMS of ``audio`` at ``sr``."""
    audio = _as_channels(audio)
    meter = LevelsMeter(sr, audio.shape[0])
    meter.add(audio)
    return meter.finish()


def _levels(channels: int, frames: int, sr: int, sample_peak: float, square_sum: float, lufs: float | None,
            peak: float) -> Levels:
    if sample_peak == 0.0:
        return Levels(None, None, None, None, note="silent: every sample is zero")
    notes = []
    if lufs is None:
        notes.append(f"too quiet for integrated loudness (nothing above the {ABSOLUTE_GATE_LUFS:g} LUFS gate)")
    elif frames < block_frames(sr):
        notes.append(f"shorter than {BLOCK_SECONDS:g} s: loudness measured over the whole signal as one block")
    if channels > len(CHANNEL_WEIGHTS):
        notes.append(f"loudness measured on the first {len(CHANNEL_WEIGHTS)} of {channels} channels")
    return Levels(
        integrated_lufs=lufs,
        true_peak_dbtp=to_db(peak),
        sample_peak_dbfs=to_db(sample_peak),
        rms_dbfs=to_db(square_sum / (channels * frames), power=True),
        note="; ".join(notes) or None,
    )


# --- integrated loudness ---------------------------------------------------------------------------------


def block_frames(sr: int) -> int:
    """Frames in one gating block: four hops."""
    return 4 * hop_frames(sr)


def hop_frames(sr: int) -> int:
    return max(1, round(HOP_SECONDS * sr))


@lru_cache(maxsize=16)
def k_weighting(sr: int) -> np.ndarray:
    """The K-weighting filter (pyloudnorm's design: high shelf, then high pass) as second-order sections."""
    from pyloudnorm.iirfilter import IIRfilter

    stages = [IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, sr, "high_shelf"),
              IIRfilter(0.0, 0.5, 38.0, sr, "high_pass")]
    sos = np.array([np.concatenate([stage.b, stage.a]) for stage in stages])
    sos[0, :3] *= np.prod([stage.passband_gain for stage in stages])
    return sos / sos[:, 3:4]


class _Rechunk:
    """Blocks of any size regrouped into ``size``-frame chunks, the last one held back until
    :meth:`finish`, so a stream is cut where a whole-array pass cuts it (same sums, same ``last``)."""

    def __init__(self, size: int) -> None:
        self.size, self.parts, self.held = size, [], 0

    def add(self, block: np.ndarray) -> list[np.ndarray]:
        ready = []
        self.parts.append(block)
        self.held += block.shape[1]
        while self.held > self.size:
            joined = self.parts[0] if len(self.parts) == 1 else np.concatenate(self.parts, axis=1)
            ready.append(joined[:, :self.size])
            rest = joined[:, self.size:]
            self.parts, self.held = [rest], rest.shape[1]
        return ready

    def finish(self) -> np.ndarray | None:
        parts, self.parts, self.held = self.parts, [], 0
        parts = [p for p in parts if p.shape[1]]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)


class LoudnessMeter:
    """:func:`integrated_loudness` fed block by block: K-weighting filter state carried across blocks,
    the weighted power summed per 100 ms hop; the gating is done on :meth:`finish`."""

    def __init__(self, sr: int) -> None:
        self.sr, self.hop = sr, hop_frames(sr)
        self.chunks = _Rechunk(CHUNK_FRAMES - CHUNK_FRAMES % self.hop)
        self.state: np.ndarray | None = None
        self.hops: list[np.ndarray] = []
        self.total, self.frames = 0.0, 0

    def add(self, block: np.ndarray) -> None:
        block = _as_channels(block)[: len(CHANNEL_WEIGHTS)]
        self.frames += block.shape[1]
        for chunk in self.chunks.add(block):
            self._filter(chunk)

    def _filter(self, chunk: np.ndarray) -> None:
        from scipy.signal import sosfilt

        sos = k_weighting(self.sr)
        if self.state is None:
            self.state = np.zeros((sos.shape[0], chunk.shape[0], 2))
        weights = np.asarray(CHANNEL_WEIGHTS[: chunk.shape[0]])[:, None]
        filtered, self.state = sosfilt(sos, chunk.astype(np.float64), axis=-1, zi=self.state)
        power = (weights * np.square(filtered)).sum(axis=0)
        self.total += float(power.sum())
        whole = power.size // self.hop * self.hop  # only the last chunk has a part hop, which is dropped
        self.hops.append(power[:whole].reshape(-1, self.hop).sum(axis=1))

    def finish(self) -> float | None:
        """Integrated loudness of everything added (LUFS), ``None`` as for :func:`integrated_loudness`."""
        last = self.chunks.finish()
        if last is not None:
            self._filter(last)
        if self.frames == 0:
            return None
        hop_power = np.concatenate(self.hops) if self.hops else np.zeros(0)
        return _gated_loudness(hop_power, self.total, self.frames, self.sr)


def integrated_loudness(audio: np.ndarray, sr: int) -> float | None:
    """Gated integrated loudness in LUFS; ``None`` for silence or when every block is under -70 LUFS.

    Input shorter than 400 ms is one block spanning all of it (not padded with silence, which
    would read lower the shorter the input). Up to five channels count, weighted L, R, C, Ls, Rs.
    """
    meter = LoudnessMeter(sr)
    meter.add(audio)
    return meter.finish()


def _gated_loudness(hop_power: np.ndarray, total: float, frames: int, sr: int) -> float | None:
    if frames < block_frames(sr):
        blocks = np.array([total / frames])
    else:
        windows = np.lib.stride_tricks.sliding_window_view(hop_power, 4)
        blocks = windows.sum(axis=1) / block_frames(sr)
    with np.errstate(divide="ignore"):
        block_lufs = -0.691 + 10.0 * np.log10(blocks)
    audible = block_lufs >= ABSOLUTE_GATE_LUFS
    if not audible.any():
        return None
    relative_gate = -0.691 + 10.0 * math.log10(blocks[audible].mean()) + RELATIVE_GATE_LU
    gated = blocks[(block_lufs > ABSOLUTE_GATE_LUFS) & (block_lufs > relative_gate)]
    return -0.691 + 10.0 * math.log10(gated.mean()) if gated.size else None


# --- true peak -------------------------------------------------------------------------------------------


def oversampling_factor(sr: int) -> int:
    """BS.1770-4 Annex 2: 4× at 44.1/48 kHz, so the peak is looked for at ≥ 176.4 kHz."""
    return 1 if sr >= 176_400 else 2 if sr >= 88_200 else 4


def true_peak(audio: np.ndarray, sr: int) -> float:
    """Largest magnitude of the oversampled signal (linear, never below the sample peak; 0 for silence).

    The signal is taken as zero outside the array, so a clip that starts or ends at full
    level shows the ringing a converter would produce there.
    """
    meter = TruePeakMeter(sr, _as_channels(audio).shape[0])
    meter.add(audio)
    return meter.finish()


class TruePeakMeter:
    """:func:`true_peak` fed block by block (one soxr stream, cut into the same chunks)."""

    def __init__(self, sr: int, channels: int) -> None:
        self.sr, self.channels = sr, channels
        self.factor = oversampling_factor(sr)
        self.chunks = _Rechunk(CHUNK_FRAMES)
        self.stream = None
        self.peak = 0.0

    def add(self, block: np.ndarray) -> None:
        for chunk in self.chunks.add(_as_channels(block)):
            self._chunk(chunk, last=False)

    def _chunk(self, chunk: np.ndarray, *, last: bool) -> None:
        if chunk.size:
            self.peak = max(self.peak, float(np.max(np.abs(chunk))))
        if self.factor == 1:
            return
        if self.stream is None:
            import soxr

            self.stream = soxr.ResampleStream(self.sr, self.sr * self.factor, self.channels, dtype="float32",
                                              quality="HQ")
        up = self.stream.resample_chunk(np.ascontiguousarray(chunk.T), last=last)
        if up.size:
            self.peak = max(self.peak, float(np.max(np.abs(up))))

    def finish(self) -> float:
        """Largest magnitude of the oversampled signal (linear; 0 for silence)."""
        last = self.chunks.finish()
        self._chunk(np.zeros((self.channels, 0), np.float32) if last is None else last, last=True)
        return self.peak


class LevelsMeter:
    """:func:`measure_levels` fed block by block: loudness, true peak, sample peak and RMS in one pass."""

    def __init__(self, sr: int, channels: int) -> None:
        self.sr, self.channels = sr, channels
        self.loudness, self.true = LoudnessMeter(sr), TruePeakMeter(sr, channels)
        self.chunks = _Rechunk(CHUNK_FRAMES)
        self.sample_peak, self.square_sum, self.frames = 0.0, 0.0, 0
        #: The linear true peak once :meth:`finish` has run.
        self.true_peak = 0.0

    def add(self, block: np.ndarray) -> None:
        block = _as_channels(block)
        self.frames += block.shape[1]
        self.loudness.add(block)
        self.true.add(block)
        for chunk in self.chunks.add(block):
            self._chunk(chunk)

    def _chunk(self, chunk: np.ndarray) -> None:
        if chunk.size:
            self.sample_peak = max(self.sample_peak, float(np.max(np.abs(chunk))))
            self.square_sum += float(np.sum(np.square(chunk, dtype=np.float64)))

    def finish(self) -> Levels:
        last = self.chunks.finish()
        if last is not None:
            self._chunk(last)
        lufs = self.loudness.finish()
        self.true_peak = self.true.finish()
        return _levels(self.channels, self.frames, self.sr, self.sample_peak, self.square_sum, lufs,
                       self.true_peak)


def true_peak_dbtp(audio: np.ndarray, sr: int) -> float | None:
    """:func:`true_peak` in dBTP; ``None`` for silence."""
    return to_db(true_peak(audio, sr))


# --- normalisation ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Normalized:
    """What :func:`normalize` did: levels before and after, the gain, and how far peaks were pulled down."""

    before: Levels
    after: Levels
    gain_db: float
    #: True peak after the gain minus true peak of the output (0 when nothing was limited or trimmed).
    peak_reduction_db: float


def limit(audio: np.ndarray, sr: int, ceiling_dbtp: float, *, peak: float | None = None) -> np.ndarray:
    """``audio`` with true peaks at or under ``ceiling_dbtp`` (``peak``: its :func:`true_peak`, if known).

    pedalboard's look-ahead ``BrickwallLimiter`` with its 4×-oversampled side chain does the
    work, aiming :data:`LIMITER_MARGIN_DB` lower. That side chain costs about 6× the time of
    the sample-peak one, but driven hard the sample-peak limiter lets overs through that cost
    more loudness to trim than the margin does. Some still get through either way, so the
    output is measured and what exceeds the ceiling is trimmed by plain gain.
    """
    from pedalboard import BrickwallLimiter

    audio = _as_channels(audio)
    ceiling = 10.0 ** (ceiling_dbtp / 20.0)
    if (true_peak(audio, sr) if peak is None else peak) <= ceiling:
        return audio
    limiter = BrickwallLimiter(ceiling_db=ceiling_dbtp - LIMITER_MARGIN_DB, true_peak=True)
    out = np.asarray(limiter(audio, sr), dtype=np.float32)
    for _ in range(3):  # a trim is linear, so one lands under the ceiling; float32 rounding may ask for another
        over = true_peak(out, sr)
        if over <= ceiling:
            break
        out = out * np.float32(ceiling / over * 0.9995)
    return out


def normalize(audio: np.ndarray, sr: int, *, target_lufs: float, ceiling_dbtp: float,
              max_gain_db: float = 40.0, attempts: int = 5) -> tuple[np.ndarray, Normalized]:
    """Gain ``audio`` to ``target_lufs``, then :func:`limit` it to ``ceiling_dbtp``.

    The ceiling always holds. Limiting takes loudness back, so the gain is corrected from what
    was reached (a secant step, up to ``attempts`` renders), and the render closest to the target
    is kept: material too peaky to get that loud under the ceiling stays quieter, and the report
    says how loud it got. Audio with no integrated loudness (silence, under the gate) only gets
    the ceiling.
    """
    audio = np.nan_to_num(_as_channels(audio), nan=0.0, posinf=0.0, neginf=0.0)
    before = measure_levels(audio, sr)
    peak = 10.0 ** (before.true_peak_dbtp / 20.0) if before.true_peak_dbtp is not None else 0.0
    if before.integrated_lufs is None:
        out = limit(audio, sr, ceiling_dbtp, peak=peak)
        return out, _report(before, out, sr, 0.0)
    gain_db = min(max_gain_db, target_lufs - before.integrated_lufs)
    tried: list[tuple[float, float]] = []  # (gain, loudness reached)
    best: tuple[float, float, np.ndarray] | None = None  # the render closest to the target (only it is kept:
    out = audio                                          # on a long track each render is hundreds of MB)
    for _ in range(attempts):
        gain = 10.0 ** (gain_db / 20.0)
        out = None  # the last render goes before the next is made, unless it is the best
        out = limit(audio * np.float32(gain), sr, ceiling_dbtp, peak=peak * gain)
        reached = integrated_loudness(out, sr)
        if reached is None:  # only if float underflow silenced it
            break
        tried.append((gain_db, reached))
        if best is None or abs(reached - target_lufs) < abs(best[1] - target_lufs):
            best = (gain_db, reached, out)
        if abs(reached - target_lufs) <= LOUDNESS_TOLERANCE_LU:
            break
        if len(tried) > 1 and reached - tried[-2][1] < 0.05 * (gain_db - tried[-2][0]):
            break  # more gain only feeds the limiter: about as loud as it gets under the ceiling
        slope = (reached - tried[-2][1]) / (gain_db - tried[-2][0]) if len(tried) > 1 else 1.0
        next_gain = min(max_gain_db, gain_db + (target_lufs - reached) / min(1.5, max(0.2, slope)))
        if next_gain == gain_db:
            break
        gain_db = next_gain
    if best is None:  # float underflow silenced the first render: what it gave
        return out, _report(before, out, sr, gain_db)
    # past a point more gain reads quieter (the limiter pumps), so keep the closest render
    gain_db, _, out = best
    return out, _report(before, out, sr, gain_db)


def _report(before: Levels, out: np.ndarray, sr: int, gain_db: float) -> Normalized:
    after = measure_levels(out, sr)
    reduction = 0.0
    if before.true_peak_dbtp is not None and after.true_peak_dbtp is not None:
        reduction = max(0.0, before.true_peak_dbtp + gain_db - after.true_peak_dbtp)
    return Normalized(before, after, gain_db, reduction)


# --- normalisation in bounded memory ---------------------------------------------------------------------

#: A fresh pass over the audio to normalise, block by block (called once per pass).
BlockSource = Callable[[], Iterable[np.ndarray]]


@dataclass
class _Render:
    """One try of :func:`normalize_blocks`: ``source`` times ``gain``, through the limiter into ``limited``
    (``None``: nothing to limit), then times each of ``trims`` in order."""

    gain: np.float32 | None
    limited: Path | None
    trims: list[np.float32]
    levels: Levels

    def blocks(self, source: BlockSource) -> Iterable[np.ndarray]:
        from moodmix.engine.audio_io import read_blocks

        for block in (source() if self.limited is None else read_blocks(self.limited)):
            if self.limited is None and self.gain is not None:
                block = block * self.gain
            for trim in self.trims:
                block = block * trim
            yield block


def measure_blocks(blocks: Iterable[np.ndarray], sr: int, channels: int) -> tuple[Levels, float]:
    """:func:`measure_levels` of the blocks joined, and their linear true peak."""
    meter = LevelsMeter(sr, channels)
    for block in blocks:
        meter.add(block)
    return meter.finish(), meter.true_peak


def normalize_blocks(source: BlockSource, sr: int, channels: int, *, target_lufs: float, ceiling_dbtp: float,
                     scratch: Path, sink: Callable[[np.ndarray], None], max_gain_db: float = 40.0,
                     attempts: int = 5) -> Normalized:
    """:func:`normalize` as passes over audio that is never whole in memory (a long track in a file).

    Every step is :func:`normalize`'s, on blocks: the same meters, the same gain search, the limiter
    with its state carried across blocks, the trims measured in a further pass; each try's limited
    audio goes to a float WAV under ``scratch`` (only the closest to the target is kept). The result
    is handed to ``sink`` block by block; returns what :func:`normalize` reports.
    """
    def clean() -> Iterable[np.ndarray]:
        for block in source():
            yield np.nan_to_num(_as_channels(block), nan=0.0, posinf=0.0, neginf=0.0)

    before, _ = measure_blocks(clean(), sr, channels)
    peak = 10.0 ** (before.true_peak_dbtp / 20.0) if before.true_peak_dbtp is not None else 0.0
    count = 0

    def render(gain: float | None) -> _Render:
        nonlocal count
        count += 1
        factor = None if gain is None else np.float32(gain)
        return _limit_blocks(clean, factor, sr, channels, ceiling_dbtp, peak * (1.0 if gain is None else gain),
                             scratch / f"limited-{count}.wav")

    if before.integrated_lufs is None:
        best = render(None)
        return _finish(best, clean, sink, before, 0.0)
    gain_db = min(max_gain_db, target_lufs - before.integrated_lufs)
    tried: list[tuple[float, float]] = []
    best_try: tuple[float, float, _Render] | None = None
    last: _Render | None = None
    for _ in range(attempts):
        last = render(10.0 ** (gain_db / 20.0))
        reached = last.levels.integrated_lufs
        if reached is None:
            break
        tried.append((gain_db, reached))
        if best_try is None or abs(reached - target_lufs) < abs(best_try[1] - target_lufs):
            if best_try is not None:
                _drop(best_try[2])
            best_try = (gain_db, reached, last)
        else:
            _drop(last)
        if abs(reached - target_lufs) <= LOUDNESS_TOLERANCE_LU:
            break
        if len(tried) > 1 and reached - tried[-2][1] < 0.05 * (gain_db - tried[-2][0]):
            break
        slope = (reached - tried[-2][1]) / (gain_db - tried[-2][0]) if len(tried) > 1 else 1.0
        next_gain = min(max_gain_db, gain_db + (target_lufs - reached) / min(1.5, max(0.2, slope)))
        if next_gain == gain_db:
            break
        gain_db = next_gain
    if best_try is None:
        return _finish(last, clean, sink, before, gain_db)
    gain_db, _, best = best_try
    return _finish(best, clean, sink, before, gain_db)


def _limit_blocks(source: BlockSource, gain: np.float32 | None, sr: int, channels: int, ceiling_dbtp: float,
                  peak: float, path: Path) -> _Render:
    """:func:`limit` of ``source`` times ``gain``, its trims found by measuring passes."""
    from pedalboard import BrickwallLimiter

    from moodmix.engine.audio_io import AudioWriter
    from moodmix.engine.pedal_stream import BoardStream

    ceiling = 10.0 ** (ceiling_dbtp / 20.0)
    plain = _Render(gain, None, [], Levels(None, None, None, None))
    if peak <= ceiling:
        plain.levels, _ = measure_blocks(plain.blocks(source), sr, channels)
        return plain
    limiter = BoardStream(BrickwallLimiter(ceiling_db=ceiling_dbtp - LIMITER_MARGIN_DB, true_peak=True), sr,
                          channels)
    meter = LevelsMeter(sr, channels)
    with AudioWriter(path, sr, channels, format="wav", bit_depth="float") as writer:
        for block in plain.blocks(source):
            out = limiter.process(block)
            meter.add(out)
            writer.write(out)
        out = limiter.finish()
        meter.add(out)
        writer.write(out)
    result = _Render(gain, path, [], meter.finish())
    over = meter.true_peak
    for _ in range(3):  # as in limit(): measure, trim, measure again
        if over <= ceiling:
            break
        result.trims.append(np.float32(ceiling / over * 0.9995))
        result.levels, over = measure_blocks(result.blocks(source), sr, channels)
    return result


def _drop(render: _Render) -> None:
    if render.limited is not None:
        render.limited.unlink(missing_ok=True)


def _finish(render: _Render, source: BlockSource, sink: Callable[[np.ndarray], None], before: Levels,
            gain_db: float) -> Normalized:
    for block in render.blocks(source):
        sink(block)
    _drop(render)
    after = render.levels
    reduction = 0.0
    if before.true_peak_dbtp is not None and after.true_peak_dbtp is not None:
        reduction = max(0.0, before.true_peak_dbtp + gain_db - after.true_peak_dbtp)
    return Normalized(before, after, gain_db, reduction)
