"""musicnn's input and output around the network: 3-s log-mel patches in, tags and embeddings out.

Preprocessing is musicnn's own (16 kHz mono, 512-point FFT, hop 256, 96 mel bands
from librosa, ``log10(10000 * S + 1)``, non-overlapping 187-frame patches) with
two deliberate differences: the spectrogram stays float32 (musicnn casts it to
float16 first, which overflows to inf on loud tracks and gives every such track
the same tags), and the STFT pads with ``reflect`` explicitly (musicnn's librosa
0.7 default; librosa 0.10 changed the default to zeros).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187  # librosa.time_to_frames(3 s) + 1, as musicnn computes it
PATCH_SECONDS = PATCH_FRAMES * HOP / SAMPLE_RATE


@dataclass
class Tagging:
    """Per-patch outputs of both taggers for one track."""

    starts: np.ndarray  # (P,) patch start in seconds
    msd: np.ndarray  # (P, 50) MSD tag probabilities
    mtt: np.ndarray  # (P, 50) MTT tag probabilities
    embedding: np.ndarray  # (P, 400) penultimate layers, MSD then MTT

    def select(self, start: float, end: float) -> Tagging:
        """The patches whose centre lies in ``[start, end)`` (the nearest one if none does)."""
        centres = self.starts + PATCH_SECONDS / 2
        keep = (centres >= start) & (centres < end)
        if not keep.any():
            keep = np.zeros(len(centres), dtype=bool)
            keep[int(np.argmin(np.abs(centres - (start + end) / 2)))] = True
        return Tagging(self.starts[keep], self.msd[keep], self.mtt[keep], self.embedding[keep])


def log_mel(y: np.ndarray) -> np.ndarray:
    """musicnn's input representation of 16 kHz mono ``y``: (frames, 96), float32."""
    import librosa

    mel = librosa.feature.melspectrogram(y=np.asarray(y, dtype=np.float32), sr=SAMPLE_RATE, n_fft=N_FFT,
                                         hop_length=HOP, n_mels=N_MELS, pad_mode="reflect")
    return np.log10(10000.0 * mel.T.astype(np.float32) + 1.0).astype(np.float32)


#: Patches per forward pass: activations and convolution work space stay bounded (~25 MB a patch) on any length.
BATCH_PATCHES = 4


def log_mel_patches(y: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """:func:`log_mel` of 16 kHz mono ``y`` at the patches starting on frames ``starts``: (P, 187, 96).

    Frame for frame :func:`log_mel` of the whole track, sliced (to float rounding; the
    STFT is centred with reflect padding at the track's ends), but only the
    analysed patches are transformed, so cost and memory follow the patch count.
    """
    import librosa

    y = np.asarray(y, dtype=np.float32)
    half = N_FFT // 2
    basis = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS)
    out = np.empty((len(starts), PATCH_FRAMES, N_MELS), dtype=np.float32)
    for i, start in enumerate(starts):
        lo, hi = int(start) * HOP - half, (int(start) + PATCH_FRAMES - 1) * HOP + half
        segment = y[max(lo, 0):min(hi, len(y))]
        if lo < 0 or hi > len(y):  # the track's own reflect padding, as the whole-track STFT has it
            segment = np.pad(segment, (max(-lo, 0), max(hi - len(y), 0)), mode="reflect")
        power = np.abs(librosa.stft(segment, n_fft=N_FFT, hop_length=HOP, center=False)) ** 2
        mel = np.einsum("ft,mf->mt", power, basis, optimize=True)  # as librosa's melspectrogram sums
        out[i] = np.log10(10000.0 * mel.T.astype(np.float32) + 1.0)
    return out


def patch_starts(n_frames: int, every: int = 1, limit: int | None = None) -> np.ndarray:
    """Frame offsets of the non-overlapping patches to analyse (at least one).

    Every ``every``-th patch of the grid; when that is more than ``limit``, ``limit``
    of them spread evenly from the first to the last, so cost stays bounded on long
    tracks. Audio shorter than one patch is handled by the caller (repeat-padding).
    """
    starts = np.arange(0, max(n_frames - PATCH_FRAMES, 0) + 1, PATCH_FRAMES)[::max(1, every)]
    if limit is not None and len(starts) > max(limit, 1):
        starts = starts[np.round(np.linspace(0, len(starts) - 1, max(limit, 1))).astype(int)]
    return starts


def tag(y: np.ndarray, every: int = 1, models: tuple | None = None, limit: int | None = None) -> Tagging:
    """Run both taggers on the patches of 16 kHz mono ``y`` (see :func:`patch_starts`), a batch at a time."""
    import torch

    from moodmix.plugins.mood.musicnn.network import load_models

    msd_net, mtt_net = models or load_models()
    n_frames = 1 + len(y) // HOP
    if n_frames < PATCH_FRAMES:  # musicnn trained on repeat-padded short clips
        mel = log_mel(y)
        patches = np.tile(mel, (int(np.ceil(PATCH_FRAMES / max(len(mel), 1))), 1))[None, :PATCH_FRAMES]
        starts = np.zeros(1, dtype=int)
    else:
        starts = patch_starts(n_frames, every, limit)
        patches = None
    outputs: list[tuple[torch.Tensor, ...]] = []
    with torch.inference_mode():
        for first in range(0, len(starts), BATCH_PATCHES):
            chunk = starts[first:first + BATCH_PATCHES]
            batch = torch.from_numpy(patches if patches is not None else log_mel_patches(y, chunk))
            msd, mtt = msd_net(batch), mtt_net(batch)
            outputs.append((torch.sigmoid(msd["logits"]), torch.sigmoid(mtt["logits"]),
                            torch.cat([msd["penultimate"], mtt["penultimate"]], 1)))
    msd_p, mtt_p, embedding = (torch.cat(parts).numpy().astype(np.float64) for parts in zip(*outputs, strict=True))
    return Tagging(starts * HOP / SAMPLE_RATE, msd_p, mtt_p, embedding)
