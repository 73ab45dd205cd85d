"""Run one capability on local files: the code path shared by the CLI, the worker and nested calls.

Callers look the capability up and parse its parameters once (:func:`prepare`), bind inputs once
(:func:`moodmix.engine.inputs.bind_inputs`) and then :func:`execute`, which gives the plugin a
private temp folder (removed afterwards, whatever happens) and checks that the files it claims
to have written exist inside its output folder. :func:`run_capability` does all of it in one call.
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
from moodmix.engine.inputs import bind_inputs
from moodmix.engine.registry import Registry


def prepare(registry: Registry, name: str, params: dict[str, Any] | Any) -> tuple[Capability, Any]:
    """The capability called ``name`` and ``params`` validated for it (:func:`parse_params`)."""
    cap = registry.capability(name)
    return cap, parse_params(cap, params, registry)


def parse_params(cap: Capability, params: dict[str, Any] | Any, registry: Registry) -> Any:
    """``params`` as ``cap``'s parameter struct, passed through the capability's own ``check``."""
    if isinstance(params, cap.params):
        parsed = params  # already parsed by the caller
    elif params is None or isinstance(params, dict):
        parsed = cap.parse_params(params)
    else:
        raise BadInput("params must be an object", code="bad_params")
    if cap.check is not None:
        cap.check(parsed, registry)
    return parsed


def probe_local(inputs: dict[str, Path], max_seconds: float | None) -> None:
    """Audio files that no upload verified (a CLI path, another job's output): readable, within limits."""
    for name, path in inputs.items():
        if not path.is_file():
            raise BadInput(f"input {name!r}: no such file {path}", code="file_not_found")
        audio_io.probe(path, max_seconds=max_seconds)


def run_capability(registry: Registry, name: str, *, inputs: dict[str, Path] | None = None,
                   texts: dict[str, str] | None = None, params: dict[str, Any] | Any = None,
                   output_dir: Path, settings: Settings | None = None,
                   progress: ProgressFn | None = None, cancelled: Callable[[], bool] | None = None,
                   time_limit_s: float | None = None) -> RunResult:
    """Validate, run and check capability ``name`` on local files (``moodmix.testing`` and scripts)."""
    cap, parsed = prepare(registry, name, params)
    bound = bind_inputs(cap, {**(inputs or {}), **(texts or {})})
    paths = {k: Path(v) for k, v in bound.audio.items()}
    probe_local(paths, settings.max_audio_seconds if settings else None)
    return execute(cap, parsed, registry=registry, inputs=paths, texts=bound.texts, output_dir=output_dir,
                   settings=settings, progress=progress, cancelled=cancelled, time_limit_s=time_limit_s)


def execute(cap: Capability, params: Any, *, registry: Registry, inputs: dict[str, Path],
            texts: dict[str, str], output_dir: Path, settings: Settings | None = None,
            progress: ProgressFn | None = None, cancelled: Callable[[], bool] | None = None,
            time_limit_s: float | None = None, job_id: str | None = None, temp_root: Path | None = None,
            decoded: dict | None = None, input_names: dict[str, str] | None = None) -> RunResult:
    """Run ``cap`` with parsed ``params`` and bound inputs. Raises :class:`MoodmixError` subclasses on failure.

    ``decoded`` is a parent run's decode cache, so a nested call does not decode the same file again;
    ``input_names`` the inputs' names as their owner knows them (uploads are stored by content hash).
    """
    name = cap.name
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if temp_root is not None:
        temp_root.mkdir(parents=True, exist_ok=True)
    temp_dir = Path(tempfile.mkdtemp(prefix=f"moodmix-{name}-", dir=temp_root))
    deadline = time.monotonic() + time_limit_s if time_limit_s else None
    ctx = RunContext(
        params=params, output_dir=output_dir, temp_dir=temp_dir, inputs=inputs, texts=texts,
        progress_fn=progress or (lambda f, m=None: None), cancelled_fn=cancelled or (lambda: False),
        deadline=deadline, device=settings.resolved_device if settings else "cpu", settings=settings,
        job_id=job_id, registry=registry, _decoded={} if decoded is None else decoded,
        plugin_settings=registry.capability_settings(name), input_names=dict(input_names or {}),
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
    """``ctx.call``: inputs are files of this run (already checked), so they are bound but not probed again."""

    def call(name: str, *, parent: RunContext, inputs, texts, params, output_dir, progress) -> RunResult:
        cap, parsed = prepare(registry, name, params)
        bound = bind_inputs(cap, {**inputs, **texts})
        sub = parent.sub(*progress)
        out = Path(output_dir) if output_dir else Path(tempfile.mkdtemp(prefix=f"{name}-", dir=parent.temp_dir))
        remaining = None if parent.deadline is None else max(0.001, parent.deadline - time.monotonic())
        paths = {k: Path(v) for k, v in bound.audio.items()}
        # A nested input that is one of the parent's keeps the parent's name for it.
        known = {str(parent.inputs[k]): n for k, n in parent.input_names.items() if k in parent.inputs}
        names = {k: known[str(p)] for k, p in paths.items() if str(p) in known}
        return execute(cap, parsed, registry=registry, inputs=paths,
                       texts=bound.texts, output_dir=out, settings=settings, progress=sub.progress_fn,
                       cancelled=parent.cancelled_fn, time_limit_s=remaining, job_id=parent.job_id,
                       temp_root=parent.temp_dir, decoded=parent._decoded, input_names=names)

    return call
