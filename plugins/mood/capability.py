"""The ``mood`` capability: what the engine, CLI and API call."""

from __future__ import annotations

import json
from typing import Annotated, Any

import msgspec

from moodmix.engine.capability import Capability, InputSpec, OutputSpec, RunContext, RunResult

VERSION = "1"


class MoodParams(msgspec.Struct, forbid_unknown_fields=True):
    """Parameters of ``mood``."""

    window_seconds: Annotated[float, msgspec.Meta(
        ge=5.0, le=60.0, description="Length of a timeline window in seconds (equal windows cover the track).",
    )] = 10.0


def model_path(plugin_settings: Any) -> str | None:
    """The operator's trained model (``MOODMIX_PLUGINS__MOOD__MODEL``), or ``None`` for the shipped one."""
    path = getattr(plugin_settings, "model", "") if plugin_settings is not None else ""
    return path or None


def run(ctx: RunContext) -> RunResult:
    """Analyse the input track, write mood.json and picture.png."""
    from moodmix.plugins.mood.analysis import analyse_audio, load_mono
    from moodmix.plugins.mood.model import load_cached
    from moodmix.plugins.mood.picture import draw

    ctx.progress(0.02, "decoding audio")
    audio_path = ctx.inputs["audio"]
    y = load_mono(audio_path)
    ctx.progress(0.08, "loading mood model")
    model = load_cached(model_path(ctx.plugin_settings))
    sub = ctx.sub(0.1, 0.9)
    result = analyse_audio(y, model, window_seconds=ctx.params.window_seconds, progress=sub.progress)
    ctx.progress(0.92, "drawing picture")
    picture = draw(result, ctx.output_path("picture", ".png"), title=audio_path.name)
    data_file = ctx.output_path("mood", ".json")
    data_file.write_text(json.dumps(result, indent=2))
    return RunResult(data=result, files={"picture": picture, "mood": data_file}, backend="librosa+sklearn")


CAPABILITY = Capability(
    name="mood",
    description="Detect the mood of a track: probabilities over 8 moods, valence/arousal, "
                "a timeline every ~10 s, audio features and a picture.",
    run=run,
    params=MoodParams,
    inputs=(InputSpec("audio", "audio", "The track to analyse (at least 5 s)."),),
    outputs=(
        OutputSpec("picture", "image", "PNG: valence/arousal position and the mood timeline."),
        OutputSpec("mood", "json", "mood.json: the full result, features included."),
    ),
    version=VERSION,
    ui={"emoji": "🎭", "icon": "masks"},
    advanced=("window_seconds",),
)
