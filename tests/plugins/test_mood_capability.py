"""The ``mood`` capability end to end with the shipped model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from moodmix.engine.config import load_settings
from moodmix.engine.errors import BadInput, MoodmixError
from moodmix.plugins.mood.analysis import analyse_audio
from moodmix.plugins.mood.model import load_cached
from moodmix.plugins.mood.taxonomy import MOOD_NAMES
from moodmix.plugins.mood.training import synth
from moodmix.testing import run_local, write_wav

SR = 22050


def rendered(mood: str, seed: int, seconds: float = 12.0) -> np.ndarray:
    """A clip of ``mood`` played by the held-out voices (never heard in training)."""
    y, _ = synth.render_clip(mood, np.random.default_rng(seed), seconds=seconds, held_out=True)
    return y


def test_bright_fast_major_and_slow_dark_minor_land_apart() -> None:
    model = load_cached()
    bright = analyse_audio(rendered("happy", 11), model)
    gloomy = analyse_audio(rendered("sad", 12), model)
    assert bright["mood"] in {"happy", "energetic", "epic"}
    assert gloomy["mood"] in {"sad", "dark", "calm", "romantic"}
    assert bright["arousal"] > 0 > gloomy["arousal"]
    assert bright["valence"] > gloomy["valence"]
    assert bright["features"]["onset_rate"] > gloomy["features"]["onset_rate"]


def test_run_writes_result_picture_and_json(tmp_path: Path) -> None:
    audio = write_wav(tmp_path / "song.wav", np.concatenate([rendered("energetic", 3, 16),
                                                             rendered("calm", 4, 16)])[None, :])
    progress: list = []
    result = run_local("mood", tmp_path / "out", inputs={"audio": audio}, progress=progress)
    data = result.data
    assert data["mood"] in MOOD_NAMES
    assert sum(data["distribution"].values()) == pytest.approx(1.0, abs=1e-3)
    assert data["confidence"] == max(data["distribution"].values())
    assert -1 <= data["valence"] <= 1 and -1 <= data["arousal"] <= 1
    assert len(data["timeline"]) == 3  # 32 s -> three ~10.7 s windows
    assert data["timeline"][-1]["end"] == pytest.approx(32.0, abs=0.05)
    assert data["timeline"][0]["arousal"] > data["timeline"][-1]["arousal"]  # energetic, then calm
    assert data["features"]["tempo_bpm"] > 0 and " " in data["features"]["key"]
    png = result.files["picture"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    assert json.loads(result.files["mood"].read_text())["mood"] == data["mood"]
    fractions = [f for f, _ in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) >= 5


def test_window_length_parameter_sets_the_timeline(tmp_path: Path) -> None:
    audio = write_wav(tmp_path / "a.wav", rendered("epic", 5, 30)[None, :])
    result = run_local("mood", tmp_path / "out", inputs={"audio": audio}, params={"window_seconds": 5})
    assert len(result.data["timeline"]) == 6
    with pytest.raises(BadInput):
        run_local("mood", tmp_path / "o2", inputs={"audio": audio}, params={"window_seconds": 1})


def test_clear_errors_for_silence_short_audio_and_a_missing_model(tmp_path: Path) -> None:
    silent = write_wav(tmp_path / "silent.wav", np.zeros((1, SR * 8), dtype=np.float32))
    with pytest.raises(BadInput, match="silent"):
        run_local("mood", tmp_path / "o1", inputs={"audio": silent})
    short = write_wav(tmp_path / "short.wav", rendered("happy", 1, 3.0)[None, :])
    with pytest.raises(BadInput, match="at least 5 s"):
        run_local("mood", tmp_path / "o2", inputs={"audio": short})
    song = write_wav(tmp_path / "song.wav", rendered("happy", 1, 6.0)[None, :])
    settings = load_settings(environ={"MOODMIX_PLUGINS__MOOD__MODEL": str(tmp_path / "missing.joblib")})
    with pytest.raises(MoodmixError, match="mood model file not found"):
        run_local("mood", tmp_path / "o3", inputs={"audio": song}, settings=settings)


def test_long_files_decode_in_blocks_to_the_same_signal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from moodmix.plugins.mood import analysis

    y = rendered("happy", 2, 10.0)
    path = write_wav(tmp_path / "a.wav", y[None, :])
    whole = analysis.load_mono(path)
    monkeypatch.setattr(analysis, "BLOCK_SECONDS", 3.0)  # 10 s > 1.5 x 3 s: the block path
    blocks = analysis.load_mono(path)
    assert blocks.shape == whole.shape
    assert np.allclose(blocks, whole, atol=1e-4)


def test_registering_the_plugin_imports_no_heavy_library() -> None:
    import subprocess
    import sys

    code = ("import sys, moodmix.plugins.mood as m; caps = m.register_capabilities(); "
            "print(caps[0].name, [x for x in ('librosa', 'sklearn', 'matplotlib', 'pedalboard') if x in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "mood []"
