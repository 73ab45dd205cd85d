"""The ``generate`` capability: a text prompt in, music out.

Two backends: MusicGen (transformers) when its weights are on this server, and
an offline procedural composer that needs nothing. Importing this package is
cheap; numpy/scipy/pedalboard and torch load only when a job runs.
"""

from __future__ import annotations

from moodmix.engine.capability import Capability, InputSpec, OutputSpec, RunContext, RunResult
from moodmix.engine.hookspecs import hookimpl
from moodmix.plugins.generate.params import GenerateParams


def _run(ctx: RunContext) -> RunResult:
    from moodmix.plugins.generate.runner import run

    return run(ctx)


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
    ui={"emoji": "🎼"},
)


@hookimpl
def register_capabilities() -> list[Capability]:
    return [CAPABILITY]
