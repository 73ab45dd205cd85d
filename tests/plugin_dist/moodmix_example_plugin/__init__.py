"""Example third-party plugin: a ``reverse`` capability, a slow one, a flaky one, and a genre.

It imports only the plugin contract (``moodmix.hookimpl`` and ``moodmix.engine.capability``): audio
comes in through ``ctx.load_audio`` and goes out through ``ctx.save_audio``.
"""

from __future__ import annotations

import time
from pathlib import Path

import msgspec

from moodmix import hookimpl
from moodmix.engine.capability import Capability, Genre, OutputSpec, RunContext, RunResult


class ReverseParams(msgspec.Struct, forbid_unknown_fields=True):
    gain_db: float = msgspec.field(default=0.0)

    def __post_init__(self) -> None:
        if not -24.0 <= self.gain_db <= 12.0:
            raise ValueError("gain_db must be between -24 and 12")


def reverse(ctx: RunContext) -> RunResult:
    audio, sr = ctx.load_audio("audio")
    ctx.progress(0.5, "reversing")
    out = audio[:, ::-1] * (10 ** (ctx.params.gain_db / 20))
    path = ctx.save_audio("reversed", out, sr)
    return RunResult(data={"frames": int(audio.shape[1]), "sample_rate": sr}, files={"reversed": path},
                     backend="numpy")


class SlowParams(msgspec.Struct, forbid_unknown_fields=True):
    seconds: float = 3.0


def slow(ctx: RunContext) -> RunResult:
    """Takes its time with real progress reports: used to kill workers mid-job."""
    steps = max(1, int(ctx.params.seconds / 0.1))
    for i in range(steps):
        time.sleep(0.1)
        ctx.progress((i + 1) / steps, f"step {i + 1}/{steps}")
    path = ctx.output_path("log", ".json")
    path.write_text(msgspec.json.encode({"steps": steps}).decode())
    return RunResult(data={"steps": steps}, files={"log": path}, backend="sleep")


def flaky(ctx: RunContext) -> RunResult:
    """Crashes on its first attempt per job (an unexpected error), then succeeds: exercises retries."""
    marker = Path(ctx.settings.data_dir) / f"flaky-{ctx.job_id}"
    if not marker.exists():
        marker.write_text("failed once")
        raise KeyError("simulated crash")
    return RunResult(data={"recovered": True}, backend="flaky")


@hookimpl
def register_capabilities() -> list[Capability]:
    return [
        Capability(name="reverse", description="Play the track backwards.", run=reverse, params=ReverseParams,
                   outputs=(OutputSpec("reversed", "audio", "The reversed track."),), version="0.1.0"),
        Capability(name="slow", description="Wait a while, reporting progress.", run=slow, params=SlowParams,
                   inputs=(), outputs=(OutputSpec("log", "json"),)),
        Capability(name="flaky", description="Fail once, then succeed.", run=flaky, inputs=()),
    ]


@hookimpl
def register_genres() -> list[Genre]:
    # The recipe is plain data in the remix plugin's recipe format; no import of it needed.
    polka = {
        "tempo": 120,
        "stems": {"bass": {"gain_db": 2}, "other": {"effects": [{"type": "Chorus", "rate_hz": 1.0, "mix": 0.3}]}},
        "drums": {"kick": "X...X...X...X...", "snare": "..X...X...X...X.", "hat": "x.x.x.x.x.x.x.x.",
                  "level_db": -4},
        "master": [{"type": "Compressor", "threshold_db": -16, "ratio": 2.0}],
    }
    return [Genre(name="polka", description="Oom-pah at 120 BPM (from a third-party plugin).", recipe=polka)]
