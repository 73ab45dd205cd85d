"""Synthetic music with a known key and tempo.

Tests and benchmarks (ours, and generate's/remix's) need audio whose right answer
is known by construction; real recordings never come with one we can trust.
Everything here is deterministic (fixed seeds) and numpy-only.
"""

from __future__ import annotations

import numpy as np

from moodmix.engine.pitch import midi_to_hz

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLAT_ALIASES = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#", "Cb": "B", "Fb": "E"}

#: Scale-degree offsets (semitones from the tonic) of I-IV-V-I / i-iv-V-i triads.
#: The minor V is major (harmonic minor), so the leading tone marks the key.
PROGRESSIONS = {
    "major": ((0, 4, 7), (5, 9, 12), (7, 11, 14), (0, 4, 7)),
    "minor": ((0, 3, 7), (5, 8, 12), (7, 11, 14), (0, 3, 7)),
}


def pitch_class(name: str) -> int:
    """Index 0..11 of a note name such as ``"F#"`` or ``"Eb"``."""
    name = FLAT_ALIASES.get(name, name)
    return PITCH_CLASSES.index(name)


def harmonic_note(freq: float, seconds: float, sr: int, partials: int = 6, amp: float = 0.2) -> np.ndarray:
    """One note with decaying partials (1/k amplitudes) and a soft attack and release."""
    n = int(seconds * sr)
    t = np.arange(n) / sr
    y = np.zeros(n, dtype=np.float64)
    for k in range(1, partials + 1):
        if k * freq < sr / 2:
            y += np.sin(2 * np.pi * k * freq * t) / k
    attack = np.minimum(1.0, t / 0.02)
    release = np.minimum(1.0, (seconds - t) / 0.05).clip(0.0, 1.0)
    return (amp * y * attack * release * np.exp(-t * 1.5)).astype(np.float32)


def chord_progression(tonic: str, mode: str, *, chord_seconds: float = 1.0, repeats: int = 2,
                      sr: int = 22050, amp: float = 0.15) -> np.ndarray:
    """I-IV-V-I (or i-iv-V-i) triads plus a bass root, ``repeats`` times; shape ``(frames,)``."""
    root = 60 + pitch_class(tonic)  # tonic in octave 4
    chords = PROGRESSIONS[mode]
    hop = int(chord_seconds * sr)
    out = np.zeros(hop * len(chords) * repeats, dtype=np.float32)
    for r in range(repeats):
        for c, chord in enumerate(chords):
            start = (r * len(chords) + c) * hop
            for offset in chord:
                out[start:start + hop] += harmonic_note(midi_to_hz(root + offset), chord_seconds, sr, amp=amp)
            out[start:start + hop] += harmonic_note(midi_to_hz(root + chord[0] - 24), chord_seconds, sr,
                                                    amp=amp * 1.2)
    return out


def kick(sr: int, seconds: float = 0.25) -> np.ndarray:
    """A bass-drum hit: a 150→50 Hz sine sweep with a fast decay."""
    t = np.arange(int(seconds * sr)) / sr
    freq = 50.0 + 100.0 * np.exp(-t * 30.0)
    phase = 2 * np.pi * np.cumsum(freq) / sr
    return (np.sin(phase) * np.exp(-t * 18.0)).astype(np.float32)


def hat(sr: int, seconds: float = 0.05, seed: int = 1) -> np.ndarray:
    """A closed hi-hat: high-passed noise burst."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(int(seconds * sr))
    noise = np.diff(noise, prepend=0.0)  # crude high-pass
    return (noise * np.exp(-np.arange(noise.size) / (0.01 * sr)) * 0.3).astype(np.float32)


def drum_track(bpm: float, seconds: float, *, sr: int = 22050, hats: bool = True,
               amp: float = 0.6) -> np.ndarray:
    """Kick on every beat and (optionally) quieter hi-hats on the off-beats; shape ``(frames,)``."""
    n = int(seconds * sr)
    out = np.zeros(n, dtype=np.float32)
    k, h = kick(sr) * amp, hat(sr) * amp
    period = 60.0 / bpm
    beat = 0
    while beat * period < seconds:
        _add(out, k, round(beat * period * sr))
        if hats:
            _add(out, h, round((beat + 0.5) * period * sr))
        beat += 1
    return out


def song(tonic: str, mode: str, bpm: float, seconds: float, *, sr: int = 22050) -> np.ndarray:
    """Drums plus a chord progression changing every bar (4 beats), ``seconds`` long, peak ≤ 0.9."""
    bar = 4 * 60.0 / bpm
    reps = int(np.ceil(seconds / (bar * 4)))
    chords = chord_progression(tonic, mode, chord_seconds=bar, repeats=reps, sr=sr)
    n = int(seconds * sr)
    y = drum_track(bpm, seconds, sr=sr)
    y[: min(n, chords.size)] += chords[:n]
    peak = float(np.max(np.abs(y))) or 1.0
    return (y * (0.9 / peak)).astype(np.float32)


#: Diatonic scales (semitones above the tonic); minor is natural minor.
SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
#: Chord progressions as scale degrees (0 = tonic); "V" in minor means a major dominant.
#: Some are ambiguous on purpose (i-VI-III-VII is also vi-IV-I-V of the relative major).
RICH_PROGRESSIONS = {
    "major": ((0, 4, 5, 3), (0, 3, 4, 0), (1, 4, 0, 5), (0, 5, 3, 4)),
    "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (0, 3, "V", 0), (0, 6, 5, 4)),
}


def rich_song(tonic: str, mode: str, bpm: float, seconds: float, *, sr: int = 22050, seed: int = 0,
              drums: bool = True) -> np.ndarray:
    """A harder test song: pad chords, a bass on every beat, a random melody in 8ths,
    random timbres with slight inharmonicity, and the whole thing detuned by up to
    ±40 cents. Harder than :func:`song` for key finding, as real music is.
    """
    rng = np.random.default_rng(seed)
    detune = rng.uniform(-0.4, 0.4)
    scale = SCALES[mode]
    progression = RICH_PROGRESSIONS[mode][rng.integers(len(RICH_PROGRESSIONS[mode]))]
    brightness = rng.uniform(0.6, 1.8)
    beat, n = 60.0 / bpm, int(seconds * sr)
    base = 48 + pitch_class(tonic) if pitch_class(tonic) < 6 else 36 + pitch_class(tonic)
    out = np.zeros(n, dtype=np.float64)

    def play(midi: float, at: float, dur: float, amp: float, bright: float) -> None:
        tone = _timbre_note(midi_to_hz(midi + detune), dur, sr, rng, bright)
        _add(out, (amp * tone).astype(np.float64), int(at * sr))

    bar_start, index = 0.0, 0
    while bar_start < seconds:
        chord = _triad(scale, progression[index % len(progression)])
        for note in chord:
            play(base + note, bar_start, 4 * beat, 0.12, brightness)
        bass = base + chord[0] - (24 if base + chord[0] - 24 >= 28 else 12)
        for b in range(4):
            play(bass, bar_start + b * beat, beat, 0.25, 1.0)
        for eighth in range(8):
            if rng.random() < 0.25:
                continue
            note = chord[rng.integers(3)] if rng.random() < 0.6 else scale[rng.integers(7)]
            play(base + 12 + note, bar_start + eighth * beat / 2, beat / 2, 0.1, brightness)
        bar_start += 4 * beat
        index += 1
    if drums:
        out += 0.5 * drum_track(bpm, seconds, sr=sr)[:n]
    return (out * (0.9 / (np.max(np.abs(out)) or 1.0))).astype(np.float32)


def _triad(scale: tuple[int, ...], degree: int | str) -> tuple[int, int, int]:
    if degree == "V":  # major dominant in minor (raised leading tone)
        return (7, 11, 14)
    notes = [scale[(degree + 2 * i) % 7] + 12 * ((degree + 2 * i) // 7) for i in range(3)]
    return notes[0], notes[1], notes[2]


def _timbre_note(freq: float, seconds: float, sr: int, rng: np.random.Generator,
                 brightness: float) -> np.ndarray:
    """A note with 1/k^brightness partials, random phases, slight inharmonicity and decay."""
    n = int(seconds * sr)
    t = np.arange(n) / sr
    stretch = rng.uniform(0.0, 0.0005)
    y = np.zeros(n)
    for k in range(1, 12):
        fk = k * freq * np.sqrt(1.0 + stretch * k * k)
        if fk > sr / 2 - 500:
            break
        y += np.sin(2 * np.pi * fk * t + rng.uniform(0, 2 * np.pi)) * k ** -brightness
    envelope = np.minimum(1.0, t / 0.01) * np.exp(-t * rng.uniform(0.5, 4.0))
    return y * envelope * np.clip((seconds - t) / 0.03, 0.0, 1.0)


def _add(out: np.ndarray, sound: np.ndarray, at: int) -> None:
    end = min(out.size, at + sound.size)
    if at < end:
        out[at:end] += sound[: end - at]
