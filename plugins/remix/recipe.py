"""A remix recipe as plain data: what genre presets are made of and what API users may send.

Effects read like pedalboard's own ``Pedalboard([Compressor(...), Reverb(room_size=0.25)])``:
each effect is a small struct named after the pedalboard class it becomes, with the same
parameter names, and JSON recipes tag it with ``"type"``::

    {"tempo": 85, "pitch_semitones": -1,
     "stems": {"vocals": {"gain_db": -2, "effects": [{"type": "Reverb", "room_size": 0.4}]}},
     "drums": {"kit": "lofi", "kick": "x......x..x.....", "snare": "....x.......x..."},
     "master": [{"type": "LowpassFilter", "cutoff_frequency_hz": 6000}]}

Every number has bounds, so a bad recipe fails validation naming its field (``$.stems.vocals...``)
instead of producing a broken render.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec

from moodmix.engine.errors import BadInput

STEM_NAMES = ("drums", "bass", "vocals", "other")
StemName = Literal["drums", "bass", "vocals", "other"]

Unit = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
Hz = Annotated[float, msgspec.Meta(ge=20.0, le=20_000.0)]
Ms = Annotated[float, msgspec.Meta(ge=0.01, le=5_000.0)]
GainDb = Annotated[float, msgspec.Meta(ge=-60.0, le=24.0)]
EqGainDb = Annotated[float, msgspec.Meta(ge=-24.0, le=24.0)]
Q = Annotated[float, msgspec.Meta(ge=0.1, le=10.0)]
Feedback = Annotated[float, msgspec.Meta(ge=-0.95, le=0.95)]
RateHz = Annotated[float, msgspec.Meta(ge=0.01, le=20.0)]
Bpm = Annotated[float, msgspec.Meta(ge=40.0, le=220.0)]
Ratio = Annotated[float, msgspec.Meta(ge=0.5, le=2.0)]
Semitones = Annotated[float, msgspec.Meta(ge=-12.0, le=12.0)]
#: One character per 16th note: ``X`` accent, ``x`` hit, ``.`` rest (up to four bars).
Steps = Annotated[str, msgspec.Meta(pattern=r"^[xX.]{0,64}$")]
Kit = Literal["808", "909", "acoustic", "lofi", "chip", "breaks"]


class BaseEffect(msgspec.Struct, tag=True, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """Base of every effect: the JSON ``"type"`` is the pedalboard class name."""


class Reverb(BaseEffect):
    room_size: Unit = 0.5
    damping: Unit = 0.5
    wet_level: Unit = 0.33
    dry_level: Unit = 0.4
    width: Unit = 1.0


class Chorus(BaseEffect):
    rate_hz: RateHz = 1.0
    depth: Unit = 0.25
    centre_delay_ms: Annotated[float, msgspec.Meta(ge=0.1, le=50.0)] = 7.0
    feedback: Feedback = 0.0
    mix: Unit = 0.5


class Delay(BaseEffect):
    """Echo; ``beats`` (if given) sets the delay in beats of the target tempo instead of seconds."""

    delay_seconds: Annotated[float, msgspec.Meta(ge=0.001, le=4.0)] = 0.5
    beats: Annotated[float, msgspec.Meta(gt=0.0, le=8.0)] | None = None
    feedback: Annotated[float, msgspec.Meta(ge=0.0, le=0.95)] = 0.0
    mix: Unit = 0.5


class Compressor(BaseEffect):
    threshold_db: Annotated[float, msgspec.Meta(ge=-60.0, le=0.0)] = 0.0
    ratio: Annotated[float, msgspec.Meta(ge=1.0, le=30.0)] = 1.0
    attack_ms: Ms = 1.0
    release_ms: Ms = 100.0


class LowpassFilter(BaseEffect):
    cutoff_frequency_hz: Hz = 50.0


class HighpassFilter(BaseEffect):
    cutoff_frequency_hz: Hz = 50.0


class PeakFilter(BaseEffect):
    cutoff_frequency_hz: Hz = 440.0
    gain_db: EqGainDb = 0.0
    q: Q = 0.7071


class LowShelfFilter(BaseEffect):
    cutoff_frequency_hz: Hz = 440.0
    gain_db: EqGainDb = 0.0
    q: Q = 0.7071


class HighShelfFilter(BaseEffect):
    cutoff_frequency_hz: Hz = 440.0
    gain_db: EqGainDb = 0.0
    q: Q = 0.7071


class Bitcrush(BaseEffect):
    bit_depth: Annotated[float, msgspec.Meta(ge=1.0, le=24.0)] = 8.0


class Distortion(BaseEffect):
    drive_db: Annotated[float, msgspec.Meta(ge=0.0, le=60.0)] = 25.0


class Gain(BaseEffect):
    gain_db: GainDb = 1.0


class Phaser(BaseEffect):
    rate_hz: RateHz = 1.0
    depth: Unit = 0.5
    centre_frequency_hz: Hz = 1300.0
    feedback: Feedback = 0.0
    mix: Unit = 0.5


class Limiter(BaseEffect):
    threshold_db: Annotated[float, msgspec.Meta(ge=-60.0, le=0.0)] = -10.0
    release_ms: Ms = 100.0


class Resample(BaseEffect):
    """Down- and back up-sampling: the aliasing crunch of old samplers and game consoles."""

    target_sample_rate: Annotated[float, msgspec.Meta(ge=1_000.0, le=96_000.0)] = 8_000.0


class MP3Compressor(BaseEffect):
    """A low-bitrate MP3 round trip (lower quality value = better), for lo-fi artefacts."""

    vbr_quality: Annotated[float, msgspec.Meta(ge=0.0, le=10.0)] = 2.0


Effect = (Reverb | Chorus | Delay | Compressor | LowpassFilter | HighpassFilter | PeakFilter
          | LowShelfFilter | HighShelfFilter | Bitcrush | Distortion | Gain | Phaser | Limiter
          | Resample | MP3Compressor)
EFFECT_TYPES: tuple[type[BaseEffect], ...] = Effect.__args__  # type: ignore[attr-defined]


class StemSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """Level, mute and effect chain of one stem."""

    gain_db: GainDb = 0.0
    mute: bool = False
    effects: list[Effect] = []


class Stems(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """Settings for each of the four stems (any left out play unchanged)."""

    drums: StemSettings = msgspec.field(default_factory=StemSettings)
    bass: StemSettings = msgspec.field(default_factory=StemSettings)
    vocals: StemSettings = msgspec.field(default_factory=StemSettings)
    other: StemSettings = msgspec.field(default_factory=StemSettings)

    def get(self, name: str) -> StemSettings:
        return getattr(self, name)


class Sidechain(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """Duck the music under each synthesised kick (the "pumping" of house and EDM)."""

    depth_db: Annotated[float, msgspec.Meta(ge=0.0, le=24.0)] = 6.0
    attack_ms: Annotated[float, msgspec.Meta(ge=0.0, le=50.0)] = 5.0
    release_ms: Annotated[float, msgspec.Meta(ge=10.0, le=1_000.0)] = 150.0


class DrumPattern(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """A step pattern played on a synthesised kit at the target tempo, locked to the track's beats.

    Each voice is a string of 16th-note steps that loops on its own length; the first
    step falls on a detected beat.
    """

    kit: Kit = "909"
    kick: Steps = ""
    snare: Steps = ""
    clap: Steps = ""
    hat: Steps = ""
    open_hat: Steps = ""
    #: Level of the drum bus relative to the music's loudness.
    level_db: Annotated[float, msgspec.Meta(ge=-40.0, le=12.0)] = -3.0
    #: Delay of every second 16th, as a fraction of a 16th (0.33 ≈ triplet shuffle).
    swing: Annotated[float, msgspec.Meta(ge=0.0, le=0.5)] = 0.0
    sidechain: Sidechain | None = None
    effects: list[Effect] = []

    def __post_init__(self) -> None:
        if not any(self.voices().values()):
            raise ValueError("a drum pattern needs at least one voice with steps")

    def voices(self) -> dict[str, str]:
        return {"kick": self.kick, "snare": self.snare, "clap": self.clap, "hat": self.hat,
                "open_hat": self.open_hat}


class Recipe(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """Everything a remix does to a track. Genre presets are recipes; users may send their own.

    Tempo: ``tempo`` is a target BPM, ``tempo_ratio`` a speed factor (1.25 = 25 % faster);
    give one or neither (keep the tempo).
    """

    tempo: Bpm | None = None
    tempo_ratio: Ratio | None = None
    #: When matching a target BPM, treat the source as half/double time if that stretches less.
    fold_octaves: bool = True
    pitch_semitones: Semitones = 0.0
    #: Change speed like a turntable (pitch follows tempo), as slowed and nightcore edits do.
    varispeed: bool = False
    stems: Stems = msgspec.field(default_factory=Stems)
    drums: DrumPattern | None = None
    master: list[Effect] = []

    def __post_init__(self) -> None:
        if self.tempo is not None and self.tempo_ratio is not None:
            raise ValueError("give either tempo or tempo_ratio, not both")


_PATH = re.compile(r"at `\$\.?([^`]*)`")


def parse_recipe(raw: Any, *, where: str = "recipe") -> Recipe:
    """Validate a recipe given as a struct, a dict or JSON text; :class:`BadInput` names the bad field."""
    if isinstance(raw, Recipe):
        return raw
    try:
        if isinstance(raw, str | bytes):
            return msgspec.json.decode(raw, type=Recipe)
        return msgspec.convert(raw, type=Recipe, strict=False)
    except msgspec.ValidationError as exc:
        match = _PATH.search(str(exc))
        field = f"{where}.{match.group(1)}".rstrip(".") if match else where
        message = _PATH.sub("", str(exc)).rstrip(" -")
        raise BadInput(f"invalid {field}: {message}", code="bad_recipe", details={"field": field}) from exc
    except msgspec.DecodeError as exc:
        raise BadInput(f"invalid {where}: not valid JSON ({exc})", code="bad_recipe",
                       details={"field": where}) from exc


def recipe_to_json(recipe: Recipe) -> bytes:
    """The recipe as indented JSON that :func:`parse_recipe` reads back unchanged."""
    return msgspec.json.format(msgspec.json.encode(recipe), indent=2)
