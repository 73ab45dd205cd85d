"""One STFT, three features: two onset envelopes (for tempo and beats) and chroma (for key).

Computing both from the same magnitude spectrogram is what keeps a 3-minute
track within a second or two; librosa is imported lazily so that loading the
plugin (done at every server start) stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_FFT = 2048
HOP_LENGTH = 512
#: Tuning is estimated on every n-th frame only; it is a global property.
TUNING_FRAME_STRIDE = 8
#: Kick drum and bass live below this; off-beat hi-hats and shakers do not.
LOW_BAND_HZ = 500.0


@dataclass(frozen=True)
class SpectralFeatures:
    """Frame-rate features of a mono signal."""

    sr: int
    hop_length: int
    onset_envelope: np.ndarray  # (frames,) spectral flux over all mel bands
    low_onset_envelope: np.ndarray  # (frames,) the same below LOW_BAND_HZ: kick drum and bass
    chroma: np.ndarray  # (12, frames), energy-weighted (not normalised per frame)
    tuning: float  # in fractions of a semitone

    @property
    def frame_rate(self) -> float:
        return self.sr / self.hop_length


def as_mono(y: np.ndarray) -> np.ndarray:
    """A 1-D float32 signal from ``(frames,)`` or ``(channels, frames)``."""
    y = np.asarray(y, dtype=np.float32)
    return y.mean(axis=0) if y.ndim == 2 else y


def spectral_features(y: np.ndarray, sr: int, *, n_fft: int = N_FFT,
                      hop_length: int = HOP_LENGTH) -> SpectralFeatures:
    """Onset envelope and chroma of ``y`` (mono or ``(channels, frames)``) from one STFT."""
    import librosa

    y = as_mono(y)
    if y.size < n_fft:
        y = np.pad(y, (0, n_fft - y.size))
    spec = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop_length))
    power = spec**2
    mel = librosa.feature.melspectrogram(S=power, sr=sr, n_fft=n_fft)
    mel_db = librosa.power_to_db(mel)
    onset = librosa.onset.onset_strength(S=mel_db, sr=sr, hop_length=hop_length)
    low_bands = librosa.mel_frequencies(mel.shape[0] + 2, fmax=sr / 2)[1:-1] <= LOW_BAND_HZ
    low_onset = librosa.onset.onset_strength(S=mel_db[low_bands], sr=sr, hop_length=hop_length)
    tuning = _tuning(spec, sr, n_fft)
    chroma = librosa.feature.chroma_stft(S=power, sr=sr, n_fft=n_fft, hop_length=hop_length,
                                         tuning=tuning, norm=None)
    return SpectralFeatures(sr=sr, hop_length=hop_length, onset_envelope=onset.astype(np.float32),
                            low_onset_envelope=low_onset.astype(np.float32),
                            chroma=chroma.astype(np.float32), tuning=tuning)


def _tuning(spec: np.ndarray, sr: int, n_fft: int) -> float:
    import librosa

    sub = spec[:, ::TUNING_FRAME_STRIDE]
    if not np.any(sub > 0):
        return 0.0
    value = float(librosa.estimate_tuning(S=sub, sr=sr, n_fft=n_fft))
    return value if np.isfinite(value) else 0.0
