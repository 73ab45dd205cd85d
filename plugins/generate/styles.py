"""Genre and mood presets: the defaults a prompt's silence is filled with.

Styles are plain data (like pedalboard effect lists): tempo range, mode, which
voices play which role, drum/bass/comping patterns and tonic-heavy chord
progressions. Every progression starts on the tonic and returns to it, which is
what makes the key audible (and detectable) without sounding like a test tone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from moodmix.engine.capability import Genre

Progression = tuple[str, ...]


@dataclass(frozen=True)
class Style:
    """How one genre sounds when the prompt names nothing more specific."""

    name: str
    aliases: tuple[str, ...]
    tempo: tuple[float, float, float]  # lowest, default, highest
    mode: str  # default mode when the mood does not decide it
    chords: str  # voice playing the harmony: piano | epiano | pluck | pad | bell
    melody: str  # voice playing the tune: lead | flute | piano | bell | pluck | epiano | none
    bass: str  # bass voice: synth | sub | electric | upright
    drums: str  # drum pattern name (see composer.DRUM_PATTERNS) or "none"
    bass_pattern: str
    comp: str  # how the harmony is played: sustain | stabs | arp | strum | ballad | jazz | block
    pad: bool = False  # an extra sustained pad under everything
    swing: float = 0.0  # delay of off-beat notes, as a fraction of one swing unit
    swing_unit: int = 16  # 16: odd 16ths are delayed (lofi, hip hop); 8: off-beat 8ths (jazz)
    brightness: float = 0.6  # 0 = dark, 1 = bright (filters and EQ)
    reverb: float = 0.3  # 0..1 wet amount on the harmony bus
    lofi: bool = False  # vinyl noise, tape wobble, band-limited master
    sidechain: bool = False  # duck harmony under the kick (pumping)
    progressions: dict[str, tuple[Progression, ...]] = field(default_factory=dict)


_POP_MAJOR = (("I", "V", "vi", "IV"), ("I", "IV", "I", "V"), ("I", "vi", "IV", "V"), ("I", "IV", "vi", "V"))
_POP_MINOR = (("i", "VI", "VII", "i"), ("i", "iv", "VI", "V"), ("i", "VI", "iv", "V"), ("i", "iv", "V", "i"))
_JAZZ_MAJOR = (("I7", "vi7", "ii7", "V7"), ("ii7", "V7", "I7", "I7"), ("I7", "IV7", "iii7", "vi7"))
_JAZZ_MINOR = (("i7", "iv7", "i7", "V7"), ("i9", "iv7", "i9", "V7"), ("i7", "iv9", "V7", "i7"))
_EDM_MINOR = (("i", "VI", "VII", "i"), ("i", "VII", "VI", "V"), ("i", "iv", "VI", "V"), ("i", "i", "VI", "VII"))
_EDM_MAJOR = (("I", "V", "vi", "IV"), ("I", "iii", "IV", "V"), ("I", "IV", "V", "I"))
_AMBIENT_MAJOR = (("Iadd9", "IVadd9", "Iadd9", "vi7"), ("I", "iii", "IV", "I"), ("Isus2", "IV", "vi", "IV"))
_AMBIENT_MINOR = (("i9", "VI", "i9", "iv"), ("isus2", "VI", "III", "VII"), ("i", "iv", "i", "VI"))
_ROCK_MAJOR = (("I", "IV", "V", "IV"), ("I", "bVII", "IV", "I"), ("I", "V", "IV", "I"))
_ROCK_MINOR = (("i", "VII", "VI", "V"), ("i", "iv", "VII", "i"), ("i", "VI", "VII", "i"))
_CINEMATIC_MINOR = (("i", "iv", "i", "V"), ("i", "iv", "VI", "V"), ("i", "VI", "iv", "V"), ("i", "VII", "VI", "V"))
_CINEMATIC_MAJOR = (("I", "vi", "IV", "V"), ("I", "iii", "vi", "IV"), ("I", "V", "vi", "iii"))


def _progs(major: tuple[Progression, ...], minor: tuple[Progression, ...]) -> dict[str, tuple[Progression, ...]]:
    return {"major": major, "minor": minor}


STYLES: dict[str, Style] = {s.name: s for s in (
    Style("pop", ("pop music", "radio"), (90, 112, 128), "major", "piano", "lead", "synth", "backbeat",
          "root_eighths", "block", pad=True, brightness=0.7, progressions=_progs(_POP_MAJOR, _POP_MINOR)),
    Style("lofi", ("lo-fi", "lo fi", "chillhop", "lofi hip hop", "study beats"), (70, 82, 95), "minor", "epiano",
          "piano", "electric", "boombap", "root_fifth", "jazz", swing=0.22, brightness=0.35, reverb=0.35,
          lofi=True, progressions=_progs(_JAZZ_MAJOR, _JAZZ_MINOR)),
    Style("hiphop", ("hip hop", "hip-hop", "rap", "boom bap"), (80, 90, 100), "minor", "piano", "bell", "sub",
          "boombap", "syncopated", "block", swing=0.12, brightness=0.45,
          progressions=_progs(_POP_MAJOR, _POP_MINOR)),
    Style("trap", ("drill",), (130, 140, 150), "minor", "bell", "lead", "sub", "trap", "sub", "sustain", pad=True,
          brightness=0.5, progressions=_progs(_EDM_MAJOR, _EDM_MINOR)),
    Style("house", ("deep house", "dance", "club"), (118, 124, 128), "minor", "piano", "lead", "synth",
          "four_on_floor", "offbeat", "stabs", pad=True, brightness=0.65, sidechain=True,
          progressions=_progs(_JAZZ_MAJOR, _JAZZ_MINOR)),
    Style("techno", ("minimal", "industrial techno"), (124, 130, 138), "minor", "pluck", "lead", "synth",
          "four_on_floor", "offbeat", "arp", pad=True, brightness=0.55, sidechain=True,
          progressions=_progs(_EDM_MAJOR, _EDM_MINOR)),
    Style("trance", ("progressive", "uplifting trance"), (132, 138, 142), "minor", "pluck", "lead", "synth",
          "four_on_floor", "offbeat", "arp", pad=True, brightness=0.75, reverb=0.4, sidechain=True,
          progressions=_progs(_EDM_MAJOR, _EDM_MINOR)),
    Style("edm", ("electronic", "electro", "big room", "future bass", "dubstep"), (120, 128, 140), "minor",
          "pad", "lead", "synth", "four_on_floor", "root_eighths", "stabs", brightness=0.75, sidechain=True,
          progressions=_progs(_EDM_MAJOR, _EDM_MINOR)),
    Style("dnb", ("drum and bass", "drum & bass", "drum n bass", "jungle", "liquid"), (160, 172, 178), "minor",
          "pad", "pluck", "sub", "dnb", "sub", "sustain", brightness=0.6, reverb=0.35,
          progressions=_progs(_EDM_MAJOR, _EDM_MINOR)),
    Style("synthwave", ("retrowave", "outrun", "80s", "vaporwave"), (95, 108, 118), "minor", "pad", "lead",
          "synth", "backbeat", "root_eighths", "sustain", brightness=0.65, reverb=0.45,
          progressions=_progs(_EDM_MAJOR, _EDM_MINOR)),
    Style("rock", ("indie", "indie rock", "punk", "alternative", "metal", "grunge"), (100, 120, 150), "major",
          "pluck", "lead", "electric", "rock", "root_eighths", "strum", brightness=0.7,
          progressions=_progs(_ROCK_MAJOR, _ROCK_MINOR)),
    Style("jazz", ("swing", "bebop", "bossa nova", "bossa", "jazzy", "smooth jazz"), (90, 120, 160), "major",
          "epiano", "flute", "upright", "jazz", "walking", "jazz", swing=0.33, swing_unit=8, brightness=0.5, reverb=0.3,
          progressions=_progs(_JAZZ_MAJOR, _JAZZ_MINOR)),
    Style("funk", ("disco", "groove", "soul", "r&b", "rnb"), (100, 112, 124), "minor", "epiano", "lead",
          "electric", "disco", "syncopated", "stabs", swing=0.08, brightness=0.7,
          progressions=_progs(_JAZZ_MAJOR, _JAZZ_MINOR)),
    Style("ambient", ("drone", "meditation", "atmospheric", "chillout", "new age", "soundscape"), (60, 72, 90),
          "major", "pad", "bell", "sub", "pulse", "sustain", "sustain", brightness=0.4, reverb=0.7,
          progressions=_progs(_AMBIENT_MAJOR, _AMBIENT_MINOR)),
    Style("cinematic", ("orchestral", "epic", "film score", "soundtrack", "trailer", "score", "orchestra"),
          (70, 90, 120), "minor", "pad", "pluck", "sub", "toms", "root_quarters", "sustain", pad=False,
          brightness=0.5, reverb=0.6, progressions=_progs(_CINEMATIC_MAJOR, _CINEMATIC_MINOR)),
    Style("folk", ("acoustic", "country", "singer songwriter", "campfire", "americana"), (84, 100, 126),
          "major", "pluck", "flute", "electric", "brush", "root_fifth", "strum", brightness=0.55,
          progressions=_progs(_ROCK_MAJOR, _POP_MINOR)),
    Style("classical", ("piano solo", "piano piece", "baroque", "romantic era", "ballad", "neoclassical"),
          (60, 80, 110), "major", "piano", "piano", "none", "none", "none", "ballad", brightness=0.5,
          reverb=0.45, progressions=_progs(_CINEMATIC_MAJOR, _CINEMATIC_MINOR)),
    Style("chiptune", ("8-bit", "8 bit", "chip", "video game", "retro game", "nes"), (120, 140, 160), "major",
          "lead", "lead", "synth", "four_on_floor", "root_eighths", "arp", brightness=0.8, reverb=0.15,
          progressions=_progs(_EDM_MAJOR, _EDM_MINOR)),
    Style("reggae", ("dub", "ska", "dancehall"), (70, 80, 96), "major", "epiano", "flute", "electric",
          "steppers", "syncopated", "stabs", swing=0.1, brightness=0.55,
          progressions=_progs(_ROCK_MAJOR, _POP_MINOR)),
)}


@dataclass(frozen=True)
class Mood:
    """How a mood bends a style: mode, tempo, energy (density/velocity) and brightness."""

    name: str
    aliases: tuple[str, ...]
    mode: str | None
    tempo_factor: float
    energy: float  # 0..1
    brightness: float  # 0..1
    genre: str  # default genre when the prompt names none


#: Mood names follow the mood plugin's taxonomy, so a generated piece can be checked against its prompt.
MOODS: dict[str, Mood] = {m.name: m for m in (
    Mood("happy", ("joyful", "cheerful", "fun", "playful", "bright", "sunny", "summer", "upbeat", "uplifting",
                   "hopeful", "inspiring", "inspirational", "euphoric", "motivational", "positive"), "major",
         1.05, 0.7, 0.75, "pop"),
    Mood("sad", ("melancholy", "melancholic", "sorrowful", "lonely", "heartbreak", "blue", "gloomy", "rainy",
                 "nostalgic", "bittersweet"), "minor", 0.85, 0.3, 0.35, "lofi"),
    Mood("calm", ("chill", "relaxed", "relaxing", "peaceful", "serene", "mellow", "soft", "gentle", "sleepy",
                  "laid back", "laid-back", "cozy", "dreamy", "tranquil"), "major", 0.88, 0.25, 0.45, "ambient"),
    Mood("energetic", ("energy", "hype", "powerful", "driving", "intense", "party", "pumping", "workout",
                       "exciting", "fast"), None, 1.08, 0.95, 0.8, "edm"),
    Mood("dark", ("sinister", "ominous", "moody", "mysterious", "haunting", "spooky", "eerie", "creepy",
                  "brooding"), "minor", 0.95, 0.6, 0.3, "cinematic"),
    Mood("epic", ("heroic", "triumphant", "majestic", "grand", "cinematic"), "minor", 1.0, 0.9, 0.6, "cinematic"),
    Mood("romantic", ("love", "tender", "warm", "sweet", "sensual", "intimate", "sentimental"), "major", 0.88,
         0.4, 0.5, "jazz"),
    Mood("tense", ("angry", "aggressive", "furious", "heavy", "rage", "hard", "anxious", "suspense",
                   "suspenseful", "menacing"), "minor", 1.1, 1.0, 0.7, "rock"),
)}

DEFAULT_GENRE = "pop"
#: The genre set (``Genre.set``) that generate's ``genre`` parameter chooses from.
GENRE_SET = "generate"


def describe_style(style: Style) -> str:
    """A style in words, from its own data (so the description cannot drift from the sound)."""
    low, default, high = style.tempo
    parts = [f"{low:g}–{high:g} BPM (usually {default:g})", f"{style.mode} key", f"{style.chords} chords"]
    if style.melody != "none":
        parts.append(f"{style.melody} melody")
    parts.append("no drums" if style.drums == "none" else f"{style.drums.replace('_', ' ')} drums")
    if style.swing:
        parts.append("swung")
    if style.lofi:
        parts.append("tape-worn")
    return f"{style.name.capitalize()}: " + ", ".join(parts) + "."


def genres() -> list[Genre]:
    """Every style as a genre of the ``generate`` set (what the page and bots offer for ``genre``)."""
    return [Genre(s.name, describe_style(s), recipe=s, aliases=s.aliases, set=GENRE_SET)
            for s in STYLES.values()]
DEFAULT_MOOD = "happy"

#: Words for the voices we can synthesise, mapped to (voice, role).
INSTRUMENT_WORDS: dict[str, tuple[str, str]] = {
    "grand piano": ("piano", "chords"), "piano": ("piano", "chords"), "keys": ("epiano", "chords"),
    "rhodes": ("epiano", "chords"), "electric piano": ("epiano", "chords"), "wurlitzer": ("epiano", "chords"),
    "organ": ("epiano", "chords"),
    "acoustic guitar": ("pluck", "chords"), "guitar": ("pluck", "chords"), "harp": ("pluck", "chords"),
    "ukulele": ("pluck", "chords"), "mandolin": ("pluck", "chords"), "banjo": ("pluck", "chords"),
    "koto": ("pluck", "chords"), "pluck": ("pluck", "chords"), "plucks": ("pluck", "chords"),
    "strings": ("pad", "pad"), "violin": ("pad", "pad"), "violins": ("pad", "pad"), "cello": ("pad", "pad"),
    "choir": ("pad", "pad"), "pad": ("pad", "pad"), "pads": ("pad", "pad"), "synth pad": ("pad", "pad"),
    "synth": ("lead", "melody"), "synths": ("lead", "melody"), "lead": ("lead", "melody"),
    "synth lead": ("lead", "melody"), "saxophone": ("lead", "melody"), "sax": ("lead", "melody"),
    "trumpet": ("lead", "melody"), "brass": ("lead", "melody"),
    "flute": ("flute", "melody"), "whistle": ("flute", "melody"), "ocarina": ("flute", "melody"),
    "clarinet": ("flute", "melody"), "pan flute": ("flute", "melody"),
    "bells": ("bell", "melody"), "bell": ("bell", "melody"), "glockenspiel": ("bell", "melody"),
    "music box": ("bell", "melody"), "celesta": ("bell", "melody"), "vibraphone": ("bell", "melody"),
    "marimba": ("bell", "melody"), "kalimba": ("bell", "melody"), "xylophone": ("bell", "melody"),
    "808": ("sub", "bass"), "sub bass": ("sub", "bass"), "bass guitar": ("electric", "bass"),
    "upright bass": ("upright", "bass"), "double bass": ("upright", "bass"), "synth bass": ("synth", "bass"),
    "bass": ("synth", "bass"), "bassline": ("synth", "bass"),
    "drums": ("drums", "drums"), "drum": ("drums", "drums"), "beat": ("drums", "drums"),
    "beats": ("drums", "drums"), "percussion": ("drums", "drums"),
}

NO_DRUM_PHRASES = ("no drums", "without drums", "drumless", "no beat", "without percussion", "no percussion")
