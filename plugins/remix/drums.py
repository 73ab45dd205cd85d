"""Synthesised drum kits, step-pattern rendering on a beat grid, and sidechain ducking.

Drums are synthesised rather than sampled so the plugin ships no audio files and every
kit works at any sample rate. Kits are data (:data:`KITS`): a genre picks one by name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from moodmix.plugins.remix.recipe import DrumPattern, Sidechain
from moodmix.plugins.remix.tempo import BeatGrid

VELOCITY = {"X": 1.0, "x": 0.72}
VOICE_LEVEL = {"kick": 1.0, "snare": 0.75, "clap": 0.65, "hat": 0.3, "open_hat": 0.28}


@dataclass(frozen=True)
class Tone:
    """A pitched hit: a sine (or square) sweeping from ``start_hz`` to ``end_hz``."""

    start_hz: float
    end_hz: float
    sweep_ms: float
    decay_ms: float
    drive: float = 1.0
    square: bool = False


@dataclass(frozen=True)
class Noise:
    """A band-passed noise burst; ``bursts`` > 1 gives the flams of a hand clap."""

    low_hz: float
    high_hz: float
    decay_ms: float
    bursts: int = 1
    crush_bits: int = 0


@dataclass(frozen=True)
class Voice:
    tone: Tone | None = None
    noise: Noise | None = None
    tone_mix: float = 1.0  # share of the tone when both are present
    click: float = 0.0


@dataclass(frozen=True)
class KitSpec:
    kick: Voice
    snare: Voice
    clap: Voice
    hat: Voice
    open_hat: Voice
    lowpass_hz: float | None = None  # dull the whole kit (lofi)


_CLAP = Voice(noise=Noise(900, 3200, 90, bursts=3))
_HAT = Voice(noise=Noise(7000, 16000, 35))
_OPEN_HAT = Voice(noise=Noise(6500, 16000, 260))

KITS: dict[str, KitSpec] = {
    "909": KitSpec(
        kick=Voice(tone=Tone(190, 50, 30, 320, drive=1.8), click=0.25),
        snare=Voice(tone=Tone(200, 185, 20, 90), noise=Noise(1500, 9000, 150), tone_mix=0.35),
        clap=_CLAP, hat=_HAT, open_hat=_OPEN_HAT),
    "808": KitSpec(
        kick=Voice(tone=Tone(110, 45, 60, 900, drive=2.2), click=0.1),
        snare=Voice(tone=Tone(240, 220, 10, 70), noise=Noise(2000, 8000, 120), tone_mix=0.45),
        clap=_CLAP, hat=Voice(noise=Noise(8000, 16000, 25)), open_hat=_OPEN_HAT),
    "acoustic": KitSpec(
        kick=Voice(tone=Tone(120, 58, 25, 220), noise=Noise(60, 900, 30), tone_mix=0.8, click=0.35),
        snare=Voice(tone=Tone(185, 175, 15, 60), noise=Noise(400, 7000, 180), tone_mix=0.3),
        clap=Voice(noise=Noise(1200, 5000, 40)),
        hat=Voice(noise=Noise(4500, 12000, 55)), open_hat=Voice(noise=Noise(4000, 12000, 180)),
        lowpass_hz=11000),
    "lofi": KitSpec(
        kick=Voice(tone=Tone(140, 52, 35, 280, drive=1.4), click=0.15),
        snare=Voice(tone=Tone(190, 180, 15, 70), noise=Noise(900, 6000, 130, crush_bits=8), tone_mix=0.4),
        clap=Voice(noise=Noise(800, 3000, 80, bursts=3, crush_bits=8)),
        hat=Voice(noise=Noise(5000, 10000, 30, crush_bits=8)),
        open_hat=Voice(noise=Noise(5000, 10000, 160, crush_bits=8)), lowpass_hz=5500),
    "chip": KitSpec(
        kick=Voice(tone=Tone(220, 45, 40, 160, square=True)),
        snare=Voice(noise=Noise(1000, 10000, 90, crush_bits=4)),
        clap=Voice(noise=Noise(1500, 6000, 60, crush_bits=4)),
        hat=Voice(noise=Noise(7000, 16000, 25, crush_bits=4)),
        open_hat=Voice(noise=Noise(7000, 16000, 140, crush_bits=4))),
    "breaks": KitSpec(
        kick=Voice(tone=Tone(160, 55, 20, 200, drive=1.5), click=0.4),
        snare=Voice(tone=Tone(230, 210, 10, 60), noise=Noise(1800, 11000, 110), tone_mix=0.25),
        clap=_CLAP, hat=Voice(noise=Noise(8000, 16000, 30)), open_hat=_OPEN_HAT),
}


def synth_voice(voice: Voice, sr: int, rng: np.random.Generator) -> np.ndarray:
    """One hit of a kit voice, peak-normalised to 1."""
    tone = _tone(voice.tone, sr) if voice.tone else None
    noise = _noise(voice.noise, sr, rng) if voice.noise else None
    length = max(x.size for x in (tone, noise) if x is not None)
    out = np.zeros(length)
    if tone is not None:
        out[: tone.size] += tone * (voice.tone_mix if noise is not None else 1.0)
    if noise is not None:
        out[: noise.size] += noise * ((1.0 - voice.tone_mix) if tone is not None else 1.0)
    if voice.click:
        n = max(1, int(0.003 * sr))
        out[:n] += voice.click * rng.standard_normal(n) * np.exp(-np.arange(n) / (0.0007 * sr))
    fade = min(out.size, int(0.005 * sr))
    out[-fade:] *= np.linspace(1.0, 0.0, fade)
    peak = float(np.max(np.abs(out))) or 1.0
    return (out / peak).astype(np.float32)


def _tone(tone: Tone, sr: int) -> np.ndarray:
    t = np.arange(int(sr * tone.decay_ms * 5 / 1000)) / sr
    freq = tone.end_hz + (tone.start_hz - tone.end_hz) * np.exp(-t / (tone.sweep_ms / 1000))
    wave = np.sin(2 * np.pi * np.cumsum(freq) / sr)
    if tone.square:
        wave = np.sign(wave)
    body = wave * np.exp(-t / (tone.decay_ms / 1000))
    return np.tanh(tone.drive * body) / np.tanh(tone.drive) if tone.drive > 1 else body


def _noise(noise: Noise, sr: int, rng: np.random.Generator) -> np.ndarray:
    n = int(sr * (noise.decay_ms * 5 + 25 * noise.bursts) / 1000)
    raw = rng.standard_normal(n)
    nyquist = sr / 2
    low, high = noise.low_hz / nyquist, min(noise.high_hz, 0.45 * sr) / nyquist
    sos = signal.butter(2, [low, high], btype="bandpass", output="sos") if low < high else None
    band = signal.sosfilt(sos, raw) if sos is not None else raw
    t = np.arange(n) / sr
    tail_start = (noise.bursts - 1) * 0.011
    env = np.where(t >= tail_start, np.exp(-(t - tail_start) / (noise.decay_ms / 1000)), 0.0)
    for b in range(noise.bursts - 1):  # short flams ahead of the tail (a hand clap)
        env = np.maximum(env, np.where(t >= b * 0.011, np.exp(-(t - b * 0.011) / 0.006), 0.0))
    out = band * env
    if noise.crush_bits:
        levels = 2 ** (noise.crush_bits - 1)
        peak = float(np.max(np.abs(out))) or 1.0
        out = np.round(out / peak * levels) / levels * peak
    return out


@dataclass
class RenderedDrums:
    audio: np.ndarray  # (frames,) float32
    kick_times: np.ndarray  # seconds


def render_pattern(pattern: DrumPattern, grid: BeatGrid, *, sr: int, frames: int,
                   seed: int = 0) -> RenderedDrums:
    """Play ``pattern`` on the grid (16th steps, first step on a beat) for ``frames`` samples."""
    renderer = DrumRenderer(pattern, grid, sr=sr, frames=frames, seed=seed)
    return RenderedDrums(renderer.render(frames), renderer.kick_times)


class DrumRenderer:
    """:func:`render_pattern` a stretch at a time, in order: the hits (and every random draw) are
    planned for the whole length first, then each stretch sums the hits that reach it and runs
    the kit's low-pass with its state carried, so the stretches join into the whole render."""

    def __init__(self, pattern: DrumPattern, grid: BeatGrid, *, sr: int, frames: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        kit = KITS[pattern.kit]
        self.frames, self.pos = frames, 0
        step = grid.period / 4
        duration = frames / sr
        first = int(np.ceil(-grid.first_beat / step))
        last = int(np.floor((duration - grid.first_beat) / step))
        steps = np.arange(first, last + 1)
        times = grid.first_beat + steps * step + np.where(steps % 2 == 1, pattern.swing * step, 0.0)
        kick_times: list[float] = []
        #: Per voice, in order: its sound and its hits (start frame, velocity, random level).
        self.voices: list[tuple[np.ndarray, np.ndarray, list[tuple[float, float]]]] = []
        for name, steps_text in pattern.voices().items():
            if not steps_text:
                continue
            sound = synth_voice(getattr(kit, name), sr, rng) * VOICE_LEVEL[name]
            starts, levels = [], []
            for i, t in zip(steps, times, strict=True):
                velocity = VELOCITY.get(steps_text[i % len(steps_text)], 0.0)
                if velocity <= 0.0 or not grid.start - step / 2 <= t < grid.end:
                    continue
                start = round(t * sr)
                if start >= min(frames, start + sound.size):
                    continue
                starts.append(start)
                levels.append((velocity, 0.95 + 0.1 * rng.random()))
                if name == "kick":
                    kick_times.append(float(t))
            self.voices.append((sound, np.asarray(starts, dtype=np.int64), levels))
        self.kick_times = np.asarray(kick_times)
        self.sos = None
        if kit.lowpass_hz:
            self.sos = signal.butter(2, min(kit.lowpass_hz, 0.45 * sr) / (sr / 2), output="sos")
            self.state = np.zeros((self.sos.shape[0], 2))

    def render(self, count: int) -> np.ndarray:
        """The next ``count`` frames (fewer at the end), float32."""
        lo = self.pos
        hi = min(self.frames, lo + count)
        self.pos = hi
        out = np.zeros(hi - lo, dtype=np.float32)
        for sound, starts, levels in self.voices:
            first = int(np.searchsorted(starts, lo - sound.size, side="right"))
            for j in range(first, int(np.searchsorted(starts, hi, side="left"))):
                start = int(starts[j])
                end = min(self.frames, start + sound.size)
                a, b = max(start, lo), min(end, hi)
                if a >= b:
                    continue
                velocity, level = levels[j]
                out[a - lo:b - lo] += sound[a - start:b - start] * velocity * level
        if self.sos is not None:
            filtered, self.state = signal.sosfilt(self.sos, out, zi=self.state)
            out = filtered.astype(np.float32)
        return out


def duck_envelope(kick_times: np.ndarray, sidechain: Sidechain, *, sr: int, frames: int,
                  start: int = 0) -> np.ndarray:
    """Gain (frames,) from frame ``start`` on that dips by ``depth_db`` at each kick and recovers over
    ``release_ms``."""
    attack = max(1, int(sidechain.attack_ms / 1000 * sr))
    release = int(sidechain.release_ms / 1000 * sr)
    t = np.arange(attack + 2 * release)
    shape = np.where(t < attack, t / attack, np.exp(-(t - attack) / max(1.0, release / 3)))
    reduction = np.zeros(frames, dtype=np.float32)
    stop = start + frames
    for kt in kick_times:
        hit = round(float(kt) * sr)
        lo, hi = max(hit, start), min(stop, hit + shape.size)
        if hit >= 0 and lo < hi:
            seg = reduction[lo - start:hi - start]
            np.maximum(seg, shape[lo - hit:hi - hit], out=seg)
    return (10.0 ** (-sidechain.depth_db * reduction / 20.0)).astype(np.float32)
