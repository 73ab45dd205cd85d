"""The offline backend: prompt -> spec -> score -> synthesised, mixed and mastered audio.

Needs no model weights and runs far faster than realtime on one core, so it is
what ``auto`` falls back to on a fresh server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from moodmix.engine.loudness import Normalized
from moodmix.plugins.generate.composer import compose
from moodmix.plugins.generate.mixer import fade_out, master, mix, render_parts
from moodmix.plugins.generate.prompt import parse_prompt
from moodmix.plugins.generate.spec import MusicSpec, SpecOverrides, build_spec

SAMPLE_RATE = 44_100
MAX_DURATION = 300.0


@dataclass
class ProceduralResult:
    audio: np.ndarray  # (2, frames) float32
    sample_rate: int
    spec: MusicSpec
    #: Levels before and after mastering (loudness and true peak of the output under ``after``).
    master: Normalized
    sections: list[dict]


def plan(prompt: str, overrides: SpecOverrides, seed: int, sample_rate: int = SAMPLE_RATE) -> MusicSpec:
    """The spec a prompt would be rendered with (cheap: no audio)."""
    return build_spec(parse_prompt(prompt), overrides, seed, sample_rate, MAX_DURATION)


def generate_procedural(prompt: str, overrides: SpecOverrides, seed: int,
                        progress: Callable[[float, str], None] | None = None,
                        sample_rate: int = SAMPLE_RATE) -> ProceduralResult:
    """Compose and render ``prompt``; identical output for identical arguments."""
    report = progress or (lambda f, m: None)
    spec = plan(prompt, overrides, seed, sample_rate)
    report(0.05, f"composing {spec.genre} in {spec.key} at {spec.tempo:g} BPM")
    score = compose(spec)
    parts = render_parts(spec, score, lambda f, m: report(0.05 + 0.75 * f, m))
    report(0.82, "mixing")
    audio = mix(spec, score, parts)
    audio = fade_out(audio, sample_rate, min(1.5, 0.1 * spec.duration))
    report(0.9, "mastering")
    audio, report = master(spec, audio)
    return ProceduralResult(audio, sample_rate, spec, report, score.sections)
