"""An exported HTDemucs core run on arrays: what a separation calls once the model is exported.

:class:`CoreNet` is one HTDemucs: the spectrogram steps in numpy (:mod:`.demucs_spectrum`) around the
exported core, run by ONNX Runtime (:class:`OrtCore`) or OpenVINO (:class:`.demucs_openvino.OpenVinoCore`).
:class:`OnnxBag` is a bag of them with the bag's per-source weights, shaped like demucs' ``BagOfModels``
for the segment loop. What they need besides the graphs (:class:`ExportedNet`, :class:`ExportedModel`:
sources, rates, exact segment, STFT sizes, graph names) is read from the model once and then recorded
(:mod:`.recorded_runtime`), so building them needs neither torch nor the weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np


def _session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # From the second run on, a memory pattern asks the arena for one block for all intermediates, which
    # its chunks from the first run cannot hold: the arena grows by it (htdemucs: peak 2.16 GB, 1.58 without)
    options.enable_mem_pattern = False
    # Prepacking keeps a second, re-laid-out copy of the convolution and matmul weights: 78 MB more for
    # htdemucs, and no faster here (a forward 2.84-3.0 s with it, 2.87-3.1 s without)
    options.add_session_config_entry("session.disable_prepacking", "1")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OrtCore:
    """The exported core in an ONNX Runtime session: call with ``(mag, mix)`` arrays, get ``(spec, wave)``."""

    def __init__(self, path: Path, threads: int) -> None:
        self.session = _session(path, threads)

    def __call__(self, mag: np.ndarray, mix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        spec, wave = self.session.run(None, {"mag": mag, "mix": mix})
        return spec, wave


@dataclass(frozen=True)
class ExportedNet:
    """What running one exported HTDemucs needs besides its graph: read from the model once, then kept in a
    manifest (:mod:`.export_manifest`) so later processes need neither torch nor the weights."""

    sources: tuple[str, ...]
    samplerate: int
    audio_channels: int
    segment: Fraction  # the training segment (s): exact, since the graph's input length is fixed by it
    nfft: int
    hop_length: int
    graph: str  # the exported ``.onnx`` file's name in the cache folder

    @property
    def training_length(self) -> int:
        return int(self.segment * self.samplerate)

    @classmethod
    def of(cls, model: Any, graph: Path) -> ExportedNet:
        return cls(tuple(model.sources), int(model.samplerate), int(model.audio_channels),
                   Fraction(model.segment), int(model.nfft), int(model.hop_length), graph.name)

    def to_json(self) -> dict[str, Any]:
        return {"sources": list(self.sources), "samplerate": self.samplerate, "audio_channels": self.audio_channels,
                "segment": str(self.segment), "nfft": self.nfft, "hop_length": self.hop_length, "graph": self.graph}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ExportedNet:
        return cls(tuple(str(s) for s in doc["sources"]), int(doc["samplerate"]), int(doc["audio_channels"]),
                   Fraction(doc["segment"]), int(doc["nfft"]), int(doc["hop_length"]), str(doc["graph"]))


@dataclass(frozen=True)
class ExportedModel:
    """A demucs model (one HTDemucs or a bag of them) as its exported nets and the bag's per-source weights."""

    sources: tuple[str, ...]
    samplerate: int
    audio_channels: int
    nets: tuple[ExportedNet, ...]
    weights: tuple[tuple[float, ...], ...]

    @classmethod
    def of(cls, model: Any, graphs: list[Path]) -> ExportedModel:
        subs, weights = parts(model)
        nets = tuple(ExportedNet.of(sub, graph) for sub, graph in zip(subs, graphs, strict=True))
        return cls(tuple(model.sources), int(model.samplerate), int(model.audio_channels), nets,
                   tuple(tuple(w) for w in weights))

    def to_json(self) -> dict[str, Any]:
        return {"sources": list(self.sources), "samplerate": self.samplerate, "audio_channels": self.audio_channels,
                "nets": [net.to_json() for net in self.nets], "weights": [list(w) for w in self.weights]}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ExportedModel:
        return cls(tuple(str(s) for s in doc["sources"]), int(doc["samplerate"]), int(doc["audio_channels"]),
                   tuple(ExportedNet.from_json(net) for net in doc["nets"]),
                   tuple(tuple(float(v) for v in w) for w in doc["weights"]))


class CoreNet:
    """One HTDemucs on arrays: the spectrogram steps in numpy (:mod:`.demucs_spectrum`), the exported core
    in ``run_core`` (ONNX Runtime or OpenVINO). Called on ``(B, C, T)`` float32, gives ``(B, S, C, T)``."""

    takes_arrays = True  # the segment loop hands it numpy arrays (:func:`.demucs_stream.call_model`)

    def __init__(self, spec: ExportedNet, path: Path, run_core: Any) -> None:
        self.spec = spec
        self.sources = list(spec.sources)
        self.samplerate = spec.samplerate
        self.audio_channels = spec.audio_channels
        self.segment = spec.segment
        self.path = path
        self.run_core = run_core
        self.training_length = spec.training_length

    def __call__(self, mix: np.ndarray) -> np.ndarray:
        from moodmix.plugins.stems import demucs_spectrum as spectrum

        mix = np.asarray(mix, dtype=np.float32)
        length = mix.shape[-1]
        if length > self.training_length:
            raise ValueError(f"segment of {length} samples is longer than the model's {self.training_length}")
        mix = np.ascontiguousarray(np.pad(mix, ((0, 0), (0, 0), (0, self.training_length - length))))
        z = spectrum.spec(mix, self.spec.nfft, self.spec.hop_length)
        mag = np.ascontiguousarray(spectrum.magnitude(z))
        spec, wave = self.run_core(mag, mix)
        batch, sources = mix.shape[0], len(self.sources)
        x = spec.reshape(batch, sources, -1, mag.shape[2], mag.shape[3])
        xt = wave.reshape(batch, sources, -1, self.training_length)
        # one source at a time: the complex spectrogram and the inverse STFT's frames of all four sources
        # of a 7.8-s segment are 44 MB each
        out = np.empty((batch, sources, xt.shape[2], length), np.float32)
        for s in range(sources):
            wave_s = spectrum.ispec(spectrum.mask(x[:, s:s + 1]), self.spec.hop_length, self.training_length)
            out[:, s] = wave_s[:, 0, :, :length] + xt[:, s, :, :length]
        return out


class OnnxBag:
    """A demucs model with each HTDemucs's core on ONNX Runtime or OpenVINO (:class:`CoreNet`), shaped like
    the ``BagOfModels`` it replaces.

    ``models`` are the per-model runtimes (each callable on ``(B, C, T)`` arrays, padding to its training
    length like HTDemucs itself) and ``weights`` the bag's per-source weights, so a segment loop that
    walks a bag walks this the same way; calling the bag itself gives the weighted average.
    """

    takes_arrays = True

    def __init__(self, spec: ExportedModel, nets: list[CoreNet]) -> None:
        self.spec = spec
        self.models = nets
        self.weights = [list(w) for w in spec.weights]
        self.sources = list(spec.sources)
        self.samplerate = spec.samplerate
        self.audio_channels = spec.audio_channels
        self.segment = min(float(net.segment) for net in nets)

    def __call__(self, mix: np.ndarray) -> np.ndarray:
        total = None
        for net, weights in zip(self.models, self.weights, strict=True):
            out = net(mix) * np.asarray(weights, np.float32)[None, :, None, None]
            total = out if total is None else total + out
        sums = np.asarray([sum(w) for w in zip(*self.weights, strict=True)], np.float32)
        return total / sums[None, :, None, None]

    def valid_length(self, length: int) -> int:
        """What ``apply_model`` pads a segment to, with real neighbouring audio: the training length."""
        limit = min(net.training_length for net in self.models)
        if length > limit:
            raise ValueError(f"segment of {length} samples is longer than the model's {limit}")
        return limit


def parts(model: Any) -> tuple[list[Any], list[list[float]]]:
    subs = list(getattr(model, "models", [model]))
    weights = getattr(model, "weights", None) or [[1.0] * len(model.sources) for _ in subs]
    return subs, [[float(v) for v in w] for w in weights]
