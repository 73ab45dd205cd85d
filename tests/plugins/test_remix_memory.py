"""Remix in less memory: the separated stems are summed piece by piece into files, not whole arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moodmix.engine.audio_io import load_audio
from moodmix.plugins.remix.separation import _OverlapAdd


def test_overlap_add_file_equals_the_dense_sum(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frames = 5_000
    parts = [(0, 1_200), (1_000, 1_500), (1_400, 2_100), (2_600, 3_000), (2_900, 4_100)]  # overlaps and a gap
    dense = np.zeros((2, frames), np.float32)
    acc = _OverlapAdd(tmp_path / "sum.wav", 8000, frames)
    for lo, hi in parts:
        part = rng.standard_normal((2, hi - lo)).astype(np.float32)
        dense[:, lo:hi] += part
        acc.add(lo, part)
    got, _ = load_audio(acc.close())
    assert got.shape == dense.shape
    assert np.array_equal(got, dense)  # float WAV: the same sums, bit for bit


def test_overlap_add_refuses_parts_out_of_order(tmp_path: Path) -> None:
    acc = _OverlapAdd(tmp_path / "sum.wav", 8000, 100)
    acc.add(50, np.ones((2, 10), np.float32))
    acc.add(60, np.ones((2, 10), np.float32))  # flushes up to 60
    with pytest.raises(ValueError, match="order"):
        acc.add(40, np.ones((2, 5), np.float32))
    acc.close()
