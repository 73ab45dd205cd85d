"""Parameters of the ``remix`` capability (validated by the engine before ``run`` sees them)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from moodmix.plugins.remix.recipe import STEM_NAMES, Bpm, GainDb, Recipe, Semitones, StemName

Format = Literal["wav", "flac", "mp3", "ogg"]
StemsBackend = Literal["auto", "demucs", "dsp"]


class RemixParams(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Pick a ``genre`` preset or send a ``recipe``; the other fields adjust either.

    ``recipe`` may be an object or JSON text (the CLI sends strings). ``gain_db`` and
    ``mute`` also accept ``"vocals=-3,drums=2"`` and ``"vocals,drums"``.
    """

    genre: str | None = None
    recipe: Recipe | str | None = None
    #: Target BPM, replacing the genre's tempo.
    tempo: Bpm | None = None
    #: Pitch shift in semitones, replacing the genre's.
    pitch: Semitones | None = None
    gain_db: dict[StemName, GainDb] | str = {}
    mute: list[StemName] | str = []
    #: Add the genre's synthesised drums (false keeps only the track's own).
    drums: bool = True
    format: Format = "wav"
    #: Integrated loudness of the result in LUFS.
    loudness: Annotated[float, msgspec.Meta(ge=-30.0, le=-6.0)] = -14.0
    #: Ceiling for true (inter-sample) peaks in dBTP.
    true_peak: Annotated[float, msgspec.Meta(ge=-9.0, le=-0.1)] = -1.0
    stems_backend: StemsBackend = "auto"
    #: ``mix`` stretches the processed stems once, summed (fast); ``stems`` stretches each stem
    #: before its effects (cleaner transients, about four times the stretching work).
    stretch: Literal["mix", "stems"] = "mix"
    seed: int = 0
    #: Render only the track's most representative stretch of this many seconds (a chorus-like,
    #: high-energy, repeated section) as a quick preview; 0 renders the whole track.
    preview_seconds: Annotated[float, msgspec.Meta(ge=0.0, le=60.0)] = 0.0


def parse_stem_list(value: list[str] | str, field: str) -> list[str]:
    """``["vocals"]`` or ``"vocals,drums"`` → validated stem names."""
    from moodmix.engine.errors import BadInput

    names = [v.strip().lower() for v in (value.split(",") if isinstance(value, str) else value)]
    names = [n for n in names if n]
    for name in names:
        if name not in STEM_NAMES:
            raise BadInput(f"invalid {field}: unknown stem {name!r} (stems: {', '.join(STEM_NAMES)})",
                           code="bad_params", details={"field": field})
    return names


def parse_stem_gains(value: dict[str, float] | str, field: str) -> dict[str, float]:
    """``{"vocals": -3}`` or ``"vocals=-3,drums=2"`` → validated gains in dB."""
    from moodmix.engine.errors import BadInput

    if isinstance(value, dict):
        return dict(value)
    gains: dict[str, float] = {}
    for item in filter(None, (p.strip() for p in value.split(","))):
        name, sep, number = item.partition("=")
        try:
            gain = float(number)
        except ValueError:
            gain = float("nan")
        if not sep or not -60.0 <= gain <= 24.0:
            raise BadInput(f"invalid {field}: expected stem=dB with dB in -60..24, got {item!r}",
                           code="bad_params", details={"field": field})
        gains[parse_stem_list([name], field)[0]] = gain
    return gains
