"""The ``generate`` capability: a text prompt in, music out.

Two backends: MusicGen (transformers) when its weights are on this server, and
an offline procedural composer that needs nothing. Importing this package is
cheap; numpy/scipy/pedalboard and torch load only when a job runs.
"""

from __future__ import annotations

from typing import Any

from moodmix.engine.capability import Capability, Genre, InputSpec, OutputSpec, Resources, RunContext, RunResult
from moodmix.engine.hookspecs import hookimpl
from moodmix.plugins.generate.params import GenerateParams

#: The genre set of the ``genre`` parameter (``styles.GENRE_SET``; repeated so this import stays cheap).
GENRE_SET = "generate"


def _run(ctx: RunContext) -> RunResult:
    from moodmix.plugins.generate.runner import run

    return run(ctx)


def _check(params: GenerateParams, registry: Any) -> None:
    """Refuse a genre outside generate's set when the job is requested (422 listing the valid ones),
    and ``backend=musicgen`` without its weights (422 naming the pull command)."""
    from moodmix.plugins.generate.known_models import check_weights

    if params.genre:
        registry.genre(params.genre, GENRE_SET)
    check_weights(params, registry)


def summarize(data: dict[str, Any]) -> str:
    """One line for people: length, style, key and tempo, backend and seed."""
    spec = data.get("spec") or {}
    what = " ".join(str(spec[k]) for k in ("mood", "genre") if spec.get(k)) or "music"
    line = f"{data.get('duration', 0):.1f} s of {what}"
    if spec.get("key"):
        line += f" in {spec['key']}"
    if spec.get("tempo"):
        line += f" at {spec['tempo']:g} BPM"
    backend = spec.get("model") or data.get("backend", "?")
    if str(backend).startswith(("/", "~", ".")):  # a model folder: its name, not where it is
        backend = str(backend).rstrip("/").rsplit("/", 1)[-1]
    return f"{line} ({backend}, seed {data.get('seed')})"


CAPABILITY = Capability(
    name="generate",
    description="Make music from a text prompt (genre, mood, tempo, key, instruments, length). "
                "Uses MusicGen when its weights are installed, otherwise an offline composer.",
    run=_run,
    params=GenerateParams,
    inputs=(
        InputSpec("prompt", "text", "What to make, e.g. 'sad lofi piano 80 bpm in A minor, 30 seconds'.",
                  required=True),
        InputSpec("melody", "audio", "Optional reference melody (MusicGen melody model only).", required=False),
    ),
    outputs=(
        OutputSpec("audio", "audio", "The generated music (wav, flac or mp3)."),
        OutputSpec("spec", "json", "What was made: backend and why, seed, and the musical spec used."),
    ),
    version="1",
    # Without a seed each run is meant to be new music, so only seeded requests reuse a finished job.
    cacheable=lambda params: params.seed is not None,
    check=_check,
    ui={"emoji": "🎼", "icon": "sparkles"},
    genre_params={"genre": GENRE_SET},
    advanced=("model", "melody_model", "guidance_scale", "temperature", "top_k", "top_p", "window", "overlap"),
    summarize=summarize,
    # MusicGen wants a GPU; the procedural composer never uses one.
    resources=Resources(device="any", memory_mb=4096, gpu_for=lambda params: params.backend != "procedural"),
)


@hookimpl
def register_capabilities() -> list[Capability]:
    return [CAPABILITY]


@hookimpl
def register_genres() -> list[Genre]:
    from moodmix.plugins.generate.styles import genres

    return genres()


@hookimpl
def doctor_checks(settings: Any) -> list:
    from moodmix.plugins.generate.doctor import checks

    return checks(settings)


@hookimpl
def register_models() -> list:
    from moodmix.plugins.generate.known_models import MODELS

    return list(MODELS)


