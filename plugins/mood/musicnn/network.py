"""musicnn (Pons & Serra, 2019) in torch: the MSD_musicnn / MTT_musicnn taggers, inference only.

A line-for-line reading of musicnn 0.1.0's ``models.build_musicnn`` (TF1 layers,
NHWC) as NCHW torch ops, loaded from the converted ``weights.npz``:

- front end on a (187 frames x 96 mel) patch: batch-norm of the input, two
  timbral convolutions (7x38 and 7x67, 204 filters each, time padded by 3) and
  three temporal ones (128x1, 64x1, 32x1, 51 filters each, TF "same" padding),
  each ReLU -> batch-norm -> max over frequency;
- mid end: three 7-frame convolutions of 64 filters with residual connections;
- back end: max and mean over time, batch-norm, dense 200 + ReLU + batch-norm
  (the *penultimate* embedding), dense to 50 tag logits.

Batch-norm uses the moving statistics with TF's default epsilon (1e-3).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as nnf

from moodmix.engine.errors import CapabilityFailed
from moodmix.plugins.mood.musicnn import labels

EPSILON = 1e-3
WEIGHTS = Path(__file__).with_name("weights.npz")


class MusicnnError(CapabilityFailed):
    """The converted weights are missing or do not fit the network."""

    code = "musicnn_weights_unavailable"
    status = 500


def _same_pad(kernel: int) -> tuple[int, int]:
    """TF "same" padding for stride 1: the extra row goes after."""
    return (kernel - 1) // 2, kernel // 2


class Musicnn(torch.nn.Module):
    """One musicnn tagger (``MSD_musicnn`` or ``MTT_musicnn``) with its checkpoint weights."""

    def __init__(self, weights: dict[str, np.ndarray], model: str) -> None:
        super().__init__()
        self.model = model
        self.tags = labels.MSD if model.startswith("MSD") else labels.MTT

        def tensor(name: str) -> torch.Tensor:
            key = f"{model}/{name}"
            if key not in weights:
                raise MusicnnError(f"weights lack {key}")
            return torch.from_numpy(np.array(weights[key], dtype=np.float32))

        def bn(index: int) -> tuple[torch.Tensor, torch.Tensor]:
            name = "batch_normalization" + (f"_{index}" if index else "")
            scale = tensor(f"{name}/gamma") / torch.sqrt(tensor(f"{name}/moving_variance") + EPSILON)
            return scale, tensor(f"{name}/beta") - tensor(f"{name}/moving_mean") * scale

        def conv(index: int) -> tuple[torch.Tensor, torch.Tensor]:
            name = "conv2d" + (f"_{index}" if index else "")
            return tensor(f"{name}/kernel").permute(3, 2, 0, 1).contiguous(), tensor(f"{name}/bias")

        self.bn = [bn(i) for i in range(11)]
        self.conv = [conv(i) for i in range(8)]
        # Front-end filters whose batch-norm scale is negative, negated: see _relu_bn_max.
        self.signs = [torch.where(self.bn[i + 1][0] >= 0, 1.0, -1.0) for i in range(5)]
        self.front = [(w * sign.view(-1, 1, 1, 1), b * sign)
                      for (w, b), sign in zip(self.conv[:5], self.signs, strict=True)]
        # Mid-end kernels span the whole feature axis: 1-D convolutions over time.
        self.mid = [(w[:, 0].permute(0, 2, 1).contiguous(), b) for w, b in self.conv[5:]]
        self.dense = [(tensor("dense/kernel"), tensor("dense/bias")),
                      (tensor("dense_1/kernel"), tensor("dense_1/bias"))]
        if self.dense[1][0].shape[1] != len(self.tags):
            raise MusicnnError(f"{model}: {self.dense[1][0].shape[1]} outputs, expected {len(self.tags)} tags")

    @staticmethod
    def _affine(x: torch.Tensor, params: tuple[torch.Tensor, torch.Tensor], axis: int) -> torch.Tensor:
        shape = [1] * x.dim()
        shape[axis] = -1
        return x * params[0].view(shape) + params[1].view(shape)

    def _relu_bn_max(self, x: torch.Tensor, i: int) -> torch.Tensor:
        """``max over frequency of bn(relu(conv_i(x)))`` for ``x`` (B, 1, T, F), pooling first.

        ReLU and the batch-norm's affine map are monotone per channel (increasing
        where the scale is positive, decreasing where it is negative), so the max
        after them is the map of the max before them, or of the min: the min is
        taken as the max of the negated filter's output (negation is exact in
        floating point). The same values, with the element-wise work done on
        (B, C, T) instead of (B, C, T, F), which was a third of the network's time.
        """
        w, b = self.front[i]
        sign = self.signs[i].view(1, -1, 1)
        return self._affine(torch.relu(sign * nnf.conv2d(x, w, b).amax(dim=3)), self.bn[i + 1], 1)

    def forward(self, x: torch.Tensor, layers: bool = False) -> dict[str, torch.Tensor]:
        """Patches ``x`` (batch, 187, 96) -> ``logits``, ``penultimate`` (and every layer if ``layers``)."""
        x = self._affine(x[:, None], self.bn[0], 1)  # (B, 1, T, F)
        padded = nnf.pad(x, (0, 0, 3, 3))
        front = []
        for i in (0, 1):  # timbral: 7 x 38 and 7 x 67
            front.append(self._relu_bn_max(padded, i))
        for i in (2, 3, 4):  # temporal: 128, 64, 32 frames
            front.append(self._relu_bn_max(nnf.pad(x, (0, 0, *_same_pad(self.conv[i][0].shape[2]))), i))
        frontend = torch.cat(front, dim=1)  # (B, 561, T)
        mids = [frontend]
        h = frontend
        for j, (w, b) in enumerate(self.mid):
            y = self._affine(torch.relu(nnf.conv1d(nnf.pad(h, (3, 3)), w, b)), self.bn[6 + j], 1)
            h = y if j == 0 else y + h
            mids.append(h)
        features = torch.cat(mids, dim=1)  # (B, 753, T)
        max_pool, mean_pool = features.amax(dim=2), features.mean(dim=2)
        pooled = torch.stack([max_pool, mean_pool], dim=2).flatten(1)  # TF concat on the last axis
        pooled = self._affine(pooled, self.bn[9], 1)
        w, b = self.dense[0]
        penultimate = self._affine(torch.relu(pooled @ w + b), self.bn[10], 1)
        w, b = self.dense[1]
        out = {"logits": penultimate @ w + b, "penultimate": penultimate}
        if layers:
            out.update(timbral=torch.cat(front[:2], 1), temporal=torch.cat(front[2:], 1), cnn1=mids[1],
                       cnn2=mids[2], cnn3=mids[3], mean_pool=mean_pool, max_pool=max_pool)
        return out


def load_weights(path: str | Path = WEIGHTS) -> dict[str, np.ndarray]:
    """The converted checkpoints; :class:`MusicnnError` when missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise MusicnnError(f"musicnn weights not found at {path} (python -m moodmix.plugins.mood.musicnn.convert)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except Exception as exc:  # zip/npy errors of every kind mean the same thing here
        raise MusicnnError(f"musicnn weights {path} are unreadable ({type(exc).__name__})") from exc


_cache: dict[str, tuple[Musicnn, Musicnn]] = {}
_lock = threading.Lock()


def load_models(path: str | Path = WEIGHTS) -> tuple[Musicnn, Musicnn]:
    """``(MSD_musicnn, MTT_musicnn)``, built once per process."""
    key = str(Path(path).resolve())
    with _lock:
        if key not in _cache:
            weights = load_weights(path)
            _cache[key] = (Musicnn(weights, "MSD_musicnn").eval(), Musicnn(weights, "MTT_musicnn").eval())
        return _cache[key]
