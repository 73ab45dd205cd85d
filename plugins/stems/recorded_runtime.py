"""A demucs engine built from a recorded export: the worker path that never imports torch.

The first job on a machine loads a model, exports it (:mod:`.demucs_runtime`) and calls :func:`record`;
from then on :func:`runtime` finds the record from the model's files (:mod:`.export_manifest`) and builds
the same engine from the graphs alone: no torch import (about 190 MB resident), no weights loaded, no
load time. Anything the record cannot decide (a bfloat16 CPU that has not calibrated the model yet)
sends the job back to the loading path.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from moodmix.plugins.stems import demucs_runtime, export_manifest, exported_net, model_locator

log = logging.getLogger(__name__)


#: Where :func:`.demucs_backend.load_model` found a model's files, kept on the model (models handed over in
#: memory have none).
LOCATION_ATTR = "_moodmix_location"
_built: dict[tuple[str, str, str, str], demucs_runtime.Runtime] = {}
_lock = threading.Lock()


def runtime(name: str, model_dir: str | None, engine: str, cache_dir: Path, device: str = "cpu",
            int8: bool = True, prepare: bool = False,
            on_prepare: Callable[[], None] | None = None) -> demucs_runtime.Runtime | None:
    """``name`` on an exported engine straight from the graphs an earlier export recorded
    (:mod:`.export_manifest`): no torch import, no weights loaded. Built once per process and model files.

    ``None`` when the engine is ``torch``, the device is not the CPU, the model's files are not on disk,
    or there is no usable record for them (none yet, or, with ``auto``, a bfloat16 CPU that has not
    calibrated the model). With ``prepare``, a missing record is made first by :func:`prepare_in_child`,
    so that this process never imports torch (``on_prepare`` is called first: it takes a while); ``None``
    then means the caller loads the model itself (which also reports why it would not load)."""
    if engine == "torch" or not str(device).startswith("cpu"):
        return None
    location = model_locator.locate(name, model_dir)
    if location is None or location.kind == "builtin" or not location.files:
        return None
    try:
        manifest = export_manifest.manifest_path(cache_dir, list(location.files))
    except OSError:
        return None
    key = (str(manifest), engine, str(device), str(int8))
    with _lock:
        if key in _built:
            return _built[key]
        spec = export_manifest.read(cache_dir, list(location.files))
        runtime = _runtime_from(spec, engine, cache_dir, int8) if spec is not None else None
        if runtime is None and prepare:
            if on_prepare is not None:
                on_prepare()
            if prepare_in_child(name, model_dir, engine, cache_dir, int8) is not None:
                spec = export_manifest.read(cache_dir, list(location.files))
                runtime = _runtime_from(spec, engine, cache_dir, int8) if spec is not None else None
        if runtime is not None:
            log.info("demucs: %s runs from its exported graphs (%s), torch not loaded", name, runtime.engine)
            _built[key] = runtime
        return runtime


def prepare_in_child(name: str, model_dir: str | None, engine: str, cache_dir: Path, int8: bool) -> str | None:
    """Load, export, calibrate and record ``name`` in a child process (the first job on a machine): torch
    and the weights take their memory there, not in the worker. The engine it chose and why, or ``None``
    when it failed."""
    request = {"name": name, "model_dir": model_dir, "engine": engine, "cache_dir": str(cache_dir), "int8": int8}
    done = subprocess.run([sys.executable, "-m", __name__, json.dumps(request)], capture_output=True, text=True)
    if done.returncode != 0:
        lines = (done.stderr or "").strip().splitlines()
        log.warning("demucs: preparing %s in a child failed (%s); loading it here", name,
                    lines[-1] if lines else f"exit code {done.returncode}")
        return None
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "prepared"


def _prepare(request: dict[str, Any]) -> str:
    """The child of :func:`prepare_in_child`: the loading path of :class:`.demucs_backend.DemucsSeparator`."""
    from moodmix.plugins.stems import demucs_backend

    cache_dir = Path(request["cache_dir"])
    model, _ = demucs_backend.load_model(request["name"], "cpu", request["model_dir"])
    built = demucs_runtime.runtime_for(model, request["engine"], cache_dir, "cpu", bool(request["int8"]))
    record(request["name"], model, built, cache_dir)
    return f"{built.engine}: {built.why}"


def forget() -> None:
    """Drop the exported runtimes this process built (their sessions' memory); the next job builds again."""
    with _lock:
        _built.clear()


def _runtime_from(spec: exported_net.ExportedModel, engine: str, cache_dir: Path,
                  int8: bool) -> demucs_runtime.Runtime | None:
    """:func:`demucs_runtime.wrap`'s choice made from recorded graphs; ``None`` where it needs the model."""
    skipped: list[str] = []
    for candidate in ("openvino", "onnx") if engine == "auto" else (engine,):
        try:
            nets, why = demucs_runtime.nets_for(spec, cache_dir, candidate, bf16_only=engine == "auto", int8=int8)
        except demucs_runtime.EngineUnavailable as exc:  # a decision already made: no bfloat16, or it failed
            skipped.append(f"{candidate} unavailable ({demucs_runtime.short(exc)})")
            continue
        except Exception:  # not prepared yet (no OpenVINO graph, no calibration), or a session error
            return None
        if engine != "auto":
            why = f"{candidate} requested; {why}"
        return demucs_runtime.Runtime(exported_net.OnnxBag(spec, nets), candidate, "; ".join([why, *skipped]))
    return None


def record(name: str, model: Any, runtime: demucs_runtime.Runtime, cache_dir: Path) -> None:
    """After ``model`` (loaded from files) got an exported engine: record its graphs for torch-free workers."""
    location = model.__dict__.get(LOCATION_ATTR)
    if location is None or not location.files or not isinstance(runtime.model, exported_net.OnnxBag):
        return
    try:
        if export_manifest.read(cache_dir, list(location.files)) != runtime.model.spec:
            export_manifest.write(cache_dir, name, list(location.files), runtime.model.spec)
    except OSError as exc:  # a read-only cache folder: later workers load the model, as before
        log.warning("demucs: could not record the export of %s: %s", name, exc)


if __name__ == "__main__":  # ``python -m moodmix.plugins.stems.recorded_runtime REQUEST_JSON``
    print(_prepare(json.loads(sys.argv[1])))
