"""Run one capability on local files: the code path shared by the CLI, the worker and nested calls.

It validates parameters and audio inputs before the plugin sees them, gives the
plugin a private temp folder (removed afterwards, whatever happens) and checks
that the files it claims to have written exist inside its output folder.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from moodmix.engine import audio_io
from moodmix.engine.capability import Capability, ProgressFn, RunContext, RunResult
from moodmix.engine.config import Settings
from moodmix.engine.errors import BadInput, CapabilityFailed, MoodmixError
from moodmix.engine.registry import Registry


def check_inputs(cap: Capability, inputs: dict[str, Path], texts: dict[str, str],
                 max_seconds: float | None) -> None:
    """Every required input present, nothing unknown, audio decodable within limits."""
    known = {i.name for i in cap.inputs}
    for name in list(inputs) + list(texts):
        if name not in known:
            raise BadInput(f"{cap.name!r} has no input named {name!r} (inputs: {', '.join(sorted(known))})",
                           code="bad_input_name")
    for spec in cap.inputs:
        given = inputs.get(spec.name) if spec.kind == "audio" else texts.get(spec.name)
        if spec.required and (given is None or (spec.kind == "text" and not str(given).strip())):
            raise BadInput(f"{cap.name!r} needs its {spec.kind} input {spec.name!r}", code="missing_input")
        if spec.kind == "audio" and given is not None:
            audio_io.probe(given, max_seconds=max_seconds)


def run_capability(registry: Registry, name: str, *, inputs: dict[str, Path] | None = None,
                   texts: dict[str, str] | None = None, params: dict[str, Any] | Any = None,
                   output_dir: Path, settings: Settings | None = None,
                   progress: ProgressFn | None = None, cancelled: Callable[[], bool] | None = None,
                   time_limit_s: float | None = None, job_id: str | None = None,
                   temp_root: Path | None = None) -> RunResult:
    """Validate, run and check one capability. Raises :class:`MoodmixError` subclasses on failure."""
    cap = registry.capability(name)
    inputs = {k: Path(v) for k, v in (inputs or {}).items()}
    texts = dict(texts or {})
    parsed = params if not isinstance(params, dict | type(None)) else cap.parse_params(params)
    if cap.check is not None:
        cap.check(parsed, registry)
    max_seconds = settings.max_audio_seconds if settings else None
    check_inputs(cap, inputs, texts, max_seconds)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if temp_root is not None:
        temp_root.mkdir(parents=True, exist_ok=True)
    temp_dir = Path(tempfile.mkdtemp(prefix=f"moodmix-{name}-", dir=temp_root))
    deadline = time.monotonic() + time_limit_s if time_limit_s else None
    ctx = RunContext(
        params=parsed, output_dir=output_dir, temp_dir=temp_dir, inputs=inputs, texts=texts,
        progress_fn=progress or (lambda f, m=None: None), cancelled_fn=cancelled or (lambda: False),
        deadline=deadline, device=settings.resolved_device if settings else "cpu", settings=settings,
        job_id=job_id, registry=registry,
    )
    ctx.call_fn = _nested_caller(registry, settings)
    try:
        ctx.progress(0.0, "starting")
        try:
            result = cap.run(ctx)
        except MoodmixError:
            raise
        except MemoryError as exc:
            raise CapabilityFailed(f"{name} ran out of memory") from exc
        except (ValueError, RuntimeError, OSError) as exc:
            # Library errors on odd input: keep the reason, lose the traceback.
            raise CapabilityFailed(f"{name} failed: {exc}") from exc
        if not isinstance(result, RunResult):
            raise CapabilityFailed(f"{name} returned {type(result).__name__}, expected RunResult")
        _check_outputs(cap, result, output_dir)
        ctx.progress_fn(1.0, "done")
        return result
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)


def _check_outputs(cap: Capability, result: RunResult, output_dir: Path) -> None:
    root = output_dir.resolve()
    for out_name, path in result.files.items():
        p = Path(path).resolve()
        if not p.is_file():
            raise CapabilityFailed(f"{cap.name} reported output {out_name!r} but wrote no file")
        if root not in p.parents:
            raise CapabilityFailed(f"{cap.name} wrote output {out_name!r} outside its output folder")


def _nested_caller(registry: Registry, settings: Settings | None):
    def call(name: str, *, parent: RunContext, inputs, texts, params, output_dir, progress) -> RunResult:
        sub = parent.sub(*progress)
        out = Path(output_dir) if output_dir else Path(tempfile.mkdtemp(prefix=f"{name}-", dir=parent.temp_dir))
        remaining = None if parent.deadline is None else max(0.001, parent.deadline - time.monotonic())
        return run_capability(registry, name, inputs=inputs, texts=texts, params=params, output_dir=out,
                              settings=settings, progress=sub.progress_fn, cancelled=parent.cancelled_fn,
                              time_limit_s=remaining, job_id=parent.job_id, temp_root=parent.temp_dir)

    return call
