"""The few spectral building blocks analyze needs, in numpy: STFT, mel and chroma filter banks, dB
scaling, spectral flux and librosa's tuning estimate (``piptrack`` + ``pitch_tuning``).

Each follows librosa's definition (same windows, padding, Slaney mel scale, chroma bumps and octave
weighting, peak picking); tests/plugins/test_analyze_spectra.py checks every one against librosa.
They are written here because any ``librosa`` submodule imports numba and loads or compiles its
kernels: 1.3-1.5 s of a ``moodmix run analyze`` whose target is 3 s in all (issue 19), spent before
the first sample is read. numpy and pocketfft do the actual work either way.
"""

from __future__ import annotations

import numpy as np

from moodmix.engine.pitch import A4_HZ

#: The Slaney mel scale: linear (``_MEL_STEP_HZ`` per mel) below ``_KNEE_HZ``, logarithmic above.
_MEL_STEP_HZ = 200.0 / 3
_KNEE_HZ = 1000.0
_KNEE_MEL = _KNEE_HZ / _MEL_STEP_HZ
_LOG_STEP = np.log(6.4) / 27.0


def hann(n: int) -> np.ndarray:
    """The periodic Hann window (``scipy.signal.get_window("hann", n)``), as librosa's STFT uses."""
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)).astype(np.float32)


def stft_magnitude(y: np.ndarray, n_fft: int, hop_length: int, *, center: bool = True) -> np.ndarray:
    """``|stft(y)|``, shape ``(1 + n_fft // 2, frames)``; ``center`` zero-pads ``n_fft // 2`` each side.

    Frames are transformed a block at a time, so that the temporaries stay near 64 MB however long
    the signal (the whole complex STFT of a 20-minute track would be several hundred MB).
    """
    y = np.asarray(y, dtype=np.float32)
    if center:
        y = np.pad(y, n_fft // 2)
    if y.size < n_fft:
        raise ValueError(f"a signal of {y.size} samples is shorter than the {n_fft}-sample window")
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft)[::hop_length]
    window = hann(n_fft)
    out = np.empty((1 + n_fft // 2, len(frames)), dtype=np.float32)
    block = max(1, (1 << 21) // n_fft)
    for first in range(0, len(frames), block):
        spectrum = np.fft.rfft(frames[first:first + block] * window, axis=1)
        out[:, first:first + block] = np.abs(spectrum).T
    return out


def fft_frequencies(sr: float, n_fft: int) -> np.ndarray:
    return np.fft.rfftfreq(n_fft, 1.0 / sr)


def hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """The Slaney mel scale: linear below 1 kHz, logarithmic above (librosa's default, ``htk=False``)."""
    hz = np.asarray(hz, dtype=np.float64)
    above = _KNEE_MEL + np.log(np.maximum(hz, _KNEE_HZ) / _KNEE_HZ) / _LOG_STEP
    return np.where(hz >= _KNEE_HZ, above, hz / _MEL_STEP_HZ)


def mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= _KNEE_MEL, _KNEE_HZ * np.exp(_LOG_STEP * (mel - _KNEE_MEL)), mel * _MEL_STEP_HZ)


def mel_frequencies(n_mels: int, fmin: float = 0.0, fmax: float = 11025.0) -> np.ndarray:
    """``n_mels`` frequencies evenly spaced on the mel scale from ``fmin`` to ``fmax``."""
    return mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels))


def mel_filters(sr: float, n_fft: int, n_mels: int = 128) -> np.ndarray:
    """Triangular mel filters over ``[0, sr / 2]``, each scaled to unit area (Slaney), ``(n_mels, bins)``."""
    bins = fft_frequencies(sr, n_fft)
    edges = mel_frequencies(n_mels + 2, 0.0, sr / 2.0)
    widths = np.diff(edges)
    ramps = edges[:, None] - bins[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


def power_to_db(power: np.ndarray, top_db: float = 80.0, amin: float = 1e-10) -> np.ndarray:
    """Decibels relative to 1, floored ``top_db`` below the loudest value."""
    db = 10.0 * np.log10(np.maximum(amin, power))
    return np.maximum(db, db.max() - top_db) if db.size else db


def spectral_flux(db: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    """Mean rise in dB per band from one frame to the next (librosa's ``onset_strength`` with a lag of 1),
    shifted so that frame ``t`` describes the same instant as the spectrogram's frame ``t``."""
    rise = np.maximum(0.0, db[:, 1:] - db[:, :-1]).mean(axis=0)
    shift = 1 + n_fft // (2 * hop_length)
    return np.pad(rise, (shift, 0))[: db.shape[1]]


def hz_to_octaves(hz: np.ndarray, tuning: float = 0.0, bins_per_octave: int = 12) -> np.ndarray:
    """Octaves above C0 (A440 / 16), for an instrument tuned ``tuning`` bins away from A440."""
    reference = A4_HZ * 2.0 ** (tuning / bins_per_octave)
    with np.errstate(divide="ignore"):
        return np.log2(np.asarray(hz, dtype=np.float64) / (reference / 16.0))


def chroma_filters(sr: float, n_fft: int, tuning: float = 0.0, n_chroma: int = 12, centre_octave: float = 5.0,
                   octave_width: float = 2.0) -> np.ndarray:
    """Weights folding STFT bins onto pitch classes starting at C, ``(n_chroma, bins)``.

    Each bin spreads a Gaussian bump over the pitch classes near it (as wide as the bin is, in pitch
    classes, at least one), each column has unit length, and a Gaussian over octaves centred on
    ``centre_octave`` (C5's octave) fades the extremes: Ellis' chromagram, as librosa builds it.
    """
    frequencies = np.linspace(0, sr, n_fft, endpoint=False)[1:]
    pitch = n_chroma * hz_to_octaves(frequencies, tuning, n_chroma)
    pitch = np.concatenate(([pitch[0] - 1.5 * n_chroma], pitch))  # DC: 1.5 octaves below the first bin
    width = np.concatenate((np.maximum(np.diff(pitch), 1.0), [1.0]))
    half = np.round(n_chroma / 2.0)
    distance = np.remainder(pitch[None, :] - np.arange(n_chroma)[:, None] + half + 10 * n_chroma, n_chroma) - half
    weights = np.exp(-0.5 * (2.0 * distance / width[None, :]) ** 2)
    length = np.sqrt(np.sum(weights**2, axis=0))
    weights /= np.where(length < np.finfo(weights.dtype).tiny, 1.0, length)[None, :]
    weights *= np.exp(-0.5 * ((pitch / n_chroma - centre_octave) / octave_width) ** 2)[None, :]
    weights = np.roll(weights, -3 * (n_chroma // 12), axis=0)  # from A to C
    return np.ascontiguousarray(weights[:, : 1 + n_fft // 2]).astype(np.float32)


def _local_peaks(spec: np.ndarray) -> np.ndarray:
    """Bins above the one below and at least the one above (the top bin: above the one below)."""
    peaks = np.zeros(spec.shape, dtype=bool)
    peaks[1:-1] = (spec[1:-1] > spec[:-2]) & (spec[1:-1] >= spec[2:])
    peaks[-1] = spec[-1] > spec[-2]
    return peaks


def _parabolic_shift(spec: np.ndarray) -> np.ndarray:
    """Where a parabola through each bin and its neighbours peaks, in bins from the bin (0 where it
    would move by a bin or more, and at the edges)."""
    shift = np.zeros_like(spec)
    curvature = spec[2:] + spec[:-2] - 2 * spec[1:-1]
    slope = (spec[2:] - spec[:-2]) / 2
    usable = np.abs(slope) < np.abs(curvature)
    with np.errstate(divide="ignore", invalid="ignore"):
        shift[1:-1] = np.where(usable, -slope / np.where(usable, curvature, 1), 0)
    return shift


def pitch_peaks(spec: np.ndarray, sr: float, n_fft: int, fmin: float = 150.0, fmax: float = 4000.0,
                threshold: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and magnitudes of the spectral peaks of each frame of a magnitude spectrogram between
    ``fmin`` and ``fmax`` and above ``threshold`` times the frame's maximum, refined by parabolic
    interpolation (librosa's ``piptrack``), as two flat arrays."""
    spec = np.abs(spec)
    bins = fft_frequencies(sr, n_fft)
    in_range = (max(fmin, 0.0) <= bins) & (bins < min(fmax, sr / 2.0))
    shift = _parabolic_shift(spec)
    skew = 0.5 * np.gradient(spec, axis=0) * shift
    floor = threshold * spec.max(axis=0, keepdims=True)
    found = np.nonzero(in_range[:, None] & _local_peaks(spec * (spec > floor)))
    frequencies = (found[0] + shift[found]) * float(sr) / n_fft
    return frequencies.astype(spec.dtype), (spec[found] + skew[found]).astype(spec.dtype)


def tuning_of(frequencies: np.ndarray, resolution: float = 0.01, bins_per_octave: int = 12) -> float:
    """The most common deviation of ``frequencies`` from equal temperament, in fractions of a bin within
    ±0.5 (librosa's ``pitch_tuning``); 0 when there is no positive frequency."""
    frequencies = np.asarray(frequencies)
    frequencies = frequencies[frequencies > 0]
    if not frequencies.size:
        return 0.0
    residual = np.mod(bins_per_octave * hz_to_octaves(frequencies), 1.0)
    residual[residual >= 0.5] -= 1.0
    counts, edges = np.histogram(residual, np.linspace(-0.5, 0.5, int(np.ceil(1.0 / resolution)) + 1))
    return float(edges[np.argmax(counts)])
