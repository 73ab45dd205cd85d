"""Demucs separation on arrays, shaped like demucs' own ``api.Separator`` but safe for workers.

Differences from ``demucs.api``: audio arrives already decoded and validated (demucs'
reader panics on odd WAVs), models come from the process-wide cache and are found on
local disk only (see :mod:`model_locator`) unless the ``model_download`` policy lets this
process pull a known model first (:mod:`moodmix.engine.model_policy`), and progress is reported as a fraction
counted from the segments demucs actually finishes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from moodmix.engine import memory
from moodmix.engine.audio_io import AudioWriter, read_blocks, resample, to_channels
from moodmix.plugins.stems import (
    demucs_runtime,
    exported_net,
    model_cache,
    model_locator,
    recorded_runtime,
    weight_release,
)

Progress = Callable[[float, str | None], None]


class WeightsMissing(model_locator.LoadModelError):
    """No local weights for the requested model (and the download policy did not fetch them)."""


def missing_message(name: str, model_dir: str | None) -> str:
    """Why ``name`` cannot run here and what to do: the pull command for a known model."""
    from moodmix.engine.model_policy import pull_command
    from moodmix.plugins.stems.known_models import spec_for

    spec = spec_for(name)
    fix = (f"run `{pull_command(spec)}`" if spec is not None
           else "put its files in the model folder (MOODMIX_MODEL_DIR)")
    return (f"no local weights for demucs model {name!r} (looked in {model_locator.searched_places(model_dir)}); "
            f"{fix}")


def resolve_device(requested: str | None) -> tuple[str, str]:
    """``(device, why)``: CUDA when asked for (or ``auto``) and present, else CPU. Torch is imported only
    where a GPU driver shows: a CPU worker running an exported engine never imports it."""
    from moodmix.engine.config import gpu_driver_visible

    requested = (requested or "auto").lower()
    if requested == "cpu":
        return "cpu", "cpu requested"
    if not gpu_driver_visible():
        has_cuda = False
    else:
        import torch

        has_cuda = torch.cuda.is_available()
    if requested.startswith("cuda"):
        return (requested, "cuda requested") if has_cuda else ("cpu", "cuda requested but not available")
    if requested == "auto":
        return ("cuda", "cuda available") if has_cuda else ("cpu", "no cuda device")
    return requested, f"{requested} requested"


def load_model(name: str, device: str, model_dir: str | None, settings: Any = None) -> tuple[Any, bool]:
    """The cached model for ``(name, device)``; loads it from local files on first use.

    With ``settings``, a known model that is missing is pulled first when ``model_download``
    allows it in this process (``auto``, or ``ask`` with someone at the terminal).
    """

    def loader() -> Any:
        location = model_locator.locate(name, model_dir)
        if location is None and settings is not None and fetch(name, settings) is not None:
            location = model_locator.locate(name, model_dir)
        if location is None:
            raise WeightsMissing(missing_message(name, model_dir))
        model = model_locator.load(location).to(device)
        weight_release.set_reload(model, lambda: model_locator.load(location).to(device))
        model.__dict__[recorded_runtime.LOCATION_ATTR] = location  # its export is recorded for later workers
        return model

    return model_cache.get_or_load(name, device, loader)


def fetch(name: str, settings: Any) -> Any:
    """Pull the known model ``name`` if the download policy allows it here; its folder or ``None``."""
    from moodmix.engine.model_policy import fetch_if_allowed
    from moodmix.plugins.stems.known_models import spec_for

    spec = spec_for(name)
    return fetch_if_allowed(spec, settings) if spec is not None else None


def weights_record(name: str, model_dir: str | None) -> dict[str, Any]:
    """What a result says about the weights: where they came from, the files, revision and licence."""
    from moodmix.plugins.stems.known_models import spec_for

    location = model_locator.locate(name, model_dir)
    spec = spec_for(name)
    folder = location.files[0].parent if location is not None and location.files else None
    record = spec.record(folder) if spec is not None else {"name": name, "licence": "unknown (not a known model)"}
    if location is not None:
        record.update(source=location.kind, files=[f.name for f in location.files])
    return record


def _submodels(model: Any) -> list[Any]:
    return list(getattr(model, "models", [model]))


def max_segment(model: Any) -> float | None:
    """The longest segment (s) the model accepts: HTDemucs cannot run past its training length."""
    if isinstance(model, exported_net.OnnxBag):  # exported nets are HTDemucs, each with its training length
        return min(float(net.segment) for net in model.models)
    from demucs.htdemucs import HTDemucs

    limits = [float(m.segment) for m in _submodels(model) if isinstance(m, HTDemucs)]
    return min(limits) if limits else None


def count_segments(model: Any, frames: int, segment: float | None, overlap: float, shifts: int) -> int:
    """How many segment passes ``apply_model`` makes (an upper bound when shifts pad the input)."""
    total = 0
    for sub in _submodels(model):
        seg_len = int(sub.samplerate * float(segment if segment is not None else sub.segment))
        stride = max(1, int((1 - overlap) * seg_len))
        length = frames + (int(0.5 * sub.samplerate) if shifts else 0)
        total += max(1, shifts) * math.ceil(length / stride)
    return max(1, total)


#: Engines whose CPU runs fix the process's heap thresholds (:func:`moodmix.engine.memory.bound_heap`): eager
#: torch frees and reallocates ~8.6 GB of 1-60 MiB tensors per htdemucs forward, and glibc's dynamic mmap
#: threshold keeps ~350-450 MB of them resident on top of what is live (peak 1.2-1.27 GB against 0.86 GB
#: bounded, without the track). The price is page faults: about 40% more CPU (system time) per forward.
#: ONNX Runtime and OpenVINO keep their intermediates in their own arenas, but the STFT, mask and iSTFT
#: around them are torch: bounded, one segment's peak is 60 MB (onnx) and 100 MB (openvino, float32)
#: lower, at no measurable CPU cost (5.2-5.8 s against 5.4-5.5 s per forward on onnx; AMD, 2 cores).
BOUND_HEAP_ENGINES: tuple[str, ...] = ("torch", "onnx", "openvino")


class DemucsSeparator:
    """Separate ``(channels, frames)`` arrays with a Demucs model; returns one array per source."""

    def __init__(self, model: str = "htdemucs", *, device: str = "cpu", segment: float | None = None,
                 overlap: float = 0.25, shifts: int = 1, model_dir: str | None = None,
                 engine: str = "auto", onnx_cache: str | None = None, int8: bool = True) -> None:
        self.model_name = model
        self.device = device
        self.segment = segment
        self.overlap = overlap
        self.shifts = shifts
        self.model_dir = model_dir or None
        self.loaded_now = False
        self.used_segment: float | None = None
        self.engine = engine
        self.onnx_cache = onnx_cache or None
        self.int8 = int8
        #: Which engine ran and why (``engine``, ``engine_reason``), once the model is built.
        self.engine_record: dict[str, str] = {}
        self._runtime: demucs_runtime.Runtime | None = None

    @property
    def model(self) -> Any:
        """The model behind the chosen engine (:mod:`demucs_runtime`): call it on ``(B, C, T)``. Exported
        graphs recorded for the model's files run without loading it (or torch); else it is loaded (once
        per process) and, on an exported engine, its export recorded for the next process."""
        if self._runtime is None:
            self._runtime = self._build_runtime()
        runtime = self._runtime
        self.engine_record = runtime.describe()
        if runtime.engine in BOUND_HEAP_ENGINES and str(self.device).startswith("cpu"):
            memory.bound_heap()
        return runtime.model

    def _build_runtime(self) -> demucs_runtime.Runtime:
        cache = Path(self.onnx_cache) if self.onnx_cache else demucs_runtime.default_cache_dir()
        if model_cache.get(self.model_name, self.device) is None:  # a model already in memory is used as it is
            runtime = recorded_runtime.runtime(self.model_name, self.model_dir, self.engine, cache, self.device,
                                               self.int8)
            if runtime is not None:
                return runtime
        model, loaded = load_model(self.model_name, self.device, self.model_dir)
        self.loaded_now = self.loaded_now or loaded
        runtime = demucs_runtime.runtime_for(model, self.engine, cache, self.device, self.int8)
        recorded_runtime.record(self.model_name, model, runtime, cache)
        return runtime

    @property
    def sources(self) -> list[str]:
        return list(self.model.sources)

    def separate(self, audio: np.ndarray, sr: int, progress: Progress | None = None) -> dict[str, np.ndarray]:
        """Sources at the input's sample rate and channel count, each ``(channels, frames)``."""
        parts: dict[str, list[np.ndarray]] = {}
        for _, block in self.separate_blocks(audio, sr, progress):
            for name, part in block.items():
                parts.setdefault(name, []).append(part)
        return {name: np.concatenate(p, axis=1) for name, p in parts.items()}

    def separate_blocks(self, audio: np.ndarray, sr: int,
                        progress: Progress | None = None) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """``(start frame, sources)`` for consecutive finished stretches of the track, as
        :mod:`.demucs_stream` finishes them: the sources are never all in memory at once."""
        model = self.model
        channels, frames = audio.shape
        if not np.any(audio):
            yield 0, {name: np.zeros_like(audio) for name in model.sources}
            return
        mix = resample(to_channels(audio, model.audio_channels), sr, model.samplerate)
        length = mix.shape[-1]
        mean, std = mix_stats(mix)
        read = _normalised_reader(lambda lo, hi: mix[:, lo:hi], mix.shape[0], length, mean, std)
        yield from self._stream(model, read, length, mean, std, sr, channels, frames, progress)

    def spool(self, audio: np.ndarray, sr: int, path: Path) -> Spooled:
        """Write the decoded mix as it is to the float WAV ``path``, for :meth:`separate_spooled`, without
        loading the model: the caller lets go of the decoded track (404 MB for 20 minutes of stereo)
        before the model and its engine take their memory, so the two are never held together."""
        channels, frames = audio.shape
        silent = not np.any(audio)
        if not silent:
            with AudioWriter(path, sr, channels, format="wav", bit_depth="float") as out:
                for start in range(0, frames, STATS_BLOCK):  # a write of it all makes whole-track temporaries
                    out.write(audio[:, start:start + STATS_BLOCK])
        return Spooled(Path(path), sr, int(channels), int(frames), silent)

    def _conform(self, model: Any, spooled: Spooled) -> Path:
        """The spooled mix at the model's rate and channel count: the spool itself when it already is (44.1
        kHz stereo, the usual case); channels alone are converted block by block; a new rate is resampled
        whole, as :meth:`separate_blocks` does, so that the samples are the same to the bit."""
        rate, channels = int(model.samplerate), int(model.audio_channels)
        if spooled.sr == rate and spooled.channels == channels:
            return spooled.path
        target = spooled.path.with_name(f"{spooled.path.stem}.model.wav")
        with AudioWriter(target, rate, channels, format="wav", bit_depth="float") as out:
            if spooled.sr == rate:
                for block in read_blocks(spooled.path, block=STATS_BLOCK):
                    out.write(to_channels(block, channels))
            else:
                whole = next(read_blocks(spooled.path, block=spooled.frames))  # one read, no block copies
                mix = resample(to_channels(whole, channels), spooled.sr, rate)
                del whole
                for start in range(0, mix.shape[1], STATS_BLOCK):
                    out.write(mix[:, start:start + STATS_BLOCK])
        return target

    def separate_spooled(self, spooled: Spooled,
                         progress: Progress | None = None) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """:meth:`separate_blocks` on a mix :meth:`spool` wrote, read segment by segment from its file
        (the same samples, so the same output to the bit)."""
        import soundfile as sf

        model = self.model
        if spooled.silent:
            yield 0, {name: np.zeros((spooled.channels, spooled.frames), np.float32) for name in model.sources}
            return
        path = self._conform(model, spooled)
        try:
            mean, std = _stats(read_blocks(path, block=STATS_BLOCK))
            with sf.SoundFile(str(path)) as fh:
                length = fh.frames

                def frames_at(lo: int, hi: int) -> np.ndarray:
                    fh.seek(lo)
                    return fh.read(hi - lo, dtype="float32", always_2d=True).T

                read = _normalised_reader(frames_at, fh.channels, length, mean, std)
                yield from self._stream(model, read, length, mean, std, spooled.sr, spooled.channels,
                                        spooled.frames, progress)
        finally:
            if path != spooled.path:
                path.unlink(missing_ok=True)

    def _stream(self, model: Any, read: Callable[[int, int], np.ndarray], length: int, mean: float, std: float,
                sr: int, channels: int, frames: int,
                progress: Progress | None) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        from moodmix.plugins.stems.demucs_stream import count_segments as segments_of
        from moodmix.plugins.stems.demucs_stream import stream_sources

        segment = self.segment
        limit = max_segment(model)
        if segment is not None and limit is not None and segment > limit:
            segment = limit
        self.used_segment = segment
        total = segments_of(model, length, segment, self.overlap, self.shifts)
        done = 0

        def on_segment() -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(min(done / total, 1.0), f"demucs segment {min(done, total)}/{total}")

        back = _BackToInput(list(model.sources), model.samplerate, model.audio_channels, sr, channels, frames)
        for block in stream_sources(model, read, length, segment=segment, overlap=self.overlap,
                                    shifts=self.shifts, on_segment=on_segment):
            estimates = block[0] * np.float32(std) + np.float32(mean)  # float32, as torch's mul_/add_ did
            yield from back.push(estimates)
        yield from back.push(None)


def _normalised_reader(frames_at: Callable[[int, int], np.ndarray], channels: int, length: int, mean: float,
                       std: float) -> Callable[[int, int], np.ndarray]:
    """The segment loop's ``read(start, n)``: the mix over ``start..start+n`` normalised, zeros outside the
    track; ``frames_at(lo, hi)`` gives the mix's ``(channels, hi - lo)`` samples (from an array or a file)."""

    def read(start: int, n: int) -> np.ndarray:
        out = np.zeros((channels, n), np.float32)
        lo, hi = max(0, start), min(length, start + n)
        if hi > lo:
            out[:, lo - start:hi - start] = (frames_at(lo, hi) - mean) / std
        return out

    return read


@dataclass(frozen=True)
class Spooled:
    """A mix :meth:`DemucsSeparator.spool` wrote: its file, and the input's rate, channels and length."""

    path: Path
    sr: int
    channels: int
    frames: int
    silent: bool


#: Frames per block of :func:`mix_stats`' sums (the block boundaries fix the float rounding).
STATS_BLOCK = 1 << 20


def mix_stats(mix: np.ndarray, block: int = STATS_BLOCK) -> tuple[float, float]:
    """Mean and standard deviation of the channels' mean, a block at a time (no mono copy of the track)."""
    return _stats(mix[:, start:start + block] for start in range(0, mix.shape[1], block))


def _stats(blocks: Iterator[np.ndarray]) -> tuple[float, float]:
    total = squares = 0.0
    n = 0
    for part in blocks:
        ref = part.mean(axis=0, dtype=np.float64)
        total += float(ref.sum())
        squares += float(np.dot(ref, ref))
        n += part.shape[1]
    n = max(1, n)
    mean = total / n
    std = float(np.sqrt(max(0.0, squares / n - mean * mean)))
    return mean, std or 1.0


class _BackToInput:
    """Model-rate source blocks back to the input's rate (streamed soxr), channel count and length."""

    def __init__(self, names: list[str], model_sr: int, model_channels: int, sr: int, channels: int,
                 frames: int) -> None:
        self.names, self.channels, self.frames, self.sent = names, channels, frames, 0
        self.model_channels = model_channels
        self.resamplers: dict[str, Any] = {}
        if model_sr != sr:
            import soxr

            self.resamplers = {n: soxr.ResampleStream(model_sr, sr, model_channels, dtype="float32", quality="HQ")
                               for n in names}

    def push(self, estimates: np.ndarray | None) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """Convert one block (``None``: the end, flush and pad to the input's length)."""
        last = estimates is None
        block: dict[str, np.ndarray] = {}
        for k, name in enumerate(self.names):
            if self.resamplers:
                part = self._resample(name, None if last else estimates[k], last)
            elif last:
                part = np.zeros((self.channels, 0), np.float32)
            else:
                part = estimates[k]
            block[name] = to_channels(part, self.channels).astype(np.float32, copy=False)
        n = min(block[self.names[0]].shape[1], self.frames - self.sent)
        if last:
            n = self.frames - self.sent
        if n <= 0:
            return
        out = {}
        for name, part in block.items():
            part = part[:, :n]
            if part.shape[1] < n:
                part = np.pad(part, ((0, 0), (0, n - part.shape[1])))
            out[name] = part
        yield self.sent, out
        self.sent += n

    def _resample(self, name: str, src: np.ndarray | None, last: bool) -> np.ndarray:
        src = np.zeros((0, self.model_channels), np.float32) if last else np.ascontiguousarray(src.T)
        return np.asarray(self.resamplers[name].resample_chunk(src, last=last), np.float32).T
