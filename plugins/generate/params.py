"""Parameters of the ``generate`` capability, with the limits that give clear errors."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

MAX_DURATION_S = 300.0
DEFAULT_MODEL = "facebook/musicgen-small"
DEFAULT_MELODY_MODEL = "facebook/musicgen-melody"


class GenerateParams(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Everything but the prompt (a text input) and the melody (an audio input)."""

    duration: Annotated[float, Meta(gt=0, le=MAX_DURATION_S,
                                    description="Seconds of music (up to 300; default: the prompt's "
                                                "length or 20)")] | None = None
    seed: Annotated[int, Meta(ge=0, lt=2**32, description="Same seed + same prompt = same music "
                                                          "(default: random, reported back)")] | None = None
    backend: Annotated[Literal["auto", "musicgen", "procedural"],
                       Meta(description="auto: MusicGen when its weights are on this server, "
                                        "else the offline procedural composer")] = "auto"
    format: Literal["wav", "flac", "mp3"] = "wav"
    tempo: Annotated[float, Meta(ge=40, le=240, description="BPM; overrides the prompt")] | None = None
    key: Annotated[str, Meta(max_length=20, description="e.g. 'F# minor'; overrides the prompt")] | None = None
    genre: Annotated[str, Meta(max_length=40, description="Overrides the prompt (procedural)")] | None = None
    mood: Annotated[str, Meta(max_length=40, description="Overrides the prompt (procedural)")] | None = None
    model: Annotated[str, Meta(min_length=1, max_length=300,
                               description="MusicGen hub id or local folder (never downloaded)")] = DEFAULT_MODEL
    melody_model: Annotated[str, Meta(min_length=1, max_length=300,
                                      description="Model used when a melody is given")] = DEFAULT_MELODY_MODEL
    guidance_scale: Annotated[float, Meta(ge=0, le=20)] = 3.0
    temperature: Annotated[float, Meta(gt=0, le=5)] = 1.0
    top_k: Annotated[int, Meta(ge=0, le=4096)] = 250
    top_p: Annotated[float, Meta(ge=0, le=1)] = 0.0
    window: Annotated[float, Meta(ge=5, le=30, description="MusicGen seconds per window (model limit 30)")] = 30.0
    overlap: Annotated[float, Meta(ge=1, le=20, description="Seconds of context carried into the next "
                                                            "window")] = 10.0
