"""Tempo octave choice: drum patterns whose half and double tempo are as periodic as the tempo itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moodmix.plugins.analyze import testsignals as ts
from moodmix.plugins.analyze.features import onset_envelopes
from moodmix.plugins.analyze.octave import candidate_tempi, choose_tempo, grid_strength, load_model
from moodmix.plugins.analyze.tempo import estimate_tempo, rhythm_of

SR = 22050


def _snare(sr: int, seed: int = 2) -> np.ndarray:
    """Noise with a 200 Hz body: broadband, unlike the kick, and as loud."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(0.12 * sr)) / sr
    body = np.sin(2 * np.pi * 200 * t) * np.exp(-t * 30)
    return ((rng.standard_normal(t.size) * 0.6 + body) * np.exp(-t * 25) * 0.5).astype(np.float32)


def _pattern(bpm: float, seconds: float, hits: dict[str, tuple[float, ...]], beats_per_bar: int = 4) -> np.ndarray:
    """A drum loop: each sound at the given beat positions (in beats) of every bar."""
    sounds = {"kick": ts.kick(SR) * 0.6, "snare": _snare(SR), "hat": ts.hat(SR) * 0.5}
    out = np.zeros(int(seconds * SR) + SR, np.float32)
    bar = beats_per_bar * 60.0 / bpm
    for b in range(int(seconds / bar) + 1):
        for name, positions in hits.items():
            for p in positions:
                start = round((b * bar + p * 60.0 / bpm) * SR)
                if start < int(seconds * SR):
                    seg = sounds[name][: out.size - start]
                    out[start:start + seg.size] += seg
    return out[: int(seconds * SR)]


def test_backbeat_at_140_is_not_read_at_the_kick_rate_or_the_hats() -> None:
    # kicks at 70 BPM, snares between them, hats at 280 BPM: three periodic levels.
    y = _pattern(140.0, 14.0, {"kick": (0, 2), "snare": (1, 3), "hat": (0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5)})
    assert estimate_tempo(y, SR).bpm == pytest.approx(140.0, rel=0.04)


def test_slow_ballad_at_70_with_eighth_hats_stays_at_70() -> None:
    y = _pattern(70.0, 16.0, {"kick": (0, 2.5), "snare": (1, 3), "hat": (0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5)})
    assert estimate_tempo(y, SR).bpm == pytest.approx(70.0, rel=0.04)


def test_fast_punk_beat_at_180_is_not_halved() -> None:
    # A plain prior centred on 120 BPM prefers 90 here (kick and snare alternate on every beat).
    y = _pattern(180.0, 12.0, {"kick": (0, 2), "snare": (1, 3), "hat": (0, 1, 2, 3)})
    est = estimate_tempo(y, SR)
    assert est.bpm == pytest.approx(180.0, rel=0.04)
    assert any(c[0] == pytest.approx(90.0, rel=0.05) for c in est.candidates)


def test_grid_strength_sees_the_off_beats() -> None:
    env = np.zeros(400)
    env[::20] = 1.0  # beats every 20 frames
    env[10::20] = 0.3  # weaker off-beats
    on, mid = grid_strength(env, 20.0)
    assert on == pytest.approx(1.0) and mid == pytest.approx(0.3)
    # Read at twice the period, half the "beats" fall half-way: as strong as the rest.
    on2, mid2 = grid_strength(env, 40.0)
    assert on2 == pytest.approx(1.0) and mid2 == pytest.approx(1.0)


def test_high_band_envelope_hears_the_hats_and_not_the_kicks() -> None:
    kicks = _pattern(120.0, 6.0, {"kick": (0, 1, 2, 3)})
    hats = _pattern(120.0, 6.0, {"hat": (0.5, 1.5, 2.5, 3.5)})
    high_of_kicks = onset_envelopes(kicks, SR)[2]
    high_of_hats = onset_envelopes(hats, SR)[2]
    assert high_of_hats.size == high_of_kicks.size == onset_envelopes(kicks, SR)[0].size
    assert high_of_hats.max() > 20 * high_of_kicks.max()


def test_candidates_are_the_octave_and_ternary_relatives_within_range() -> None:
    tempi = candidate_tempi(100.0)
    assert tempi[0] == 100.0
    assert sorted(round(t, 1) for t in tempi) == [50.0, 66.7, 100.0, 150.0, 200.0]  # not 33.3 or 300
    assert candidate_tempi(240.0)[0] == 240.0 and max(candidate_tempi(240.0)) == 240.0


def test_octave_choice_prefers_the_level_with_weaker_off_beats() -> None:
    fps = 100.0
    env = np.zeros(2000)
    env[::50] = 1.0  # 120 BPM
    env[25::50] = 0.2  # quiet off-beats
    rhythm = rhythm_of(env, fps, env, env)
    for start in (60.0, 120.0, 240.0):
        assert choose_tempo(rhythm, start)[0][0] == pytest.approx(120.0)


def test_shipped_octave_model_matches_the_features() -> None:
    model = load_model()
    assert len(model["features"]) == model["weights"].size == model["mean"].size == model["scale"].size
    assert np.all(model["scale"] > 0)


def test_rendered_rock_piece_with_known_tempo_and_key() -> None:
    # 10 s of a corpus-style arrangement (bench/corpus_midi.arrangement(42, "rock")), rendered with
    # FluidSynth and the GM soundfont, mixed by bench/corpus_mix (no MP3), mono 16 kHz: 137.8 BPM, F major.
    import soundfile as sf

    from moodmix.plugins.analyze.key import estimate_key

    y, sr = sf.read(Path(__file__).parent / "data" / "fluidsynth_rock_137_8bpm_f_major.flac", dtype="float32")
    assert estimate_tempo(y, sr).bpm == pytest.approx(137.8, rel=0.04)
    # The tonic is right; the mode is read as minor (parallel-key confusion, MIREX 0.2) on this clip.
    assert estimate_key(y, sr).key == "F"
