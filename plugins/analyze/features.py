"""Two STFTs, four features: onset envelopes (tempo, beats) and chroma (key).

Rhythm and pitch want opposite resolutions, so there is one STFT for each and no
more: a short one (2048 samples, 23 ms hop) whose mel bands give the onset
envelopes, and a long one (8192 samples ≈ 0.37 s, 50 % overlap) whose 2.7 Hz bins
separate semitones down to the bass, for chroma. The long one costs a tenth of
the short one because of its hop. librosa is imported lazily so that loading the
plugin (done at every server start) stays cheap.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

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
    import librosa

    y = _at_least(y, N_FFT)
    mel = _mel_power(y, sr)
    mel_db = librosa.power_to_db(mel)
    onset = librosa.onset.onset_strength(S=mel_db, sr=sr, hop_length=HOP_LENGTH)
    centres = librosa.mel_frequencies(mel.shape[0] + 2, fmax=sr / 2)[1:-1]
    low_onset = librosa.onset.onset_strength(S=mel_db[centres <= LOW_BAND_HZ], sr=sr, hop_length=HOP_LENGTH)
    high_bands = centres >= HIGH_BAND_HZ
    high_onset = (librosa.onset.onset_strength(S=mel_db[high_bands], sr=sr, hop_length=HOP_LENGTH)
                  if high_bands.any() else np.zeros_like(onset))
    return onset.astype(np.float32), low_onset.astype(np.float32), high_onset.astype(np.float32)


def _mel_power(y: np.ndarray, sr: int) -> np.ndarray:
    """``melspectrogram(stft(y))`` (centred, zero-padded as librosa does) a block of frames at a time:
    the whole STFT of a 20-minute track would take about 1 GB; its mel bands take 26 MB."""
    import librosa

    padded = np.pad(y, N_FFT // 2)
    frames = 1 + (padded.size - N_FFT) // HOP_LENGTH
    basis = librosa.filters.mel(sr=sr, n_fft=N_FFT)
    blocks = []
    for first in range(0, frames, FRAME_BLOCK):
        last = min(frames, first + FRAME_BLOCK)
        segment = padded[first * HOP_LENGTH:(last - 1) * HOP_LENGTH + N_FFT]
        power = np.abs(librosa.stft(segment, n_fft=N_FFT, hop_length=HOP_LENGTH, center=False)) ** 2
        blocks.append(np.einsum("ft,mf->mt", power, basis, optimize=True))
    return np.concatenate(blocks, axis=1)


def chromagrams(y: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Chroma of the whole spectrum and of the bass, plus the tuning they were folded with."""
    import librosa

    y = _at_least(y, PITCH_N_FFT)
    spec = np.abs(librosa.stft(y, n_fft=PITCH_N_FFT, hop_length=PITCH_HOP_LENGTH))
    tuning = _tuning(spec, sr)
    power = spec**2
    chroma = librosa.feature.chroma_stft(S=power, sr=sr, n_fft=PITCH_N_FFT, tuning=tuning, norm=None)
    bass = librosa.fft_frequencies(sr=sr, n_fft=PITCH_N_FFT)[:, None] < BASS_MAX_HZ
    bass_chroma = librosa.feature.chroma_stft(S=power * bass, sr=sr, n_fft=PITCH_N_FFT, tuning=tuning,
                                              norm=None)
    return chroma.astype(np.float32), bass_chroma.astype(np.float32), tuning


def _tuning(spec: np.ndarray, sr: int) -> float:
    """Deviation from A440 in fractions of a semitone (0 when there is nothing pitched)."""
    import librosa

    if not np.any(spec > 0):
        return 0.0
    with warnings.catch_warnings():  # "empty frequency set" for unpitched audio: we return 0
        warnings.simplefilter("ignore", UserWarning)
        # librosa.estimate_tuning, a block of frames at a time (piptrack treats each frame on its own):
        # on the whole spectrogram of a 20-minute track its temporaries take 700 MB.
        pitches, mags = [], []
        for first in range(0, spec.shape[1], FRAME_BLOCK):
            pitch, mag = librosa.piptrack(S=spec[:, first:first + FRAME_BLOCK], sr=sr, n_fft=PITCH_N_FFT)
            picked = pitch > 0
            pitches.append(pitch[picked])
            mags.append(mag[picked])
        pitch, mag = np.concatenate(pitches), np.concatenate(mags)
        threshold = np.median(mag) if mag.size else 0.0
        value = float(librosa.pitch_tuning(pitch[mag >= threshold]))
    return value if np.isfinite(value) else 0.0


def _at_least(y: np.ndarray, n: int) -> np.ndarray:
    return y if y.size >= n else np.pad(y, (0, n - y.size))
