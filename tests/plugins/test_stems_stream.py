"""Stems in bounded memory: the streamed demucs loop against ``apply_model``, the dsp separator's blocks
against its whole-array cross-fade, and streamed stem files against one write of the whole stems."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from moodmix.engine.audio_io import AudioWriter, load_audio, save_audio
from moodmix.plugins.stems import demucs_stream
from moodmix.plugins.stems.dsp_separator import STEMS, DspConfig, DspSeparator
from tests.plugins.tiny_demucs import tiny_htdemucs


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    noise = float(np.sum((reference.astype(np.float64) - estimate) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(float(np.sum(reference.astype(np.float64) ** 2)) / noise)


@pytest.fixture
def fixed_shifts(monkeypatch):
    """The shift offsets as a known sequence, restarted by calling the fixture's value.

    Seeding :mod:`random` is not enough: HTDemucs draws from it on every forward pass (a
    ``randrange(1)`` for its positional embedding), so apply_model's later offsets depend on how many
    segments ran before them, and a streamed loop draws them all first.
    """
    state = {"values": iter(())}

    def restart() -> None:
        state["values"] = iter([10611, 4943, 12937, 17, 22050, 0, 8000])

    monkeypatch.setattr(random, "randint", lambda lo, hi: next(state["values"]))
    return restart


def streamed(model, mix: torch.Tensor, **kwargs) -> torch.Tensor:
    data = mix[0].numpy()
    length = data.shape[1]

    def read(start: int, n: int) -> np.ndarray:
        out = np.zeros((data.shape[0], n), np.float32)
        lo, hi = max(0, start), min(length, start + n)
        out[:, lo - start:hi - start] = data[:, lo:hi]
        return out

    blocks = list(demucs_stream.stream_sources(model, read, length, **kwargs))
    assert len(blocks) > 2  # it did stream
    assert all(isinstance(block, np.ndarray) and block.dtype == np.float32 for block in blocks)
    return torch.from_numpy(np.concatenate(blocks, axis=-1))


@pytest.mark.parametrize(("shifts", "overlap", "segment"), [(0, 0.25, None), (2, 0.25, None), (1, 0.5, 0.8)])
def test_streamed_loop_matches_apply_model(shifts: int, overlap: float, segment: float | None,
                                           fixed_shifts) -> None:
    from demucs.apply import apply_model

    model = tiny_htdemucs()
    mix = torch.randn(1, 2, 44100 * 4 + 123)
    fixed_shifts()
    with torch.inference_mode():
        expected = apply_model(model, mix, shifts=shifts, split=True, overlap=overlap, segment=segment)
    fixed_shifts()
    ours = streamed(model, mix, shifts=shifts, overlap=overlap, segment=segment)
    assert ours.shape == expected.shape
    assert snr_db(expected.numpy(), ours.numpy()) >= 60
    assert torch.equal(ours, expected)  # the same sums in the same order


def test_streamed_loop_matches_apply_model_on_a_weighted_bag(fixed_shifts) -> None:
    from demucs.apply import BagOfModels, apply_model

    bag = BagOfModels([tiny_htdemucs(0), tiny_htdemucs(1)], weights=[[1, 0, 2, 1], [1, 3, 0, 1]])
    mix = torch.randn(1, 2, 44100 * 3)
    fixed_shifts()
    with torch.inference_mode():
        expected = apply_model(bag, mix, shifts=1, split=True, overlap=0.25)
    fixed_shifts()
    ours = streamed(bag, mix, shifts=1, overlap=0.25)
    assert snr_db(expected.numpy(), ours.numpy()) >= 60
    assert torch.equal(ours, expected)


def test_model_is_only_called_on_batches() -> None:
    """A runtime that is just a callable with the model's attributes drops in (no valid_length, no .to)."""
    model = tiny_htdemucs()

    class Runtime:
        sources, samplerate, audio_channels, segment = model.sources, model.samplerate, 2, model.segment
        calls = 0

        def __call__(self, batch: torch.Tensor) -> torch.Tensor:
            assert batch.ndim == 3 and batch.shape[0] == 1
            Runtime.calls += 1
            return model(batch)

    mix = torch.randn(1, 2, 44100 * 3)
    random.seed(1)
    ours = streamed(Runtime(), mix, shifts=0, overlap=0.25)
    random.seed(1)
    direct = streamed(model, mix, shifts=0, overlap=0.25)
    assert torch.equal(ours, direct)
    assert Runtime.calls == demucs_stream.count_segments(model, mix.shape[-1], None, 0.25, 0)


def _crossfaded_whole(sep: DspSeparator, audio: np.ndarray, sr: int) -> dict[str, np.ndarray]:
    """The separator's cross-fade written over whole-track arrays (what it did before streaming)."""
    frames = audio.shape[-1]
    chunk = int(sep.config.chunk_seconds * sr)
    fade = min(int(sep.config.crossfade_seconds * sr), chunk // 4)
    out = {name: np.zeros_like(audio) for name in STEMS}
    ramp = np.sin(0.5 * np.pi * (np.arange(fade) + 0.5) / fade).astype(np.float32) ** 2
    starts = list(range(0, frames - fade, chunk - fade))
    for i, start in enumerate(starts):
        end = min(frames, start + chunk)
        weight = np.ones(end - start, np.float32)
        if i > 0:
            weight[:fade] = ramp
        if end < frames:
            weight[-fade:] = 1.0 - ramp
        stems = sep.separate_chunk(audio[:, start:end], sr)
        for name in STEMS:
            out[name][:, start:end] += stems[name] * weight
    return out


def test_dsp_blocks_equal_the_whole_array_crossfade() -> None:
    sr = 8000
    rng = np.random.default_rng(0)
    audio = (rng.standard_normal((2, sr * 7 + 77)) * 0.1).astype(np.float32)
    sep = DspSeparator(replace(DspConfig(), chunk_seconds=2.0, crossfade_seconds=0.3))
    blocks = list(sep.separate_blocks(audio, sr))
    assert len(blocks) >= 4
    assert [b[0] for b in blocks] == sorted(b[0] for b in blocks)
    expected = _crossfaded_whole(sep, audio, sr)
    for name in STEMS:
        joined = np.concatenate([b[1][name] for b in blocks], axis=1)
        assert np.array_equal(joined, expected[name]), name
        assert np.array_equal(sep.separate(audio, sr)[name], expected[name])


@pytest.mark.parametrize(("fmt", "bit_depth"), [("wav", "24"), ("wav", "float"), ("flac", "24"), ("mp3", "16")])
def test_writer_in_blocks_writes_what_save_audio_writes(tmp_path: Path, fmt: str, bit_depth: str) -> None:
    rng = np.random.default_rng(1)
    audio = (rng.standard_normal((2, 30_000)) * 0.4).astype(np.float32)
    audio[0, 5] = np.nan
    audio[1, 9] = 3.0
    whole = save_audio(tmp_path / f"whole.{fmt}", audio, 44100, format=fmt, bit_depth=bit_depth)
    with AudioWriter(tmp_path / f"blocks.{fmt}", 44100, 2, bit_depth=bit_depth) as writer:
        for start in range(0, audio.shape[1], 7_001):
            writer.write(audio[:, start:start + 7_001])
    assert writer.frames == audio.shape[1]
    a, _ = load_audio(whole)
    b, _ = load_audio(writer.path)
    assert np.array_equal(a, b)  # (Vorbis is left out: its packets depend on how the encoder is fed)
    if fmt == "wav":
        assert sf.info(str(writer.path)).subtype == ("FLOAT" if bit_depth == "float" else "PCM_24")


def test_writer_refuses_the_wrong_channel_count(tmp_path: Path) -> None:
    with AudioWriter(tmp_path / "x.wav", 8000, 2) as writer, pytest.raises(ValueError, match="channels"):
        writer.write(np.zeros((1, 10), np.float32))


def test_stems_capability_streams_the_separators_output(tmp_path: Path, monkeypatch) -> None:
    """The files equal the in-memory stems written once; a stem over full scale stays float."""
    from moodmix.plugins.stems import dsp_separator
    from moodmix.testing import run_local

    monkeypatch.setattr(dsp_separator, "DspConfig",
                        lambda: DspConfig(chunk_seconds=1.0, crossfade_seconds=0.2))
    sr = 8000
    t = np.arange(sr * 5) / sr
    audio = np.stack([np.sin(2 * np.pi * 220 * t), np.sign(np.sin(2 * np.pi * 2 * t))]).astype(np.float32) * 0.99
    path = save_audio(tmp_path / "in.wav", audio, sr, format="wav", bit_depth="float")
    result = run_local("stems", tmp_path / "out", inputs={"audio": path}, params={"backend": "dsp"})
    decoded, _ = load_audio(path)
    whole = DspSeparator(DspConfig(chunk_seconds=1.0, crossfade_seconds=0.2)).separate(decoded, sr)
    for name in STEMS:
        expected_path = save_audio(tmp_path / f"expected-{name}.wav", whole[name], sr, format="wav",
                                   bit_depth="float" if np.abs(whole[name]).max() > 1 else "24")
        got, _ = load_audio(result.files[name])
        expected, _ = load_audio(expected_path)
        assert np.array_equal(got, expected), name
        assert (sf.info(str(result.files[name])).subtype == "FLOAT") == (name in result.data["over_full_scale"])
    assert not list((tmp_path / "out").glob("*.float.wav"))
