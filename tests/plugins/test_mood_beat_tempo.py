"""The mood analysis' beat tracking with its tempo estimated in chunks gives librosa's own beats."""

from __future__ import annotations

import librosa
import numpy as np

from moodmix.plugins.mood import features as F
from moodmix.plugins.mood.training import synth


def test_chunked_beat_tempo_gives_the_tempo_and_beats_librosa_finds_on_the_whole_track() -> None:
    rng = np.random.default_rng(4)
    y = np.concatenate([synth.render_clip(mood, rng, seconds=12.0)[0] for mood in ("energetic", "calm") * 5])
    fa = F.analyse(y)  # 120 s: several CHUNK_FRAMES chunks, with the ramps at both ends
    assert fa.n_frames > 2 * F.CHUNK_FRAMES
    whole = librosa.feature.tempo(onset_envelope=fa.onset_env, sr=F.SAMPLE_RATE, hop_length=F.HOP)[0]
    assert F.beat_tempo(fa.onset_env) == whole
    _, beats = librosa.beat.beat_track(onset_envelope=fa.onset_env, sr=F.SAMPLE_RATE, hop_length=F.HOP)
    np.testing.assert_array_equal(fa.beats, beats)
    assert len(beats) > 100
