"""Parameters of the ``remix`` capability (validated by the engine before ``run`` sees them)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from moodmix.plugins.remix.recipe import STEM_NAMES, Bpm, GainDb, Recipe, Semitones, StemName

Format = Literal["wav", "flac", "mp3", "ogg"]
StemsBackend = Literal["auto", "demucs", "dsp"]
#: The genre a remix uses when the request names none and gives no recipe.
DEFAULT_GENRE = "lofi"


class RemixParams(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Pick a ``genre`` preset (default ``lofi``) or send a ``recipe``; the other fields adjust either.

    The default genre yields to a recipe; any other genre together with a recipe is refused.

    ``recipe`` may be an object or JSON text (the CLI sends strings). ``gain_db`` and
    ``mute`` also accept ``"vocals=-3,drums=2"`` and ``"vocals,drums"``.
    """

    genre: Annotated[str | None, Meta(
        title="Genre", description="The style to remix into. A recipe, when you give one, replaces it.",
    )] = DEFAULT_GENRE
    recipe: Annotated[Recipe | str | None, Meta(
        title="Custom recipe", description="Your own recipe (JSON) instead of a genre.",
    )] = None
    tempo: Annotated[Bpm | None, Meta(
        title="Tempo (BPM)", description="The new tempo in beats per minute. Leave it empty for the genre's.",
    )] = None
    pitch: Annotated[Semitones | None, Meta(
        title="Pitch shift (semitones)", description="Moves the key up or down. Leave it empty for the genre's.",
    )] = None
    gain_db: Annotated[dict[StemName, GainDb] | str, Meta(
        title="Part levels (dB)", description="Make parts louder or quieter, such as vocals=-3,drums=2.",
    )] = {}
    mute: Annotated[list[StemName] | str, Meta(
        title="Mute these parts", description="The ticked parts of the track are left out of the remix.",
    )] = []
    drums: Annotated[bool, Meta(
        title="Add the genre's drum beat",
        description="Plays the genre's synthesised drums over the track. Untick it to keep only the "
                    "track's own drums.",
    )] = True
    format: Annotated[Format, Meta(title="File format", description="WAV and FLAC are lossless; MP3 and "
                                                                    "Ogg are smaller.")] = "wav"
    loudness: Annotated[float, Meta(
        ge=-30.0, le=-6.0, title="Loudness (LUFS)",
        description="How loud the finished remix is; -14 suits streaming services.",
    )] = -14.0
    true_peak: Annotated[float, Meta(
        ge=-9.0, le=-0.1, title="Peak ceiling (dBTP)",
        description="The highest peak allowed, measured between samples too.",
    )] = -1.0
    stems_backend: Annotated[StemsBackend, Meta(
        title="Separator", description="How the track is split into parts. Automatic uses Demucs when its "
                                       "model is installed, else the fast built-in separator.",
    )] = "auto"
    stretch: Annotated[Literal["mix", "stems"], Meta(
        title="Tempo change method",
        description="Mix stretches the finished mix once, which is fast. Stems stretches each part before "
                    "its effects, which keeps drum hits cleaner but takes about four times as long.",
    )] = "mix"
    seed: Annotated[int, Meta(title="Seed", description="The same seed gives the same remix.")] = 0
    preview_seconds: Annotated[float, Meta(
        ge=0.0, le=60.0, title="Preview length (seconds)",
        description="Renders only the most representative stretch of the track, such as a chorus, as a "
                    "quick preview. 0 renders the whole track.",
    )] = 0.0


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
