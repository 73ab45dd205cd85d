"""Two STFTs, four features: onset envelopes (tempo, beats) and chroma (key).

Rhythm and pitch want opposite resolutions, so there is one STFT for each and no
more: a short one (2048 samples, 23 ms hop) whose mel bands give the onset
envelopes, and a long one (8192 samples ≈ 0.37 s, 50 % overlap) whose 2.7 Hz bins
separate semitones down to the bass, for chroma. The long one costs a tenth of
the short one because of its hop. The transforms are numpy (:mod:`.spectra`, checked
against librosa): importing librosa costs more than analysing a short file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from moodmix.plugins.analyze import spectra

N_FFT = 2048
HOP_LENGTH = 512
PITCH_N_FFT = 8192
PITCH_HOP_LENGTH = 4096
#: STFT frames computed at a time for the onset envelopes (bounded memory on long tracks).
FRAME_BLOCK = 4096
#: Kick drum and bass live below this; off-beat hi-hats and shakers do not.
LOW_BAND_HZ = 500.0
#: Hi-hats, shakers and cymbals live above this; kicks and most bass notes do not.
HIGH_BAND_HZ = 4000.0
#: Bass notes (and so mostly chord roots) live below this.
BASS_MAX_HZ = 250.0


@dataclass(frozen=True)
class SpectralFeatures:
    """Features of a mono signal; onset envelopes at ``sr / hop_length`` frames per second."""

    sr: int
    hop_length: int
    onset_envelope: np.ndarray  # (frames,) spectral flux over all mel bands
    low_onset_envelope: np.ndarray  # (frames,) the same below LOW_BAND_HZ: kick drum and bass
    high_onset_envelope: np.ndarray  # (frames,) the same above HIGH_BAND_HZ: hi-hats, shakers
    chroma: np.ndarray  # (12, pitch frames), energy-weighted (not normalised per frame)
    bass_chroma: np.ndarray  # (12, pitch frames), the same below BASS_MAX_HZ
    tuning: float  # in fractions of a semitone

    @property
    def frame_rate(self) -> float:
        return self.sr / self.hop_length


def as_mono(y: np.ndarray) -> np.ndarray:
    """A 1-D float32 signal from ``(frames,)`` or ``(channels, frames)``."""
    y = np.asarray(y, dtype=np.float32)
    return y.mean(axis=0) if y.ndim == 2 else y


def spectral_features(y: np.ndarray, sr: int) -> SpectralFeatures:
    """Onset envelopes and chroma of ``y`` (mono or ``(channels, frames)``) sampled at ``sr``."""
    y = as_mono(y)
    onset, low_onset, high_onset = onset_envelopes(y, sr)
    chroma, bass_chroma, tuning = chromagrams(y, sr)
    return SpectralFeatures(sr=sr, hop_length=HOP_LENGTH, onset_envelope=onset, low_onset_envelope=low_onset,
                            high_onset_envelope=high_onset, chroma=chroma, bass_chroma=bass_chroma,
                            tuning=tuning)


def onset_envelopes(y: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mel spectral flux over all bands, below :data:`LOW_BAND_HZ` and above :data:`HIGH_BAND_HZ`."""
    y = _at_least(y, N_FFT)
    mel = _mel_power(y, sr)
    mel_db = spectra.power_to_db(mel)
    onset = spectra.spectral_flux(mel_db, N_FFT, HOP_LENGTH)
    centres = spectra.mel_frequencies(mel.shape[0] + 2, 0.0, sr / 2)[1:-1]
    low_onset = spectra.spectral_flux(mel_db[centres <= LOW_BAND_HZ], N_FFT, HOP_LENGTH)
    high_bands = centres >= HIGH_BAND_HZ
    high_onset = (spectra.spectral_flux(mel_db[high_bands], N_FFT, HOP_LENGTH)
                  if high_bands.any() else np.zeros_like(onset))
    return onset.astype(np.float32), low_onset.astype(np.float32), high_onset.astype(np.float32)


def _mel_power(y: np.ndarray, sr: int) -> np.ndarray:
    """Mel power spectrogram of ``y`` (centred, zero-padded), a block of frames at a time: the whole STFT
    of a 20-minute track would take about 1 GB; its mel bands take 26 MB."""
    padded = np.pad(np.asarray(y, dtype=np.float32), N_FFT // 2)
    frames = 1 + (padded.size - N_FFT) // HOP_LENGTH
    basis = spectra.mel_filters(sr, N_FFT)
    blocks = []
    for first in range(0, frames, FRAME_BLOCK):
        last = min(frames, first + FRAME_BLOCK)
        segment = padded[first * HOP_LENGTH:(last - 1) * HOP_LENGTH + N_FFT]
        power = spectra.stft_magnitude(segment, N_FFT, HOP_LENGTH, center=False) ** 2
        blocks.append(basis @ power)
    return np.concatenate(blocks, axis=1)


def chromagrams(y: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Chroma of the whole spectrum and of the bass, plus the tuning they were folded with."""
    y = _at_least(y, PITCH_N_FFT)
    spec = spectra.stft_magnitude(y, PITCH_N_FFT, PITCH_HOP_LENGTH)
    tuning = _tuning(spec, sr)
    power = spec**2
    folding = spectra.chroma_filters(sr, PITCH_N_FFT, tuning)
    chroma = folding @ power
    bass = spectra.fft_frequencies(sr, PITCH_N_FFT) < BASS_MAX_HZ
    bass_chroma = folding[:, bass] @ power[bass]
    return chroma.astype(np.float32), bass_chroma.astype(np.float32), tuning


def _tuning(spec: np.ndarray, sr: int) -> float:
    """Deviation from A440 in fractions of a semitone (0 when there is nothing pitched): librosa's
    ``estimate_tuning``, a block of frames at a time (peaks are picked in each frame on its own; on the
    whole spectrogram of a 20-minute track the temporaries take 700 MB)."""
    if not np.any(spec > 0):
        return 0.0
    frequencies, magnitudes = [], []
    for first in range(0, spec.shape[1], FRAME_BLOCK):
        found, mag = spectra.pitch_peaks(spec[:, first:first + FRAME_BLOCK], sr, PITCH_N_FFT)
        frequencies.append(found)
        magnitudes.append(mag)
    pitch, mag = np.concatenate(frequencies), np.concatenate(magnitudes)
    threshold = np.median(mag) if mag.size else 0.0
    value = spectra.tuning_of(pitch[mag >= threshold])
    return value if np.isfinite(value) else 0.0


def _at_least(y: np.ndarray, n: int) -> np.ndarray:
    return y if y.size >= n else np.pad(y, (0, n - y.size))
