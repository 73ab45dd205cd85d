"""The whole-track remix rendered block by block in files equals the whole-array render, sample for sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moodmix.engine import audio_io
from moodmix.plugins.analyze import testsignals as ts
from moodmix.plugins.remix import pipeline, streamed
from moodmix.plugins.remix.genre_lookup import use_registry
from moodmix.testing import make_registry, run_local, write_wav


@pytest.fixture(scope="module")
def registry():
    registry = make_registry()
    with use_registry(registry):
        yield registry


def _remix(registry, tmp_path: Path, src: Path, params: dict, *, stream: bool, name: str):
    pipeline.STREAM_WHOLE_TRACK = stream
    try:
        return run_local("remix", tmp_path / name, inputs={"audio": src}, params=params, registry=registry)
    finally:
        pipeline.STREAM_WHOLE_TRACK = True


@pytest.mark.parametrize(("genre", "extra"), [
    ("lofi", {}),  # slowed, pitch down, chorus restarted per chunk, reverbs, compressor, drums
    ("house", {"stretch": "stems"}),  # sidechain ducking; each stem stretched, its chain after
    ("synthwave", {"format": "flac", "loudness": -9.0}),  # limiter driven hard: trims, several tries
])
def test_streamed_render_equals_the_whole_array_render(registry, tmp_path: Path, monkeypatch, genre: str,
                                                        extra: dict) -> None:
    sr = 22050
    left = ts.song("A", "minor", 112.0, 26.0, sr=sr)
    src = write_wav(tmp_path / "song.wav", np.stack([left, 0.8 * left]) * 0.6, sr)
    monkeypatch.setattr(streamed, "BLOCK_FRAMES", 3001)  # tiny and odd: blocks cut chunks, hops and fades
    params = {"genre": genre, "stems_backend": "dsp", **extra}
    ref = _remix(registry, tmp_path, src, params, stream=False, name="whole")
    got = _remix(registry, tmp_path, src, params, stream=True, name="streamed")
    ref.data.pop("analysis_reused"), got.data.pop("analysis_reused")  # the second run finds the first's
    assert got.data == ref.data  # every reported figure (loudness, peak, limiter, duration) the same
    expected, _ = audio_io.load_audio(ref.files["remix"])
    actual, _ = audio_io.load_audio(got.files["remix"])
    assert actual.shape == expected.shape
    assert np.array_equal(actual, expected)
    assert got.files["waveform"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list((tmp_path / "streamed").rglob("remix-*.wav"))  # scratch files are gone
