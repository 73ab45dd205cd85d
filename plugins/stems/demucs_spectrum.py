"""HTDemucs' spectrogram steps in numpy: ``_spec``, ``_magnitude``, ``_mask`` (complex-as-channels) and
``_ispec``, with ``torch.stft``/``torch.istft``'s conventions (centred, reflect-padded, periodic Hann
window, ``normalized=True``).

Why not torch: with the network's core on ONNX Runtime or OpenVINO these are the only steps of a
separation left in torch, and importing torch costs a worker about 190 MB of resident memory
(the 1 GB budget of issue 19). The results agree with demucs' own to float32 rounding
(``tests/plugins/test_demucs_spectrum.py``).
"""

from __future__ import annotations

import functools
import math

import numpy as np


@functools.cache
def hann(n: int) -> np.ndarray:
    """``torch.hann_window(n)``: periodic, float32."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32)


def stft(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """``torch.stft(x, n_fft, hop, window=hann, normalized=True, center=True, pad_mode="reflect")`` on
    ``(..., frames)`` float32: complex64 ``(..., n_fft // 2 + 1, 1 + frames // hop)``."""
    *lead, length = x.shape
    flat = np.pad(x.reshape(-1, length), ((0, 0), (n_fft // 2, n_fft // 2)), mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(flat, n_fft, axis=-1)[:, ::hop]
    spectrum = np.fft.rfft(frames * hann(n_fft), axis=-1)  # (rows, frames, freqs)
    spectrum *= np.float32(1 / math.sqrt(n_fft))
    return np.ascontiguousarray(np.swapaxes(spectrum, -1, -2)).reshape(*lead, n_fft // 2 + 1, -1)


def istft(z: np.ndarray, hop: int, length: int) -> np.ndarray:
    """``torch.istft(z, n_fft, hop, window=hann, normalized=True, center=True, length=length)`` on complex
    ``(..., freqs, frames)``: float32 ``(..., length)``. The hop must divide the window (HTDemucs: a quarter)."""
    *lead, freqs, count = z.shape
    n_fft = 2 * freqs - 2
    if n_fft % hop:
        raise ValueError(f"hop {hop} does not divide the window {n_fft}")
    ratio = n_fft // hop
    spectra = np.swapaxes(z.reshape(-1, freqs, count), -1, -2) * np.float32(math.sqrt(n_fft))
    frames = np.fft.irfft(spectra, n=n_fft, axis=-1).astype(np.float32, copy=False) * hann(n_fft)
    out = _overlap_add(frames.reshape(frames.shape[0], count, ratio, hop))
    envelope = _overlap_add(np.broadcast_to(hann(n_fft) ** 2, (1, count, n_fft)).reshape(1, count, ratio, hop))
    start = n_fft // 2
    wanted = out[:, start:start + length]
    scale = envelope[:, start:start + length]
    if np.any(scale < 1e-11):
        raise ValueError("the window envelope vanishes inside the requested span")
    wanted = wanted / scale
    if wanted.shape[-1] < length:
        wanted = np.pad(wanted, ((0, 0), (0, length - wanted.shape[-1])))
    return wanted.reshape(*lead, length)


def _overlap_add(blocks: np.ndarray) -> np.ndarray:
    """Frames cut in ``ratio`` hop-long blocks ``(rows, frames, ratio, hop)``, summed at a hop apart."""
    rows, count, ratio, hop = blocks.shape
    out = np.zeros((rows, count + ratio - 1, hop), np.float32)
    for j in range(ratio):
        out[:, j:j + count] += blocks[:, :, j]
    return out.reshape(rows, -1)


def spec(x: np.ndarray, nfft: int, hop: int) -> np.ndarray:
    """``HTDemucs._spec``: a spectrogram with exactly ``ceil(frames / hop)`` frames, aligned with the
    time branch (reflect-padded by 3/8 of a window, the edge frames and the Nyquist bin dropped)."""
    if hop != nfft // 4:
        raise ValueError("HTDemucs' hop is a quarter of its window")
    length = x.shape[-1]
    le = math.ceil(length / hop)
    pad = hop // 2 * 3
    right = pad + le * hop - length
    if length <= max(pad, right):
        raise ValueError(f"{length} samples are too few to reflect {max(pad, right)} of them")
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad, right)], mode="reflect")
    z = stft(padded, nfft, hop)[..., :-1, :]
    return z[..., 2:2 + le]


def magnitude(z: np.ndarray) -> np.ndarray:
    """``HTDemucs._magnitude`` with complex-as-channels: ``(B, C, F, T)`` complex to ``(B, 2C, F, T)``
    float32, each channel's real part then imaginary part."""
    batch, channels, freqs, frames = z.shape
    return np.stack([z.real, z.imag], axis=2).reshape(batch, channels * 2, freqs, frames).astype(np.float32)


def mask(m: np.ndarray) -> np.ndarray:
    """``HTDemucs._mask`` with complex-as-channels: the network's ``(B, S, 2C, F, T)`` back to complex
    ``(B, S, C, F, T)`` (the mixture's spectrogram is not used)."""
    batch, sources, channels, freqs, frames = m.shape
    pairs = m.reshape(batch, sources, channels // 2, 2, freqs, frames)
    return (pairs[:, :, :, 0] + 1j * pairs[:, :, :, 1]).astype(np.complex64, copy=False)


def ispec(z: np.ndarray, hop: int, length: int) -> np.ndarray:
    """``HTDemucs._ispec``: the inverse of :func:`spec`, ``length`` samples."""
    z = np.pad(z, [(0, 0)] * (z.ndim - 2) + [(0, 1), (2, 2)])
    pad = hop // 2 * 3
    le = hop * math.ceil(length / hop) + 2 * pad
    return istft(z, hop, le)[..., pad:pad + length]
