"""The generate capability end to end with the offline procedural backend."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from moodmix.engine.errors import BadInput
from moodmix.plugins.generate.procedural import generate_procedural
from moodmix.plugins.generate.spec import SpecOverrides
from moodmix.testing import make_registry, run_local

PROMPT = "sad lofi piano 80 bpm in A minor"


@pytest.fixture(scope="module")
def lofi_run(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("lofi")
    progress: list = []
    result = run_local("generate", out, texts={"prompt": PROMPT}, params={"duration": "6", "seed": "11"},
                       progress=progress)
    return result, progress


def test_capability_declares_prompt_and_optional_melody() -> None:
    cap = make_registry().capability("generate")
    inputs = {i.name: (i.kind, i.required) for i in cap.inputs}
    assert inputs == {"prompt": ("text", True), "melody": ("audio", False)}
    assert {o.name for o in cap.outputs} == {"audio", "spec"}


def test_output_file_length_rate_and_level(lofi_run) -> None:
    result, _ = lofi_run
    audio, sr = sf.read(result.files["audio"], dtype="float32", always_2d=True)
    assert sr == 44100 == result.data["sample_rate"]
    assert audio.shape == (6 * 44100, 2)
    assert np.isfinite(audio).all()
    assert np.sqrt(np.mean(audio**2)) > 0.05  # not silent
    assert np.max(np.abs(audio)) <= 0.9
    loudness = pyloudnorm.Meter(sr).integrated_loudness(audio.astype(np.float64))
    assert abs(loudness - -14.0) < 1.0


def test_result_records_backend_reason_and_spec(lofi_run) -> None:
    result, progress = lofi_run
    assert result.backend == "procedural" and result.data["backend"] == "procedural"
    assert "no local MusicGen weights" in result.data["backend_reason"]
    spec = json.loads(Path(result.files["spec"]).read_text())
    assert (spec["tempo"], spec["key"], spec["mode"], spec["genre"], spec["mood"]) == \
        (80.0, "A minor", "minor", "lofi", "sad")
    assert spec["chords"][0].startswith("Am") and len(spec["chords"]) == 4
    assert spec["instruments"]["chords"] == "piano"
    assert spec["seed"] == 11 and result.data["seed"] == 11
    fractions = [f for f, _ in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) >= 5


def test_same_seed_same_audio_other_seed_other_audio() -> None:
    a = generate_procedural("upbeat house 124 bpm in C minor", SpecOverrides(duration=4), seed=5)
    b = generate_procedural("upbeat house 124 bpm in C minor", SpecOverrides(duration=4), seed=5)
    c = generate_procedural("upbeat house 124 bpm in C minor", SpecOverrides(duration=4), seed=6)
    assert np.array_equal(a.audio, b.audio)
    assert a.audio.shape == c.audio.shape
    assert not np.allclose(a.audio, c.audio, atol=1e-3)


def test_same_seed_same_file_bytes(tmp_path: Path) -> None:
    params = {"duration": 3, "seed": 2, "format": "flac"}
    first = run_local("generate", tmp_path / "a", texts={"prompt": "calm ambient pads"}, params=params)
    second = run_local("generate", tmp_path / "b", texts={"prompt": "calm ambient pads"}, params=params)
    assert first.files["audio"].suffix == ".flac"
    assert first.files["audio"].read_bytes() == second.files["audio"].read_bytes()


@pytest.mark.parametrize("genre", ["rock", "jazz", "cinematic", "chiptune", "dnb", "classical"])
def test_every_kind_of_arrangement_renders(genre: str) -> None:
    result = generate_procedural(f"{genre} in D major", SpecOverrides(duration=3), seed=1)
    assert result.spec.genre == genre
    assert result.audio.shape == (2, 3 * 44100)
    assert np.isfinite(result.audio).all() and np.abs(result.audio).max() > 0.1


def test_long_piece_has_sections_and_exact_length() -> None:
    result = generate_procedural("trance 140 bpm in E minor", SpecOverrides(duration=40), seed=3)
    assert result.audio.shape[1] == 40 * 44100
    assert [s["name"] for s in result.sections][:3] == ["intro", "verse", "chorus"]


@pytest.mark.parametrize(
    "params",
    [{"duration": 0}, {"duration": 301}, {"backend": "magic"}, {"tempo": 500}, {"key": "H minor"},
     {"genre": "polka"}, {"format": "aiff"}, {"seed": -1}, {"unknown": 1}, {"window": 10, "overlap": 10}],
)
def test_bad_params_raise_bad_input(tmp_path: Path, params: dict) -> None:
    with pytest.raises(BadInput):
        run_local("generate", tmp_path, texts={"prompt": "pop"}, params=params)


def test_missing_prompt_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput):
        run_local("generate", tmp_path, texts={"prompt": "   "})


def test_master_keeps_true_peaks_under_the_ceiling(lofi_run) -> None:
    """Inter-sample peaks, not just samples, stay under -1 dBTP (checked by an independent 8x oversampler)."""
    from scipy.signal import resample_poly

    result, _ = lofi_run
    spec = json.loads(Path(result.files["spec"]).read_text())
    assert spec["true_peak_dbtp"] <= -1.0 and spec["loudness_lufs"] == pytest.approx(-14.0, abs=0.5)
    audio, _ = sf.read(result.files["audio"], dtype="float64", always_2d=True)
    assert 20 * np.log10(np.abs(resample_poly(audio, 8, 1, axis=0)).max()) <= -1.0 + 0.02
    loud = generate_procedural("loud techno 130 bpm", SpecOverrides(duration=4), seed=3)
    after = loud.master.after
    assert after.true_peak_dbtp is not None and after.true_peak_dbtp <= -1.0
    assert 20 * np.log10(np.abs(resample_poly(loud.audio.astype(np.float64), 8, 1, axis=1)).max()) <= -1.0 + 0.02
