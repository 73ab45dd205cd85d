"""Synthetic music with a known key and tempo.

Tests and benchmarks (ours, and generate's/remix's) need audio whose right answer
is known by construction; real recordings never come with one we can trust.
Everything here is deterministic (fixed seeds) and numpy-only.
"""

from __future__ import annotations

import numpy as np

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


def midi_to_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69.0) / 12.0)


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


def _add(out: np.ndarray, sound: np.ndarray, at: int) -> None:
    end = min(out.size, at + sound.size)
    if at < end:
        out[at:end] += sound[: end - at]
