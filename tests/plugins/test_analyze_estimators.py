"""The reusable estimators (tempo, key, loudness) on signals whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from moodmix.plugins.analyze import testsignals as ts
from moodmix.plugins.analyze.key import KeyCandidate, estimate_key, estimate_key_from_chroma
from moodmix.plugins.analyze.pipeline import analyze_signal
from moodmix.plugins.analyze.tempo import estimate_tempo, regular_beat_bpm
from moodmix.testing import click_track

SR = 22050


@pytest.mark.parametrize(("tonic", "mode"), [
    ("A", "minor"), ("D#", "major"), ("F#", "major"), ("C", "minor"), ("G", "major"), ("B", "minor"),
    ("E", "major"), ("F", "minor"),
])
def test_key_of_a_chord_progression(tonic: str, mode: str) -> None:
    y = ts.chord_progression(tonic, mode, chord_seconds=1.0, repeats=2, sr=SR)
    est = estimate_key(y, SR)
    assert (est.key, est.mode) == (ts.PITCH_CLASSES[ts.pitch_class(tonic)], mode)
    assert est.confidence > 0.3
    assert est.runner_up is not None and (est.runner_up.key, est.runner_up.mode) != (est.key, est.mode)
    assert est.correlation is not None and est.correlation > est.runner_up.correlation


def test_key_survives_drums_and_is_transposition_consistent() -> None:
    # The same song a fifth apart must come out a fifth apart; stereo input is accepted.
    keys = [estimate_key(np.stack([y, y]), SR) for y in (ts.song(t, "minor", 110, 12, sr=SR) for t in "DA")]
    assert [(k.key, k.mode) for k in keys] == [("D", "minor"), ("A", "minor")]


def test_key_of_a_detuned_song_with_melody_and_bass() -> None:
    # 40 cents flat or sharp, melody and walking bass: the tuning estimate must absorb it.
    y = ts.rich_song("F#", "major", 100.0, 16.0, sr=SR, seed=3)
    est = estimate_key(y, SR)
    assert (est.key, est.mode) == ("F#", "major")


def test_key_names_and_camelot() -> None:
    assert KeyCandidate("D#", "major", 0.9).name == "Eb major"
    assert KeyCandidate("C#", "minor", 0.9).name == "C# minor"
    assert KeyCandidate("C", "major", 0.9).camelot == "8B"
    assert KeyCandidate("A", "minor", 0.9).camelot == "8A"
    assert KeyCandidate("F#", "minor", 0.9).camelot == "11A"
    assert KeyCandidate("E", "major", 0.9).camelot == "12B"


def test_key_of_silence_is_none() -> None:
    est = estimate_key_from_chroma(np.zeros((12, 40)))
    assert est.key is None and est.mode is None and est.confidence == 0.0
    assert est.note and "silence" in est.note
    assert est.as_dict()["name"] is None


def test_no_key_for_a_blip() -> None:
    est = estimate_key(ts.chord_progression("C", "major", chord_seconds=0.05, repeats=1, sr=SR), SR)
    assert est.key is None and "too short" in (est.note or "")


def test_unknown_key_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="key profile"):
        estimate_key_from_chroma(np.ones((12, 4)), profile="nope")


@pytest.mark.parametrize("bpm", [90.0, 120.0, 140.0])
def test_tempo_of_click_tracks(bpm: float) -> None:
    est = estimate_tempo(click_track(bpm, 10.0, SR), SR)
    assert est.bpm == pytest.approx(bpm, abs=2.0)
    assert est.confidence > 0.5
    # Beats sit on the clicks (within 35 ms) at the right spacing.
    period = 60.0 / bpm
    phase = (est.beats + period / 2) % period - period / 2
    assert np.all(np.abs(phase) < 0.035)
    assert est.beats.size >= int(10.0 / period) - 2


@pytest.mark.parametrize("bpm", [90.0, 120.0, 140.0])
def test_tempo_and_beats_of_drums_with_off_beat_hats(bpm: float) -> None:
    # Hi-hats between the kicks double the onset rate; neither the tempo nor the beats may follow them.
    est = estimate_tempo(ts.drum_track(bpm, 12.0, sr=SR), SR)
    assert est.bpm == pytest.approx(bpm, abs=2.0)
    period = 60.0 / bpm
    phase = (est.beats + period / 2) % period - period / 2
    assert np.median(np.abs(phase)) < 0.02
    assert any(c[0] == pytest.approx(bpm / 2, rel=0.05) or c[0] == pytest.approx(bpm * 2, rel=0.05)
               for c in est.candidates)


def test_tempo_prefers_the_usual_octave_above_200() -> None:
    # 240 BPM is as periodic at 120 BPM; the metrical check never doubles past 200, so 120 it is.
    est = estimate_tempo(click_track(240.0, 10.0, SR), SR)
    assert est.bpm == pytest.approx(120.0, abs=2.0)


@pytest.mark.parametrize("bpm", [70.0, 140.0, 180.0])
def test_click_tracks_keep_their_octave(bpm: float) -> None:
    # Plain clicks are as periodic at half (and 70's at double) tempo; the onsets between the
    # half-tempo beats say which level the clicks are on.
    est = estimate_tempo(click_track(bpm, 12.0, SR), SR)
    assert est.bpm == pytest.approx(bpm, rel=0.02)


def test_tempo_of_silence_noise_and_short_audio() -> None:
    silent = estimate_tempo(np.zeros(SR * 4, dtype=np.float32), SR)
    assert silent.bpm is None and silent.beats.size == 0 and "silence" in (silent.note or "")
    noise = estimate_tempo(np.random.default_rng(3).standard_normal(SR * 6).astype(np.float32) * 0.1, SR)
    assert noise.bpm is None and "no steady beat" in (noise.note or "")
    short = estimate_tempo(click_track(120.0, 0.8, SR), SR)
    assert short.bpm is None and "too short" in (short.note or "")


def test_beats_in_silent_intro_and_outro_are_trimmed() -> None:
    pad = np.zeros(SR * 3, dtype=np.float32)
    y = np.concatenate([pad, click_track(120.0, 8.0, SR)[0], pad])
    est = estimate_tempo(y, SR)
    assert est.bpm == pytest.approx(120.0, abs=1.0)
    assert est.beats[0] == pytest.approx(3.0, abs=0.04)
    assert est.beats[-1] < 11.05


def test_regular_beat_bpm_fits_a_line_and_tolerates_a_missing_beat() -> None:
    beats = np.delete(np.arange(20) * 0.5 + 0.1, 7)  # 120 BPM, beat 7 missing
    assert regular_beat_bpm(beats, 118.0) == pytest.approx(120.0, abs=1e-6)
    assert regular_beat_bpm(np.array([0.0, 0.5, 1.0]), 120.0) is None  # too few beats


def test_analyze_signal_for_benchmarks_of_other_plugins() -> None:
    out = analyze_signal(ts.song("C", "major", 100.0, 10.0, sr=SR), SR)
    assert out["tempo"]["bpm"] == pytest.approx(100.0, abs=2.0)
    assert (out["key"]["key"], out["key"]["mode"], out["key"]["camelot"]) == ("C", "major", "8B")
