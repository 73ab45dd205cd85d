"""musicnn's bounded work: how many patches a track gets, how many go through the network at once,
and that the faster paths (patch-only log-mel, pooling before the front end's ReLU/batch-norm) give
the values the plain whole-track computation gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as nnf

from moodmix.plugins.mood.musicnn import features as MF
from moodmix.plugins.mood.musicnn import tagger
from moodmix.plugins.mood.musicnn.network import Musicnn, _same_pad, load_models, load_weights
from moodmix.plugins.mood.training import synth
from moodmix.testing import run_local, write_wav

SR = tagger.SAMPLE_RATE


def frames(seconds: float) -> int:
    return 1 + int(seconds * SR) // tagger.HOP


def noise(seconds: float, seed: int = 3) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)


def test_long_tracks_get_a_bounded_evenly_spread_set_of_patches() -> None:
    grid = tagger.patch_starts(frames(3600), MF.PATCH_EVERY)
    starts = tagger.patch_starts(frames(3600), MF.PATCH_EVERY, MF.patch_limit(3600))
    assert len(grid) > 300 and len(starts) == MF.MAX_PATCHES
    assert starts[0] == grid[0] and starts[-1] == grid[-1]  # first to last, evenly
    gaps = np.diff(starts)
    assert gaps.min() >= tagger.PATCH_FRAMES and gaps.max() - gaps.min() <= MF.PATCH_EVERY * tagger.PATCH_FRAMES
    assert MF.patch_limit(3 * 60) == 8 and MF.patch_limit(20 * 60) == MF.MAX_PATCHES


@pytest.mark.parametrize("seconds", [12.0, 20.0])
def test_corpus_length_clips_keep_every_grid_patch(seconds: float) -> None:
    """The shipped head was trained on 12-20 s clips: their patches are the grid's, as before the bound."""
    bounded = tagger.patch_starts(frames(seconds), MF.PATCH_EVERY, MF.patch_limit(seconds))
    np.testing.assert_array_equal(bounded, tagger.patch_starts(frames(seconds), MF.PATCH_EVERY))


def test_patch_log_mel_matches_the_whole_track_log_mel_at_both_ends() -> None:
    y = noise(40.0)
    whole = tagger.log_mel(y)
    starts = np.array([0, 400, len(whole) - tagger.PATCH_FRAMES])  # reflect-padded start and end
    got = tagger.log_mel_patches(y, starts)
    want = np.stack([whole[s:s + tagger.PATCH_FRAMES] for s in starts])
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)


class Recording(torch.nn.Module):
    """A tagger that records the batch sizes it is given."""

    def __init__(self, net: Musicnn, sizes: list[int]) -> None:
        super().__init__()
        self.net, self.sizes = net, sizes

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        self.sizes.append(int(x.shape[0]))
        return self.net(x)


def test_patches_go_through_the_network_in_bounded_batches_with_unchanged_outputs() -> None:
    msd, mtt = load_models()
    sizes: list[int] = []
    y = noise(70.0)
    tagging = tagger.tag(y, models=(Recording(msd, sizes), Recording(mtt, sizes)))
    assert len(tagging.starts) == 23 and max(sizes) == tagger.BATCH_PATCHES and sum(sizes) == 2 * 23
    patches = torch.from_numpy(tagger.log_mel_patches(y, (tagging.starts * SR / tagger.HOP).round().astype(int)))
    with torch.inference_mode():
        once = torch.cat([msd(patches)["penultimate"], mtt(patches)["penultimate"]], 1).numpy()
    np.testing.assert_allclose(tagging.embedding, once, rtol=0, atol=1e-5)


@pytest.mark.parametrize("model", ["MSD_musicnn", "MTT_musicnn"])
def test_pooling_before_relu_and_batch_norm_gives_the_same_front_end_bit_for_bit(model: str) -> None:
    net = Musicnn(load_weights(), model)
    x = torch.from_numpy(tagger.log_mel_patches(noise(6.0), np.array([0, 187])))
    with torch.inference_mode():
        got = net(x, layers=True)
        h = net._affine(x[:, None], net.bn[0], 1)
        plain = []
        for i in range(5):  # as musicnn writes it: conv, ReLU, batch-norm, then max over frequency
            w, b = net.conv[i]
            pad = (0, 0, 3, 3) if i < 2 else (0, 0, *_same_pad(w.shape[2]))
            plain.append(net._affine(torch.relu(nnf.conv2d(nnf.pad(h, pad), w, b)), net.bn[i + 1], 1).amax(dim=3))
    assert any((net.bn[i + 1][0] < 0).any() for i in range(5))  # both branches of the sign are exercised
    assert torch.equal(got["timbral"], torch.cat(plain[:2], 1))
    assert torch.equal(got["temporal"], torch.cat(plain[2:], 1))


def test_a_long_track_through_the_capability_reports_its_bounded_patches(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    y = np.concatenate([synth.render_clip(mood, rng, seconds=12.0)[0] for mood in ("calm", "energetic") * 4])
    track = write_wav(tmp_path / "long.wav", y[None, :])
    data = run_local("mood", tmp_path / "out", inputs={"audio": track}, params={"backend": "musicnn"}).data
    assert data["backend"] == "musicnn" and data["duration"] == pytest.approx(96.0, abs=0.1)
    assert data["tags"]["patches"] == MF.patch_limit(96.0) == 4
    assert len(data["timeline"]) == 10 and {w["mood"] for w in data["timeline"]} <= set(data["distribution"])
