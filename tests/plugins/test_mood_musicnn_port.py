"""The torch port of musicnn against an independent NumPy reading of musicnn's TF1 graph, and the weights.

TensorFlow cannot be installed here, so the golden reference is a second
implementation written from ``musicnn/models.py`` in TF's own layout (NHWC,
kernels as (height, width, in, out), explicit "same" padding arithmetic,
``tf.nn.moments`` pooling, flatten of the (753, 2) max/mean pair) with NumPy
sliding windows and einsum — no code shared with :mod:`network`. It is compared
layer by layer (timbral, temporal, cnn1-3, pools, penultimate, logits) on a
fixed random patch and on a real log-mel patch. Tag sanity on generated signals
checks the weights mean what musicnn's tags say.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from moodmix.plugins.mood.musicnn import convert, labels, tagger
from moodmix.plugins.mood.musicnn.checkpoint import read_index
from moodmix.plugins.mood.musicnn.network import Musicnn, load_weights

WHEEL_CACHE = Path.home() / ".cache" / "moodmix-test-models"
WHEEL = WHEEL_CACHE / "musicnn-0.1.0-py3-none-any.whl"


def _musicnn_wheel() -> Path:
    """The musicnn 0.1.0 wheel (from PyPI, which the test machines reach like any pip install), cached."""
    if not WHEEL.is_file():
        import subprocess
        import sys

        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "musicnn==0.1.0", "-d",
                        str(WHEEL_CACHE)], check=True, capture_output=True, timeout=600)
    return WHEEL
SR = tagger.SAMPLE_RATE


def reference_forward(w: dict[str, np.ndarray], model: str, x: np.ndarray) -> dict[str, np.ndarray]:
    """musicnn's ``build_musicnn`` for one patch ``x`` (187, 96), NHWC, float64, written from the TF graph."""
    def v(name: str) -> np.ndarray:
        return w[f"{model}/{name}"].astype(np.float64)

    def batch_norm(t: np.ndarray, i: int) -> np.ndarray:
        n = "batch_normalization" + (f"_{i}" if i else "")
        return (t - v(f"{n}/moving_mean")) / np.sqrt(v(f"{n}/moving_variance") + 1e-3) * v(f"{n}/gamma") \
            + v(f"{n}/beta")

    def conv_valid(t: np.ndarray, i: int) -> np.ndarray:  # t: (H, W, C_in), kernel (kh, kw, C_in, C_out)
        n = "conv2d" + (f"_{i}" if i else "")
        k = v(f"{n}/kernel")
        win = np.lib.stride_tricks.sliding_window_view(t, k.shape[:2], axis=(0, 1))  # (H', W', C, kh, kw)
        return np.maximum(np.einsum("hwcij,ijco->hwo", win, k) + v(f"{n}/bias"), 0.0)

    inp = batch_norm(x.astype(np.float64)[:, :, None], 0)  # (187, 96, 1)
    pad7 = np.pad(inp, ((3, 3), (0, 0), (0, 0)))
    f74 = batch_norm(conv_valid(pad7, 0), 1).max(axis=1)
    f77 = batch_norm(conv_valid(pad7, 1), 2).max(axis=1)
    temporal = []
    for i, k in ((2, 128), (3, 64), (4, 32)):  # padding="same": total k-1, the odd one after
        same = np.pad(inp, ((((k - 1) // 2), (k - 1) - (k - 1) // 2), (0, 0), (0, 0)))
        temporal.append(batch_norm(conv_valid(same, i), i + 1).max(axis=1))
    front = np.concatenate([f74, f77, *temporal], axis=1)  # (187, 561)
    c1 = batch_norm(conv_valid(np.pad(front[:, :, None], ((3, 3), (0, 0), (0, 0))), 5), 6)[:, 0, :]
    c2 = batch_norm(conv_valid(np.pad(c1[:, :, None], ((3, 3), (0, 0), (0, 0))), 6), 7)[:, 0, :] + c1
    c3 = batch_norm(conv_valid(np.pad(c2[:, :, None], ((3, 3), (0, 0), (0, 0))), 7), 8)[:, 0, :] + c2
    mid = np.concatenate([front, c1, c2, c3], axis=1)  # (187, 753)
    max_pool, mean_pool = mid.max(axis=0), mid.mean(axis=0)
    flat = batch_norm(np.concatenate([max_pool[:, None], mean_pool[:, None]], axis=1).reshape(-1), 9)
    pen = batch_norm(np.maximum(flat @ v("dense/kernel") + v("dense/bias"), 0.0), 10)
    return {"timbral": np.concatenate([f74, f77], 1), "temporal": np.concatenate(temporal, 1), "cnn1": c1,
            "cnn2": c2, "cnn3": c3, "max_pool": max_pool, "mean_pool": mean_pool, "penultimate": pen,
            "logits": pen @ v("dense_1/kernel") + v("dense_1/bias")}


@pytest.fixture(scope="module")
def weights() -> dict[str, np.ndarray]:
    return load_weights()


def drum_loop(seconds: float = 9.0, bpm: float = 140.0) -> np.ndarray:
    rng = np.random.default_rng(1)
    y = np.zeros(int(seconds * SR))
    for beat in np.arange(0, seconds, 30 / bpm):  # hats on eighths, kicks on beats
        i = int(beat * SR)
        n = min(2000, len(y) - i)
        y[i:i + n] += 0.5 * rng.standard_normal(n) * np.exp(-np.arange(n) / 300)
        if round(beat * bpm / 30) % 2 == 0:
            n = min(4000, len(y) - i)
            y[i:i + n] += np.sin(2 * np.pi * 55 * np.arange(n) / SR) * np.exp(-np.arange(n) / 1500)
    return y.astype(np.float32)


def sine_pad(seconds: float = 9.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.2 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.1 * t))
            + 0.1 * np.sin(2 * np.pi * 277 * t)).astype(np.float32)


@pytest.mark.parametrize("model", ["MSD_musicnn", "MTT_musicnn"])
def test_torch_port_matches_the_numpy_reference_layer_by_layer(weights: dict, model: str) -> None:
    net = Musicnn(weights, model)
    real = tagger.log_mel(drum_loop(4.0))[: tagger.PATCH_FRAMES]
    noise = np.random.default_rng(7).gamma(1.0, 1.0, size=(tagger.PATCH_FRAMES, 96)).astype(np.float32)
    for patch in (real, noise):
        with torch.no_grad():
            got = {k: t[0].numpy() for k, t in net(torch.from_numpy(patch[None]), layers=True).items()}
        want = reference_forward(weights, model, patch)
        for name, ref in want.items():
            mine = got[name].T if got[name].ndim == 2 else got[name]  # torch keeps channels first
            scale = max(1.0, float(np.abs(ref).max()))
            assert mine.shape == ref.shape, name
            assert np.abs(mine - ref).max() <= 2e-4 * scale, (name, float(np.abs(mine - ref).max()))


def test_tags_tell_a_drum_loop_from_a_slow_sine_pad() -> None:
    drums, pad = tagger.tag(drum_loop()), tagger.tag(sine_pad())
    mtt_d, mtt_p = (dict(zip(labels.MTT, t.mtt.mean(0), strict=True)) for t in (drums, pad))
    for tag in ("fast", "drums", "techno", "beat"):
        assert mtt_d[tag] > 5 * mtt_p[tag], tag
    for tag in ("slow", "ambient", "quiet", "soft"):
        assert mtt_p[tag] > 5 * mtt_d[tag], tag
    assert mtt_d["drums"] > mtt_d["slow"] and mtt_p["slow"] > mtt_p["fast"]
    msd_d, msd_p = (dict(zip(labels.MSD, t.msd.mean(0), strict=True)) for t in (drums, pad))
    assert msd_d["dance"] > msd_p["dance"] and msd_p["ambient"] > msd_d["ambient"]


def test_float32_spectrogram_has_no_overflow_on_a_loud_track() -> None:
    loud = np.clip(drum_loop() * 40, -1, 1)  # float16 would overflow to inf here (musicnn's own bug)
    mel = tagger.log_mel(loud)
    assert np.isfinite(mel).all() and mel.dtype == np.float32
    assert float((10000 * np.power(10, mel) > 65504).mean()) > 0  # the values float16 could not hold


def test_checkpoint_reader_and_shipped_weights_reproduce(tmp_path: Path) -> None:
    shipped = convert.WEIGHTS
    assert hashlib.sha256(shipped.read_bytes()).hexdigest() == convert.MANIFEST["weights_sha256"]
    wheel = _musicnn_wheel()
    with zipfile.ZipFile(wheel) as archive:
        entries = read_index(archive.read("musicnn/MSD_musicnn/.index"))
    assert entries["conv2d/kernel"]["shape"] == (7, 38, 1, 204) and entries["dense_1/bias"]["shape"] == (50,)
    assert convert.sha256(wheel) == convert.MANIFEST["wheel_sha256"]
    assert convert.convert(wheel, tmp_path / "w.npz") == convert.MANIFEST["weights_sha256"]
