"""Decoding block by block (bounded memory on long tracks) gives exactly what one whole-file read gives,
and still refuses bad samples wherever they are; level meters work a chunk at a time with the same result."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from moodmix.engine import audio_io, loudness
from moodmix.engine.audio_io import load_audio, save_audio
from moodmix.engine.errors import AudioError


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    monkeypatch.setattr(audio_io, "DECODE_BLOCK", 1000)  # many blocks, and a partial last one
    monkeypatch.setattr(loudness, "CHUNK_FRAMES", 1 << 14)  # several chunks of whole hops


@pytest.mark.parametrize("channels", [1, 2, 3])
@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_blockwise_decode_is_the_whole_read(tmp_path, channels, fmt):
    x = np.random.default_rng(channels).uniform(-0.5, 0.5, (channels, 12_345)).astype(np.float32)
    path = save_audio(tmp_path / f"x.{fmt}", x, 44100, format=fmt)
    whole = np.ascontiguousarray(sf.read(str(path), dtype="float32", always_2d=True)[0].T)
    audio, sr = load_audio(path)
    assert sr == 44100 and audio.flags.c_contiguous and np.array_equal(audio, whole)
    mono, _ = load_audio(path, mono=True)
    assert np.array_equal(mono, whole.mean(axis=0, keepdims=True))
    part, _ = load_audio(path, offset=0.05, duration=0.1)
    start = int(0.05 * 44100)
    assert np.array_equal(part, whole[:, start:start + int(0.1 * 44100)])
    resampled, sr2 = load_audio(path, mono=True, sample_rate=22050)
    assert sr2 == 22050 and np.array_equal(resampled, audio_io.resample(whole.mean(axis=0, keepdims=True),
                                                                        44100, 22050))


def test_a_bad_sample_in_a_late_block_is_still_refused(tmp_path):
    x = np.zeros((2, 10_000), dtype=np.float32)
    x[1, 9_500] = np.inf
    path = tmp_path / "inf.wav"
    sf.write(str(path), x.T, 8000, subtype="FLOAT")
    with pytest.raises(AudioError) as err:
        load_audio(path)
    assert err.value.code == "non_finite_audio"


def test_chunked_levels_match_the_whole_array():
    x = np.random.default_rng(7).uniform(-0.7, 0.7, (2, 50_001)).astype(np.float32)
    levels = loudness.measure_levels(x, 44100)
    assert levels.sample_peak_dbfs == pytest.approx(loudness.to_db(float(np.max(np.abs(x)))), abs=1e-9)
    rms = loudness.to_db(float(np.mean(np.square(x, dtype=np.float64))), power=True)
    assert levels.rms_dbfs == pytest.approx(rms, abs=1e-9)
