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

    duration: Annotated[float, Meta(gt=0, le=MAX_DURATION_S, title="Length (seconds)",
                                    description="How long the music lasts, up to 300 seconds. Leave it empty "
                                                "to use the length the prompt asks for, or 20 seconds.")] | None = None
    seed: Annotated[int, Meta(ge=0, lt=2**32, title="Seed",
                              description="The same seed with the same prompt gives the same music. Leave it "
                                          "empty for a new take each time; the result says which seed it used.")
                    ] | None = None
    backend: Annotated[Literal["auto", "musicgen", "procedural"],
                       Meta(title="Engine",
                            description="Automatic uses MusicGen when its model is installed on this server, "
                                        "and the built-in offline composer otherwise.")] = "auto"
    format: Annotated[Literal["wav", "flac", "mp3"], Meta(
        title="File format", description="WAV and FLAC are lossless; MP3 is smaller.")] = "wav"
    tempo: Annotated[float, Meta(ge=40, le=240, title="Tempo (BPM)",
                                 description="Beats per minute. Leave it empty to follow the prompt.")] | None = None
    key: Annotated[str, Meta(max_length=20, title="Key",
                             description="A musical key such as F# minor. Leave it empty to follow the "
                                         "prompt.")] | None = None
    genre: Annotated[str, Meta(max_length=40, title="Genre",
                               description="The style of the offline composer. Automatic follows the "
                                           "prompt.")] | None = None
    mood: Annotated[str, Meta(max_length=40, title="Mood",
                              description="A feeling such as calm or dark, for the offline composer. Leave "
                                          "it empty to follow the prompt.")] | None = None
    model: Annotated[str, Meta(min_length=1, max_length=300, title="MusicGen model",
                               description="A model name or a folder on this server. Models are never "
                                           "downloaded while a job runs.")] = DEFAULT_MODEL
    melody_model: Annotated[str, Meta(min_length=1, max_length=300, title="Melody model",
                                      description="The MusicGen model used when you give a melody to "
                                                  "follow.")] = DEFAULT_MELODY_MODEL
    guidance_scale: Annotated[float, Meta(ge=0, le=20, title="Prompt strength",
                                          description="How closely MusicGen follows the prompt; higher is "
                                                      "closer but less varied.")] = 3.0
    temperature: Annotated[float, Meta(gt=0, le=5, title="Temperature",
                                       description="Higher values make MusicGen take more chances.")] = 1.0
    top_k: Annotated[int, Meta(ge=0, le=4096, title="Top-k sampling",
                               description="MusicGen picks each step from this many likeliest choices; "
                                           "0 turns the limit off.")] = 250
    top_p: Annotated[float, Meta(ge=0, le=1, title="Top-p sampling",
                                 description="MusicGen picks from the likeliest choices that add up to this "
                                             "share; 0 turns it off.")] = 0.0
    window: Annotated[float, Meta(ge=5, le=30, title="Window (seconds)",
                                  description="MusicGen writes long pieces in windows of this length; the "
                                              "model's limit is 30 seconds.")] = 30.0
    overlap: Annotated[float, Meta(ge=1, le=20, title="Window overlap (seconds)",
                                   description="How much of each window carries into the next, so the music "
                                               "flows on.")] = 10.0
