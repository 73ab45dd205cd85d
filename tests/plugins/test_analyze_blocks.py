"""analyze's spectral features, computed a block of frames at a time (bounded memory on long tracks), are
what the whole-spectrogram librosa calls give (to float32 rounding: the transforms are numpy's)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

librosa = pytest.importorskip("librosa")
from moodmix.plugins.analyze import features as F  # noqa: E402

SR = 22050


@pytest.fixture
def detuned_chords() -> np.ndarray:
    t = np.arange(SR * 40) / SR
    y = sum(np.sin(2 * np.pi * f * 1.012 * t) for f in (220.0, 277.2, 329.6, 440.0)) * 0.2
    y = y * (1 + (np.floor(t * 2) % 2))  # a pulse, so the onsets move
    return (y + np.random.default_rng(1).normal(0, 0.05, y.size)).astype(np.float32)


def test_blockwise_mel_spectrogram_is_the_whole_one(monkeypatch, detuned_chords):
    monkeypatch.setattr(F, "FRAME_BLOCK", 300)  # several blocks and a partial last one
    for y in (detuned_chords, detuned_chords[:5000], F._at_least(detuned_chords[:100], F.N_FFT)):
        power = np.abs(librosa.stft(y, n_fft=F.N_FFT, hop_length=F.HOP_LENGTH)) ** 2
        whole = librosa.feature.melspectrogram(S=power, sr=SR, n_fft=F.N_FFT)
        got = F._mel_power(y, SR)
        assert got.shape == whole.shape
        np.testing.assert_allclose(got, whole, rtol=1e-4, atol=1e-5 * whole.max())


def test_blockwise_tuning_is_librosas_estimate(monkeypatch, detuned_chords):
    monkeypatch.setattr(F, "FRAME_BLOCK", 25)
    spec = np.abs(librosa.stft(detuned_chords, n_fft=F.PITCH_N_FFT, hop_length=F.PITCH_HOP_LENGTH))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected = float(librosa.estimate_tuning(S=spec, sr=SR, n_fft=F.PITCH_N_FFT))
    assert spec.shape[1] > 3 * F.FRAME_BLOCK and expected != 0.0
    assert F._tuning(spec, SR) == pytest.approx(expected)
