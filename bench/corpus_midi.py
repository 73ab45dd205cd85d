"""Pieces for the real-instrument corpus, as one MIDI file per stem with a known tempo and key.

Three sources, each giving :class:`Piece` objects (stem name -> ``mido.MidiFile``):

- :func:`arrangement`: our own seeded arrangements in eleven genres (drum pattern, bass
  rhythm, comping style, voice-like lead, tempo range and meter per genre);
- :func:`chorale`: a Bach chorale from music21's bundled corpus (soprano = lead "vocals",
  alto and tenor = "other", bass = "bass"; no drums), key from its key signature and final
  bass note, tempo chosen by us;
- :func:`midi_file`: a General MIDI file from a Debian package, channels split into stems by
  program (channel 10 = drums, GM basses = bass, voices/reeds/pipes = vocals, the rest other).

The tempo truth is the notated quarter-note (dotted quarter in 6/8) tempo.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import mido
import numpy as np

STEMS = ("drums", "bass", "vocals", "other")
TPB = 480  # ticks per beat
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
KICK, SNARE, HAT, OPEN_HAT, RIDE, CRASH, RIM, CLAP, PEDAL = 36, 38, 42, 46, 51, 49, 37, 39, 44
#: Chord progressions as scale degrees (0 = tonic), starting on the tonic so the key is unambiguous.
PROGRESSIONS = {
    "major": ((0, 4, 5, 3), (0, 3, 4, 0), (0, 5, 3, 4), (0, 3, 0, 4), (0, 1, 4, 0), (0, 4, 3, 4)),
    "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (0, 3, 6, 2), (0, 5, 3, 4)),
}


@dataclass(frozen=True)
class Genre:
    """What makes a genre recognisable here: tempo range, meter, drum steps (16ths), parts."""

    tempo: tuple[float, float]
    drums: dict[int, tuple[int, ...]]
    bass_steps: tuple[int, ...]
    bass_programs: tuple[int, ...]
    other_programs: tuple[int, ...]
    comp: str  # "block" | "stabs" | "arp" | "offbeat"
    lead_programs: tuple[int, ...] = (52, 53, 54, 65, 73)
    minor_share: float = 0.4
    beats_per_bar: int = 4
    swing: float = 0.0


GENRES: dict[str, Genre] = {
    "rock": Genre((96, 150), {KICK: (0, 8, 10), SNARE: (4, 12), HAT: tuple(range(0, 16, 2))},
                  tuple(range(0, 16, 2)), (33, 34), (29, 30, 27), "stabs"),
    "metal": Genre((150, 200), {KICK: tuple(range(0, 16, 2)), SNARE: (4, 12), CRASH: (0,), RIDE: (4, 8, 12)},
                   tuple(range(0, 16, 2)), (34, 33), (30, 29), "stabs", minor_share=0.8),
    "punk": Genre((165, 200), {KICK: (0, 8), SNARE: (4, 12), HAT: tuple(range(0, 16, 2))},
                  tuple(range(0, 16, 2)), (34,), (30, 29), "stabs"),
    "pop": Genre((90, 128), {KICK: (0, 6, 8), SNARE: (4, 12), HAT: tuple(range(0, 16, 2)), CLAP: (12,)},
                 (0, 6, 8, 14), (33, 38), (0, 4, 48, 88), "block"),
    "funk": Genre((92, 116), {KICK: (0, 3, 10), SNARE: (4, 12), HAT: tuple(range(16)), OPEN_HAT: (14,)},
                  (0, 3, 6, 10, 11, 14), (36, 37), (27, 16), "stabs"),
    "disco": Genre((115, 130), {KICK: (0, 4, 8, 12), CLAP: (4, 12), OPEN_HAT: (2, 6, 10, 14), HAT: (0, 4, 8, 12)},
                   (0, 2, 4, 6, 8, 10, 12, 14), (38, 39), (48, 50, 81), "arp"),
    "hiphop": Genre((70, 96), {KICK: (0, 7, 10), SNARE: (4, 12), HAT: tuple(range(0, 16, 2))},
                    (0, 7, 10), (38, 33), (4, 5, 11), "block", minor_share=0.7, swing=0.15),
    "ballad": Genre((58, 80), {KICK: (0, 10), RIM: (4, 12), HAT: tuple(range(0, 16, 2))},
                    (0, 8), (32, 33), (0, 48, 49), "arp"),
    "reggae": Genre((70, 92), {KICK: (8,), RIM: (8,), HAT: tuple(range(0, 16, 2))},
                    (0, 3, 6, 8, 11), (33, 32), (27, 17), "offbeat"),
    "waltz": Genre((84, 168), {KICK: (0,), SNARE: (4, 8), HAT: (0, 4, 8)},
                   (0, 8), (32,), (0, 48, 21), "stabs", beats_per_bar=3),
    "jazz": Genre((110, 190), {RIDE: (0, 4, 7, 8, 12, 15), PEDAL: (4, 12), KICK: (0,)},
                  (0, 4, 8, 12), (32,), (0, 4, 26), "stabs", lead_programs=(65, 66, 56, 53), swing=0.33),
}


@dataclass
class Piece:
    """Per-stem MIDI of one piece, with the truths the benchmarks score against."""

    piece_id: str
    source: str
    genre: str
    tempo: float | None  # quarter-note BPM; None where it changes
    key: str | None  # tonic, sharps only ("F#"); None when unknown
    mode: str | None
    stems: dict[str, mido.MidiFile] = field(default_factory=dict)


def _new_track(tempo: float, channel: int, program: int, beats_per_bar: int = 4) -> tuple[mido.MidiFile, list]:
    mid = mido.MidiFile(ticks_per_beat=TPB)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo), time=0))
    track.append(mido.MetaMessage("time_signature", numerator=beats_per_bar, denominator=4, time=0))
    if channel != 9:
        track.append(mido.Message("program_change", channel=channel, program=program, time=0))
    return mid, []


def _finish(mid: mido.MidiFile, events: list[tuple[int, int, int, int]], channel: int,
            controls: tuple[tuple[int, int], ...] = ()) -> mido.MidiFile:
    """Turn (start tick, end tick, note, velocity) events into delta-timed messages."""
    track = mid.tracks[0]
    for control, value in controls:
        track.append(mido.Message("control_change", channel=channel, control=control, value=value, time=0))
    timeline = []
    for start, end, note, vel in events:
        timeline.append((start, 1, note, vel))
        timeline.append((max(end, start + 1), 0, note, 0))
    timeline.sort(key=lambda e: (e[0], e[1]))
    now = 0
    for tick, on, note, vel in timeline:
        kind = "note_on" if on else "note_off"
        track.append(mido.Message(kind, channel=channel, note=int(note), velocity=int(vel), time=int(tick - now)))
        now = tick
    return mid


def _chord(scale: tuple[int, ...], root: int, degree: int) -> list[int]:
    """Triad on ``degree`` of ``scale`` above ``root`` (MIDI notes)."""
    notes = []
    for step in (degree, degree + 2, degree + 4):
        octave, i = divmod(step, 7)
        notes.append(root + 12 * octave + scale[i])
    return notes


def arrangement(seed: int, genre_name: str, seconds: float) -> Piece:
    """A seeded arrangement in ``genre_name`` lasting at least ``seconds``."""
    rng = np.random.default_rng(seed)
    genre = GENRES[genre_name]
    tempo = float(np.round(rng.uniform(*genre.tempo), 1))
    mode = "minor" if rng.random() < genre.minor_share else "major"
    tonic = int(rng.integers(12))
    scale = MINOR if mode == "minor" else MAJOR
    progression = PROGRESSIONS[mode][int(rng.integers(len(PROGRESSIONS[mode])))]
    bpb = genre.beats_per_bar
    bar = bpb * TPB
    step = TPB // 4
    n_bars = int(np.ceil(seconds * tempo / 60 / bpb)) + 1
    swing = genre.swing

    def at(bar_i: int, s: int) -> int:
        return bar_i * bar + s * step + (int(swing * step) if s % 2 else 0)

    piece = Piece(f"gen-{genre_name}-{seed}", "generated", genre_name, tempo, PITCH_CLASSES[tonic], mode)
    # drums (a fill of toms every fourth bar's last beat, crash on bar 1 of each phrase)
    mid, _ = _new_track(tempo, 9, 0, bpb)
    ev = []
    steps_per_bar = 4 * bpb
    for b in range(n_bars):
        for note, steps in genre.drums.items():
            for s in steps:
                if s >= steps_per_bar:
                    continue
                if b % 4 == 3 and s >= steps_per_bar - 4 and note != KICK:
                    continue
                accent = 1.0 if s % 4 == 0 else 0.8
                vel = int(np.clip(rng.normal(100 * accent, 8), 30, 127))
                ev.append((at(b, s), at(b, s) + step, note, vel))
        if b % 4 == 3:
            for k, tom in enumerate((50, 47, 45, 43)):
                s = steps_per_bar - 4 + k
                ev.append((at(b, s), at(b, s) + step, tom, int(rng.integers(90, 120))))
        if b % 4 == 0 and b:
            ev.append((at(b, 0), at(b, 0) + step, CRASH, 110))
    piece.stems["drums"] = _finish(mid, ev, 9)
    # bass: chord roots (octave 2), fifth or octave on some steps
    program = int(rng.choice(genre.bass_programs))
    mid, _ = _new_track(tempo, 1, program, bpb)
    ev = []
    base = 36 + tonic if tonic < 7 else 24 + tonic
    for b in range(n_bars):
        root = _chord(scale, base, progression[b % len(progression)])[0]
        steps = [s for s in genre.bass_steps if s < steps_per_bar]
        for i, s in enumerate(steps):
            end = steps[i + 1] if i + 1 < len(steps) else steps_per_bar
            note = root + (int(rng.choice((0, 0, 0, 7, 12))) if i else 0)
            ev.append((at(b, s), at(b, 0) + end * step - 10, note, int(rng.integers(85, 115))))
    piece.stems["bass"] = _finish(mid, ev, 1)
    # other: chords in the middle register
    program = int(rng.choice(genre.other_programs))
    mid, _ = _new_track(tempo, 2, program, bpb)
    ev = []
    for b in range(n_bars):
        chord_root = 48 + tonic % 12 - (12 if tonic > 7 else 0)
        chord = [n + 12 for n in _chord(scale, chord_root, progression[b % len(progression)])]
        if genre.comp == "block":
            ev += [(at(b, 0), at(b, 0) + bar - 20, n, 70) for n in chord]
        elif genre.comp == "stabs":
            for s in range(0, steps_per_bar, 4 if rng.random() < 0.5 else 8):
                ev += [(at(b, s), at(b, s) + 3 * step, n, int(rng.integers(70, 100))) for n in chord]
        elif genre.comp == "arp":
            for i, s in enumerate(range(0, steps_per_bar, 2)):
                n = chord[i % 3] + (12 if i % 6 >= 3 else 0)
                ev.append((at(b, s), at(b, s) + 2 * step, n, int(rng.integers(60, 90))))
        else:  # offbeat skank
            for s in range(2, steps_per_bar, 4):
                ev += [(at(b, s), at(b, s) + step, n, 90) for n in chord]
    piece.stems["other"] = _finish(mid, ev, 2, controls=((91, 0), (93, 0)))
    # lead: a voice-like melody in phrases, chord tones on strong beats, vibrato via modulation
    program = int(rng.choice(genre.lead_programs))
    mid, _ = _new_track(tempo, 3, program, bpb)
    ev = []
    degree = int(rng.integers(7, 12))
    lead_root = 60 + tonic % 12 - (12 if tonic > 6 else 0)
    for b in range(n_bars):
        if b % 4 == 3 and rng.random() < 0.6:
            continue  # breath between phrases
        chord_degree = progression[b % len(progression)]
        s = 0
        while s < steps_per_bar:
            length = int(rng.choice((2, 4, 4, 6, 8)))
            if s % 4 == 0:
                choices = [chord_degree + 7, chord_degree + 9, chord_degree + 11]
                degree = min(choices, key=lambda d: abs(d - degree))
            else:
                degree += int(rng.choice((-1, 1, -2, 2)))
            degree = int(np.clip(degree, 5, 15))
            octave, i = divmod(degree, 7)
            note = lead_root + 12 * (octave - 1) + scale[i]
            end = min(steps_per_bar, s + length)
            if rng.random() > 0.12:
                ev.append((at(b, s), at(b, 0) + end * step - 15, note, int(rng.integers(80, 110))))
            s = end
    piece.stems["vocals"] = _finish(mid, ev, 3, controls=((1, int(rng.integers(20, 70))),))
    return piece


def _tonic_and_mode(score, key_signature) -> tuple[str, str] | None:
    """A chorale's key: the key signature's major or relative minor, whichever the final bass note names."""
    bass = score.parts[-1].flatten().notes
    if not len(bass):
        return None
    final_pc = bass[-1].pitches[0].pitchClass
    for mode in ("major", "minor"):
        k = key_signature.asKey(mode)
        if k.tonic.pitchClass == final_pc:
            return PITCH_CLASSES[final_pc], mode
    return None


def chorale(path: str, seed: int) -> Piece | None:
    """A Bach chorale from music21's corpus (None when its key cannot be read unambiguously)."""
    from music21 import corpus

    rng = np.random.default_rng(seed)
    score = corpus.parse(path)
    if len(score.parts) != 4:
        return None
    signatures = score.parts[0].flatten().getElementsByClass("KeySignature")
    if not len(signatures):
        return None
    key = _tonic_and_mode(score, signatures[0])
    if key is None:
        return None
    tempo = float(np.round(rng.uniform(60, 100), 1))
    name = Path(str(path)).stem
    piece = Piece(f"chorale-{name}", "music21", "chorale", tempo, key[0], key[1])
    voice_program = int(rng.choice((52, 53, 68, 71, 73)))
    programs = {"vocals": voice_program, "other": int(rng.choice((48, 49, 19, 0))),
                "bass": int(rng.choice((32, 42, 70, 43)))}
    groups = {"vocals": [0], "other": [1, 2], "bass": [3]}
    for stem, parts in groups.items():
        channel = {"vocals": 3, "other": 2, "bass": 1}[stem]
        mid, _ = _new_track(tempo, channel, programs[stem])
        ev = []
        for p in parts:
            for n in score.parts[p].flatten().notes:
                start = round(float(n.offset) * TPB)
                end = start + round(float(n.duration.quarterLength) * TPB) - 10
                ev += [(start, end, pitch.midi, int(rng.integers(70, 100))) for pitch in n.pitches]
        piece.stems[stem] = _finish(mid, ev, channel, controls=((1, 30),) if stem == "vocals" else ())
    return piece


def _stem_of_program(channel: int, program: int) -> str:
    if channel == 9:
        return "drums"
    if 32 <= program <= 39:
        return "bass"
    if 52 <= program <= 54 or 64 <= program <= 79:
        return "vocals"
    return "other"


def midi_file(path: Path, until_seconds: float | None = None) -> Piece:
    """A General MIDI file split into stems by channel program; tempo only when it never changes.

    With ``until_seconds`` the stems stop there (notes still sounding are released), so
    FluidSynth renders only what the clip needs.
    """
    src = mido.MidiFile(path)
    if until_seconds is not None:
        src = _truncated(src, until_seconds)
    tempos = {m.tempo for t in src.tracks for m in t if m.type == "set_tempo"}
    tempo = float(np.round(mido.tempo2bpm(tempos.pop()), 2)) if len(tempos) == 1 else None
    programs: dict[int, int] = {}
    for track in src.tracks:
        for m in track:
            if m.type == "program_change" and m.channel not in programs:
                programs[m.channel] = m.program
    piece = Piece(f"midi-{path.parent.name}-{path.stem}", "debian", "game", tempo, None, None)
    for stem in STEMS:
        out = mido.MidiFile(ticks_per_beat=src.ticks_per_beat, type=src.type)
        for track in src.tracks:
            new = mido.MidiTrack()
            pending = 0
            for m in track:
                keep = m.is_meta or not hasattr(m, "channel") or \
                    _stem_of_program(m.channel, programs.get(m.channel, 0)) == stem
                if keep:
                    new.append(m.copy(time=m.time + pending))
                    pending = 0
                else:
                    pending += m.time
            out.tracks.append(new)
        piece.stems[stem] = out
    return piece


def _truncated(src: mido.MidiFile, seconds: float) -> mido.MidiFile:
    """``src`` as one track that ends after ``seconds``, with every sounding note released."""
    out = mido.MidiFile(ticks_per_beat=src.ticks_per_beat)
    track = mido.MidiTrack()
    out.tracks.append(track)
    elapsed, tempo, pending = 0.0, 500000, 0
    sounding: set[tuple[int, int]] = set()
    for m in mido.merge_tracks(src.tracks):
        elapsed += mido.tick2second(m.time, src.ticks_per_beat, tempo)
        if elapsed > seconds:
            break
        if m.type == "set_tempo":
            tempo = m.tempo
        if m.type == "note_on" and m.velocity > 0:
            sounding.add((m.channel, m.note))
        elif m.type in ("note_on", "note_off"):
            sounding.discard((m.channel, m.note))
        if m.is_meta and m.type == "end_of_track":
            pending += m.time
            continue
        track.append(m.copy(time=m.time + pending))
        pending = 0
    for channel, note in sorted(sounding):
        track.append(mido.Message("note_off", channel=channel, note=note, velocity=0, time=0))
    return out
