"""A generated song whose structure is known (intro, verses, choruses, outro), for preview tests and bench.

Built from the engine's demo song (drums, bass, chords) and the analyze plugin's test
signals: the chorus is the full band plus a lead line, loud, and comes back three times;
verses are quieter, with other chords and no lead; intro and outro are soft chords.
"""

from __future__ import annotations

import numpy as np

from moodmix.engine.demo import demo_song
from moodmix.engine.pitch import midi_to_hz
from moodmix.plugins.analyze import testsignals as ts

LEAD = (69, 72, 76, 72, 74, 72, 71, 69)  # one note per beat, repeated


def _lead(seconds: float, sr: int, bpm: float) -> np.ndarray:
    beat = 60.0 / bpm
    n = int(seconds * sr)
    out = np.zeros(n, dtype=np.float64)
    t = np.arange(int(beat * sr)) / sr
    env = np.minimum(1.0, t * 50) * np.exp(-t * 2.5)
    for i in range(int(seconds / beat)):
        f = midi_to_hz(LEAD[i % len(LEAD)])
        start = int(i * beat * sr)
        stop = min(n, start + t.size)
        out[start:stop] += (env * (np.sin(2 * np.pi * f * t) + 0.4 * np.sin(6 * np.pi * f * t)))[: stop - start]
    return out


def structured_song(*, sr: int = 22050, bpm: float = 120.0, section_bars: int = 8) -> tuple[np.ndarray, list]:
    """``(audio (2, frames), sections)``; sections are ``(name, start_s, end_s)``."""
    bar = 4 * 60.0 / bpm
    long_s, short_s = section_bars * bar, section_bars * bar / 2
    chorus = demo_song(long_s, sr, bpm)[0] * 0.9 + 0.25 * _lead(long_s, sr, bpm)
    verse = 0.3 * ts.song("C", "major", bpm, long_s, sr=sr)
    reps = int(np.ceil(short_s / (4 * bar)))
    soft = 0.15 * ts.chord_progression("A", "minor", chord_seconds=bar, repeats=reps, sr=sr)[: int(short_s * sr)]
    plan = [("intro", soft), ("verse", verse), ("chorus", chorus), ("verse", verse), ("chorus", chorus),
            ("chorus", chorus), ("outro", soft[::-1].copy())]
    pieces, sections, t = [], [], 0.0
    for name, audio in plan:
        pieces.append(np.asarray(audio, dtype=np.float32))
        sections.append((name, t, t + audio.size / sr))
        t += audio.size / sr
    mono = np.concatenate(pieces)
    mono *= 0.8 / max(1e-9, float(np.abs(mono).max()))
    return np.stack([mono, 0.9 * mono]).astype(np.float32), sections
