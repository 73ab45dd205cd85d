"""The block-by-block meters, limiter and normalisation give what the whole-array ones give."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pedalboard import BrickwallLimiter

from moodmix.engine import loudness
from moodmix.engine.loudness import LevelsMeter, measure_levels, normalize, normalize_blocks
from moodmix.engine.pedal_stream import BoardStream

SR = 44100


def _signal(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = round(seconds * SR)
    swell = np.sin(np.linspace(0, 9, n)) ** 2  # loud and quiet stretches: the relative gate matters
    audio = (rng.standard_normal((2, n)) * 0.3 * swell).astype(np.float32)
    audio[:, n // 3:n // 3 + 8] = 1.4  # an over for the limiter and the trims
    return audio


def _blocks(audio: np.ndarray, size: int):
    return [audio[:, i:i + size] for i in range(0, audio.shape[1], size)]


@pytest.mark.parametrize("seconds", [0.25, 3.0, 31.0])
def test_levels_meter_matches_measure_levels(monkeypatch, seconds: float) -> None:
    monkeypatch.setattr(loudness, "CHUNK_FRAMES", 1 << 16)  # several chunks, cut mid-block
    audio = _signal(seconds)
    meter = LevelsMeter(SR, 2)
    for block in _blocks(audio, 7919):
        meter.add(block)
    assert meter.finish() == measure_levels(audio, SR)


def test_levels_meter_of_silence_reports_nothing() -> None:
    meter = LevelsMeter(SR, 2)
    meter.add(np.zeros((2, SR), np.float32))
    levels = meter.finish()
    assert levels.integrated_lufs is None and levels.true_peak_dbtp is None and "silent" in levels.note


def test_limiter_stream_matches_one_call() -> None:
    audio = _signal(6.0) * np.float32(3.0)
    whole = BrickwallLimiter(ceiling_db=-1.3, true_peak=True)(audio, SR)
    stream = BoardStream(BrickwallLimiter(ceiling_db=-1.3, true_peak=True), SR, 2)
    parts = [stream.process(b) for b in _blocks(audio, 3001)] + [stream.finish()]
    assert np.array_equal(np.concatenate(parts, axis=1), whole)


@pytest.mark.parametrize(("target", "scale"), [(-9.0, 1.0), (-20.0, 1.0), (-14.0, 1e-5), (-14.0, 0.0)])
def test_normalize_blocks_matches_normalize(tmp_path: Path, target: float, scale: float) -> None:
    audio = _signal(20.0) * np.float32(scale)  # hard limiting, plain gain, under the gate, silence
    expected, report = normalize(audio, SR, target_lufs=target, ceiling_dbtp=-1.0)
    out: list[np.ndarray] = []
    got = normalize_blocks(lambda: iter(_blocks(audio, 12345)), SR, 2, target_lufs=target, ceiling_dbtp=-1.0,
                           scratch=tmp_path, sink=out.append)
    assert got == report
    assert np.array_equal(np.concatenate(out, axis=1), expected)
    assert not list(tmp_path.iterdir())  # the tries' scratch files are removed
