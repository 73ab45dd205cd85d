"""Compose a score (notes and drum hits in seconds) from a :class:`MusicSpec`.

The arrangement is built in 4-bar phrases over the spec's progression: an intro,
verse/chorus blocks, an occasional breakdown and an ending on the tonic chord.
Two things are deliberate because listeners and analysers both rely on them:
the kick (or its stand-in) lands on the beat, and phrases start and end on the
tonic, so tempo and key are unambiguous.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from moodmix.plugins.generate.spec import MusicSpec
from moodmix.plugins.generate.styles import Style
from moodmix.plugins.generate.theory import Chord, Key, roman_chord, voice_chord

STEPS = 16  # sixteenth notes per 4/4 bar

#: Drum grids, one 16-step string per instrument: X accent, x hit, o ghost, . rest.
DRUM_PATTERNS: dict[str, dict[str, str]] = {
    "four_on_floor": {"kick": "X...X...X...X...", "clap": "....x.......x...", "hat": "..x...x...x...x.",
                      "shaker": "o.o.o.o.o.o.o.o."},
    "disco": {"kick": "X...X...X...X...", "snare": "....x.......x...", "open_hat": "..x...x...x...x.",
              "hat": "xoxoxoxoxoxoxoxo"},
    "backbeat": {"kick": "X.......X.x.....", "snare": "....X.......X...", "hat": "x.o.x.o.x.o.x.o."},
    "rock": {"kick": "X.......X.x.....", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."},
    "boombap": {"kick": "X.....x.X.......", "snare": "....X.......X...", "hat": "x.o.x.o.x.o.x.oo"},
    "trap": {"kick": "X......x..X.....", "clap": "........X.......", "hat": "x.x.x.x.x.xxx.x.",
             "snare": "....o.......o..."},
    "dnb": {"kick": "X.........X.....", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x.",
            "shaker": "oooooooooooooooo"},
    "jazz": {"ride": "x...x.x.x...x.x.", "kick": "o...o...o...o...", "hat": "....x.......x..."},
    "pulse": {"kick": "x.......x.......", "shaker": "..o...o...o...o."},
    "toms": {"kick": "X...x...X...x...", "tom": "......x.......xx", "shaker": "o.o.o.o.o.o.o.o."},
    "brush": {"kick": "x.......x.......", "snare": "....x.......x...", "shaker": "x.o.x.o.x.o.x.o."},
    "steppers": {"kick": "X...X...X...X...", "rim": "........x.......", "hat": "..x...x...x...x."},
}
_LEVEL = {"X": 1.0, "x": 0.8, "o": 0.45}

#: Bass rhythms: step -> which chord tone (0 root, 1 fifth, 2 octave).
BASS_PATTERNS: dict[str, tuple[tuple[int, int, float], ...]] = {  # (step, tone, length in steps)
    "root_quarters": ((0, 0, 4), (4, 0, 4), (8, 0, 4), (12, 0, 4)),
    "root_eighths": tuple((s, 2 if s == 14 else 0, 2) for s in range(0, 16, 2)),
    "root_fifth": ((0, 0, 6), (6, 0, 2), (8, 1, 6), (14, 0, 2)),
    "offbeat": ((2, 0, 2), (6, 0, 2), (10, 0, 2), (14, 2, 2)),
    "syncopated": ((0, 0, 3), (3, 0, 2), (6, 2, 2), (10, 0, 2), (12, 1, 2), (14, 0, 2)),
    "sub": ((0, 0, 7), (7, 0, 3), (10, 0, 6)),
    "sustain": ((0, 0, 16),),
    "walking": ((0, 0, 4), (4, 3, 4), (8, 1, 4), (12, 4, 4)),  # 3: scale step, 4: approach note
}

MELODY_RANGES = {"lead": (67, 84), "flute": (67, 88), "piano": (67, 84), "bell": (72, 91), "pluck": (64, 81),
                 "epiano": (64, 81), "pad": (64, 79)}
_RHYTHM_CELLS = {
    "sparse": ("x.......x.......", "x.....x.....x...", "x...x.......x...", "x.......x...x..."),
    "medium": ("x...x.x...x.x...", "x.x...x.x...x...", "..x.x...x...x.x.", "x..x..x...x.x...",
               "x...x...x.x.x..."),
    "dense": ("x.x.x.x.x.x.x.x.", "x.x.xx.xx.x.x...", "x..x..x.x.x.x.x.", "x.x.x..xx.x.x..."),
}


def _on_the_beat(pattern: tuple[tuple[int, int, float], ...]) -> tuple[tuple[int, int, float], ...]:
    """The pattern's on-beat notes, each held until the next one (a slow groove's bass)."""
    kept = [(step, tone) for step, tone, _ in pattern if step % 4 == 0] or [(0, 0)]
    ends = [s for s, _ in kept[1:]] + [STEPS]
    return tuple((step, tone, float(end - step)) for (step, tone), end in zip(kept, ends, strict=True))


@dataclass(frozen=True)
class Note:
    start: float
    length: float
    midi: int
    velocity: float


@dataclass(frozen=True)
class DrumHit:
    kind: str
    start: float
    velocity: float


@dataclass
class Score:
    """Notes per role (``chords``, ``melody``, ``bass``, ``pad``) and drum hits, all in seconds."""

    notes: dict[str, list[Note]] = field(default_factory=dict)
    drums: list[DrumHit] = field(default_factory=list)
    sections: list[dict] = field(default_factory=list)
    bar_seconds: float = 2.0
    bars: int = 0


@dataclass(frozen=True)
class Section:
    name: str
    start_bar: int
    bars: int
    drums: str  # none | light | full
    melody: float  # density 0..1, 0 = no melody
    bass: bool
    pad: bool


def plan_sections(n_bars: int) -> list[Section]:
    """Intro / verse / chorus / breakdown / outro layout for ``n_bars`` of groove."""
    if n_bars < 8:
        return [Section("main", 0, n_bars, "full", 0.8, True, True)]
    intro = 2 if n_bars < 24 else 4
    outro = 0 if n_bars < 14 else 2
    sections = [Section("intro", 0, intro, "light", 0.0, True, True)]
    bar, block = intro, 0
    body_end = n_bars - outro
    while bar < body_end:
        length = min(8, body_end - bar)
        if block % 4 == 3 and body_end - bar >= 12:
            sections.append(Section("breakdown", bar, 4, "none", 0.7, False, True))
            bar += 4
            block += 1
            continue
        chorus = block % 2 == 1
        sections.append(Section("chorus" if chorus else "verse", bar, length, "full", 1.0 if chorus else 0.55,
                                True, chorus))
        bar += length
        block += 1
    if outro:
        sections.append(Section("outro", bar, outro, "light", 0.0, True, True))
    return sections


class Composer:
    """Writes one piece for a spec; all randomness comes from the spec's seed."""

    def __init__(self, spec: MusicSpec) -> None:
        self.spec = spec
        self.style: Style = spec.style
        self.key: Key = spec.key_obj
        self.rng = np.random.default_rng([spec.seed, 202])
        self.beat = 60.0 / spec.tempo
        self.step = self.beat / 4
        self.bar = self.beat * 4
        self.chords: list[Chord] = [roman_chord(self.key, n) for n in spec.progression]
        self.tonic_chord = roman_chord(self.key, "i" if self.key.mode == "minor" else "I")
        #: Below ~95 BPM loud off-beat eighths make a slow groove read (and feel) twice as fast,
        #: so slow pieces keep the quarter-note pulse on top and the eighths underneath.
        self.slow = spec.tempo < 95

    def _offbeat_weight(self, step: float) -> float:
        """Velocity factor for a step: off-beat eighths are softer in slow pieces."""
        return 0.6 if self.slow and int(step) % 4 != 0 else 1.0

    # -- timing -------------------------------------------------------------------------------------
    def time_of(self, bar: int, step: float) -> float:
        """Seconds of ``step`` in ``bar``, with the style's swing applied to off-beats."""
        swing = self.style.swing
        delay = 0.0
        if swing:
            if self.style.swing_unit == 8 and int(step) % 4 == 2:
                delay = swing * 2 * self.step
            elif self.style.swing_unit == 16 and int(step) % 2 == 1:
                delay = swing * self.step
        return bar * self.bar + step * self.step + delay

    # -- the whole piece ----------------------------------------------------------------------------
    def compose(self) -> Score:
        ring = min(3.0, max(1.0, 0.5 * self.bar))
        n_bars = max(1, math.floor((self.spec.duration - ring) / self.bar))
        if n_bars * self.bar > self.spec.duration:
            n_bars = max(1, math.floor(self.spec.duration / self.bar))
        sections = plan_sections(n_bars)
        score = Score(notes={"chords": [], "melody": [], "bass": [], "pad": []}, bar_seconds=self.bar,
                      bars=n_bars)
        motifs = [self._melody_phrase(variant) for variant in range(2)]
        prev_voicing: list[int] | None = None
        for section in sections:
            score.sections.append({"name": section.name, "start": round(section.start_bar * self.bar, 3),
                                   "bars": section.bars})
            for i in range(section.bars):
                bar = section.start_bar + i
                chord = self.chords[bar % len(self.chords)]
                voicing = self._voicing(chord, prev_voicing)
                prev_voicing = voicing
                score.notes["chords"] += self._comp(bar, chord, voicing, section)
                if section.pad and "pad" in self.spec.instruments:
                    score.notes["pad"] += [Note(self.time_of(bar, 0), self.bar, n, 0.5) for n in voicing]
                if section.bass and self.spec.instruments.get("bass", "none") != "none":
                    score.notes["bass"] += self._bass(bar, chord, self.chords[(bar + 1) % len(self.chords)])
                if section.drums != "none":
                    score.drums += self._drums(bar, section, last_in_phrase=(i % 8 == 7 or i == section.bars - 1))
                if section.melody > 0 and self.spec.instruments.get("melody", "none") != "none":
                    phrase = motifs[(bar // 4) % 2]
                    score.notes["melody"] += self._place_melody(phrase, bar, section.melody)
            if section.name in ("chorus", "main") and self.spec.instruments.get("drums", "none") != "none":
                score.drums.append(DrumHit("crash", self.time_of(section.start_bar, 0), 0.7))
        self._ending(score, n_bars, prev_voicing)
        return score

    def _ending(self, score: Score, n_bars: int, prev: list[int] | None) -> None:
        """Final tonic chord with a low tonic in the bass, ringing to the end."""
        start = n_bars * self.bar
        length = max(0.5, self.spec.duration - start)
        voicing = self._voicing(self.tonic_chord, prev)
        score.notes["chords"] += [Note(start + 0.012 * i, length, n, 0.7) for i, n in enumerate(voicing)]
        if "pad" in self.spec.instruments:
            score.notes["pad"] += [Note(start, length, n, 0.5) for n in voicing]
        if self.spec.instruments.get("bass", "none") != "none":
            score.notes["bass"].append(Note(start, length, self._bass_root(self.tonic_chord.root), 0.9))
        if self.spec.instruments.get("drums", "none") != "none":
            score.drums += [DrumHit("kick", start, 1.0), DrumHit("crash", start, 0.8)]
        if self.spec.instruments.get("melody", "none") != "none":
            lo, _ = MELODY_RANGES.get(self.spec.instruments["melody"], (67, 84))
            tonic = lo + (self.key.tonic - lo) % 12
            score.notes["melody"].append(Note(start, min(length, 2 * self.bar), tonic, 0.7))

    # -- harmony ------------------------------------------------------------------------------------
    def _voicing(self, chord: Chord, prev: list[int] | None) -> list[int]:
        pcs = chord.pcs if len(chord.pcs) <= 4 else (chord.pcs[0], chord.pcs[1], chord.pcs[3], chord.pcs[4])
        return voice_chord(tuple(pcs), 55, 76, prev)

    def _arp_pattern(self, chord: Chord) -> list[int]:
        """Root-position arpeggio that leans on root and fifth, so the harmony's centre is clear."""
        root = 48 + (chord.root - 48) % 12
        third = root + (chord.pcs[1] - chord.root) % 12
        fifth = root + (chord.pcs[2] - chord.root) % 12
        return [root, fifth, root + 12, third + 12, fifth + 12, root + 12, fifth, third + 12]

    def _comp(self, bar: int, chord: Chord, voicing: list[int], section: Section) -> list[Note]:
        """The harmony instrument's part for one bar, following the style's comping pattern."""
        comp = self.style.comp if self.spec.instruments.get("chords") != "pad" else "sustain"
        energy = self.spec.energy * (0.7 if section.name in ("intro", "outro", "breakdown") else 1.0)
        vel = 0.5 + 0.35 * energy
        notes: list[Note] = []

        def chord_at(step: float, length_steps: float, v: float, spread: float = 0.0) -> None:
            for i, n in enumerate(voicing):
                notes.append(Note(self.time_of(bar, step) + spread * i, length_steps * self.step, n,
                                  self._humanise(v * self._offbeat_weight(step))))

        if comp == "sustain":
            chord_at(0, STEPS, vel * 0.9, 0.004)
        elif comp == "block":
            steps = (0, 4, 8, 12) if energy > 0.6 else (0, 8)
            for s in steps:
                chord_at(s, 16 / len(steps) - 0.5, vel * (1.0 if s in (0, 8) else 0.8))
        elif comp == "stabs":
            steps = (4, 12) if self.slow else ((2, 6, 10, 14) if energy > 0.5 else (0, 6, 10))
            for s in steps:
                chord_at(s, 2.0 if self.slow else 1.5, vel)
        elif comp == "strum":
            strokes = ((0, True), (4, True), (8, True), (12, True), (14, False)) if self.slow else \
                ((0, True), (4, True), (6, False), (10, False), (12, True), (14, False))
            for s, down in strokes:
                order = voicing if down else voicing[::-1]
                for i, n in enumerate(order):
                    notes.append(Note(self.time_of(bar, s) + 0.011 * i, 2.5 * self.step, n,
                                      self._humanise(vel * (1.0 if down else 0.7) * self._offbeat_weight(s))))
        elif comp == "arp":
            rate = 1 if energy > 0.6 and not self.slow else 2
            pattern = self._arp_pattern(chord)
            for k, s in enumerate(range(0, STEPS, rate)):
                notes.append(Note(self.time_of(bar, s), rate * self.step * 0.9, pattern[k % len(pattern)],
                                  self._humanise(vel * (1.0 if s % 4 == 0 else 0.75) * self._offbeat_weight(s))))
        elif comp == "ballad":
            root = self._bass_root(chord.root) + 12
            third = root + (chord.pcs[1] - chord.root) % 12
            fifth = root + (chord.pcs[2] - chord.root) % 12
            pool = [root, fifth, root + 12, third + 12, fifth + 12, third + 12, root + 12, fifth]
            rate = 4 if self.slow else 2
            for k, s in enumerate(range(0, STEPS, rate)):
                notes.append(Note(self.time_of(bar, s), 2 * rate * self.step, pool[(k * rate // 2) % len(pool)],
                                  self._humanise(vel * (1.0 if s % 8 == 0 else 0.8))))
        else:  # jazz comping: a long chord on one, pushed hits later in the bar
            chord_at(0, 6, vel, 0.006)
            for s in (6, 10, 14):
                if self.rng.random() < 0.45 + 0.3 * energy:
                    chord_at(s, 1.5, vel * 0.75, 0.004)
        return notes

    # -- bass ---------------------------------------------------------------------------------------
    def _bass_root(self, pc: int) -> int:
        return 33 + (pc - 33) % 12  # A1..G#2

    def _bass(self, bar: int, chord: Chord, next_chord: Chord) -> list[Note]:
        pattern = BASS_PATTERNS.get(self.style.bass_pattern, BASS_PATTERNS["root_quarters"])
        if self.slow and self.style.bass_pattern != "walking":
            pattern = _on_the_beat(pattern)
        root = self._bass_root(chord.root)
        vel = 0.75 + 0.2 * self.spec.energy
        notes = []
        for step, tone, length in pattern:
            if tone == 0:
                midi = root
            elif tone == 1:
                midi = root + (chord.pcs[2] - chord.root) % 12
            elif tone == 2:
                midi = root + 12
            elif tone == 3:
                midi = root + (chord.pcs[1] - chord.root) % 12
            else:  # approach the next root from a semitone below or above
                target = self._bass_root(next_chord.root)
                midi = target - 1 if self.rng.random() < 0.5 else target + 1
            accent = (1.0 if step % 4 == 0 else 0.85) * self._offbeat_weight(step)
            notes.append(Note(self.time_of(bar, step), length * self.step * 0.92, midi,
                              self._humanise(vel * accent, 0.04)))
        return notes

    # -- drums --------------------------------------------------------------------------------------
    def _drums(self, bar: int, section: Section, last_in_phrase: bool) -> list[DrumHit]:
        name = self.spec.instruments.get("drums", "none")
        pattern = DRUM_PATTERNS.get(name)
        if pattern is None:
            return []
        hits = []
        light = section.drums == "light"
        for kind, grid in pattern.items():
            if light and kind in ("snare", "clap", "tom", "open_hat", "rim"):
                continue
            for step, ch in enumerate(grid):
                level = _LEVEL.get(ch)
                if level is None:
                    continue
                if last_in_phrase and not light and step >= 12 and kind in ("snare", "clap", "hat", "open_hat"):
                    continue  # leave room for the fill
                if self.slow and kind == "kick" and step % 4 != 0:
                    continue  # a slow groove keeps its kicks on the beat
                jitter = 0.0 if kind == "kick" else float(self.rng.normal(0, 0.002))
                vel = level * (0.75 + 0.25 * self.spec.energy) * (0.8 if light else 1.0)
                if kind in ("hat", "open_hat", "shaker", "ride"):
                    vel *= self._offbeat_weight(step)
                hits.append(DrumHit(kind, max(0.0, self.time_of(bar, step) + jitter), self._humanise(vel, 0.05)))
        if self.spec.energy > 0.75 and name in ("four_on_floor", "backbeat") and not light:
            hits += [DrumHit("hat", self.time_of(bar, s), self._humanise(0.3, 0.05)) for s in range(1, 16, 2)]
        if last_in_phrase and not light:
            fill_kind = "tom" if name in ("toms", "rock") else "snare"
            for s in (12, 13, 14, 15) if self.spec.energy > 0.5 else (12, 14):
                hits.append(DrumHit(fill_kind, self.time_of(bar, s), self._humanise(0.45 + 0.12 * (s - 12), 0.04)))
        return hits

    # -- melody -------------------------------------------------------------------------------------
    def _melody_phrase(self, variant: int) -> list[tuple[int, float, int, float]]:
        """A 4-bar phrase as (bar offset, step, scale degree, length in steps); ends on a tonic-friendly note."""
        voice = self.spec.instruments.get("melody", "lead")
        lo, hi = MELODY_RANGES.get(voice, (67, 84))
        density = "sparse" if self.spec.tempo > 135 or self.spec.energy < 0.35 else (
            "dense" if self.spec.energy > 0.8 and self.spec.tempo < 115 else "medium")
        cells = _RHYTHM_CELLS[density]
        a, b = (cells[int(i)] for i in self.rng.choice(len(cells), 2))
        rhythm = [a, b, a, "x...x...x......."] if variant == 0 else [b, a, b, "x.....x.x......."]
        low_deg = self._degree_at_or_above(lo)
        high_deg = self._degree_at_or_above(hi) - 1
        degree = self._degree_at_or_above(lo + 5)
        degree += (-degree) % 7 if variant == 0 else (4 - degree) % 7  # open on the tonic / the fifth
        events = []
        for bar_off, cell in enumerate(rhythm):
            chord = self.chords[bar_off % len(self.chords)]
            onsets = [s for s, c in enumerate(cell) if c == "x"]
            for k, step in enumerate(onsets):
                end = onsets[k + 1] if k + 1 < len(onsets) else STEPS
                last = bar_off == 3 and k == len(onsets) - 1
                if last:
                    degree = self._nearest_degree(degree, self._cadence_pcs(chord), low_deg, high_deg)
                elif step % 8 == 0:
                    degree = self._nearest_degree(degree, self._anchor_pcs(chord), low_deg, high_deg)
                else:
                    move = int(self.rng.choice([-2, -1, -1, 1, 1, 2, 0]))
                    degree = int(np.clip(degree + move, low_deg, high_deg))
                events.append((bar_off, float(step), degree, float(end - step)))
        return events

    def _fit_to_chord(self, midi: int, chord: Chord) -> int:
        """Raise the minor seventh degree to the leading tone over a harmonic-minor dominant."""
        if self.key.mode == "minor" and (midi - self.key.tonic) % 12 == 10 \
                and (self.key.tonic + 11) % 12 in chord.pcs:
            return midi + 1
        return midi

    def _anchor_pcs(self, chord: Chord) -> tuple[int, ...]:
        """Chord tones for a strong beat, narrowed to the key's tonic/fifth when the chord has them."""
        anchors = tuple(pc for pc in chord.pcs if pc in (self.key.tonic, self.key.degree_pc(4)))
        return anchors if anchors and self.rng.random() < 0.7 else chord.pcs

    def _cadence_pcs(self, chord: Chord) -> tuple[int, ...]:
        tonic, fifth = self.key.tonic, self.key.degree_pc(4)
        if tonic in chord.pcs:
            return (tonic,)
        if fifth in chord.pcs:
            return (fifth,)
        return (chord.root,)

    def _degree_at_or_above(self, midi: int) -> int:
        degree = -14
        while self.key.degree_midi(degree, -1) < midi:
            degree += 1
        return degree

    def _nearest_degree(self, degree: int, pcs: tuple[int, ...], low: int, high: int) -> int:
        options = [d for d in range(low, high + 1) if self.key.degree_pc(d) in pcs]
        if not options:
            return degree
        return min(options, key=lambda d: (abs(d - degree), d))

    def _place_melody(self, phrase: list[tuple[int, float, int, float]], bar: int, density: float) -> list[Note]:
        bar_off_now = bar % 4
        notes = []
        for bar_off, step, degree, length in phrase:
            if bar_off != bar_off_now:
                continue
            if density < 1.0 and step % 4 != 0 and self.rng.random() > density:
                continue
            midi = self._fit_to_chord(self.key.degree_midi(degree, -1), self.chords[bar % len(self.chords)])
            accent = 1.0 if step % 4 == 0 else 0.85
            notes.append(Note(self.time_of(bar, step) + float(self.rng.normal(0, 0.003)),
                              length * self.step * 0.92, midi, self._humanise(0.7 * accent)))
        return notes

    def _humanise(self, velocity: float, spread: float = 0.06) -> float:
        return float(np.clip(velocity + self.rng.normal(0, spread), 0.05, 1.0))


def compose(spec: MusicSpec) -> Score:
    """The score for ``spec`` (deterministic for its seed)."""
    return Composer(spec).compose()
