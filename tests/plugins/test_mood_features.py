"""Mood features on signals whose answer we know."""

from __future__ import annotations

import numpy as np
import pytest

from moodmix.engine.errors import BadInput
from moodmix.plugins.mood import features as F
from moodmix.plugins.mood.analysis import validate
from moodmix.testing import click_track

SR = F.SAMPLE_RATE


def chords(progression: list[list[int]], seconds_each: float = 1.5) -> np.ndarray:
    """Decaying sine chords (MIDI notes), one after another."""
    t = np.arange(int(seconds_each * SR)) / SR
    parts = [sum(np.sin(2 * np.pi * 440 * 2 ** ((n - 69) / 12) * t) for n in chord) * np.exp(-t) / len(chord)
             for chord in progression]
    return (0.5 * np.concatenate(parts)).astype(np.float32)


def whole(y: np.ndarray) -> F.TrackFeatures:
    return F.track_features(F.analyse(y, SR))


@pytest.mark.parametrize("bpm", [90.0, 128.0])
def test_tempo_and_onsets_of_a_click_track(bpm: float) -> None:
    tf = whole(click_track(bpm=bpm, seconds=20.0)[0])
    assert tf.whole["tempo_bpm"] == pytest.approx(bpm, rel=0.03)
    assert tf.whole["onset_rate"] == pytest.approx(bpm / 60, rel=0.1)
    assert tf.whole["beat_strength"] > 3.0  # clicks land exactly on the beats
    assert tf.whole["hp_ratio_db"] < 0  # noise bursts are percussive


def test_minor_progression_is_a_minor_and_major_one_c_major() -> None:
    minor = whole(chords([[57, 60, 64], [62, 65, 69], [64, 68, 71], [57, 60, 64]] * 3))
    major = whole(chords([[60, 64, 67], [65, 69, 72], [67, 71, 74], [60, 64, 67]] * 3))
    assert minor.key == "A minor"
    assert minor.whole["mode_major"] == 0.0 and minor.whole["mode_score"] < 0
    assert major.key == "C major"
    assert major.whole["mode_major"] == 1.0 and major.whole["mode_score"] > 0
    assert major.whole["hp_ratio_db"] > 0


def test_every_feature_is_finite_and_named() -> None:
    rng = np.random.default_rng(0)
    y = (0.1 * rng.standard_normal(SR * 12)).astype(np.float32)
    tf = whole(y)
    assert list(tf.whole) == list(F.FEATURE_NAMES)
    matrix = F.as_matrix(tf.per_window)
    assert matrix.shape == (1, len(F.FEATURE_NAMES))
    assert np.isfinite(matrix).all()
    assert tf.whole["flatness_mean"] > 0.3  # white noise is flat


@pytest.mark.parametrize(("seconds", "count"), [(5.0, 1), (14.0, 1), (15.0, 2), (25.0, 3), (180.0, 18)])
def test_window_count_follows_duration(seconds: float, count: int) -> None:
    windows = F.window_bounds(seconds, 10.0)
    assert len(windows) == count
    assert windows[0][0] == 0.0 and windows[-1][1] == pytest.approx(seconds)


def test_chunked_analysis_matches_one_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    y = chords([[57, 60, 64], [64, 68, 71]] * 4)
    reference = F.analyse(y)
    monkeypatch.setattr(F, "CHUNK_FRAMES", 100)
    chunked = F.analyse(y)
    assert np.allclose(reference.centroid, chunked.centroid, rtol=1e-4)
    assert np.allclose(reference.mfcc, chunked.mfcc, rtol=1e-3, atol=1e-3)


def test_silence_and_short_tracks_are_refused() -> None:
    with pytest.raises(BadInput, match="silent"):
        validate(np.zeros(SR * 10, dtype=np.float32))
    with pytest.raises(BadInput, match="at least 5 s"):
        validate(np.full(SR * 2, 0.1, dtype=np.float32))
