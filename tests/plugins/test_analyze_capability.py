"""The ``analyze`` capability end to end, through the engine's validation (``run_local``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from moodmix.engine import audio_io
from moodmix.engine.errors import BadInput
from moodmix.plugins.analyze import testsignals as ts
from moodmix.testing import make_registry, run_local, write_wav

SR = 44100


@pytest.fixture(scope="module")
def registry():
    return make_registry()


@pytest.fixture(scope="module")
def song_stereo() -> np.ndarray:
    """15 s of E minor at 120 BPM, left louder than right, at 44.1 kHz."""
    y = ts.song("E", "minor", 120.0, 15.0, sr=SR)
    return np.stack([y, 0.7 * y])


def test_registered_with_its_contract(registry) -> None:
    cap = registry.capability("analyze")
    assert [o.name for o in cap.outputs] == ["analysis"] and cap.outputs[0].kind == "json"
    assert [i.name for i in cap.inputs] == ["audio"]
    props = cap.params_schema()["properties"]
    assert {"beats", "max_beats", "analysis_sample_rate", "key_profile"} <= set(props)
    assert set(props["key_profile"]["enum"]) == {"albrecht", "temperley", "krumhansl"}


def test_full_analysis_of_a_stereo_song(registry, song_stereo, tmp_path: Path) -> None:
    src = write_wav(tmp_path / "song.wav", song_stereo, SR)
    progress: list = []
    result = run_local("analyze", tmp_path / "out", inputs={"audio": src}, registry=registry,
                       progress=progress)
    data = result.data
    assert result.backend == "numpy"
    assert (data["format"], data["sample_rate"], data["channels"]) == ("wav", SR, 2)
    assert data["duration"] == pytest.approx(15.0, abs=0.01)
    assert data["tempo"] == pytest.approx(120.0, abs=2.0)
    assert data["tempo_confidence"] > 0.5
    assert (data["key"], data["mode"], data["key_name"], data["camelot"]) == ("E", "minor", "E minor", "9A")
    assert data["key_runner_up"]["name"] != "E minor"
    assert data["beat_count"] == len(data["beats"]) >= 26
    assert np.all(np.diff(data["beats"]) > 0)
    loud = data["loudness"]
    assert loud["sample_peak_dbfs"] == pytest.approx(20 * np.log10(0.9), abs=0.05)
    assert loud["true_peak_dbtp"] >= loud["sample_peak_dbfs"]
    assert -30.0 < loud["integrated_lufs"] < loud["rms_dbfs"] + 6.0
    # The JSON file holds exactly the result.
    assert json.loads(result.files["analysis"].read_text()) == data
    assert result.files["analysis"].name == "analysis.json"
    # Progress climbs through several real steps.
    fractions = [f for f, _ in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert len({m for _, m in progress}) >= 6


@pytest.mark.parametrize("fmt", ["mp3", "flac"])
def test_compressed_inputs(registry, song_stereo, tmp_path: Path, fmt: str) -> None:
    src = audio_io.save_audio(tmp_path / f"song.{fmt}", song_stereo, SR)
    data = run_local("analyze", tmp_path / "out", inputs={"audio": src}, registry=registry).data
    assert data["format"] == fmt
    assert data["tempo"] == pytest.approx(120.0, abs=2.0)
    assert (data["key"], data["mode"]) == ("E", "minor")
    assert data["duration"] == pytest.approx(15.0, abs=0.1)  # mp3 adds encoder padding


def test_silence_is_reported_not_crashed(registry, tmp_path: Path) -> None:
    src = write_wav(tmp_path / "silence.wav", np.zeros((2, SR * 3), dtype=np.float32), SR)
    result = run_local("analyze", tmp_path / "out", inputs={"audio": src}, registry=registry)
    data = result.data
    assert data["tempo"] is None and data["beats"] == [] and data["beat_count"] == 0
    assert data["key"] is None and data["mode"] is None
    assert all(data["loudness"][k] is None for k in ("integrated_lufs", "true_peak_dbtp", "rms_dbfs"))
    assert any("silen" in n for n in data["notes"])
    assert json.loads(result.files["analysis"].read_text())["tempo"] is None


def test_very_short_audio(registry, tmp_path: Path) -> None:
    chord = ts.chord_progression("G", "major", chord_seconds=0.15, repeats=1, sr=SR)  # 0.6 s
    src = write_wav(tmp_path / "short.wav", chord[None, :], SR)
    data = run_local("analyze", tmp_path / "out", inputs={"audio": src}, registry=registry).data
    assert data["duration"] == pytest.approx(0.6, abs=0.01)
    assert data["tempo"] is None and any("too short" in n for n in data["notes"])
    assert data["loudness"]["integrated_lufs"] is not None  # longer than one 400 ms block
    assert data["key"] is not None


def test_beat_list_options(registry, tmp_path: Path) -> None:
    src = write_wav(tmp_path / "drums.wav", ts.drum_track(140.0, 8.0, sr=SR)[None, :], SR)
    capped = run_local("analyze", tmp_path / "a", inputs={"audio": src}, registry=registry,
                       params={"max_beats": 5}).data
    assert len(capped["beats"]) == 5 and capped["beats_truncated"] is True
    assert capped["beat_count"] > 5
    bare = run_local("analyze", tmp_path / "b", inputs={"audio": src}, registry=registry,
                     params={"beats": "false", "analysis_sample_rate": "16000"}).data
    assert "beats" not in bare and bare["analysis"]["sample_rate"] == 16000
    assert bare["tempo"] == pytest.approx(140.0, abs=2.0)


@pytest.mark.parametrize("params", [{"bogus": 1}, {"analysis_sample_rate": 1000}, {"key_profile": "x"}])
def test_bad_params_are_refused(registry, tmp_path: Path, params: dict) -> None:
    src = write_wav(tmp_path / "t.wav", ts.drum_track(120.0, 1.0, sr=SR)[None, :], SR)
    with pytest.raises(BadInput):
        run_local("analyze", tmp_path / "out", inputs={"audio": src}, registry=registry, params=params)
