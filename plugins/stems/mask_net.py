"""A small learned mask estimator on top of the dsp separator's signal models.

The dsp cascade decides each time-frequency cell by fixed rules (percussive vs harmonic
median, background model, a fixed bass crossover). Those rules were tuned on one synthetic
generator and do not hold on sampled instruments: kick drums ring like bass notes, pianos
reach below the crossover. Here a two-layer perceptron (≈3k weights, numpy only) reads the
same models plus a few cues the rules ignore (stereo width, level, onset, spectral
peakiness, frequency) for each cell and outputs the four masks through a softmax, so they
still sum to one and the stems still add back to the input.

It was trained by ``bench/train_mask_net.py`` on the training split of the real-instrument
corpus (``bench/real_corpus.py``); the weights ship as ``mask_net.npz`` next to this file.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

WEIGHTS = Path(__file__).with_name("mask_net.npz")
STEMS = ("drums", "bass", "vocals", "other")
EPS = 1e-8
N_FEATURES = 14
#: Cells the network runs on at once (each row's result is the same whatever the slice).
FORWARD_CELLS = 1 << 16


def cell_features(bands: np.ndarray, side: np.ndarray, centres: np.ndarray,
                  models: dict[str, np.ndarray]) -> np.ndarray:
    """``(frames * bands, N_FEATURES)`` float32: what the network sees in each cell."""
    logb = np.log(bands + EPS)
    level = logb - np.median(logb[bands > EPS]) if np.any(bands > EPS) else logb
    harm, perc, background = models["harmonic"], models["percussive"], models["background"]
    foreground = bands - background
    flux = np.diff(logb, axis=0, prepend=logb[:1])
    neighbourhood = np.apply_along_axis(lambda r: np.convolve(r, np.ones(5) / 5, mode="same"), 1, logb) \
        if logb.shape[1] >= 5 else logb
    frame_level = logb.mean(axis=1, keepdims=True)
    low_share = np.log(bands[:, centres < 250].sum(axis=1, keepdims=True) + EPS) \
        - np.log(bands.sum(axis=1, keepdims=True) + EPS)
    freq = np.broadcast_to(np.log2(np.maximum(centres, 20.0) / 1000.0), bands.shape)
    feats = [
        level,
        np.clip(np.log((perc + EPS) / (harm + EPS)), -6, 6),
        np.clip(np.log((foreground + EPS) / (background + EPS)), -6, 6),
        np.clip(np.log((harm + EPS) / (bands + EPS)), -6, 6),
        np.clip(np.log((perc + EPS) / (bands + EPS)), -6, 6),
        np.clip(flux, -6, 6),
        np.clip(np.diff(logb, axis=0, append=logb[-1:]), -6, 6),
        logb - neighbourhood,
        logb - frame_level,
        np.broadcast_to(low_share, bands.shape),
        side / (bands + side + EPS),
        freq,
        freq ** 2,
        np.broadcast_to(np.clip(frame_level - np.median(frame_level), -6, 6), bands.shape),
    ]
    return np.stack([np.asarray(f, np.float32).ravel() for f in feats], axis=1)


class MaskNet:
    """Features -> hidden (tanh) -> hidden (tanh) -> 4 softmax masks, in numpy."""

    def __init__(self, params: dict[str, np.ndarray]) -> None:
        self.p = {k: np.asarray(v, np.float32) for k, v in params.items()}
        # Input standardisation folded into the first layer: one pass over the cells fewer.
        self.w1 = (self.p["w1"] / self.p["std"][:, None]).astype(np.float32)
        self.b1 = (self.p["b1"] - (self.p["mean"] / self.p["std"]) @ self.p["w1"]).astype(np.float32)

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> MaskNet:
        with np.load(path) as data:
            return cls(dict(data))

    def forward(self, x: np.ndarray) -> np.ndarray:
        p = self.p
        h = x @ self.w1
        h += self.b1
        np.tanh(h, out=h)
        h2 = h @ p["w2"]
        h2 += p["b2"]
        np.tanh(h2, out=h2)
        z = h2 @ p["w3"] + p["b3"]
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def masks(self, bands: np.ndarray, side: np.ndarray, centres: np.ndarray,
              models: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        feats = cell_features(bands, side, centres, models)
        out = np.empty((feats.shape[0], len(STEMS)), np.float32)
        for start in range(0, feats.shape[0], FORWARD_CELLS):  # a slice at a time: the hidden layers of
            stop = start + FORWARD_CELLS                         # every cell at once were 220 MB per 30 s
            out[start:stop] = self.forward(feats[start:stop])
        return {name: out[:, i].reshape(bands.shape) for i, name in enumerate(STEMS)}


@lru_cache(maxsize=1)
def shipped() -> MaskNet | None:
    """The shipped network, loaded once per process (None when the weights are absent)."""
    return MaskNet.load() if WEIGHTS.exists() else None
