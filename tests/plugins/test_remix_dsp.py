"""Mastering, drum synthesis, ducking and effects of the remix plugin, on generated signals."""

from __future__ import annotations

import numpy as np
import pytest

from moodmix.plugins.analyze import testsignals as ts
from moodmix.plugins.remix.downbeat import align_to_bars
from moodmix.plugins.remix.drums import KITS, duck_envelope, render_pattern, synth_voice
from moodmix.plugins.remix.effects import apply_effects
from moodmix.plugins.remix.recipe import (
    Delay,
    DrumPattern,
    HighShelfFilter,
    LowpassFilter,
    Phaser,
    Resample,
    Sidechain,
)
from moodmix.plugins.remix.tempo import BeatGrid


def dense_track(sr: int, seconds: float = 6.0, seed: int = 0) -> np.ndarray:
    """Loud, peaky stereo material: noise bursts over a low sine, peaks near full scale."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    bursts = rng.standard_normal((2, t.size)) * (np.sin(2 * np.pi * 2 * t) > 0.6)
    tone = 0.5 * np.sin(2 * np.pi * 60 * t)
    y = 0.3 * bursts + tone
    return (0.98 * y / np.abs(y).max()).astype(np.float32)


def test_pattern_lands_on_the_grid_with_swing() -> None:
    sr = 22050
    grid = BeatGrid(tempo=120.0, first_beat=0.3, start=0.3, end=4.3)
    pattern = DrumPattern(kit="909", kick="X...", hat="..x.", swing=0.5)
    drums = render_pattern(pattern, grid, sr=sr, frames=sr * 6)
    assert drums.kick_times == pytest.approx(0.3 + 0.5 * np.arange(8))
    onsets = np.flatnonzero(np.abs(drums.audio) > 1e-4)
    assert onsets[0] == round(0.3 * sr)  # nothing before the first detected beat
    # Step 1 is an odd 16th: swing 0.5 delays it by half a 16th (0.125 s at 120 BPM).
    hats = render_pattern(DrumPattern(hat=".x..", swing=0.5), grid, sr=sr, frames=sr * 6)
    hat_onsets = np.flatnonzero(np.abs(hats.audio) > 1e-4) / sr
    assert hat_onsets[0] == pytest.approx(0.3 + 0.125 * 1.5, abs=1e-3)
    assert hat_onsets[-1] < grid.end + 0.2  # no hits after the last beat (a hat rings ~0.2 s)
    assert hats.kick_times.size == 0


@pytest.mark.parametrize("kit", sorted(KITS))
def test_every_kit_voice_is_finite_and_normalised(kit) -> None:
    rng = np.random.default_rng(0)
    for name in ("kick", "snare", "clap", "hat", "open_hat"):
        hit = synth_voice(getattr(KITS[kit], name), 22050, rng)
        assert np.isfinite(hit).all() and np.abs(hit).max() == pytest.approx(1.0, abs=1e-6)


def test_sidechain_ducks_by_depth_and_recovers() -> None:
    sr = 10000
    env = duck_envelope(np.array([0.5, 1.5]), Sidechain(depth_db=8, attack_ms=5, release_ms=200),
                        sr=sr, frames=2 * sr)
    assert env[: int(0.5 * sr)].min() == 1.0
    assert 20 * np.log10(env.min()) == pytest.approx(-8, abs=0.05)
    assert env[int(1.2 * sr)] > 0.99  # recovered before the next kick


def test_effects_follow_tempo_and_stay_below_nyquist() -> None:
    sr = 22050
    impulse = np.zeros((2, sr * 2), dtype=np.float32)
    impulse[:, 100] = 1.0
    echoed = apply_effects(impulse, sr, [Delay(beats=1.0, mix=0.5)], bpm=120.0)
    late = np.abs(echoed[0, 200:]).argmax() + 200
    assert late == pytest.approx(100 + sr // 2, abs=2)  # one beat at 120 BPM = 0.5 s
    chain = [HighShelfFilter(cutoff_frequency_hz=20000, gain_db=3), LowpassFilter(cutoff_frequency_hz=19000),
             Phaser(centre_frequency_hz=15000), Resample(target_sample_rate=44100)]
    out = apply_effects(dense_track(sr, 1.0) * 0.1, sr, chain, bpm=120.0)
    assert out.shape == (2, sr) and np.isfinite(out).all()


@pytest.mark.parametrize("cut_beats", [0, 1, 2, 3])
def test_bars_start_where_the_chords_change(cut_beats) -> None:
    """A song whose chords change every 4 beats, started ``cut_beats`` beats into a bar."""
    sr, bpm = 22050, 110.0
    period = 60 / bpm
    song = ts.song("C", "major", bpm, 20.0, sr=sr)[round(cut_beats * period * sr):]
    grid = BeatGrid(tempo=bpm, first_beat=0.0, start=0.0, end=song.size / sr)
    aligned = align_to_bars(grid, song, sr)
    assert aligned.first_beat == pytest.approx(((4 - cut_beats) % 4) * period, abs=1e-6)
    assert (aligned.tempo, aligned.start, aligned.end) == (grid.tempo, grid.start, grid.end)
