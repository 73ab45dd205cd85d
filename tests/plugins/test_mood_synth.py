"""The rendered corpus is reproducible and its held-out pool really is unseen."""

from __future__ import annotations

import numpy as np
import pytest

from moodmix.plugins.mood.taxonomy import MOOD_NAMES, TAXONOMY, resolve_label, valence_arousal
from moodmix.plugins.mood.training import synth, voices


def test_same_seed_same_clip_and_other_seed_other_clip() -> None:
    a, clip_a = synth.render_clip("happy", np.random.default_rng(3), seconds=4.0)
    b, clip_b = synth.render_clip("happy", np.random.default_rng(3), seconds=4.0)
    c, _ = synth.render_clip("happy", np.random.default_rng(4), seconds=4.0)
    assert np.array_equal(a, b) and clip_a == clip_b
    assert not np.allclose(a, c)
    assert a.dtype == np.float32 and np.abs(a).max() <= 1.0 and np.abs(a).max() > 0.05


def test_held_out_voices_and_kits_never_appear_in_training() -> None:
    assert not set(voices.TRAIN_VOICES) & set(voices.HELD_OUT_VOICES)
    assert not set(voices.TRAIN_KITS) & set(voices.HELD_OUT_KITS)
    _, clip = synth.render_clip("tense", np.random.default_rng(0), seconds=4.0, held_out=True)
    assert set(clip.voices.values()) <= set(voices.HELD_OUT_VOICES)
    assert len(voices.TRAIN_VOICES) >= 5  # several synthesis methods, not one synthesiser


def test_every_mood_has_a_style_and_coordinates() -> None:
    assert set(synth.STYLES) == set(MOOD_NAMES)
    assert {"happy", "sad", "calm", "energetic", "tense", "dark", "romantic", "epic"} <= set(MOOD_NAMES)
    for mood in TAXONOMY:
        assert -1 <= mood.valence <= 1 and -1 <= mood.arousal <= 1
    assert resolve_label("Angry") == "tense" and resolve_label("peaceful") == "calm"
    assert resolve_label("polka") is None
    assert valence_arousal({"happy": 1.0}) == (0.8, 0.45)
    v, a = valence_arousal({"sad": 0.5, "energetic": 0.5})
    assert v == pytest.approx((-0.70 + 0.45) / 2) and a == pytest.approx((-0.50 + 0.90) / 2)
