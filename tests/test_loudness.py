"""The one loudness / true-peak module: right on known signals and edges, and shared by every plugin."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
import soxr
from scipy.signal import resample_poly

from moodmix.engine import audio_io
from moodmix.engine import loudness as L
from moodmix.engine.demo import write_demo_track

SR = 48000


def sine(freq: float, amp: float, sr: int = SR, seconds: float = 3.0, phase: float = 0.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)


def reference_true_peak_db(audio: np.ndarray) -> float:
    """An independent check: 8x polyphase oversampling with scipy's default filter."""
    up = resample_poly(np.atleast_2d(audio).astype(np.float64), 8, 1, axis=-1)
    return float(20 * np.log10(np.abs(up).max()))


def dense_track(sr: int, seconds: float = 6.0, seed: int = 0) -> np.ndarray:
    """Loud, peaky stereo material: noise bursts over a low sine, peaks near full scale."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    y = 0.3 * rng.standard_normal((2, t.size)) * (np.sin(2 * np.pi * 2 * t) > 0.6) + 0.5 * np.sin(2 * np.pi * 60 * t)
    return (0.98 * y / np.abs(y).max()).astype(np.float32)


# --- measurement ------------------------------------------------------------------------------------------


def test_levels_of_a_minus_20_dbfs_sine() -> None:
    # BS.1770: a 1 kHz sine in one channel reads 3.01 dB below its peak level (K-weighting
    # gains +0.69 dB at 1 kHz, cancelled by the -0.691 constant); in two channels, at its peak.
    y = sine(1000.0, 0.1)
    mono = L.measure_levels(y, SR)
    assert mono.integrated_lufs == pytest.approx(-23.01, abs=0.1)
    assert mono.sample_peak_dbfs == pytest.approx(-20.0, abs=0.01)
    assert mono.true_peak_dbtp == pytest.approx(-20.0, abs=0.05)
    assert mono.rms_dbfs == pytest.approx(-23.01, abs=0.01)
    assert mono.note is None
    assert L.measure_levels(np.stack([y, y]), SR).integrated_lufs == pytest.approx(-20.0, abs=0.1)


@pytest.mark.parametrize("sr", [22050, 44100, 48000])
def test_integrated_loudness_is_pyloudnorms(sr: int) -> None:
    rng = np.random.default_rng(sr)
    frames = int(4.3 * sr)
    ramp = (rng.standard_normal((2, frames)) * np.linspace(0.001, 0.3, frames)).astype(np.float32)
    for audio in (ramp, dense_track(sr, 5.0, seed=1) * 0.3):
        theirs = pyloudnorm.Meter(sr).integrated_loudness(audio.T.astype(np.float64))
        assert L.integrated_loudness(audio, sr) == pytest.approx(theirs, abs=1e-6)


def test_chunked_filtering_and_oversampling_match_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    y = dense_track(44100, 3.0, seed=2) * 0.5
    whole_lufs, whole_peak = L.integrated_loudness(y, 44100), L.true_peak(y, 44100)
    one_shot = float(np.abs(soxr.resample(y.T, 44100, 4 * 44100, quality="HQ")).max())
    assert whole_peak == pytest.approx(one_shot, rel=1e-4)
    monkeypatch.setattr(L, "CHUNK_FRAMES", 7777)
    assert L.integrated_loudness(y, 44100) == pytest.approx(whole_lufs, abs=1e-9)
    assert L.true_peak(y, 44100) == pytest.approx(whole_peak, rel=1e-4)


def test_true_peak_finds_the_peak_between_samples() -> None:
    # A sine at fs/4 sampled 45° off its crest: every sample is 3.01 dB below the real peak.
    y = sine(12000.0, 0.5, seconds=1.0, phase=np.pi / 4)
    level = L.measure_levels(y, SR)
    assert level.sample_peak_dbfs == pytest.approx(-9.03, abs=0.01)
    assert level.true_peak_dbtp == pytest.approx(-6.02, abs=0.15)
    assert L.true_peak(y, 192000) == float(np.max(np.abs(y)))  # no oversampling from 176.4 kHz


def test_silence_has_no_levels_never_minus_infinity() -> None:
    for silent in (np.zeros((2, SR), dtype=np.float32), np.zeros((2, 100), dtype=np.float32), np.zeros((1, 0))):
        levels = L.measure_levels(silent, SR)
        assert levels.as_dict() == {"integrated_lufs": None, "true_peak_dbtp": None, "sample_peak_dbfs": None,
                                    "rms_dbfs": None, "note": "silent: every sample is zero"}
        assert L.integrated_loudness(silent, SR) is None and L.true_peak_dbtp(silent, SR) is None
    whisper = L.measure_levels(sine(1000.0, 1e-5), SR)  # -100 dBFS: every block under the -70 LUFS gate
    assert whisper.integrated_lufs is None and "gate" in (whisper.note or "")
    assert whisper.true_peak_dbtp == pytest.approx(-100.0, abs=0.1)


def test_short_audio_is_measured_over_what_there_is() -> None:
    steady = L.measure_levels(sine(1000.0, 0.5), SR)
    burst = L.measure_levels(sine(1000.0, 0.5, seconds=0.2), SR)
    assert burst.integrated_lufs == pytest.approx(steady.integrated_lufs, abs=0.05)  # not lowered by padding
    assert "shorter than 0.4 s" in (burst.note or "")
    assert burst.sample_peak_dbfs == pytest.approx(-6.02, abs=0.01)


def test_more_than_five_channels_measure_the_first_five() -> None:
    y = sine(1000.0, 0.1)
    levels = L.measure_levels(np.stack([y] * 5 + [y * 0.5] * 3), SR)
    assert levels.integrated_lufs == pytest.approx(L.integrated_loudness(np.stack([y] * 5), SR))
    assert "first 5 of 8" in (levels.note or "")


# --- normalisation ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("sr", "target", "ceiling"), [(44100, -14.0, -1.0), (22050, -9.0, -1.0),
                                                       (44100, -20.0, -3.0)])
def test_normalize_hits_loudness_under_the_true_peak_ceiling(sr: int, target: float, ceiling: float) -> None:
    y = dense_track(sr) * 0.1
    out, report = L.normalize(y, sr, target_lufs=target, ceiling_dbtp=ceiling)
    measured = pyloudnorm.Meter(sr).integrated_loudness(out.T.astype(np.float64))
    assert measured == pytest.approx(target, abs=0.15)
    assert report.after.integrated_lufs == pytest.approx(measured, abs=1e-6)
    assert report.after.true_peak_dbtp is not None and report.after.true_peak_dbtp <= ceiling
    assert reference_true_peak_db(out) <= ceiling + 0.02
    assert np.isfinite(out).all() and out.shape == y.shape
    assert report.before == L.measure_levels(y, sr)
    if target == -9.0:
        assert report.peak_reduction_db > 3  # had to limit hard, and still got there


def test_the_ceiling_holds_when_the_target_cannot_be_reached() -> None:
    t = np.arange(2 * 44100) / 44100
    square = np.clip(3 * np.sin(2 * np.pi * 3000 * t), -1, 1).astype(np.float32)  # clipped: big inter-sample overs
    assert reference_true_peak_db(square) > 0.5
    out, report = L.normalize(square, 44100, target_lufs=10.0, ceiling_dbtp=-1.0)  # louder than any -1 dBTP mono
    assert report.after.true_peak_dbtp is not None and report.after.true_peak_dbtp <= -1.0
    # BS.1770's 4x oversampling may read a little low on content right at Nyquist (the clipped edges).
    assert reference_true_peak_db(out) <= -1.0 + 0.1
    assert report.after.integrated_lufs is not None and report.after.integrated_lufs < 9.0  # said, not faked


def test_normalize_leaves_silence_alone() -> None:
    silent = np.zeros((2, 44100), dtype=np.float32)
    out, report = L.normalize(silent, 44100, target_lufs=-14.0, ceiling_dbtp=-1.0)
    assert report.after.integrated_lufs is None and report.gain_db == 0.0 and not out.any()


# --- one meter for every plugin ---------------------------------------------------------------------------


def edge_signals(tmp_path: Path) -> dict[str, tuple[np.ndarray, int]]:
    t = np.arange(44100) / 44100
    square = np.clip(4 * np.sign(np.sin(2 * np.pi * 220 * t)) * 0.3, -0.9, 0.9)
    demo, sr = audio_io.load_audio(write_demo_track(tmp_path / "demo.wav", seconds=6.0))
    return {
        "sine": (np.stack([sine(440.0, 0.3, 44100, 2.0)] * 2), 44100),
        "burst 0.2 s": (sine(1000.0, 0.5, 44100, 0.2)[None], 44100),
        "silence": (np.zeros((2, 44100), dtype=np.float32), 44100),
        "clipped square": (np.stack([square, square]).astype(np.float32), 44100),
        "demo mix": (demo, sr),
    }


def test_analyze_generate_and_remix_report_the_same_levels(tmp_path: Path) -> None:
    """The same audio gets the same LUFS and true peak from every plugin, to the last digit."""
    from moodmix.plugins.analyze.pipeline import analyze_file
    from moodmix.plugins.generate import mixer
    from moodmix.plugins.remix import pipeline as remix_pipeline

    # Generate's and remix's masters measure through the shared function, not a copy of their own.
    assert mixer.normalize is L.normalize and remix_pipeline.normalize is L.normalize
    for name, (audio, sr) in edge_signals(tmp_path).items():
        path = tmp_path / f"{name}.wav"
        sf.write(path, audio.T, sr, subtype="FLOAT")  # lossless, so analyze decodes these very samples
        analyzed = analyze_file(path)["loudness"]
        reports = {}
        for plugin, normalize in (("generate", mixer.normalize), ("remix", remix_pipeline.normalize)):
            out, report = normalize(audio, sr, target_lufs=-14.0, ceiling_dbtp=-1.0)
            reports[plugin] = report.before.as_dict()
            # And what a master reports about its output is what analyze reports for that output.
            sf.write(tmp_path / "out.wav", out.T, sr, subtype="FLOAT")
            assert analyze_file(tmp_path / "out.wav")["loudness"] == report.after.as_dict(), (name, plugin)
            if report.after.true_peak_dbtp is not None:
                assert report.after.true_peak_dbtp <= -1.0, (name, plugin)
        for key in ("integrated_lufs", "true_peak_dbtp"):
            assert analyzed[key] == reports["generate"][key] == reports["remix"][key], (name, key)
        assert (analyzed["integrated_lufs"] is None) == (name == "silence"), name
