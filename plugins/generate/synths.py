"""Synthesised instrument voices: one function per voice, returning one note as a numpy array.

All voices are vectorised numpy (no per-sample Python loops) so a whole piece
renders far faster than realtime. Voices that decay naturally (piano, plucks,
bells) render their full ring once per pitch and are cut with a release ramp
where the note ends; the :class:`NoteCache` makes each distinct note render once.
Randomness inside a voice (string noise, oscillator phases) is seeded from the
pitch, so a note always sounds the same and a piece is reproducible.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import signal

from moodmix.engine.pitch import midi_to_hz

TAU = 2.0 * np.pi
RELEASE_S = 0.12


def _rng(*key: float) -> np.random.Generator:
    return np.random.default_rng([int(abs(k) * 1000) for k in key])


def _time(n: int, sr: int) -> np.ndarray:
    """Sample times as float32: numpy's SIMD sin/exp are ~10x faster in single precision."""
    return np.arange(n, dtype=np.float32) / np.float32(sr)


def polyblep_saw(freq: float | np.ndarray, n: int, sr: int, phase0: float = 0.0) -> np.ndarray:
    """Band-limited sawtooth (polyBLEP); ``freq`` may be an array for vibrato or glides."""
    inc = np.broadcast_to(np.asarray(freq, dtype=np.float64) / sr, (n,))
    phase = (phase0 + np.cumsum(inc) - inc[0]) % 1.0
    out = 2.0 * phase - 1.0
    low = phase < inc
    x = phase[low] / inc[low]
    out[low] -= x + x - x * x - 1.0
    high = phase > 1.0 - inc
    x = (phase[high] - 1.0) / inc[high]
    out[high] -= x * x + x + x + 1.0
    return out


def polyblep_square(freq: float | np.ndarray, n: int, sr: int, phase0: float = 0.0) -> np.ndarray:
    """Band-limited square: the difference of two saws half a cycle apart."""
    return 0.5 * (polyblep_saw(freq, n, sr, phase0) - polyblep_saw(freq, n, sr, phase0 + 0.5))


def adsr(n: int, sr: int, attack: float, decay: float, sustain: float, release: float,
         note_samples: int) -> np.ndarray:
    """Attack-decay-sustain envelope held for ``note_samples`` then released over ``release``."""
    t = _time(n, sr)
    env = np.where(t < attack, t / max(attack, 1e-4),
                   sustain + (1.0 - sustain) * np.exp(-(t - attack) / max(decay, 1e-4)))
    hold = min(note_samples, n)
    level = env[hold - 1] if hold > 0 else 0.0
    tail = n - hold
    if tail > 0:
        env[hold:] = level * np.exp(-_time(tail, sr) / max(release / 4.0, 1e-4))
    return env


def lowpass(x: np.ndarray, cutoff: float, sr: int, order: int = 2) -> np.ndarray:
    cutoff = float(np.clip(cutoff, 20.0, 0.45 * sr))
    sos = signal.butter(order, cutoff, btype="low", fs=sr, output="sos")
    return signal.sosfilt(sos, x)


def bandpass(x: np.ndarray, low: float, high: float, sr: int, order: int = 2) -> np.ndarray:
    sos = signal.butter(order, [max(20.0, low), min(high, 0.45 * sr)], btype="band", fs=sr, output="sos")
    return signal.sosfilt(sos, x)


def highpass(x: np.ndarray, cutoff: float, sr: int, order: int = 2) -> np.ndarray:
    sos = signal.butter(order, min(cutoff, 0.45 * sr), btype="high", fs=sr, output="sos")
    return signal.sosfilt(sos, x)


# -- decaying voices (rendered once per pitch, cut at note end) -------------------------------------------

def karplus_strong(freq: float, seconds: float, sr: int, brightness: float, t60: float,
                   rng: np.random.Generator) -> np.ndarray:
    """Plucked string: a noise burst circulating in a damped delay line.

    The delay line runs block-by-block (one period per numpy step). The integer
    delay would detune high notes, so the result is resampled to the exact pitch.
    """
    n_delay = max(2, int(sr / freq - 0.5))
    natural = sr / (n_delay + 0.5)  # pitch the integer loop actually produces
    out_n = int(seconds * sr)
    total = int(out_n * freq / natural) + n_delay + 4
    loss = 10.0 ** (-3.0 / (t60 * natural))
    # Excitation: the triangle of a string pulled aside at 30 % of its length (harmonics fall as 1/k^2,
    # so the fundamental leads whatever the noise does) plus a little pick noise for life.
    position = np.arange(n_delay) / n_delay
    shape = np.where(position < 0.3, position / 0.3, (1.0 - position) / 0.7)
    noise = rng.uniform(-1.0, 1.0, n_delay)
    noise = signal.lfilter([1.0 - 0.85 * (1 - brightness)], [1.0, -0.85 * (1 - brightness)], noise)
    burst = shape - shape.mean() + 0.35 * brightness * noise
    y = np.zeros(total + 1)
    y[1:n_delay + 1] = burst
    i = n_delay + 1
    while i <= total:
        j = min(i + n_delay, total + 1)
        y[i:j] = loss * 0.5 * (y[i - n_delay:j - n_delay] + y[i - n_delay - 1:j - n_delay - 1])
        i = j
    y = y[1:]
    read = np.arange(out_n) * (freq / natural)
    return np.interp(read, np.arange(len(y)), y)


def pluck_tone(midi: int, velocity: float, sr: int, seconds: float) -> np.ndarray:
    freq = midi_to_hz(midi)
    t60 = float(np.clip(3.5 * (196.0 / freq) ** 0.5, 0.8, 5.0))
    seconds = min(seconds, t60 * 0.8 + 0.2)
    y = karplus_strong(freq, seconds, sr, 0.45 + 0.5 * velocity, t60, _rng(midi, 1))
    y = lowpass(y, 2500 + 5000 * velocity, sr, 1)
    return _attack(y, sr, 0.002) * 0.9


def electric_bass_tone(midi: int, velocity: float, sr: int, seconds: float) -> np.ndarray:
    freq = midi_to_hz(midi)
    y = karplus_strong(freq, min(seconds, 3.0), sr, 0.5, 2.0, _rng(midi, 2))
    t = _time(len(y), sr)
    y = lowpass(y, 900 + 700 * velocity, sr) * 1.4 + 0.6 * np.sin(TAU * freq * t) * np.exp(-t / 1.5)
    return _attack(y, sr, 0.003) * 0.8


def upright_bass_tone(midi: int, velocity: float, sr: int, seconds: float) -> np.ndarray:
    freq = midi_to_hz(midi)
    y = karplus_strong(freq, min(seconds, 2.0), sr, 0.3, 0.9, _rng(midi, 3))
    t = _time(len(y), sr)
    thump = np.sin(TAU * freq * t) * np.exp(-t / 0.6)
    return _attack(lowpass(y, 700, sr) * 1.6 + 0.7 * thump, sr, 0.004) * 0.8


def sub_tone(midi: int, velocity: float, sr: int, seconds: float) -> np.ndarray:
    """808-style sub: a sine with a short pitch drop, lightly saturated so small speakers hear it."""
    freq = midi_to_hz(midi)
    n = int(min(seconds, 2.5) * sr)
    t = _time(n, sr)
    f = freq * (1.0 + 0.6 * np.exp(-t / 0.018))
    phase = TAU * np.cumsum(f) / sr
    y = np.sin(phase) * np.exp(-t / 1.6)
    return _attack(np.tanh(1.8 * y) / np.tanh(1.8), sr, 0.002) * 0.85


def piano_tone(midi: int, velocity: float, sr: int, seconds: float) -> np.ndarray:
    """Additive piano: stretched partials that fade faster the higher they are, a hammer thump.

    Partials share one two-stage envelope per band (low/mid/high) rather than one
    each: it sounds the same and costs a third of the transcendental maths.
    """
    freq = midi_to_hz(midi)
    tau = 1.7 * 2.0 ** (-(midi - 60) / 22.0)
    n = int(min(seconds, 5.0, 3.0 * tau + 0.4) * sr)
    t = _time(n, sr)
    y = np.zeros(n, dtype=np.float32)
    partials = max(1, min(12, int(0.45 * sr / freq)))
    tilt = 0.38 - 0.22 * velocity
    for first, last, speed in ((1, 3, 1.0), (4, 7, 2.0), (8, 12, 3.5)):
        band = np.zeros(n, dtype=np.float32)
        for k in range(first, min(last, partials) + 1):
            fk = k * freq * np.sqrt(1.0 + 0.00025 * k * k)
            if fk > 0.45 * sr:
                break
            amp = np.float32(np.exp(-(k - 1) * tilt) / k ** 0.6)
            band += amp * np.sin(TAU * fk * t + np.float32(0.3 * k))
            if k <= 3:  # a second, slightly detuned string: the slow beating of a real piano
                band += (amp * np.float32(0.5)) * np.sin(TAU * (fk + 0.35 + 0.1 * k) * t)
        if first > partials:
            break
        tk = tau / speed
        y += band * (0.55 * np.exp(-t / np.float32(0.22 * tk)) + 0.45 * np.exp(-t / np.float32(tk)))
    hammer = lowpass(_rng(midi, 4).standard_normal(int(0.012 * sr)), 1200 + 2500 * velocity, sr)
    y[: len(hammer)] += 0.15 * velocity * hammer * np.linspace(1, 0, len(hammer))
    return _attack(y / np.float32(partials ** 0.35 + 1.0), sr, 0.002)


def epiano_tone(midi: int, velocity: float, sr: int, seconds: float) -> np.ndarray:
    """FM electric piano (Rhodes-like): modulation index falls after the strike, plus a tine ping."""
    freq = midi_to_hz(midi)
    tau = 1.6 * 2.0 ** (-(midi - 60) / 24.0)
    n = int(min(seconds, 4.5, 3.0 * tau + 0.3) * sr)
    t = _time(n, sr)
    index = (0.6 + 1.6 * velocity) * np.exp(-t / 0.4) + 0.15
    y = np.sin(TAU * freq * t + index * np.sin(TAU * freq * t)) * np.exp(-t / tau)
    tine = 14.0 * freq
    if tine < 0.4 * sr:
        y += 0.12 * velocity * np.sin(TAU * tine * t) * np.exp(-t / 0.025)
    return _attack(y * 0.6, sr, 0.002)


def bell_tone(midi: int, velocity: float, sr: int, seconds: float) -> np.ndarray:
    """Music-box / glockenspiel: harmonic FM (ratio 2) with a quickly fading index."""
    freq = midi_to_hz(midi)
    n = int(min(seconds, 2.5) * sr)
    t = _time(n, sr)
    index = 2.2 * velocity * np.exp(-t / 0.15) + 0.2
    y = np.sin(TAU * freq * t + index * np.sin(TAU * 2.0 * freq * t)) * np.exp(-t / 0.9)
    y += 0.25 * np.sin(TAU * 4.0 * freq * t) * np.exp(-t / 0.12)
    return _attack(y * 0.45, sr, 0.001)


# -- sustained voices (depend on the note length) --------------------------------------------------------

def lead_note(midi: int, velocity: float, n_note: int, sr: int, brightness: float = 0.6,
              square: bool = False) -> np.ndarray:
    freq = midi_to_hz(midi)
    n = n_note + int(RELEASE_S * sr)
    t = _time(n, sr)
    vibrato = 1.0 + 0.006 * np.sin(TAU * 5.5 * t) * np.clip((t - 0.25) / 0.3, 0.0, 1.0)
    if square:
        y = polyblep_square(freq * vibrato, n, sr) * 0.6
    else:
        y = polyblep_saw(freq * vibrato, n, sr) * 0.5 + polyblep_saw(freq * 1.004 * vibrato, n, sr, 0.3) * 0.35
        y = lowpass(y, freq * 3 + 2500 * brightness, sr)
    return y * adsr(n, sr, 0.008, 0.25, 0.75, RELEASE_S, n_note) * (0.35 + 0.5 * velocity)


def flute_note(midi: int, velocity: float, n_note: int, sr: int) -> np.ndarray:
    freq = midi_to_hz(midi)
    n = n_note + int(RELEASE_S * sr)
    t = _time(n, sr)
    vib = 1.0 + 0.004 * np.sin(TAU * 5.0 * t) * np.clip((t - 0.2) / 0.3, 0.0, 1.0)
    phase = TAU * np.cumsum(freq * vib) / sr
    y = np.sin(phase) + 0.22 * np.sin(2 * phase) + 0.08 * np.sin(3 * phase)
    breath = bandpass(_rng(midi, 5).standard_normal(n), freq * 0.8, freq * 3.0, sr) * 0.12
    return (y + breath) * adsr(n, sr, 0.05, 0.3, 0.85, RELEASE_S, n_note) * (0.3 + 0.45 * velocity)


def synth_bass_note(midi: int, velocity: float, n_note: int, sr: int) -> np.ndarray:
    freq = midi_to_hz(midi)
    n = n_note + int(0.05 * sr)
    t = _time(n, sr)
    saw = polyblep_saw(freq, n, sr)
    y = lowpass(saw, 250 + 900 * velocity, sr) + 0.8 * np.sin(TAU * freq * t)
    return y * adsr(n, sr, 0.004, 0.18, 0.7, 0.05, n_note) * 0.7


def pad_note(midi: int, velocity: float, n_note: int, sr: int, brightness: float = 0.5) -> np.ndarray:
    """Stereo supersaw pad: detuned saws spread left/right, filtered, slow attack. Shape ``(2, n)``."""
    freq = midi_to_hz(midi)
    release = 0.6
    n = n_note + int(release * sr)
    rng = _rng(midi, 6)
    detunes = (-0.006, -0.002, 0.002, 0.006)
    voices = [polyblep_saw(freq * (1 + d), n, sr, float(rng.random())) for d in detunes]
    left = voices[0] + 0.8 * voices[2]
    right = voices[3] + 0.8 * voices[1]
    cutoff = freq * 2 + 600 + 1800 * brightness
    stereo = np.stack([lowpass(left, cutoff, sr), lowpass(right, cutoff, sr)])
    env = adsr(n, sr, 0.35, 0.8, 0.85, release, n_note)
    return stereo * env * 0.18 * (0.6 + 0.4 * velocity)


def _attack(y: np.ndarray, sr: int, seconds: float) -> np.ndarray:
    k = max(1, int(seconds * sr))
    y[:k] *= np.linspace(0.0, 1.0, k)
    return y


DECAYING: dict[str, Callable[[int, float, int, float], np.ndarray]] = {
    "piano": piano_tone, "epiano": epiano_tone, "bell": bell_tone, "pluck": pluck_tone,
    "electric": electric_bass_tone, "upright": upright_bass_tone, "sub": sub_tone,
}
VELOCITY_LAYERS = (0.4, 0.7, 1.0)
VOICES = (*DECAYING, "lead", "square", "flute", "synth", "pad")


#: A rendered note as (offset in samples, samples) pieces: the body is a view into a cached
#: tone (no copy) and only the short release tail is computed per note length.
Segments = list[tuple[int, np.ndarray]]


class NoteCache:
    """Renders each distinct (voice, pitch, velocity layer, length) once per piece."""

    def __init__(self, sr: int, brightness: float = 0.6) -> None:
        self.sr = sr
        self.brightness = brightness
        self._tones: dict[tuple, np.ndarray] = {}
        self._complete: dict[tuple, bool] = {}  # tone rendered to its natural end
        self._notes: dict[tuple, Segments] = {}

    def note(self, voice: str, midi: int, velocity: float, seconds: float) -> Segments:
        """One note, release tail included; samples are ``(n,)`` or ``(2, n)`` for the pad.

        The caller scales by the exact velocity; here velocity only picks a timbre
        layer (brighter when harder), as sampled instruments do.
        """
        vel = min(VELOCITY_LAYERS, key=lambda layer: abs(layer - velocity))
        n_note = max(64, round(seconds * self.sr / 64) * 64)  # a 64-sample grid keeps the cache small
        key = (voice, midi, vel, n_note)
        cached = self._notes.get(key)
        if cached is None:
            cached = self._render(voice, midi, vel, n_note)
            self._notes[key] = cached
        return cached

    def _render(self, voice: str, midi: int, vel: float, n_note: int) -> Segments:
        sr = self.sr
        if voice in DECAYING:
            release = int(RELEASE_S * sr)
            tone_key = (voice, midi, vel)
            tone = self._tones.get(tone_key)
            if tone is None or (len(tone) < n_note + release and not self._complete.get(tone_key)):
                # render only as much ring as notes need so far; a longer note re-renders once
                want = max((n_note + release) / sr, 0.6, 0.0 if tone is None else 2.0 * len(tone) / sr)
                tone = np.asarray(DECAYING[voice](midi, vel, sr, want), dtype=np.float32)
                self._complete[tone_key] = len(tone) < int(want * sr) - 1
                self._tones[tone_key] = tone
            n = min(len(tone), n_note + release)
            segments: Segments = [(0, tone[:min(n, n_note)])]
            if n > n_note:
                ramp = np.linspace(1.0, 0.0, n - n_note, dtype=np.float32) ** 2
                segments.append((n_note, tone[n_note:n] * ramp))
            return segments
        if voice in ("lead", "square"):
            audio = lead_note(midi, vel, n_note, sr, self.brightness, square=voice == "square")
        elif voice == "flute":
            audio = flute_note(midi, vel, n_note, sr)
        elif voice == "synth":
            audio = synth_bass_note(midi, vel, n_note, sr)
        elif voice == "pad":
            audio = pad_note(midi, vel, n_note, sr, self.brightness)
        else:
            raise ValueError(f"unknown voice {voice!r}")
        return [(0, np.asarray(audio, dtype=np.float32))]
