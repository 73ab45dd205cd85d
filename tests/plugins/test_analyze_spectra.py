"""analyze's numpy spectral blocks give what librosa gives, on music-like and on awkward input (silence,
a signal barely a window long, odd sample rates), so that dropping librosa from the analyze path
(start-up time) changed no tempo, key or tuning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

librosa = pytest.importorskip("librosa")
from moodmix.plugins.analyze import spectra  # noqa: E402

RATES = (22050, 44100, 16000)


def _detuned_chords(sr: int, seconds: float = 6.0, seed: int = 0) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    y = sum(np.sin(2 * np.pi * f * 1.013 * t) for f in (110.0, 220.0, 277.2, 329.6, 440.0)) * 0.15
    y = y * (1 + (np.floor(t * 2) % 2))
    return (y + np.random.default_rng(seed).normal(0, 0.03, y.size)).astype(np.float32)


@pytest.mark.parametrize("n_fft,hop", [(2048, 512), (8192, 4096), (512, 128)])
@pytest.mark.parametrize("center", [True, False])
def test_stft_magnitude_is_librosas(n_fft, hop, center):
    for y in (_detuned_chords(22050), _detuned_chords(22050)[: n_fft + 3]):
        expected = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop, center=center))
        got = spectra.stft_magnitude(y, n_fft, hop, center=center)
        assert got.shape == expected.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * expected.max())


def test_a_signal_shorter_than_the_window_is_refused():
    with pytest.raises(ValueError, match="shorter"):
        spectra.stft_magnitude(np.zeros(100, np.float32), 2048, 512, center=False)


@pytest.mark.parametrize("sr", RATES)
def test_mel_scale_and_filters_are_librosas(sr):
    np.testing.assert_allclose(spectra.mel_frequencies(130, 0.0, sr / 2),
                               librosa.mel_frequencies(130, fmax=sr / 2), rtol=1e-9)
    expected = librosa.filters.mel(sr=sr, n_fft=2048)
    got = spectra.mel_filters(sr, 2048)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-9)


def test_decibels_are_librosas():
    power = np.abs(np.random.default_rng(2).normal(size=(64, 50))) ** 4
    power[3] = 0.0  # silence: floored at top_db below the peak
    np.testing.assert_allclose(spectra.power_to_db(power), librosa.power_to_db(power), rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("bands", [slice(None), slice(0, 12), slice(100, 128)])
def test_spectral_flux_is_librosas_onset_strength(bands):
    y = _detuned_chords(22050)
    db = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=22050))[bands]
    expected = librosa.onset.onset_strength(S=db, sr=22050, hop_length=512)
    np.testing.assert_allclose(spectra.spectral_flux(db, 2048, 512), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("sr", RATES)
@pytest.mark.parametrize("tuning", [0.0, 0.23, -0.41])
def test_chroma_filters_are_librosas(sr, tuning):
    expected = librosa.filters.chroma(sr=sr, n_fft=8192, tuning=tuning)
    got = spectra.chroma_filters(sr, 8192, tuning)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("sr", RATES)
def test_tuning_estimate_is_librosas(sr):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for seed in range(3):
            spec = np.abs(librosa.stft(_detuned_chords(sr, seed=seed), n_fft=8192, hop_length=4096))
            pitch, mag = librosa.piptrack(S=spec, sr=sr, n_fft=8192)
            found = pitch > 0
            frequencies, magnitudes = spectra.pitch_peaks(spec, sr, 8192)
            np.testing.assert_allclose(np.sort(frequencies), np.sort(pitch[found]), rtol=1e-5)
            np.testing.assert_allclose(np.sort(magnitudes), np.sort(mag[found]), rtol=1e-5)
            expected = float(librosa.pitch_tuning(pitch[found]))
            assert expected != 0.0 and spectra.tuning_of(frequencies) == pytest.approx(expected)
        assert spectra.tuning_of(np.zeros(4)) == 0.0  # nothing pitched
