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

    mode: Mode = "4stems"
    backend: Backend = "auto"
    format: Format = "wav"
    #: Demucs model: htdemucs, htdemucs_ft, htdemucs_6s, mdx_extra, ... or a name/signature in the model folder.
    model: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")] = "htdemucs"
    #: Demucs segment length in seconds (None: the model's own; clamped to what the model allows).
    segment: Annotated[float, msgspec.Meta(gt=0.5, le=60.0)] | None = None
    #: Overlap between Demucs segments (fraction of a segment).
    overlap: Annotated[float, msgspec.Meta(ge=0.0, le=0.9)] = 0.25
    #: Random time shifts averaged by Demucs (0 disables the shift trick; each one costs a full pass).
    shifts: Annotated[int, msgspec.Meta(ge=0, le=10)] = 1
