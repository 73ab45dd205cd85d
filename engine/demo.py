"""A generated demo song, so a fresh install has something to process without any download."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from moodmix.engine.audio_io import save_audio
from moodmix.engine.pitch import midi_to_hz

AM, DM, E = (57, 60, 64), (50, 53, 57), (52, 56, 59)
A_MINOR_PROGRESSION = (AM, E, AM, AM, DM, E, AM, AM)  # tonic-heavy, with the harmonic minor's major V


def demo_song(seconds: float = 20.0, sr: int = 44100, bpm: float = 120.0) -> np.ndarray:
    """Kick/snare/hat, a bass line and chords at ``bpm`` in A minor; shape ``(2, frames)``."""
    rng = np.random.default_rng(7)
    n = int(seconds * sr)
    y = np.zeros(n, dtype=np.float64)
    beat = 60.0 / bpm
    t_beat = np.arange(int(beat * sr)) / sr
    kick = np.sin(2 * np.pi * (50 + 90 * np.exp(-t_beat * 30)) * t_beat) * np.exp(-t_beat * 9)
    snare = rng.standard_normal(len(t_beat)) * np.exp(-t_beat * 22) * 0.5
    hat = rng.standard_normal(len(t_beat) // 4) * np.exp(-np.arange(len(t_beat) // 4) / sr * 60) * 0.15
    for i in range(int(seconds / beat)):
        start = int(i * beat * sr)
        seg = slice(start, min(n, start + len(t_beat)))
        length = seg.stop - seg.start
        y[seg] += 0.8 * kick[:length] if i % 2 == 0 else 0.6 * snare[:length] + 0.3 * kick[:length]
        for half in (0, 1):
            h = start + int(half * beat * sr / 2)
            hl = min(len(hat), n - h)
            if hl > 0:
                y[h:h + hl] += hat[:hl]
    bar = 4 * beat
    for b in range(int(np.ceil(seconds / bar))):
        chord = A_MINOR_PROGRESSION[b % len(A_MINOR_PROGRESSION)]
        start, stop = int(b * bar * sr), min(n, int((b + 1) * bar * sr))
        t = np.arange(stop - start) / sr
        env = np.minimum(1, t * 20) * np.exp(-t * 0.6)
        for note in chord:
            f = midi_to_hz(note)
            y[start:stop] += 0.07 * env * (np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t))
        root = midi_to_hz(chord[0] - 12)
        for q in range(4):
            qs = start + int(q * beat * sr)
            qe = min(stop, qs + int(beat * sr * 0.9))
            tq = np.arange(qe - qs) / sr
            y[qs:qe] += 0.25 * np.sin(2 * np.pi * root * tq) * np.exp(-tq * 3)
    y /= max(1e-9, np.abs(y).max()) / 0.8
    left = y
    right = np.concatenate([y[int(0.0004 * sr):], np.zeros(int(0.0004 * sr))])
    return np.stack([left, right]).astype(np.float32)


def write_demo_track(path: Path, seconds: float = 20.0) -> Path:
    return save_audio(path, demo_song(seconds), 44100, format=path.suffix.lstrip(".") or "wav")
