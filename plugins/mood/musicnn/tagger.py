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


def patch_starts(n_frames: int, every: int = 1) -> np.ndarray:
    """Frame offsets of the non-overlapping patches to analyse (every ``every``-th, at least one).

    Audio shorter than one patch is handled by the caller (repeat-padding).
    """
    starts = np.arange(0, max(n_frames - PATCH_FRAMES, 0) + 1, PATCH_FRAMES)
    return starts[::max(1, every)]


def tag(y: np.ndarray, every: int = 1, models: tuple | None = None) -> Tagging:
    """Run both taggers on the patches of 16 kHz mono ``y``."""
    import torch

    from moodmix.plugins.mood.musicnn.network import load_models

    msd_net, mtt_net = models or load_models()
    mel = log_mel(y)
    if len(mel) < PATCH_FRAMES:  # musicnn trained on repeat-padded short clips
        mel = np.tile(mel, (int(np.ceil(PATCH_FRAMES / max(len(mel), 1))), 1))
    starts = patch_starts(len(mel), every)
    batch = torch.from_numpy(np.stack([mel[s:s + PATCH_FRAMES] for s in starts]))
    with torch.inference_mode():
        msd, mtt = msd_net(batch), mtt_net(batch)
    return Tagging(starts * HOP / SAMPLE_RATE, torch.sigmoid(msd["logits"]).numpy().astype(np.float64),
                   torch.sigmoid(mtt["logits"]).numpy().astype(np.float64),
                   torch.cat([msd["penultimate"], mtt["penultimate"]], 1).numpy().astype(np.float64))
