"""Just enough music theory to turn a key and roman numerals into MIDI notes.

Chords are built from the scale of the key (diatonic), so every note the
composer writes belongs to the stated key unless a style asks otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
#: Names used when a key is spelled with flats (keeps "Bb minor" readable in the spec).
FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}

SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
}

_ROMAN = {"i": 0, "ii": 1, "iii": 2, "iv": 3, "v": 4, "vi": 5, "vii": 6}


def pitch_class(letter: str, accidental: str = "") -> int:
    """Pitch class (0 = C) of a note letter with an optional ``#``/``b`` accidental."""
    pc = _LETTER_PC[letter.upper()]
    acc = accidental.lower().replace("♯", "#").replace("♭", "b")
    if acc in ("#", "sharp", "s"):
        pc += 1
    elif acc in ("b", "flat"):
        pc -= 1
    return pc % 12


def note_name(pc: int, prefer_flats: bool = False) -> str:
    return (FLAT_NAMES if prefer_flats else NOTE_NAMES)[pc % 12]


#: White-key tonics whose key signature has flats (F major; D, G, C, F minor).
_FLAT_SIGNATURES = {"major": {5}, "minor": {2, 7, 0, 5}}


def spell_with_flats(tonic: int, mode: str, wrote_flat: bool) -> bool:
    """Whether chord names in this key read better with flats ("Bb", not "A#")."""
    if NOTE_NAMES[tonic % 12].endswith("#"):  # a black-key tonic: spell it as the user did
        return wrote_flat
    return tonic in _FLAT_SIGNATURES.get(mode, set())


@dataclass(frozen=True)
class Key:
    """A tonic pitch class and a mode (``major`` or ``minor``)."""

    tonic: int
    mode: str
    flats: bool = False

    @property
    def name(self) -> str:
        return f"{note_name(self.tonic, self.flats)} {self.mode}"

    def spelled(self) -> Key:
        """The same key with the conventional flat/sharp spelling for its chords."""
        return Key(self.tonic, self.mode, spell_with_flats(self.tonic, self.mode, self.flats))

    @property
    def scale(self) -> tuple[int, ...]:
        return SCALES[self.mode]

    def degree_pc(self, degree: int) -> int:
        """Pitch class of scale degree ``degree`` (0-based, may exceed 6)."""
        octave, step = divmod(degree, 7)
        return (self.tonic + self.scale[step] + 12 * octave) % 12

    def degree_midi(self, degree: int, base_octave: int = 4) -> int:
        """MIDI note of scale degree ``degree`` counted from the tonic in ``base_octave``."""
        octave, step = divmod(degree, 7)
        return 12 * (base_octave + 1) + self.tonic + self.scale[step] + 12 * octave

    def contains(self, midi: int) -> bool:
        return (midi - self.tonic) % 12 in self.scale


_KEY_TEXT = re.compile(r"^\s*([A-Ga-g])\s*(#|♯|b|♭|sharp|flat)?\s*(major|minor|maj|min|m)?\s*$")


def parse_key(text: str) -> Key:
    """Parse ``"F# minor"``, ``"Bb"``, ``"Am"`` or ``"c sharp major"``; raises ``ValueError``."""
    match = _KEY_TEXT.match(text.replace("sharp", "#").replace(" flat", "b"))
    if not match:
        raise ValueError(f"cannot read a key from {text!r} (try e.g. 'F# minor' or 'Bb major')")
    letter, acc, mode = match.groups()
    acc = acc or ""
    return Key(pitch_class(letter, acc), mode_from_word(mode), flats=acc in ("b", "♭", "flat"))


def mode_from_word(word: str | None, default: str = "major") -> str:
    if not word:
        return default
    return "minor" if word.lower() in ("minor", "min", "m") else "major"


@dataclass(frozen=True)
class Chord:
    """A chord as a root pitch class, its notes (pitch classes, root first) and a display name."""

    root: int
    pcs: tuple[int, ...]
    name: str
    degree: int


def roman_chord(key: Key, numeral: str) -> Chord:
    """Diatonic chord for ``numeral`` in ``key``: ``"i"``, ``"IV"``, ``"vi7"``, ``"V9"``, ``"bVII"``.

    The case of the numeral is ignored for the triad quality (it follows the
    scale), except ``V`` in a minor key, which is the major dominant of harmonic
    minor (its leading tone is what tells A minor from C major). A trailing
    ``7`` or ``9`` stacks more diatonic thirds; ``sus2``/``sus4`` replace the third.
    """
    m = re.fullmatch(r"(b?)([ivIV]+)(7|9|sus2|sus4|add9)?", numeral)
    if not m:
        raise ValueError(f"bad roman numeral {numeral!r}")
    flat, roman, ext = m.groups()
    degree = _ROMAN[roman.lower()]
    if flat:  # borrowed chord a semitone below the diatonic degree (e.g. bVII in major)
        root = (key.degree_pc(degree) - 1) % 12
        pcs = [root, (root + 4) % 12, (root + 7) % 12]
        return Chord(root, tuple(pcs), _chord_name(key, root, "maj"), degree)
    stack = [degree, degree + 2, degree + 4]
    if ext == "7":
        stack.append(degree + 6)
    elif ext == "9":
        stack += [degree + 6, degree + 8]
    pcs = [key.degree_pc(d) for d in stack]
    if key.mode == "minor" and roman == "V":  # upper-case V in minor: the harmonic-minor dominant
        pcs[1] = (pcs[1] + 1) % 12
    if ext == "sus2":
        pcs[1] = key.degree_pc(degree + 1)
    elif ext == "sus4":
        pcs[1] = key.degree_pc(degree + 3)
    elif ext == "add9":
        pcs.append(key.degree_pc(degree + 8))
    root = pcs[0]
    third = (pcs[1] - root) % 12
    fifth = (pcs[2] - root) % 12
    quality = "dim" if (third, fifth) == (3, 6) else ("m" if third == 3 else "")
    if ext in ("sus2", "sus4"):
        quality = ext
    elif ext in ("7", "9"):
        seventh = (pcs[3] - root) % 12
        quality = {(4, 7, 11): "maj7", (3, 7, 10): "m7", (4, 7, 10): "7", (3, 6, 10): "m7b5",
                   (3, 6, 9): "dim7", (3, 7, 11): "mMaj7"}.get((third, fifth, seventh), quality + "7")
        if ext == "9":
            quality = quality.replace("7", "9")
    elif ext == "add9":
        quality += "add9"
    return Chord(root, tuple(pcs), _chord_name(key, root, quality), degree)


def _chord_name(key: Key, root: int, quality: str) -> str:
    return note_name(root, key.flats) + ("" if quality == "maj" else quality)


def voice_chord(pcs: tuple[int, ...], low: int, high: int, previous: list[int] | None) -> list[int]:
    """MIDI notes for ``pcs`` inside ``[low, high]``, as close as possible to ``previous`` (voice leading)."""
    candidates: list[list[int]] = []
    for inversion in range(len(pcs)):
        order = pcs[inversion:] + pcs[:inversion]
        for base in range(low, low + 12):
            if base % 12 != order[0]:
                continue
            notes = [base]
            for pc in order[1:]:
                n = notes[-1] + 1
                while n % 12 != pc:
                    n += 1
                notes.append(n)
            if notes[-1] <= high:
                candidates.append(notes)
    if not candidates:
        base = low + (pcs[0] - low) % 12
        return [base + (pc - pcs[0]) % 12 for pc in pcs]
    if not previous:
        centre = (low + high) / 2
        return min(candidates, key=lambda c: abs(sum(c) / len(c) - centre))
    return min(candidates, key=lambda c: sum(min(abs(n - p) for p in previous) for n in c))
