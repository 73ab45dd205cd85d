"""Faster inference for HTDemucs: the network between the STFT and the iSTFT on ONNX Runtime.

A loaded demucs model (an ``HTDemucs`` or a ``BagOfModels`` of them) is replaced by an
:class:`~.exported_net.OnnxBag`: the attributes a segment loop reads (``sources``, ``samplerate``,
``audio_channels``, ``segment``, and a bag's ``models``/``weights``), each model called as
``model(batch)`` on ``(B, C, T)`` arrays returning ``(B, S, C, T)``. The STFT, mask and iSTFT
(complex tensors do not export) run in numpy (:mod:`.demucs_spectrum`); only the
convolutional/transformer core runs in ONNX Runtime or OpenVINO, exported once per model signature
and cached on disk under a hash of its weights. What the nets need besides the graphs is a
:class:`~.exported_net.ExportedModel`, which :mod:`.recorded_runtime` keeps so that later processes
need no torch.
On 2 CPU cores the core runs about twice as fast as eager PyTorch and agrees with it to ~90 dB.

Engines: ``torch`` (eager PyTorch, the reference), ``onnx`` (ONNX Runtime; the transformer's linear
layers in int8 where :mod:`.onnx_int8`'s calibration allows), ``openvino`` (:mod:`.demucs_openvino`),
``auto`` (OpenVINO where it runs in bfloat16, else ``onnx`` when it builds and runs, else ``torch``,
the reason kept in ``why``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from moodmix.plugins.stems import exported_net

log = logging.getLogger(__name__)

Engine = Literal["auto", "torch", "onnx", "openvino"]
ENGINES: tuple[str, ...] = ("auto", "torch", "onnx", "openvino")
#: Bumped when the exported graph changes, so stale cache files are not reused.
EXPORT_VERSION = "2"  # 2: attention exported a block of queries at a time


class EngineUnavailable(RuntimeError):
    """The asked engine cannot run this model here (no onnxruntime, export failed, not an HTDemucs)."""


def _core_module(model: Any) -> Any:
    """The part of ``HTDemucs.forward`` between ``_magnitude`` and ``_mask``, as a module to export."""
    import torch
    from einops import rearrange

    class Core(torch.nn.Module):
        def __init__(self, net: Any) -> None:
            super().__init__()
            self.net = net

        def forward(self, mag: torch.Tensor, mix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            m = self.net
            x = mag
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            std = x.std(dim=(1, 2, 3), keepdim=True)
            x = (x - mean) / (1e-5 + std)
            meant = mix.mean(dim=(1, 2), keepdim=True)
            stdt = mix.std(dim=(1, 2), keepdim=True)
            xt = (mix - meant) / (1e-5 + stdt)
            saved, saved_t, lengths, lengths_t = [], [], [], []
            for idx, encode in enumerate(m.encoder):
                lengths.append(x.shape[-1])
                inject = None
                if idx < len(m.tencoder):
                    lengths_t.append(xt.shape[-1])
                    tenc = m.tencoder[idx]
                    xt = tenc(xt)
                    if not tenc.empty:
                        saved_t.append(xt)
                    else:
                        inject = xt
                x = encode(x, inject)
                if idx == 0 and m.freq_emb is not None:
                    frs = torch.arange(x.shape[-2], device=x.device)
                    emb = m.freq_emb(frs).t()[None, :, :, None].expand_as(x)
                    x = x + m.freq_emb_scale * emb
                saved.append(x)
            if m.crosstransformer:
                if m.bottom_channels:
                    f = x.shape[2]
                    x = rearrange(x, "b c f t-> b c (f t)")
                    x = m.channel_upsampler(x)
                    x = rearrange(x, "b c (f t)-> b c f t", f=f)
                    xt = m.channel_upsampler_t(xt)
                x, xt = m.crosstransformer(x, xt)
                if m.bottom_channels:
                    x = rearrange(x, "b c f t-> b c (f t)")
                    x = m.channel_downsampler(x)
                    x = rearrange(x, "b c (f t)-> b c f t", f=f)
                    xt = m.channel_downsampler_t(xt)
            for idx, decode in enumerate(m.decoder):
                x, pre = decode(x, saved.pop(-1), lengths.pop(-1))
                offset = m.depth - len(m.tdecoder)
                if idx >= offset:
                    tdec = m.tdecoder[idx - offset]
                    length_t = lengths_t.pop(-1)
                    if tdec.empty:
                        xt, _ = tdec(pre[:, :, 0], None, length_t)
                    else:
                        xt, _ = tdec(xt, saved_t.pop(-1), length_t)
            return x * std + mean, xt * stdt + meant

    return Core(model).eval()


def is_htdemucs(model: Any) -> bool:
    from demucs.htdemucs import HTDemucs

    return isinstance(model, HTDemucs) and model.cac and model.use_train_segment


def weights_hash(model: Any) -> str:
    """A hash of the architecture arguments and every weight: the export cache key."""
    digest = hashlib.sha256(f"{EXPORT_VERSION}|{type(model).__name__}|".encode())
    args, kwargs = getattr(model, "_init_args_kwargs", ((), {}))
    digest.update(repr((args, sorted(kwargs.items()))).encode())
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:24]


def default_cache_dir() -> Path:
    """Where exported graphs live unless the caller says: ``$MOODMIX_ONNX_CACHE`` or ~/.cache/moodmix/onnx."""
    env = os.environ.get("MOODMIX_ONNX_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "moodmix" / "onnx"


def export_core(model: Any, cache_dir: Path) -> Path:
    """The core's ``.onnx`` file for ``model``, exported on first use (written atomically).

    The export runs in a child process: tracing htdemucs peaks near 1.4 GB (6 GB when it traced with
    autograd on), more than the loaded model and its session take, and a worker should not keep that
    high-water mark.
    """
    import subprocess
    import sys
    import tempfile

    import torch

    training_length = int(model.segment * model.samplerate)
    path = cache_dir / f"htdemucs-{weights_hash(model)}-{training_length}.onnx"
    if path.exists():
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    sweep_unfinished(cache_dir)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with tempfile.TemporaryDirectory(prefix="moodmix-export-") as work:
        saved = Path(work) / "model.pt"
        args, kwargs = model._init_args_kwargs  # the arguments and weights only: a model can carry sessions
        torch.save({"klass": type(model), "args": args, "kwargs": kwargs, "state": model.state_dict()}, saved)
        done = subprocess.run([sys.executable, "-m", __name__, str(saved), str(tmp)], capture_output=True,
                              text=True)
    if done.returncode != 0 or not tmp.exists():
        tmp.unlink(missing_ok=True)
        lines = (done.stderr or "").strip().splitlines()
        raise EngineUnavailable(f"onnx export failed: {lines[-1] if lines else f'exit code {done.returncode}'}")
    tmp.replace(path)
    return path


#: An unfinished file this old is removed even if its writer's process id is alive (reused, or another host).
UNFINISHED_MAX_AGE_S = 86400.0


def sweep_unfinished(cache_dir: Path) -> list[Path]:
    """Remove exports that a killed process left half-written (``<graph>.<pid>.tmp``, and OpenVINO's
    ``<graph>.<pid>.tmp.xml``/``.bin``): each is the size of a model, and nothing would reuse it."""
    removed = []
    now = time.time()
    for leftover in cache_dir.glob("*.tmp*"):
        parts = leftover.name.split(".")
        pid = next((int(part) for part in reversed(parts) if part.isdigit()), None)
        try:
            age = now - leftover.stat().st_mtime
        except FileNotFoundError:
            continue
        if pid is None:
            unfinished = age > 3600.0  # a name without its writer's id: only when surely abandoned
        else:
            unfinished = pid != os.getpid() and (not _alive(pid) or age > UNFINISHED_MAX_AGE_S)
        if not unfinished:
            continue
        leftover.unlink(missing_ok=True)
        removed.append(leftover)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _export(model: Any, target: Path) -> None:
    """Trace the core of ``model`` to ``target`` (in the child process of :func:`export_core`)."""
    import torch

    from moodmix.plugins.stems.chunked_attention import chunk_attention

    training_length = int(model.segment * model.samplerate)
    mix = torch.zeros(1, model.audio_channels, training_length)
    mag = model._magnitude(model._spec(mix))
    chunk_attention(model)  # this process's own copy of the model: the score matrices are never whole
    # Every nn.MultiheadAttention is replaced above, so its fused fast path (no ONNX export), which grad
    # used to keep off, cannot run; without grad the trace records no autograd graph.
    with torch.inference_mode(False), torch.no_grad():
        torch.onnx.export(_core_module(model.eval()), (mag, mix), str(target), input_names=["mag", "mix"],
                          output_names=["spec", "wave"], opset_version=17, dynamo=False,
                          dynamic_axes={"mag": {0: "batch"}, "mix": {0: "batch"},
                                        "spec": {0: "batch"}, "wave": {0: "batch"}})


@dataclass(frozen=True)
class Runtime:
    """What to call (``model``: the demucs model itself, or an :class:`~.exported_net.OnnxBag`) and which
    engine it is."""

    model: Any
    engine: str
    why: str

    def describe(self) -> dict[str, str]:
        return {"engine": self.engine, "engine_reason": self.why}


def _threads() -> int:
    """Threads for the exported engines: ``OMP_NUM_THREADS`` when set (as torch reads it), else the CPUs this
    process may run on; read without torch, so a process that never imports it picks the same."""
    configured = os.environ.get("OMP_NUM_THREADS", "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def wrap(model: Any, engine: str = "auto", cache_dir: Path | None = None, device: str = "cpu",
         int8: bool = True) -> Runtime:
    """``model`` behind ``engine``; ``auto`` tries OpenVINO (only where it runs in bfloat16), then ONNX
    Runtime, then falls back to eager torch, saying why. ``int8``: ONNX Runtime may run the transformer's
    linear layers in int8 where their calibration allows (:mod:`.onnx_int8`)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown demucs engine {engine!r} (one of {', '.join(ENGINES)})")
    if engine == "torch":
        return Runtime(model, "torch", "torch requested")
    if engine == "auto" and not str(device).startswith("cpu"):
        return Runtime(model, "torch", f"torch on {device} (the onnx engine runs on CPU)")
    cache = cache_dir or default_cache_dir()
    skipped: list[str] = []
    for candidate in ("openvino", "onnx") if engine == "auto" else (engine,):
        try:
            spec, nets, why = _core_nets(candidate, model, cache, device, bf16_only=engine == "auto", int8=int8)
        except Exception as exc:  # export, calibration and session errors come in many types
            if engine != "auto":
                raise EngineUnavailable(f"{candidate} engine unavailable: {short(exc)}") from exc
            skipped.append(f"{candidate} unavailable ({short(exc)})")
            continue
        if engine != "auto":
            why = f"{candidate} requested; {why}"
        return Runtime(exported_net.OnnxBag(spec, nets), candidate, "; ".join([why, *skipped]))
    log.warning("demucs: no faster engine, using torch: %s", "; ".join(skipped))
    return Runtime(model, "torch", "; ".join(skipped))


def _core_nets(engine: str, model: Any, cache_dir: Path, device: str,
               bf16_only: bool, int8: bool = True
               ) -> tuple[exported_net.ExportedModel, list[exported_net.CoreNet], str]:
    """Each HTDemucs of ``model`` exported (and, for OpenVINO, calibrated), its core on ``engine``, and why."""
    _check_engine(engine, bf16_only)
    if not str(device).startswith("cpu"):
        raise EngineUnavailable(f"the {engine} engine runs on CPU, not {device}")
    subs, _ = exported_net.parts(model)
    bad = [type(s).__name__ for s in subs if not is_htdemucs(s)]
    if bad:
        raise EngineUnavailable(f"only HTDemucs exports, not {', '.join(bad)}")
    paths = [export_core(sub, cache_dir) for sub in subs]
    if engine == "openvino":
        from moodmix.plugins.stems import demucs_openvino

        for sub, path in zip(subs, paths, strict=True):
            demucs_openvino.prepare(sub, path, _threads())  # calibrated once, the verdict kept beside the graph
    spec = exported_net.ExportedModel.of(model, paths)
    nets, why = nets_for(spec, cache_dir, engine, bf16_only, int8)
    return spec, nets, why


def _check_engine(engine: str, bf16_only: bool) -> None:
    """Fail early and plainly when ``engine``'s library is missing (or, for ``auto``, lacks bfloat16)."""
    if engine == "onnx":
        try:
            import onnxruntime  # noqa: F401
        except ImportError as exc:
            raise EngineUnavailable(f"onnxruntime is not installed ({exc})") from exc
        return
    from moodmix.plugins.stems import demucs_openvino

    try:
        native = demucs_openvino.bf16_native()
    except demucs_openvino.OpenVinoUnavailable as exc:  # not installed, no CPU device
        raise EngineUnavailable(str(exc)) from exc
    if bf16_only and not native:
        raise EngineUnavailable("no native bfloat16 on this CPU")


def nets_for(spec: exported_net.ExportedModel, cache_dir: Path, engine: str, bf16_only: bool,
             int8: bool = True) -> tuple[list[exported_net.CoreNet], str]:
    """The nets of ``spec`` on ``engine`` from graphs already in ``cache_dir`` (and, for OpenVINO, their stored
    calibration): no torch and no weights. Raises :class:`EngineUnavailable` for what is missing. ONNX
    Runtime's int8 calibration needs neither, so it is made here when missing."""
    _check_engine(engine, bf16_only)
    threads = _threads()
    nets, reasons = [], []
    for net in spec.nets:
        path = cache_dir / net.graph
        if not path.exists():
            raise EngineUnavailable(f"the exported graph {net.graph} is not in {cache_dir}")
        if engine == "onnx":
            graph, why = _onnx_graph(path, net, threads, int8)
            nets.append(exported_net.CoreNet(net, graph, exported_net.OrtCore(graph, threads)))
            reasons.append(f"onnx runtime, {why}")
            continue
        from moodmix.plugins.stems import demucs_openvino

        graph, verdict = demucs_openvino.stored(path)
        if bf16_only and verdict.precision != "bf16":
            raise EngineUnavailable(verdict.why)
        core = demucs_openvino.OpenVinoCore(graph, threads, verdict.precision)
        nets.append(exported_net.CoreNet(net, graph, core))
        reasons.append(f"openvino {verdict.why}")
    return nets, "; ".join(dict.fromkeys(reasons))


def runtime_for(model: Any, engine: str = "auto", cache_dir: Path | None = None, device: str = "cpu",
                int8: bool = True) -> Runtime:
    """The runtime for a loaded ``model``, built once per (engine, cache folder, device), kept on the model."""
    import random

    from moodmix.plugins.stems import weight_release

    key = (engine, str(cache_dir), str(device), int8)
    runtimes = model.__dict__.setdefault("_moodmix_runtimes", {})
    if key not in runtimes:
        weight_release.restore(model)  # torch, or an export, needs the weights an exported engine let go
        # the export draws from ``random``; demucs' shifts draw from it too, and a seeded run must not move
        state = random.getstate()
        try:
            runtimes[key] = wrap(model, engine, cache_dir, device, int8)
        finally:
            random.setstate(state)
        if runtimes[key].engine != "torch":
            for stale in [k for k, runtime in runtimes.items() if runtime.engine == "torch"]:
                del runtimes[stale]  # it would call the released model: built again (and reloaded) if asked
            weight_release.release(model)
    return runtimes[key]


def _onnx_graph(path: Path, net: exported_net.ExportedNet, threads: int, int8: bool) -> tuple[Path, str]:
    """The graph ONNX Runtime runs for ``path``: its int8 variant where allowed and calibrated to pass."""
    if not int8:
        return path, "float32 (int8 off in the settings)"
    from moodmix.plugins.stems import onnx_int8

    try:
        verdict = onnx_int8.prepare(path, net.to_json(), threads)
    except Exception as exc:  # no quantisation tools, a failed child: float32 still runs
        return path, f"float32 ({short(exc)})"
    return (onnx_int8.int8_graph_path(path) if verdict.use_int8 else path), verdict.why


def short(exc: BaseException) -> str:
    """An exception in one line of at most 200 characters, for an engine's reason."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 200 else text[:197] + "..."


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Signal-to-noise ratio of ``estimate`` against ``reference`` in dB (inf when identical)."""
    noise = float(np.sum((np.asarray(reference, np.float64) - estimate) ** 2))
    signal = float(np.sum(np.asarray(reference, np.float64) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(max(signal, 1e-30) / noise)


if __name__ == "__main__":  # the export child: ``python -m moodmix.plugins.stems.demucs_runtime MODEL.pt OUT.onnx``
    import sys
    import warnings

    import torch

    warnings.filterwarnings("ignore")  # tracer warnings about htdemucs' shape asserts
    package = torch.load(sys.argv[1], weights_only=False)
    net = package["klass"](*package["args"], **package["kwargs"])
    net.load_state_dict(package["state"])
    _export(net, Path(sys.argv[2]))
