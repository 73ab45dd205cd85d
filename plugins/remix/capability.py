"""The ``remix`` capability descriptor; the work itself lives in :mod:`.pipeline`, imported on first run.

Building the descriptor needs only msgspec structs, so listing capabilities (server start,
``moodmix --help``) never imports numpy, scipy, pedalboard or matplotlib.
"""

from __future__ import annotations

from typing import Any

from moodmix.engine.capability import Capability, InputSpec, OutputSpec, Resources, RunContext, RunResult
from moodmix.plugins.remix.params import RemixParams


def run(ctx: RunContext) -> RunResult:
    from moodmix.plugins.remix.pipeline import run as run_pipeline

    return run_pipeline(ctx)


def _stem_input(name: str) -> InputSpec:
    return InputSpec(name, "audio", f"The {name} stem (give all four stems to skip separation).",
                     required=False)


def check(params: RemixParams, registry) -> None:
    """Refuse an unknown genre or an invalid recipe when the job is requested, not when it runs."""
    from moodmix.plugins.remix.pipeline import choose_recipe

    choose_recipe(params, registry)


def summarize(data: dict[str, Any]) -> str:
    """One line for people: genre, tempo change, key, length and loudness of the remix."""
    source = f"{data['source_tempo']:.1f}" if data.get("source_tempo") else "free tempo"
    line = f"{data.get('genre') or 'custom recipe'}: {source} → {data.get('target_tempo', 0):.1f} BPM"
    if data.get("pitch_semitones"):
        line += f", {data['pitch_semitones']:+g} semitones"
    if data.get("target_key"):
        line += f" ({data['target_key']})"
    if data.get("duration_s") is not None:
        line += f", {data['duration_s']:.1f} s"
    if data.get("loudness_lufs") is not None:
        line += f" at {data['loudness_lufs']:.1f} LUFS"
    preview = data.get("preview")
    if preview:
        start = int(preview.get("start_s") or 0)
        line = f"preview, {preview['seconds']:.0f} s from {start // 60}:{start % 60:02d} — {line}"
    return line


REMIX = Capability(
    name="remix",
    description=("Remix a track in a genre (or by a custom recipe): stems, effects, tempo and key "
                 "changes, synthesised drums, loudness-normalised master."),
    run=run,
    params=RemixParams,
    check=check,
    inputs=(InputSpec("audio", "audio", "The track to remix."),
            *(_stem_input(n) for n in ("drums", "bass", "vocals", "other"))),
    outputs=(OutputSpec("remix", "audio", "The remixed track."),
             OutputSpec("recipe", "json", "The recipe actually applied (re-usable as a custom recipe)."),
             OutputSpec("waveform", "image", "Waveforms of the original and the remix (PNG).")),
    version="1",
    ui={"emoji": "🎛", "icon": "sliders"},
    genre_params={"genre": "remix"},
    advanced=("recipe", "loudness", "true_peak", "stems_backend", "stretch", "seed", "preview_seconds"),
    summarize=summarize,
    # Separating the stems is the heavy part: on a GPU unless the dsp separator is asked for.
    resources=Resources(device="any", memory_mb=4096, gpu_for=lambda params: params.stems_backend != "dsp"),
)
