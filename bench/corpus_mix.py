"""Render a :class:`corpus_midi.Piece` stem by stem with FluidSynth, then mix it like an engineer would.

Each stem is rendered alone (same soundfont, FluidSynth's own reverb and chorus off), so
the stems are exact references. Per stem, a seeded random chain from pedalboard: high-pass,
a peaking EQ, compression, reverb, then level and balance. The mixture is the sum of the
processed stems; a third of the clips go through an MP3 round trip (the stems stay the
references, as they would for a real release).

Needs ``fluidsynth`` and ``fluid-soundfont-gm`` (``apt-get install -y fluidsynth fluid-soundfont-gm``).
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from corpus_midi import STEMS, Piece

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
#: Typical stem levels (dB relative to the drums) before the random spread.
LEVELS = {"drums": 0.0, "bass": -2.0, "vocals": 0.0, "other": -3.0}


def render_midi(mid, sr: int, soundfont: Path = SOUNDFONT) -> np.ndarray:
    """``(2, frames)`` float32 of one MIDI file through FluidSynth (no internal reverb/chorus)."""
    with tempfile.TemporaryDirectory() as tmp:
        midi_path = Path(tmp) / "in.mid"
        wav_path = Path(tmp) / "out.wav"
        mid.save(midi_path)
        subprocess.run(["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.5", "-r", str(sr),
                        "-O", "float", "-T", "wav", "-F", str(wav_path), str(soundfont), str(midi_path)],
                       check=True, capture_output=True)
        if not wav_path.exists():
            return np.zeros((2, 0), np.float32)
        audio, _ = sf.read(wav_path, dtype="float32", always_2d=True)
    return audio.T.copy()


def _effects(stem: str, rng: np.random.Generator, sr: int):
    from pedalboard import Compressor, HighpassFilter, PeakFilter, Pedalboard, Reverb

    chain = []
    if stem != "bass":
        chain.append(HighpassFilter(cutoff_frequency_hz=float(rng.uniform(30, 120))))
    chain.append(PeakFilter(cutoff_frequency_hz=float(np.exp(rng.uniform(np.log(150), np.log(6000)))),
                            gain_db=float(rng.uniform(-5, 5)), q=float(rng.uniform(0.7, 2.0))))
    if rng.random() < 0.7:
        chain.append(Compressor(threshold_db=float(rng.uniform(-24, -8)), ratio=float(rng.uniform(2, 6)),
                                attack_ms=float(rng.uniform(2, 30)), release_ms=float(rng.uniform(60, 250))))
    if stem != "bass" and rng.random() < 0.8:
        chain.append(Reverb(room_size=float(rng.uniform(0.1, 0.8)), wet_level=float(rng.uniform(0.05, 0.3)),
                            dry_level=float(rng.uniform(0.7, 1.0)), width=float(rng.uniform(0.5, 1.0))))
    return Pedalboard(chain)


def mix_piece(piece: Piece, seed: int, *, sr: int, seconds: float, offset: float = 0.0,
              mp3: bool | None = None) -> tuple[dict[str, np.ndarray], np.ndarray, dict]:
    """Processed stems, the (maybe MP3 round-tripped) mixture, and what was done to them."""
    rng = np.random.default_rng(seed)
    frames = int(seconds * sr)
    start = int(offset * sr)
    stems: dict[str, np.ndarray] = {}
    for stem in STEMS:
        audio = render_midi(piece.stems[stem], sr) if stem in piece.stems else np.zeros((2, 0), np.float32)
        clip = np.zeros((2, frames), np.float32)
        part = audio[:, start:start + frames]
        clip[:, :part.shape[1]] = part
        if np.max(np.abs(clip)) > 1e-6:
            clip = _effects(stem, rng, sr)(clip, sr)
            rms = float(np.sqrt(np.mean(clip ** 2)))
            gain_db = LEVELS[stem] + float(rng.uniform(-5, 5)) - 20 * np.log10(rms / 0.05)
            pan = float(rng.uniform(-0.4, 0.4)) if stem in ("other", "vocals") else float(rng.uniform(-0.1, 0.1))
            clip = clip * (10 ** (gain_db / 20)) * np.array([[np.sqrt(1 - pan)], [np.sqrt(1 + pan)]])
        stems[stem] = clip.astype(np.float32)
    mix = np.sum([stems[s] for s in STEMS], axis=0)
    peak = float(np.max(np.abs(mix)))
    scale = 0.9 / peak if peak > 0.9 else 1.0
    stems = {s: (a * scale).astype(np.float32) for s, a in stems.items()}
    mix = (mix * scale).astype(np.float32)
    mp3 = bool(rng.random() < 1 / 3) if mp3 is None else mp3
    if mp3:
        mix = mp3_round_trip(mix, sr, int(rng.choice((128, 192))))
    return stems, mix, {"mp3": mp3, "gain": scale}


def mp3_round_trip(audio: np.ndarray, sr: int, kbps: int) -> np.ndarray:
    """Encode to MP3 and back (pedalboard's LAME), aligned and trimmed to the input's length."""
    from pedalboard.io import AudioFile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.mp3"
        with AudioFile(str(path), "w", sr, audio.shape[0], quality=kbps) as f:
            f.write(audio)
        with AudioFile(str(path)) as f:
            decoded = f.read(f.frames)
    # Decoders add a priming delay; find it by cross-correlation over the first seconds.
    n = min(audio.shape[1], 4 * sr)
    ref, dec = audio.mean(axis=0)[:n], decoded.mean(axis=0)[:n + 4096]
    corr = np.correlate(dec, ref[:n - 4096] if n > 8192 else ref, mode="valid")
    lag = int(np.argmax(corr[:4096])) if corr.size else 0
    out = np.zeros_like(audio)
    part = decoded[:, lag:lag + audio.shape[1]]
    out[:, :part.shape[1]] = part
    return out.astype(np.float32)
