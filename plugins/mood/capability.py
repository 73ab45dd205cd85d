"""The ``mood`` capability: what the engine, CLI and API call."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import msgspec

from moodmix.engine.capability import Capability, InputSpec, OutputSpec, RunContext, RunResult
from moodmix.plugins.mood.picture import COLOURS

VERSION = "2"


class MoodParams(msgspec.Struct, forbid_unknown_fields=True):
    """Parameters of ``mood``."""

    window_seconds: Annotated[float, msgspec.Meta(
        ge=5.0, le=60.0, title="Timeline step (seconds)",
        description="The mood is read for each stretch of this length, from start to end.",
    )] = 10.0
    backend: Annotated[Literal["auto", "musicnn", "features"], msgspec.Meta(
        title="Model",
        description="Automatic uses musicnn, a model trained on tagged music, when it loads, and the "
                    "audio-features model otherwise. Pick one to insist on it.",
    )] = "auto"


def model_path(plugin_settings: Any) -> str | None:
    """The operator's trained model (``MOODMIX_PLUGINS__MOOD__MODEL``), or ``None`` for the shipped one."""
    path = getattr(plugin_settings, "model", "") if plugin_settings is not None else ""
    return path or None


def choose_model(backend: str, plugin_settings: Any) -> Any:
    """The model a job uses: the operator's file if set, else the shipped model of ``backend``.

    ``auto`` takes musicnn when its weights and model load and falls back to the
    features-only model otherwise; ``musicnn`` asked for explicitly fails clearly instead.
    """
    from moodmix.engine.errors import CapabilityFailed
    from moodmix.plugins.mood.model import SHIPPED_MODEL, SHIPPED_MUSICNN_MODEL, MoodModelError, load_cached
    from moodmix.plugins.mood.musicnn.network import MusicnnError

    path = model_path(plugin_settings)
    if path:
        return load_cached(path)
    if backend != "features":
        try:
            load_musicnn(plugin_settings)
            return load_cached(SHIPPED_MUSICNN_MODEL)
        except (MusicnnError, MoodModelError) as exc:
            if backend == "musicnn":
                raise CapabilityFailed(f"the musicnn backend is unavailable: {exc}; use backend=features",
                                       code="mood_backend_unavailable") from exc
    return load_cached(SHIPPED_MODEL)


def musicnn_weights(plugin_settings: Any) -> str | None:
    """The operator's musicnn weights (``MOODMIX_PLUGINS__MOOD__MUSICNN_WEIGHTS``), or ``None`` for the shipped."""
    return getattr(plugin_settings, "musicnn_weights", "") or None


def load_musicnn(plugin_settings: Any) -> Any:
    from moodmix.plugins.mood.musicnn.network import WEIGHTS, load_models

    return load_models(musicnn_weights(plugin_settings) or WEIGHTS)


def run(ctx: RunContext) -> RunResult:
    """Analyse the input track, write mood.json and picture.png."""
    from moodmix.plugins.mood.analysis import analyse_audio, load_mono
    from moodmix.plugins.mood.picture import draw

    ctx.progress(0.02, "decoding audio")
    audio_path = ctx.inputs["audio"]
    y = load_mono(audio_path)
    ctx.progress(0.08, "loading mood model")
    model = choose_model(ctx.params.backend, ctx.plugin_settings)
    sub = ctx.sub(0.1, 0.9)
    result = analyse_audio(y, model, window_seconds=ctx.params.window_seconds, progress=sub.progress,
                           musicnn_weights=musicnn_weights(ctx.plugin_settings))
    ctx.progress(0.92, "drawing picture")
    picture = draw(result, ctx.output_path("picture", ".png"), title=ctx.input_name("audio"))
    data_file = ctx.output_path("mood", ".json")
    data_file.write_text(json.dumps(result, indent=2))
    return RunResult(data=result, files={"picture": picture, "mood": data_file},
                     backend="musicnn+sklearn" if model.backend == "musicnn" else "librosa+sklearn")


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
    ui={"emoji": "🎭", "icon": "masks", "colours": dict(COLOURS)},  # the picture's colours, for the page
    advanced=("window_seconds", "backend"),
)
