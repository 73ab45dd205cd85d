"""Seeded synthetic multitrack songs for separation benchmarks: drums, bass, voice, pads.

Each song is a short loop-based arrangement with its own tempo, key, levels and
panning, so the references (the four stems) are known exactly:

- drums: kick (pitch-swept sine), snare (noise + tone), closed hi-hats on eighths/sixteenths;
- bass: a line following the chord roots (octave 1-2), saw-like with a note envelope;
- vocals: a voice-like melody — glottal harmonic source shaped by three vowel formants,
  vibrato that fades in on long notes, portamento, breath noise, phrases with rests;
- other: sustained chord pads (detuned saw partials, slow attack), stereo-spread.

Used by ``bench/separation_quality.py`` and for tuning the dsp separator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from moodmix.engine.pitch import midi_to_hz

STEMS = ("drums", "bass", "vocals", "other")
#: Vowel formants (Hz) and bandwidths, roughly an adult voice.
VOWELS = {
    "a": ((800, 1150, 2900), (80, 90, 120)),
    "e": ((400, 1700, 2600), (70, 80, 100)),
    "i": ((300, 2200, 3000), (50, 90, 100)),
    "o": ((450, 800, 2830), (70, 80, 100)),
    "u": ((325, 700, 2530), (50, 60, 170)),
}
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
PROGRESSIONS = ((0, 5, 3, 4), (0, 3, 4, 4), (5, 3, 0, 4), (0, 4, 5, 3), (0, 5, 1, 4))


@dataclass
class Song:
    """A generated mixture with its exact stems, all ``(2, frames)`` float32."""

    stems: dict[str, np.ndarray]
    sr: int
    tempo: float
    key: str

    @property
    def mix(self) -> np.ndarray:
        return np.sum([self.stems[s] for s in STEMS], axis=0).astype(np.float32)


def _pan(mono: np.ndarray, pan: float) -> np.ndarray:
    angle = (pan + 1) * np.pi / 4
    return np.stack([np.cos(angle) * mono, np.sin(angle) * mono]) * np.sqrt(2)


def _scale_note(root: int, scale: tuple[int, ...], degree: int) -> int:
    octave, step = divmod(degree, len(scale))
    return root + 12 * octave + scale[step]


def _drums(rng: np.random.Generator, n: int, sr: int, beat: float, bars: int) -> np.ndarray:
    out = np.zeros((2, n), np.float32)
    kick_len, snare_len, hat_len = int(0.35 * sr), int(0.25 * sr), int(0.06 * sr)
    t = np.arange(kick_len) / sr
    f = 45 + 110 * np.exp(-t * 30)
    kick = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t * 9)
    ts = np.arange(snare_len) / sr
    snare = (0.7 * rng.standard_normal(snare_len) * np.exp(-ts * 22)
             + 0.5 * np.sin(2 * np.pi * 185 * ts) * np.exp(-ts * 30))
    hat_noise = rng.standard_normal(hat_len)
    hat = np.diff(hat_noise, prepend=0) * np.exp(-np.arange(hat_len) / sr * 70) * 0.5
    pattern_kick = {0: 1.0, 2.5: 0.7} if rng.random() < 0.5 else {0: 1.0, 1.5: 0.6, 2.5: 0.8}
    hat_step = 0.5 if rng.random() < 0.6 else 0.25
    hat_pan = rng.uniform(-0.5, 0.5)

    def hit(sample: np.ndarray, at: float, gain: float, pan: float) -> None:
        i = int(at * sr)
        m = min(len(sample), n - i)
        if m > 0:
            out[:, i:i + m] += _pan(sample[:m] * gain, pan)

    for bar in range(bars):
        t0 = bar * 4 * beat
        for pos, g in pattern_kick.items():
            hit(kick, t0 + pos * beat, g, 0.0)
        for pos in (1, 3):
            hit(snare, t0 + pos * beat, 0.6 * rng.uniform(0.85, 1.0), 0.05)
        for k in range(int(4 / hat_step)):
            hit(hat, t0 + k * hat_step * beat, rng.uniform(0.25, 0.45), hat_pan)
    return out


def _bass(rng: np.random.Generator, n: int, sr: int, beat: float, roots: list[int]) -> np.ndarray:
    y = np.zeros(n)
    note_beats = 0.5 if rng.random() < 0.5 else 1.0
    harmonics = np.arange(1, 13)
    amps = (1.0 / harmonics) * (0.6 ** (harmonics - 1)) ** 0.5
    step = 0
    t_note = 0.0
    while t_note * sr < n:
        bar = int(t_note / (4 * beat))
        root = roots[bar % len(roots)]
        note = root + (12 if rng.random() < 0.2 else 0) + (7 if rng.random() < 0.15 else 0)
        length = int(note_beats * beat * sr * 0.9)
        i = int(t_note * sr)
        m = min(length, n - i)
        t = np.arange(m) / sr
        env = np.minimum(1, t / 0.005) * np.exp(-t * 2.5)
        f0 = float(midi_to_hz(note))
        tone = sum(a * np.sin(2 * np.pi * f0 * h * t) for h, a in zip(harmonics, amps, strict=True)
                   if f0 * h < sr / 2)
        y[i:i + m] += tone * env
        step += 1
        t_note += note_beats * beat
    return _pan(y.astype(np.float32), 0.0)


def _voice(rng: np.random.Generator, n: int, sr: int, beat: float, root: int,
           scale: tuple[int, ...]) -> np.ndarray:
    """Formant-filtered harmonic melody with vibrato, portamento and phrase rests."""
    f0 = np.zeros(n)
    amp = np.zeros(n)
    vowel_track: list[tuple[int, int, str]] = []
    base = root + 12 * (1 if root < 60 else 0)  # around C4-C5
    t = 0.0
    degree = rng.integers(0, 5)
    while t * sr < n:
        phrase = rng.integers(3, 7)
        for _ in range(phrase):
            dur = beat * rng.choice([0.5, 1.0, 1.0, 1.5, 2.0])
            degree = int(np.clip(degree + rng.integers(-2, 3), -2, 9))
            note = _scale_note(base, scale, degree)
            i, j = int(t * sr), min(n, int((t + dur) * sr))
            if i >= n:
                break
            seg = np.arange(j - i) / sr
            vib_depth = 0.45 * np.clip((seg - 0.15) / 0.25, 0, 1)  # semitones, fades in
            rate = rng.uniform(5.0, 6.5)
            pitch = note + vib_depth * np.sin(2 * np.pi * rate * seg + rng.uniform(0, 6.28))
            f0[i:j] = midi_to_hz(pitch)
            env = np.minimum(1, seg / 0.04) * np.minimum(1, (seg[::-1]) / 0.05)
            amp[i:j] = env * rng.uniform(0.7, 1.0)
            vowel_track.append((i, j, str(rng.choice(list(VOWELS)))))
            t += dur
        t += beat * rng.choice([1.0, 2.0])
    # portamento: smooth the pitch track a little (40 ms)
    k = int(0.04 * sr)
    voiced = f0 > 0
    gaps = np.interp(np.arange(n), np.flatnonzero(voiced), f0[voiced]) if voiced.any() else 200.0
    filled = np.where(voiced, f0, gaps)
    smooth = np.convolve(np.log(filled), np.ones(k) / k, mode="same")
    f0 = np.exp(smooth)
    y = np.zeros(n)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    for h in range(1, 40):
        fh = f0 * h
        if np.min(fh) > sr / 2 - 500:
            break
        gain = np.zeros(n)
        for i, j, vowel in vowel_track:
            freqs, bws = VOWELS[vowel]
            g = np.zeros(j - i)
            for fc, bw, w in zip(freqs, bws, (1.0, 0.6, 0.3), strict=True):
                g += w / (1 + ((fh[i:j] - fc) / bw) ** 2)
            gain[i:j] = g * h ** -0.7
        gain *= fh < sr / 2 - 200
        y += gain * np.sin(h * phase)
    breath = np.convolve(rng.standard_normal(n), np.ones(4) / 4, mode="same") * 0.02
    y = (y + breath) * amp
    return _pan(y.astype(np.float32), rng.uniform(-0.1, 0.1))


def _pads(rng: np.random.Generator, n: int, sr: int, beat: float, chords: list[list[int]]) -> np.ndarray:
    out = np.zeros((2, n), np.float32)
    bar = int(4 * beat * sr)
    for c, start in enumerate(range(0, n, bar)):
        notes = chords[c % len(chords)]
        m = min(bar, n - start)
        t = np.arange(m) / sr
        env = np.minimum(1, t / 0.25) * np.minimum(1, (t[::-1]) / 0.1)
        for k, note in enumerate(notes):
            f0 = float(midi_to_hz(note))
            voice = np.zeros(m)
            for det in (-0.08, 0.08):
                fd = f0 * 2 ** (det / 12)
                for h in range(1, 16):
                    if fd * h > 6000:
                        break
                    voice += np.sin(2 * np.pi * fd * h * t + rng.uniform(0, 6.28)) / h ** 1.6
            pan = (-0.6, 0.6, -0.2, 0.3)[k % 4]
            out[:, start:start + m] += _pan((voice * env * 0.25).astype(np.float32), pan)
    return out


def make_song(seed: int, seconds: float = 12.0, sr: int = 44100) -> Song:
    """One mixture and its stems; everything follows from ``seed``."""
    rng = np.random.default_rng(seed)
    tempo = float(rng.uniform(84, 140))
    beat = 60.0 / tempo
    n = int(seconds * sr)
    bars = int(np.ceil(seconds / (4 * beat)))
    minor = rng.random() < 0.5
    scale = MINOR if minor else MAJOR
    root = int(rng.integers(0, 12))
    progression = PROGRESSIONS[int(rng.integers(0, len(PROGRESSIONS)))]
    chords = []
    roots = []
    for degree in progression:
        triad = [_scale_note(48 + root, scale, degree + s) for s in (0, 2, 4)]
        if rng.random() < 0.4:
            triad.append(_scale_note(48 + root, scale, degree + 6))
        chords.append(triad)
        roots.append(_scale_note(28 + root, scale, degree))
    stems = {
        "drums": _drums(rng, n, sr, beat, bars),
        "bass": _bass(rng, n, sr, beat, roots),
        "vocals": _voice(rng, n, sr, beat, 60 + root, scale),
        "other": _pads(rng, n, sr, beat, chords),
    }
    levels_db = {"drums": rng.uniform(-3, 2), "bass": rng.uniform(-4, 1), "vocals": rng.uniform(-2, 3),
                 "other": rng.uniform(-5, 0)}
    for name, audio in stems.items():
        rms = float(np.sqrt(np.mean(audio ** 2))) or 1.0
        stems[name] = (audio / rms * 0.08 * 10 ** (levels_db[name] / 20)).astype(np.float32)
    names = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    return Song(stems, sr, tempo, f"{names[root]} {'minor' if minor else 'major'}")
