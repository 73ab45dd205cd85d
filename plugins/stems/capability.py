"""The ``stems`` capability: decode, pick a backend, separate, fold into the asked stems, encode."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from moodmix.engine.backends import BackendChoice
from moodmix.engine.capability import Capability, InputSpec, OutputSpec, Resources, RunContext, RunResult
from moodmix.engine.errors import CapabilityFailed
from moodmix.plugins.stems.known_models import check_weights
from moodmix.plugins.stems.params import STEMS_BY_MODE, StemsParams
from moodmix.plugins.stems.stem_files import StemFiles

log = logging.getLogger(__name__)
BUILTIN = "the fast built-in separator"


def _model_dir(ctx: RunContext) -> str:
    from moodmix.engine.models import model_root

    return str(model_root(ctx.settings))


def choose_backend(params: StemsParams, ctx: RunContext) -> BackendChoice:
    """``dsp`` when asked; ``demucs`` when asked (fails without weights); ``auto`` prefers demucs.

    Missing weights are detected by looking on disk (never by trying a download); a
    model that is present but fails to load also sends ``auto`` to dsp, with the reason.
    """
    if params.backend == "dsp":
        return BackendChoice("dsp", "dsp backend requested", note="the built-in separator")
    from moodmix.plugins.stems import demucs_backend, model_cache, model_locator, recorded_runtime

    device, device_why = demucs_backend.resolve_device(getattr(ctx.settings, "device", None) or ctx.device)
    demucs = f"Demucs {params.model} on {device}"
    if model_cache.get(params.model, device) is not None:
        return BackendChoice("demucs", f"{params.model} already loaded on {device} ({device_why})", device,
                             note=demucs)
    engine, cache = _engine_settings(ctx)
    def preparing() -> None:
        ctx.progress(0.03, f"preparing Demucs {params.model} for this machine (once per model, about a minute)")

    exported = recorded_runtime.runtime(params.model, _model_dir(ctx) or None, engine, Path(cache), device,
                                        getattr(ctx.plugin_settings, "onnx_int8", True), prepare=True,
                                        on_prepare=preparing)
    if exported is not None:
        return BackendChoice("demucs", f"{params.model} exported for {exported.engine} on {device} ({device_why})",
                             device, note=demucs)
    try:
        demucs_backend.load_model(params.model, device, _model_dir(ctx) or None, settings=ctx.settings)
    except model_locator.LoadModelError as exc:
        log.warning("stems: demucs %s unavailable: %s", params.model, exc)  # the details: paths and all
        hint = fallback_hint(params.model, exc)
        if params.backend == "demucs":
            raise CapabilityFailed(f"Demucs {params.model} cannot run on this server: {hint}; or use backend=dsp",
                                   code="model_unavailable") from exc
        return BackendChoice("dsp", f"fell back to dsp: {exc}", note=f"{BUILTIN} — {hint}")
    return BackendChoice("demucs", f"{params.model} loaded on {device} ({device_why})", device, note=demucs)


def _engine_settings(ctx: RunContext) -> tuple[str, str]:
    """``[plugins.stems]`` engine and ONNX cache folder (default ``<data_dir>/cache/onnx``)."""
    plugin = ctx.plugin_settings
    engine = getattr(plugin, "engine", "auto")
    cache = getattr(plugin, "onnx_cache", "") or str(ctx.settings.data_path / "cache" / "onnx")
    return engine, cache


def fallback_hint(model: str, exc: Exception) -> str:
    """Why Demucs did not run, in words for people: what to pull, or that it did not load (never a path)."""
    from moodmix.engine.model_policy import pull_command
    from moodmix.plugins.stems import demucs_backend
    from moodmix.plugins.stems.known_models import spec_for

    spec = spec_for(model)
    if isinstance(exc, demucs_backend.WeightsMissing):
        if spec is None:
            return f"{model} is not in the model folder"
        return f"pull {model} for studio quality (`{pull_command(spec)}`)"
    return f"Demucs {model} did not load (the server log says why)"


def fold_sources(sources: dict[str, np.ndarray], mode: str) -> dict[str, np.ndarray]:
    """Map a backend's sources onto the stems of ``mode`` (extra sources, e.g. guitar/piano, go to other)."""
    names = STEMS_BY_MODE[mode]
    if mode == "2stems":
        vocals = sources["vocals"]
        rest = [a for n, a in sources.items() if n != "vocals"]
        return {"vocals": vocals, "instrumental": np.sum(rest, axis=0).astype(np.float32)}
    out = {n: sources[n] for n in ("drums", "bass", "vocals")}
    extra = [a for n, a in sources.items() if n not in out]
    out["other"] = np.sum(extra, axis=0).astype(np.float32)
    return {n: out[n] for n in names}


def run(ctx: RunContext) -> RunResult:
    params: StemsParams = ctx.params
    started = time.monotonic()
    audio, sr = ctx.load_audio("audio")  # a remix that calls us has decoded it already
    ctx.progress(0.02, f"decoded {audio.shape[1] / sr:.1f} s, {audio.shape[0]} channel(s), {sr} Hz")
    choice = choose_backend(params, ctx)
    log.info("stems: %s (%s)", choice.name, choice.reason)
    ctx.progress(0.05, f"separating with {choice.said}")
    separating = ctx.sub(0.05, 0.92)
    data: dict[str, Any] = {}
    separator: Any
    if choice.name == "demucs":
        from moodmix.plugins.stems.demucs_backend import DemucsSeparator

        engine, onnx_cache = _engine_settings(ctx)
        separator = DemucsSeparator(params.model, device=choice.device, segment=params.segment,
                                    overlap=params.overlap, shifts=params.shifts,
                                    model_dir=_model_dir(ctx) or None, engine=engine, onnx_cache=onnx_cache,
                                    int8=getattr(ctx.plugin_settings, "onnx_int8", True))
    else:
        from moodmix.plugins.stems.dsp_separator import DspSeparator

        separator = DspSeparator()
        data.update(device="cpu")
    names = STEMS_BY_MODE[params.mode]
    channels, frames = (int(n) for n in audio.shape)
    stems = StemFiles(ctx, names, sr, channels, params.format)
    spool = ctx.temp_dir / "demucs-mix.wav"
    try:
        if choice.name == "demucs":
            # the model reads its segments from a float WAV of the mix: the decoded track is let go
            # while it runs (404 MB for 20 minutes of stereo)
            ctx.temp_dir.mkdir(parents=True, exist_ok=True)
            spooled = separator.spool(audio, sr, spool)
            del audio
            ctx.release_audio("audio")
            blocks = separator.separate_spooled(spooled, progress=separating.progress)
        else:
            blocks = separator.separate_blocks(audio, sr, progress=separating.progress)
        # block by block, each written as it is finished: a long track's stems never sit in memory
        for _, sources in blocks:
            stems.write(fold_sources(sources, params.mode))
    except BaseException:
        stems.abort()
        raise
    finally:
        spool.unlink(missing_ok=True)
    files, over = stems.finish(lambda i, name: ctx.progress(0.92 + 0.08 * i / len(names), f"wrote {name}"))
    if choice.name == "demucs":
        from moodmix.plugins.stems import demucs_backend

        data.update(model=params.model, weights=demucs_backend.weights_record(params.model, _model_dir(ctx)),
                    device=choice.device, segment=separator.used_segment,
                    overlap=params.overlap, shifts=params.shifts, sources=separator.sources,
                    **separator.engine_record)
    data.update(backend=choice.name, backend_reason=choice.reason, backend_note=choice.said,
                mode=params.mode, stems=list(names),
                sample_rate=sr, channels=channels, duration_s=round(frames / sr, 3),
                format=params.format, over_full_scale=over, elapsed_s=round(time.monotonic() - started, 3))
    return RunResult(data=data, files=files, backend=choice.name)


def summarize(data: dict[str, Any]) -> str:
    """One line for people: which stems, from how long a track, by which backend on which device."""
    stems = data.get("stems") or []
    line = f"{len(stems)} stems ({', '.join(stems)})"
    if data.get("duration_s") is not None:
        line += f" of {data['duration_s']:.1f} s"
    line += f" by {data.get('backend', '?')} on {data.get('device', 'cpu')}"
    if data.get("elapsed_s") is not None:
        line += f" in {data['elapsed_s']:.1f} s"
    note = data.get("backend_note") or ""
    if " — " in note:  # a fall-back says what would do better
        line += f" ({note.split(' — ', 1)[1]})"
    return line


STEMS = Capability(
    name="stems",
    description="Split a track into stems: drums, bass, vocals, other (4stems) or vocals + instrumental "
                "(2stems), with Demucs when its weights are installed, else a signal-processing separator.",
    run=run,
    params=StemsParams,
    inputs=(InputSpec("audio", "audio", "The track to separate."),),
    outputs=(
        OutputSpec("drums", "audio", "Drums and percussion (4stems).", optional=True),
        OutputSpec("bass", "audio", "Bass (4stems).", optional=True),
        OutputSpec("vocals", "audio", "Lead and backing vocals."),
        OutputSpec("other", "audio", "Everything else (4stems).", optional=True),
        OutputSpec("instrumental", "audio", "Everything but the vocals (2stems).", optional=True),
    ),
    version="1",
    ui={"emoji": "🎚", "icon": "layers"},
    check=check_weights,
    advanced=("model", "segment", "overlap", "shifts"),
    summarize=summarize,
    # Demucs runs on a GPU when there is one; the dsp separator never does.
    resources=Resources(device="any", memory_mb=4096, gpu_for=lambda params: params.backend != "dsp"),
)
