"""Synth voices and drum kits for rendering the labelled training corpus.

Several unrelated voices (additive, subtractive, FM, noise-based) and drum kits
exist so the model cannot learn one synthesiser's timbre as a proxy for a mood.
They are split into a *training* pool and a *held-out* pool: the held-out
accuracy of the shipped model is measured only on voices and kits it never heard.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from moodmix.engine.pitch import midi_to_hz

Voice = Callable[[float, int, float, float, np.random.Generator], np.ndarray]


def _t(n: int, sr: int) -> np.ndarray:
    return np.arange(n, dtype=np.float32) / np.float32(sr)


def _saw(phase: np.ndarray) -> np.ndarray:
    return 2.0 * (phase % 1.0) - 1.0


def _vibrato_phase(freq: float, n: int, sr: int, depth: float, rate: float) -> np.ndarray:
    t = _t(n, sr)
    return freq * t + (depth * freq / (2 * np.pi * rate)) * np.sin(2 * np.pi * rate * t)


def _harmonic_limit(freq: float, sr: int, wanted: int) -> int:
    return max(1, min(wanted, int(0.45 * sr / max(freq, 1.0))))


# Each voice returns the *raw* tone of n samples; the caller shapes the envelope.

def sine_lead(f: float, n: int, sr: int, bright: float, rng: np.random.Generator) -> np.ndarray:
    phase = _vibrato_phase(f, n, sr, 0.006, 5.5)
    return np.sin(2 * np.pi * phase) + 0.15 * bright * np.sin(4 * np.pi * phase)


def epiano(f: float, n: int, sr: int, bright: float, rng: np.random.Generator) -> np.ndarray:
    t = _t(n, sr)
    index = (0.5 + 2.5 * bright) * np.exp(-t * 6.0)
    return np.sin(2 * np.pi * f * t + index * np.sin(2 * np.pi * f * t)) * np.exp(-t * 1.2)


def saw_pad(f: float, n: int, sr: int, bright: float, rng: np.random.Generator) -> np.ndarray:
    t = _t(n, sr)
    out = sum(_saw(f * (1 + d) * t + rng.random()) for d in (-0.006, 0.0, 0.007))
    return out / 3.0


def square_lead(f: float, n: int, sr: int, bright: float, rng: np.random.Generator) -> np.ndarray:
    width = 0.5 - 0.3 * bright * rng.random()
    return np.where((f * _t(n, sr)) % 1.0 < width, 1.0, -1.0).astype(np.float32) * 0.7


def organ(f: float, n: int, sr: int, bright: float, rng: np.random.Generator) -> np.ndarray:
    t = _t(n, sr)
    drawbars = ((1, 1.0), (2, 0.6), (3, 0.4 * bright), (4, 0.3 * bright), (6, 0.15 * bright))
    return sum(a * np.sin(2 * np.pi * k * f * t) for k, a in drawbars if k * f < 0.45 * sr)


def pluck(f: float, n: int, sr: int, bright: float, rng: np.random.Generator) -> np.ndarray:
    t = _t(n, sr)
    out = np.zeros(n, dtype=np.float32)
    for k in range(1, _harmonic_limit(f, sr, 12) + 1):
        out += (1.0 / k) * np.sin(2 * np.pi * k * f * t) * np.exp(-t * (2.0 + k * (3.0 - 2.0 * bright)))
    return out


def strings(f: float, n: int, sr: int, bright: float, rng: np.random.Generator) -> np.ndarray:
    phase = _vibrato_phase(f, n, sr, 0.004, 5.0 + rng.random())
    return 0.5 * (_saw(phase) + _saw(phase * 1.004 + 0.3))


# Held-out voices: synthesis methods absent from the training pool.

def fm_bell(f: float, n: int, sr: int, bright: float, rng: np.random.Generator) -> np.ndarray:
    t = _t(n, sr)
    index = (1.0 + 4.0 * bright) * np.exp(-t * 2.5)
    return np.sin(2 * np.pi * f * t + index * np.sin(2 * np.pi * 3.5 * f * t)) * np.exp(-t * 0.8)


def brass(f: float, n: int, sr: int, bright: float, rng: np.random.Generator) -> np.ndarray:
    t = _t(n, sr)
    swell = 1.0 - np.exp(-t * 12.0)
    k_max = _harmonic_limit(f, sr, 16)
    out = np.zeros(n, dtype=np.float32)
    for k in range(1, k_max + 1):
        out += np.sin(2 * np.pi * k * f * t) * swell ** (0.5 * k) * (0.8 + 0.2 * bright) ** k
    return out / 3.0


def flute(f: float, n: int, sr: int, bright: float, rng: np.random.Generator) -> np.ndarray:
    phase = _vibrato_phase(f, n, sr, 0.008, 4.5)
    tri = 2.0 * np.abs(2.0 * (phase % 1.0) - 1.0) - 1.0
    breath = rng.standard_normal(n).astype(np.float32) * 0.06 * (0.5 + bright)
    return tri + breath


def stiff_string(f: float, n: int, sr: int, bright: float, rng: np.random.Generator) -> np.ndarray:
    """Piano-like: slightly inharmonic partials, each decaying at its own rate."""
    t = _t(n, sr)
    out = np.zeros(n, dtype=np.float32)
    for k in range(1, _harmonic_limit(f, sr, 10) + 1):
        fk = k * f * np.sqrt(1.0 + 0.0004 * k * k)
        if fk < 0.45 * sr:
            out += (0.9 ** k) * np.sin(2 * np.pi * fk * t) * np.exp(-t * (0.8 + 0.9 * k * (1.2 - bright)))
    return out


def reed(f: float, n: int, sr: int, bright: float, rng: np.random.Generator) -> np.ndarray:
    return np.tanh((1.5 + 3.0 * bright) * np.sin(2 * np.pi * _vibrato_phase(f, n, sr, 0.003, 6.0)))


TRAIN_VOICES: dict[str, Voice] = {
    "sine_lead": sine_lead, "epiano": epiano, "saw_pad": saw_pad, "square_lead": square_lead,
    "organ": organ, "pluck": pluck, "strings": strings,
}
HELD_OUT_VOICES: dict[str, Voice] = {
    "fm_bell": fm_bell, "brass": brass, "flute": flute, "stiff_string": stiff_string, "reed": reed,
}
#: Voices whose tone dies away by itself (no sustain stage).
DECAYING = {"epiano", "pluck", "fm_bell", "stiff_string"}


def render_note(voice: str, pool: dict[str, Voice], midi: float, seconds: float, velocity: float,
                sr: int, attack: float, release: float, bright: float,
                rng: np.random.Generator) -> np.ndarray:
    """One note: the voice's tone under an attack/sustain/release envelope."""
    f = midi_to_hz(midi)
    hold = max(int(seconds * sr), 1)
    rel = max(int(release * sr), 1)
    n = hold + rel
    tone = np.asarray(pool[voice](f, n, sr, bright, rng), dtype=np.float32)
    env = np.ones(n, dtype=np.float32)
    att = min(max(int(attack * sr), 1), hold)
    env[:att] = np.linspace(0.0, 1.0, att, dtype=np.float32)
    env[hold:] = np.linspace(1.0, 0.0, rel, dtype=np.float32)
    return tone * env * np.float32(velocity)


# Drum kits: each instrument is a short one-shot built from noise and swept sines.

def _sweep(sr: int, seconds: float, f0: float, f1: float, decay: float) -> np.ndarray:
    t = _t(int(seconds * sr), sr)
    freq = f1 + (f0 - f1) * np.exp(-t * 30.0)
    phase = 2 * np.pi * np.cumsum(freq) / sr
    return np.sin(phase) * np.exp(-t * decay)


def _noise(sr: int, seconds: float, decay: float, rng: np.random.Generator, colour: float) -> np.ndarray:
    n = int(seconds * sr)
    noise = rng.standard_normal(n).astype(np.float32)
    if colour > 0:  # crude high-pass: first difference, mixed by colour
        noise = (1 - colour) * noise + colour * np.diff(noise, prepend=0.0)
    return noise * np.exp(-_t(n, sr) * decay)


def _layer(*parts: np.ndarray) -> np.ndarray:
    """Sum one-shots of different lengths."""
    out = np.zeros(max(len(p) for p in parts), dtype=np.float32)
    for p in parts:
        out[: len(p)] += p
    return out


def make_kit(name: str, sr: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One-shot samples of a kit; ``name`` picks its character."""
    if name == "acoustic":
        kick = _sweep(sr, 0.35, 120, 50, 14)
        snare = _layer(0.6 * _noise(sr, 0.25, 18, rng, 0.3), 0.4 * _sweep(sr, 0.2, 250, 180, 25))
        hat = 0.4 * _noise(sr, 0.06, 60, rng, 0.9)
    elif name == "electro":
        kick = _sweep(sr, 0.5, 160, 45, 8)
        snare = 0.8 * _noise(sr, 0.18, 25, rng, 0.6)
        hat = 0.3 * _noise(sr, 0.04, 90, rng, 1.0)
    elif name == "lofi":  # held out: duller, longer, detuned
        kick = _sweep(sr, 0.6, 90, 38, 6)
        snare = _layer(0.5 * _noise(sr, 0.3, 12, rng, 0.1), 0.5 * _sweep(sr, 0.25, 200, 150, 15))
        hat = 0.5 * _noise(sr, 0.09, 40, rng, 0.5)
    else:
        raise ValueError(f"unknown kit {name!r}")
    return {
        "kick": kick, "snare": snare, "hat": hat,
        "open_hat": 0.5 * _noise(sr, 0.3, 10, rng, 0.9),
        "clap": sum(np.roll(_noise(sr, 0.15, 30, rng, 0.5), int(d * sr)) for d in (0, 0.01, 0.02)) / 2,
        "tom": _sweep(sr, 0.4, 140, 90, 9),
        "taiko": _layer(1.2 * _sweep(sr, 0.9, 90, 55, 5), 0.2 * _noise(sr, 0.1, 40, rng, 0.0)),
        "crash": 0.35 * _noise(sr, 1.5, 2.5, rng, 0.8),
    }


TRAIN_KITS = ("acoustic", "electro")
HELD_OUT_KITS = ("lofi",)
