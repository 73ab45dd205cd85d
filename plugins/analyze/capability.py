"""The ``analyze`` capability: format, loudness, tempo and beats, key — as JSON.

Importing this module is cheap (msgspec and the contract only); numpy and scipy are imported
when a job actually runs, and librosa never (see :mod:`.spectra`).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from moodmix.engine.capability import Capability, OutputSpec, Resources, RunContext, RunResult


class AnalyzeParams(msgspec.Struct, forbid_unknown_fields=True):
    """Options for ``analyze``; the defaults suit any track."""

    beats: Annotated[bool, msgspec.Meta(
        title="List the beats", description="Adds the time of every beat to the result.",
    )] = True
    max_beats: Annotated[int, msgspec.Meta(
        ge=0, le=100_000, title="Most beats listed",
        description="At most this many beat times are listed; the beat count always has the total.",
    )] = 10_000
    analysis_sample_rate: Annotated[int, msgspec.Meta(
        ge=8_000, le=48_000, title="Analysis sample rate (Hz)",
        description="Tempo and key are measured on the track resampled to this rate; loudness always uses "
                    "the original.",
    )] = 22_050
    key_profile: Annotated[Literal["albrecht", "temperley", "krumhansl"], msgspec.Meta(
        title="Key profile",
        description="The reference used to find the key: Albrecht-Shanahan, Temperley or Krumhansl-Kessler.",
    )] = "albrecht"


def summarize(data: dict) -> str:
    """One line for people (CLI, bots): tempo, key, loudness."""
    parts = [f"{data['duration']:.1f} s"]
    parts.append(f"{data['tempo']:.1f} BPM" if data.get("tempo") else "no steady beat")
    if data.get("key_name"):
        parts.append(f"{data['key_name']} ({data.get('camelot')})")
    loud = data.get("loudness") or {}
    if loud.get("integrated_lufs") is not None:
        parts.append(f"{loud['integrated_lufs']:.1f} LUFS, true peak {loud['true_peak_dbtp']:.1f} dBTP")
    return ", ".join(parts)


def run(ctx: RunContext) -> RunResult:
    # Deferred: keeps plugin discovery (every process start) free of numpy imports.
    from moodmix.plugins.analyze.pipeline import analyze_file

    data = analyze_file(ctx.inputs["audio"], ctx.params, progress=ctx.progress)
    data["summary"] = summarize(data)
    path = ctx.output_path("analysis", ".json")
    path.write_bytes(msgspec.json.format(msgspec.json.encode(data), indent=2))
    ctx.progress(1.0, "analysis written")
    return RunResult(data=data, files={"analysis": path}, backend="numpy")


ANALYZE = Capability(
    name="analyze",
    description="Measure a track: duration and format, loudness (LUFS, true peak), tempo and beats, "
                "and musical key.",
    run=run,
    params=AnalyzeParams,
    outputs=(OutputSpec("analysis", "json", "The analysis as a JSON document (same as the result)."),),
    version="1",
    ui={"emoji": "🔎", "icon": "gauge"},
    on_upload=True,
    advanced=("max_beats", "analysis_sample_rate", "key_profile"),
    resources=Resources(short=True),
)
