"""Render a score through the synth voices, mix the buses and master the result.

Buses are balanced by measured level (not by guessing each voice's raw
loudness), processed with pedalboard effect lists (read like a mixing desk's
channel strips) and mastered to a loudness target under a true-peak ceiling
(:func:`moodmix.engine.loudness.normalize`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from pedalboard import (
    Chorus,
    Compressor,
    Delay,
    HighpassFilter,
    HighShelfFilter,
    LowpassFilter,
    LowShelfFilter,
    PeakFilter,
    Pedalboard,
    Reverb,
)

from moodmix.engine.loudness import Normalized, normalize
from moodmix.plugins.generate.composer import Score
from moodmix.plugins.generate.drums import DRUM_GAIN, DRUM_PAN, build_kit
from moodmix.plugins.generate.spec import MusicSpec
from moodmix.plugins.generate.synths import NoteCache

TARGET_LUFS = -14.0
TRUE_PEAK_DB = -1.0

#: Level of each bus relative to the others (dB RMS while playing), before mastering.
BUS_LEVELS = {"drums": -16.0, "bass": -18.0, "chords": -20.5, "melody": -20.0, "pad": -25.0}
#: Per-genre nudges of those levels (dB).
GENRE_BUS_OFFSETS = {
    "ambient": {"drums": -7.0, "pad": 5.0, "chords": 1.0},
    "cinematic": {"drums": -2.0, "pad": 3.0},
    "classical": {"chords": 2.0, "melody": 1.0},
    "lofi": {"drums": -1.0, "chords": 1.0, "melody": -1.5},
    "jazz": {"drums": -4.0, "chords": 1.0},
    "folk": {"drums": -3.0, "chords": 1.5},
    "house": {"drums": 1.0}, "techno": {"drums": 1.5, "melody": -2.0}, "trance": {"pad": 2.0},
}
#: Where each part sits in the stereo field, and how far its notes spread by pitch.
PAN = {"chords": (0.0, 0.5), "melody": (0.12, 0.0), "bass": (0.0, 0.0), "pad": (0.0, 0.0)}

ProgressFn = Callable[[float, str], None]


def _pan_gains(pan: float) -> tuple[float, float]:
    angle = (np.clip(pan, -1.0, 1.0) + 1.0) * np.pi / 4
    return float(np.cos(angle) * np.sqrt(2)), float(np.sin(angle) * np.sqrt(2))


def _place(bus: np.ndarray, start: int, audio: np.ndarray, gain: float, pan: float) -> None:
    """Add ``audio`` (mono or stereo) into ``bus`` at sample ``start``."""
    n = bus.shape[1]
    if start < 0:
        audio = audio[..., -start:]
        start = 0
    if start >= n or audio.shape[-1] == 0:
        return
    length = min(audio.shape[-1], n - start)
    if audio.ndim == 2:
        bus[:, start:start + length] += gain * audio[:, :length]
        return
    left, right = _pan_gains(pan)
    bus[0, start:start + length] += (gain * left) * audio[:length]
    bus[1, start:start + length] += (gain * right) * audio[:length]


def voice_for(spec: MusicSpec, role: str) -> str:
    voice = spec.instruments.get(role, "none")
    if spec.genre == "chiptune" and voice == "lead":
        return "square"
    return voice


def render_parts(spec: MusicSpec, score: Score, progress: ProgressFn | None = None) -> dict[str, np.ndarray]:
    """One stereo float32 array per bus, each exactly ``duration`` long."""
    sr = spec.sample_rate
    n = round(spec.duration * sr)
    cache = NoteCache(sr, spec.brightness)
    parts: dict[str, np.ndarray] = {}
    roles = [r for r in ("bass", "chords", "pad", "melody") if score.notes.get(r) and voice_for(spec, r) != "none"]
    for i, role in enumerate(roles):
        voice = voice_for(spec, role)
        bus = np.zeros((2, n), dtype=np.float32)
        centre, spread = PAN[role]
        low, high = _pitch_span(score, role)
        for note in score.notes[role]:
            pan = centre + spread * ((note.midi - low) / max(1, high - low) - 0.5)
            start = round(note.start * sr)
            for offset, audio in cache.note(voice, note.midi, note.velocity, note.length):
                _place(bus, start + offset, audio, note.velocity, pan)
        parts[role] = bus
        if progress:
            progress((i + 1) / (len(roles) + 1), f"rendered {role}")
    if score.drums:
        parts["drums"] = _render_drums(spec, score, n)
    return parts


def _pitch_span(score: Score, role: str) -> tuple[int, int]:
    midis = [n.midi for n in score.notes[role]]
    return (min(midis), max(midis)) if midis else (60, 72)


def _kit_character(spec: MusicSpec) -> str:
    if spec.style.lofi:
        return "lofi"
    if spec.genre in ("cinematic",):
        return "cinematic"
    if spec.genre in ("rock", "folk", "jazz", "reggae", "funk", "pop"):
        return "acoustic"
    return "electronic"


def _render_drums(spec: MusicSpec, score: Score, n: int) -> np.ndarray:
    sr = spec.sample_rate
    kit = build_kit(sr, _kit_character(spec), spec.seed)
    bus = np.zeros((2, n), dtype=np.float32)
    for hit in score.drums:
        _place(bus, round(hit.start * sr), kit[hit.kind], DRUM_GAIN[hit.kind] * hit.velocity,
               DRUM_PAN[hit.kind])
    return bus


def _active_rms_db(x: np.ndarray, sr: int) -> float:
    """RMS level (dB) over the parts of ``x`` where it is actually playing."""
    mono = x.mean(axis=0)
    frame = max(1, int(0.1 * sr))
    usable = len(mono) // frame * frame
    if usable == 0:
        return -120.0
    power = (mono[:usable].reshape(-1, frame) ** 2).mean(axis=1)
    if power.max() <= 1e-12:
        return -120.0
    active = power[power > power.max() * 1e-4]
    return float(10 * np.log10(active.mean() + 1e-12))


def _sidechain(spec: MusicSpec, score: Score, n: int, depth: float) -> np.ndarray:
    """A gain curve that dips after every kick: the "pumping" of dance music.

    Computed from the time since the last kick (vectorised), with a 4 ms attack so
    the dip itself does not click.
    """
    sr = spec.sample_rate
    kicks = np.unique([round(h.start * sr) for h in score.drums if h.kind == "kick" and h.start * sr < n])
    if kicks.size == 0:
        return np.ones(n, dtype=np.float32)
    positions = np.arange(n)
    last = np.searchsorted(kicks, positions, side="right") - 1
    since = np.where(last >= 0, positions - kicks[np.maximum(last, 0)], 10 * sr).astype(np.float32) / sr
    release = np.float32(0.35 * 60.0 / spec.tempo)
    env = np.exp(-since / release) * np.minimum(np.float32(1.0), since / np.float32(0.004))
    return (1.0 - depth * env).astype(np.float32)


def _bus_chain(spec: MusicSpec, role: str) -> Pedalboard:
    """Channel strip of one bus (reverb is shared, see :data:`REVERB_SENDS`)."""
    beat = 60.0 / spec.tempo
    if role == "drums":
        chain = [HighpassFilter(30), Compressor(threshold_db=-14, ratio=3, attack_ms=6, release_ms=120)]
        if spec.style.lofi:
            chain.append(LowpassFilter(6000))
        return Pedalboard(chain)
    if role == "bass":
        return Pedalboard([HighpassFilter(32), Compressor(threshold_db=-16, ratio=4, attack_ms=5, release_ms=90),
                           LowpassFilter(3500)])
    if role == "chords":
        return Pedalboard([HighpassFilter(110), PeakFilter(400, -2.0, 0.9)])
    if role == "pad":
        return Pedalboard([HighpassFilter(180), Chorus(rate_hz=0.3, depth=0.25, mix=0.4)])
    return Pedalboard([HighpassFilter(150), Delay(delay_seconds=0.75 * beat, feedback=0.28, mix=0.15)])


#: How much of each bus feeds the shared reverb (scaled by the style's reverb amount).
REVERB_SENDS = {"drums": 0.08, "bass": 0.0, "chords": 0.55, "pad": 0.9, "melody": 0.6}


def mix(spec: MusicSpec, score: Score, parts: dict[str, np.ndarray]) -> np.ndarray:
    """Process each bus, balance the buses by level, add one shared reverb, sum to stereo."""
    sr = spec.sample_rate
    n = next(iter(parts.values())).shape[1]
    offsets = GENRE_BUS_OFFSETS.get(spec.genre, {})
    duck = _sidechain(spec, score, n, 0.45) if spec.style.sidechain and "drums" in parts else None
    total = np.zeros((2, n), dtype=np.float32)
    send = np.zeros((2, n), dtype=np.float32)
    for role, bus in parts.items():
        if role == "bass":  # centred and mono: process one channel, not two
            processed = np.repeat(_bus_chain(spec, role)(bus[:1], sr), 2, axis=0)
        else:
            processed = _bus_chain(spec, role)(bus, sr)
        level = _active_rms_db(processed, sr)
        if level <= -100:
            continue
        gain = np.float32(10 ** ((BUS_LEVELS[role] + offsets.get(role, 0.0) - level) / 20))
        if duck is not None and role in ("chords", "pad", "bass"):
            processed = processed * (duck if role != "bass" else 1.0 - 0.5 * (1.0 - duck))
        total += gain * processed
        if REVERB_SENDS[role]:
            send += (gain * REVERB_SENDS[role]) * processed
    wet = 0.25 + 0.6 * spec.style.reverb
    room = 0.45 + 0.45 * spec.style.reverb
    reverb = Pedalboard([HighpassFilter(200), Reverb(room_size=room, damping=0.55, wet_level=1.0, dry_level=0.0,
                                                     width=1.0), LowpassFilter(7000)])
    total += np.float32(wet) * reverb(send, sr)
    if spec.style.lofi:
        total += _vinyl_noise(spec, n)
    return total


def _vinyl_noise(spec: MusicSpec, n: int) -> np.ndarray:
    """Soft hiss and sparse crackle, as from a worn record."""
    sr = spec.sample_rate
    rng = np.random.default_rng([spec.seed, 404])
    hiss = Pedalboard([LowpassFilter(2500)])(rng.standard_normal((1, n), dtype=np.float32) * 0.006, sr)[0]
    count = int(n / sr * 6)
    click = (np.exp(-np.arange(24, dtype=np.float32) / 4.0) * np.float32(0.08))
    positions = rng.integers(0, max(1, n - click.size), count)
    signs = rng.uniform(-1.0, 1.0, count).astype(np.float32)
    for pos, sign in zip(positions, signs, strict=True):
        hiss[pos:pos + click.size] += sign * click
    return np.stack([hiss, hiss])


def master(spec: MusicSpec, audio: np.ndarray, target_lufs: float = TARGET_LUFS) -> tuple[np.ndarray, Normalized]:
    """EQ and glue compression, then loudness to ``target_lufs`` under a ``TRUE_PEAK_DB`` true-peak ceiling."""
    sr = spec.sample_rate
    tone = 4.0 * (spec.brightness - 0.5)
    chain = [HighpassFilter(28), LowShelfFilter(110, 1.0, 0.7), PeakFilter(320, -1.5, 0.8),
             HighShelfFilter(9000, tone, 0.7), Compressor(threshold_db=-16, ratio=2, attack_ms=20, release_ms=200)]
    if spec.style.lofi:
        chain.insert(1, LowpassFilter(7500))
    processed = Pedalboard(chain)(audio, sr)
    out, report = normalize(processed, sr, target_lufs=target_lufs, ceiling_dbtp=TRUE_PEAK_DB)
    return np.ascontiguousarray(out, dtype=np.float32), report


def fade_out(audio: np.ndarray, sr: int, seconds: float) -> np.ndarray:
    n = min(audio.shape[1], int(seconds * sr))
    if n > 1:
        audio[:, -n:] *= np.linspace(1.0, 0.0, n, dtype=np.float32) ** 1.5
    return audio
