"""HTDemucs' exported core on OpenVINO, in bfloat16 where the CPU computes bfloat16 natively.

On a CPU with AMX or AVX-512 BF16 units, OpenVINO runs the convolutions and the cross-domain
transformer of the ONNX graph that :mod:`.demucs_runtime` exports in bfloat16 with float32
accumulation: about twice ONNX Runtime's float32 speed on such a machine. bfloat16 keeps 8 bits of
mantissa, so whether it is accurate enough depends on the weights. Before a model runs in bfloat16 it
is **calibrated** once: a probe mix goes through eager float32 PyTorch and through OpenVINO, and the
lowest per-stem signal-to-noise ratio decides (:data:`MIN_SNR_DB`); below it the model runs in float32.
The verdict is kept beside the exported graph, keyed by the weights, the OpenVINO version and the CPU's
capabilities, so a worker calibrates a model once per machine.

The calibration, like the export, runs in a child process: it needs an eager float32 forward, whose
memory high-water mark a worker should not keep.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from moodmix.plugins.stems import calibration_verdict

#: Lowest per-stem SNR (dB) against eager float32 PyTorch for bfloat16 to be used: the issue's bar (40 dB)
#: with a margin, since the probe is not the user's music.
MIN_SNR_DB = 43.0
#: Bumped when the probe or the decision changes, so old verdicts are not reused.
CALIBRATION_VERSION = "1"


class OpenVinoUnavailable(RuntimeError):
    """OpenVINO cannot run here (not installed, no CPU device, compile failed)."""


def bf16_native() -> bool:
    """Whether OpenVINO's CPU plugin computes bfloat16 natively on this machine."""
    try:
        import openvino  # noqa: F401  (checked on each call: the capabilities are cached, the install may not be)
    except ImportError as exc:
        raise OpenVinoUnavailable("openvino is not installed") from exc
    return "BF16" in _capabilities()


@functools.cache
def _capabilities() -> tuple[str, ...]:
    """The CPU plugin's optimisation capabilities, read once per process (each read builds an ov.Core)."""
    try:
        import openvino as ov
    except ImportError as exc:
        raise OpenVinoUnavailable("openvino is not installed") from exc
    try:
        return tuple(str(c) for c in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
    except Exception as exc:  # no CPU plugin, unusual builds
        raise OpenVinoUnavailable(f"openvino has no CPU device: {exc}") from exc


class OpenVinoCore:
    """The exported core compiled for the CPU: call with ``(mag, mix)`` arrays, get ``(spec, wave)``."""

    def __init__(self, path: Path, threads: int, precision: str) -> None:
        import openvino as ov

        core = ov.Core()
        # compiled blobs are cached beside the graphs: later processes import instead of compiling (~2 s)
        core.set_property({"CACHE_DIR": str(path.parent / "openvino")})
        config = {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": precision,
                  "PERFORMANCE_HINT": "LATENCY"}
        try:
            self.compiled = core.compile_model(str(path), "CPU", config)
        except Exception as exc:
            raise OpenVinoUnavailable(f"openvino could not compile the graph: {exc}") from exc
        self.request = self.compiled.create_infer_request()
        self.outputs = list(self.compiled.outputs)
        self.precision = precision

    def __call__(self, mag: np.ndarray, mix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if mag.shape[0] != 1:  # the graph is compiled for one segment at a time
            parts = [self(mag[i:i + 1], mix[i:i + 1]) for i in range(mag.shape[0])]
            return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        result = self.request.infer({"mag": mag, "mix": mix})
        # the request reuses its output buffers on the next call: copy out
        spec, wave = (np.array(result[out], copy=True) for out in self.outputs)
        return spec, wave


@dataclass(frozen=True)
class Verdict:
    """Which precision a model runs in, and the calibration behind it."""

    precision: str  # "bf16" or "f32"
    snr_db: float | None  # lowest per-stem SNR of bfloat16 on the probe; None when bf16 was not tried
    why: str


def verdict_path(onnx_path: Path) -> Path:
    return onnx_path.with_suffix(".openvino.json")


def static_graph_path(onnx_path: Path) -> Path:
    """OpenVINO's own copy of the graph with the batch fixed at 1 (what the segment loop feeds): static
    shapes let it plan every intermediate once (faster, lower peak), and compiling from a file lets its
    blob cache skip reading the graph in later processes."""
    return onnx_path.with_suffix(".b1.xml")


def _verdict_key() -> str:
    import openvino as ov

    return f"{CALIBRATION_VERSION}|{ov.__version__}|{','.join(sorted(_capabilities()))}"


def _stored_snr(onnx_path: Path) -> float | None:
    return calibration_verdict.read_snr(verdict_path(onnx_path), _verdict_key())


def prepare(model: Any, onnx_path: Path, threads: int) -> tuple[Path, Verdict]:
    """The static graph to compile and the precision to run it in: bfloat16 when the CPU has it and the
    model's calibration clears :data:`MIN_SNR_DB`, else float32. What is missing is made in one child."""
    graph = static_graph_path(onnx_path)
    native = bf16_native()
    snr = _stored_snr(onnx_path) if native else None
    if not graph.exists() or (native and snr is None):
        measured = calibrate(model, onnx_path, threads, measure=native)
        if native:
            snr = measured
            calibration_verdict.write_snr(verdict_path(onnx_path), _verdict_key(), snr)
    if not native:
        return graph, Verdict("f32", None, "float32: no native bfloat16 on this CPU")
    return graph, _decide(float(snr))  # type: ignore[arg-type]


def stored(onnx_path: Path) -> tuple[Path, Verdict]:
    """What :func:`prepare` decided for ``onnx_path``, from the files it left (the static graph and, with
    native bfloat16, the calibration verdict): no model needed. Raises :class:`OpenVinoUnavailable` when
    something is missing or stale (another OpenVINO, another CPU), so the caller prepares it again."""
    graph = static_graph_path(onnx_path)
    if not graph.exists():
        raise OpenVinoUnavailable(f"no OpenVINO graph beside {onnx_path.name} yet")
    if not bf16_native():
        return graph, Verdict("f32", None, "float32: no native bfloat16 on this CPU")
    snr = _stored_snr(onnx_path)
    if snr is None:
        raise OpenVinoUnavailable(f"{onnx_path.name} has no bfloat16 calibration for this OpenVINO and CPU yet")
    return graph, _decide(snr)


def _decide(snr: float) -> Verdict:
    if snr >= MIN_SNR_DB:
        return Verdict("bf16", snr, f"bfloat16: {snr:.1f} dB against float32 on the calibration probe")
    return Verdict("f32", snr, f"float32: bfloat16 reached only {snr:.1f} dB on the calibration probe "
                               f"(needs {MIN_SNR_DB:.0f})")


def calibrate(model: Any, onnx_path: Path, threads: int, measure: bool = True) -> float:
    """In a child process: write the static graph if missing, then (``measure``) the lowest per-stem SNR
    (dB) of OpenVINO bfloat16 against eager float32 on the probe (``nan`` when not measured)."""
    import torch

    with tempfile.TemporaryDirectory(prefix="moodmix-calibrate-") as work:
        saved = Path(work) / "model.pt"
        args, kwargs = model._init_args_kwargs
        torch.save({"klass": type(model), "args": args, "kwargs": kwargs, "state": model.state_dict()}, saved)
        done = subprocess.run([sys.executable, "-m", __name__, str(saved), str(onnx_path), str(threads),
                               "measure" if measure else "graph"], capture_output=True, text=True)
    if done.returncode != 0:
        lines = (done.stderr or "").strip().splitlines()
        raise OpenVinoUnavailable(f"calibration failed: {lines[-1] if lines else f'exit code {done.returncode}'}")
    return float(done.stdout.strip().splitlines()[-1])


def write_static_graph(onnx_path: Path, batch_shapes: dict[str, list[int]]) -> Path:
    """Save the graph with ``batch_shapes`` as OpenVINO IR beside the ONNX file (atomically)."""
    import os

    import openvino as ov

    graph = static_graph_path(onnx_path)
    if graph.exists():
        return graph
    model = ov.Core().read_model(str(onnx_path))
    model.reshape(batch_shapes)
    tmp = graph.with_name(f"{graph.stem}.{os.getpid()}.tmp.xml")
    ov.save_model(model, str(tmp), compress_to_fp16=False)
    tmp.with_suffix(".bin").replace(graph.with_suffix(".bin"))
    tmp.replace(graph)
    return graph


def probe_mix(samplerate: int, frames: int, channels: int) -> np.ndarray:
    """A deterministic stand-in for music, normalised as demucs feeds it: a bass line, chords, a
    plucked melody, noise-burst drums; stereo through different pans. Unit variance."""
    rng = np.random.default_rng(20261206)
    t = np.arange(frames) / samplerate
    out = np.zeros((channels, frames))
    beat = 60 / 112
    for k, start in enumerate(np.arange(0, t[-1], beat / 2)):
        i = int(start * samplerate)
        n = min(frames - i, samplerate // 8)
        hit = rng.standard_normal(n) * np.exp(-np.arange(n) / 900)
        out[:, i:i + hit.size] += (0.8 if k % 2 == 0 else 0.3) * hit
    for k, start in enumerate(np.arange(0, t[-1], beat)):
        i, n = int(start * samplerate), int(beat * samplerate)
        n = min(n, frames - i)
        tt = np.arange(n) / samplerate
        bass = 55.0 * 2 ** ([0, 3, 5, 7][k % 4] / 12)
        chord = [220.0 * 2 ** (s / 12) for s in ([0, 4, 7], [5, 9, 12], [7, 11, 14], [3, 7, 10])[k % 4]]
        note = 440.0 * 2 ** (rng.integers(0, 12) / 12)
        env = np.exp(-tt * 3)
        out[:, i:i + n] += 0.6 * np.sin(2 * np.pi * bass * tt) * env
        pads = sum(np.sin(2 * np.pi * f * tt) for f in chord) * 0.15
        out[0, i:i + n] += pads
        out[-1, i:i + n] += 0.5 * pads + 0.4 * np.sign(np.sin(2 * np.pi * note * tt)) * np.exp(-tt * 8)
    out = (out - out.mean()) / out.std()
    return out.astype(np.float32)


def _calibrate_child(saved: Path, onnx_path: Path, threads: int, measure: bool) -> float:
    import torch

    from moodmix.plugins.stems import demucs_runtime, exported_net

    torch.set_num_threads(threads)
    package = torch.load(saved, weights_only=False)
    model = package["klass"](*package["args"], **package["kwargs"])
    model.load_state_dict(package["state"])
    model.eval()
    length = int(model.segment * model.samplerate)
    mix = torch.from_numpy(probe_mix(model.samplerate, length, model.audio_channels))[None]
    with torch.inference_mode():
        mag = model._magnitude(model._spec(mix))
        graph = write_static_graph(onnx_path, {"mag": list(mag.shape), "mix": list(mix.shape)})
        if not measure:
            return float("nan")
        reference = model(mix)[0].numpy()
        spec = exported_net.ExportedNet.of(model, onnx_path)
        net = exported_net.CoreNet(spec, graph, OpenVinoCore(graph, threads, "bf16"))
        estimate = net(mix.numpy())[0]
    return min(demucs_runtime.snr_db(reference[k], estimate[k]) for k in range(reference.shape[0]))


if __name__ == "__main__":  # ``python -m moodmix.plugins.stems.demucs_openvino MODEL.pt GRAPH.onnx N measure|graph``
    print(_calibrate_child(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "measure"))
