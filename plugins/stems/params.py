"""Parameters of the ``stems`` capability, validated by the engine before ``run`` sees them."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Mode = Literal["4stems", "2stems"]
Backend = Literal["auto", "demucs", "dsp"]
Format = Literal["wav", "flac", "mp3"]

#: Output names per mode; other plugins (remix) rely on exactly these.
STEMS_BY_MODE: dict[str, tuple[str, ...]] = {
    "4stems": ("drums", "bass", "vocals", "other"),
    "2stems": ("vocals", "instrumental"),
}

class StemsParams(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """How to separate: which stems, which backend, which Demucs model and its knobs."""

    mode: Annotated[Mode, msgspec.Meta(
        title="Parts", description="4stems gives drums, bass, vocals and other; 2stems gives vocals and "
                                   "instrumental.",
    )] = "4stems"
    backend: Annotated[Backend, msgspec.Meta(
        title="Separator", description="Automatic uses Demucs when its model is installed on this server, "
                                       "else the fast built-in separator.",
    )] = "auto"
    format: Annotated[Format, msgspec.Meta(
        title="File format", description="WAV and FLAC are lossless; MP3 is smaller.",
    )] = "wav"
    model: Annotated[str, msgspec.Meta(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$", title="Demucs model",
        description="Such as htdemucs, htdemucs_ft or htdemucs_6s, or a model in this server's model folder.",
    )] = "htdemucs"
    segment: Annotated[float, msgspec.Meta(
        gt=0.5, le=60.0, title="Segment length (seconds)",
        description="Demucs works on pieces of this length. Leave it empty for the model's own.",
    )] | None = None
    overlap: Annotated[float, msgspec.Meta(
        ge=0.0, le=0.9, title="Segment overlap",
        description="How much neighbouring pieces overlap, as a share of a piece.",
    )] = 0.25
    shifts: Annotated[int, msgspec.Meta(
        ge=0, le=10, title="Shifted passes",
        description="Demucs averages this many slightly shifted passes; each one costs a full pass, and 0 "
                    "turns them off.",
    )] = 1
