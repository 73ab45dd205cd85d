"""Drum kit synthesis: each piece is a short one-shot built from sines, noise and filters.

A kit is rendered once per piece (a few milliseconds of work); the kit's
character follows the genre: punchy electronic, soft acoustic-ish, or dusty lofi.
"""

from __future__ import annotations

import numpy as np

from moodmix.plugins.generate.synths import TAU, bandpass, highpass, lowpass

#: Pan position (-1 left .. 1 right) of each kit piece.
DRUM_PAN = {"kick": 0.0, "snare": 0.05, "clap": 0.0, "hat": 0.3, "open_hat": 0.3, "ride": -0.35,
            "crash": -0.25, "shaker": 0.45, "tom": -0.2, "rim": 0.15}
#: Mix level of each kit piece before the drum bus.
DRUM_GAIN = {"kick": 1.0, "snare": 0.7, "clap": 0.6, "hat": 0.22, "open_hat": 0.22, "ride": 0.22,
             "crash": 0.25, "shaker": 0.16, "tom": 0.6, "rim": 0.4}


def _t(seconds: float, sr: int) -> np.ndarray:
    return np.arange(int(seconds * sr)) / sr


def kick(sr: int, rng: np.random.Generator, punch: float = 1.0, low: float = 48.0) -> np.ndarray:
    t = _t(0.6, sr)
    freq = low + 120.0 * punch * np.exp(-t / 0.03)
    body = np.sin(TAU * np.cumsum(freq) / sr) * np.exp(-t / (0.22 + 0.1 * (1 - punch)))
    click = highpass(rng.standard_normal(len(t)), 2000, sr) * np.exp(-t / 0.003) * 0.25 * punch
    y = np.tanh(2.0 * (body + click)) / np.tanh(2.0)
    return y


def snare(sr: int, rng: np.random.Generator, tone: float = 190.0) -> np.ndarray:
    t = _t(0.35, sr)
    body = (np.sin(TAU * tone * t) + 0.5 * np.sin(TAU * tone * 1.7 * t)) * np.exp(-t / 0.05)
    noise = bandpass(rng.standard_normal(len(t)), 1200, 9000, sr) * np.exp(-t / 0.11)
    return 0.5 * body + 0.9 * noise


def clap(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _t(0.4, sr)
    noise = bandpass(rng.standard_normal(len(t)), 900, 3500, sr)
    env = np.exp(-t / 0.12)
    for offset in (0.0, 0.011, 0.022):  # several hands a few ms apart
        env += (t >= offset) * np.exp(-np.clip(t - offset, 0, None) / 0.006) * 1.5
    return noise * env * 0.6


def _metal(sr: int, seconds: float) -> np.ndarray:
    """The TR-808 trick: six square waves at inharmonic frequencies make a metallic hiss."""
    t = _t(seconds, sr)
    freqs = (205.3, 304.4, 369.6, 522.7, 540.0, 800.0)
    return sum(np.sign(np.sin(TAU * f * 1.7 * t + i)) for i, f in enumerate(freqs)) / 6.0


def hat(sr: int, rng: np.random.Generator, decay: float = 0.04) -> np.ndarray:
    seconds = max(0.12, decay * 6)
    t = _t(seconds, sr)
    source = 0.5 * _metal(sr, seconds) + 0.7 * rng.standard_normal(len(t))
    return highpass(source, 7000, sr, 4) * np.exp(-t / decay)


def ride(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _t(1.2, sr)
    bell = (np.sin(TAU * 620 * t) + 0.6 * np.sin(TAU * 1480 * t)) * np.exp(-t / 0.25) * 0.2
    wash = highpass(0.6 * _metal(sr, 1.2) + 0.5 * rng.standard_normal(len(t)), 5000, sr) * np.exp(-t / 0.45)
    return bell + wash * 0.6


def crash(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _t(2.0, sr)
    noise = highpass(rng.standard_normal(len(t)) + 0.4 * _metal(sr, 2.0), 3500, sr) * np.exp(-t / 0.7)
    return noise * np.minimum(1.0, t / 0.002)


def shaker(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _t(0.12, sr)
    env = np.minimum(1.0, t / 0.012) * np.exp(-t / 0.035)
    return bandpass(rng.standard_normal(len(t)), 4500, 11000, sr) * env


def tom(sr: int, rng: np.random.Generator, base: float = 95.0) -> np.ndarray:
    t = _t(0.7, sr)
    freq = base * (1.0 + 0.5 * np.exp(-t / 0.04))
    body = np.sin(TAU * np.cumsum(freq) / sr) * np.exp(-t / 0.28)
    skin = lowpass(rng.standard_normal(len(t)), 1500, sr) * np.exp(-t / 0.03) * 0.3
    return np.tanh(1.5 * (body + skin))


def rim(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _t(0.08, sr)
    return (np.sin(TAU * 1700 * t) * 0.6 + bandpass(rng.standard_normal(len(t)), 2000, 6000, sr) * 0.5) \
        * np.exp(-t / 0.012)


def build_kit(sr: int, character: str, seed: int) -> dict[str, np.ndarray]:
    """One-shots for every kit piece; ``character`` is ``electronic``, ``acoustic`` or ``lofi``."""
    rng = np.random.default_rng([seed, 303])
    punch = {"electronic": 1.0, "acoustic": 0.7, "lofi": 0.6, "cinematic": 0.5}.get(character, 0.8)
    low = 40.0 if character == "cinematic" else 48.0
    kit = {
        "kick": kick(sr, rng, punch, low), "snare": snare(sr, rng), "clap": clap(sr, rng), "hat": hat(sr, rng),
        "open_hat": hat(sr, rng, decay=0.16), "ride": ride(sr, rng), "crash": crash(sr, rng),
        "shaker": shaker(sr, rng), "tom": tom(sr, rng, 70.0 if character == "cinematic" else 95.0),
        "rim": rim(sr, rng),
    }
    if character == "lofi":  # dusty: no sizzle, a little crunch
        kit = {k: np.tanh(1.3 * lowpass(v, 5500, sr)) for k, v in kit.items()}
    return {k: (v / max(1e-9, float(np.max(np.abs(v))))).astype(np.float32) for k, v in kit.items()}
