"""The ``stems`` capability end to end on odd inputs (dsp backend: no weights on test machines)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from moodmix.engine import audio_io
from moodmix.engine.config import load_settings
from moodmix.engine.errors import BadInput, TooLarge
from moodmix.testing import make_registry, run_local


def _write(tmp_path: Path, audio: np.ndarray, sr: int, name: str = "in.wav") -> Path:
    return audio_io.save_audio(tmp_path / name, audio, sr, format="wav", bit_depth="float")


def _music(seconds: float, sr: int, channels: int = 2) -> np.ndarray:
    rng = np.random.default_rng(3)
    t = np.arange(int(seconds * sr)) / sr
    tone = 0.3 * np.sin(2 * np.pi * 196 * t * (1 + 0.01 * np.sin(2 * np.pi * 5 * t)))
    clicks = (rng.standard_normal(t.size) * (np.mod(t, 0.5) < 0.02)) * 0.3
    mono = np.clip(tone + clicks + 0.2 * np.sin(2 * np.pi * 55 * t), -0.9, 0.9).astype(np.float32)
    return np.stack([mono * (1 - 0.2 * c) for c in range(channels)])


def _run(tmp_path: Path, audio_path: Path, **params):
    return run_local("stems", tmp_path / "out", inputs={"audio": audio_path},
                     params={"backend": "dsp", **params}, settings=load_settings(environ={}))


def _read_stems(files: dict[str, Path]) -> dict[str, np.ndarray]:
    return {name: audio_io.load_audio(path)[0] for name, path in files.items()}


def test_capability_is_registered_with_its_outputs() -> None:
    cap = make_registry().capability("stems")
    assert {o.name for o in cap.outputs} == {"drums", "bass", "vocals", "other", "instrumental"}
    schema = cap.params_schema()["properties"]
    assert set(schema["mode"]["enum"]) == {"4stems", "2stems"} and "segment" in schema
    with pytest.raises(BadInput):
        cap.parse_params({"mode": "5stems"})
    assert cap.parse_params({"shifts": "2", "overlap": "0.5"}).shifts == 2  # CLI strings coerce


def test_written_stems_sum_back_to_the_input(tmp_path: Path) -> None:
    mix = _music(2.0, 44100)
    result = _run(tmp_path, _write(tmp_path, mix, 44100))
    stems = _read_stems(result.files)
    assert list(stems) == ["drums", "bass", "vocals", "other"]
    assert result.data["stems"] == list(stems) and result.data["backend"] == "dsp"
    assert np.max(np.abs(sum(stems.values()) - mix)) < 1e-3  # 24-bit files


def test_two_stems_flac(tmp_path: Path) -> None:
    mix = _music(1.0, 44100)
    result = _run(tmp_path, _write(tmp_path, mix, 44100), mode="2stems", format="flac")
    assert set(result.files) == {"vocals", "instrumental"}
    assert all(p.suffix == ".flac" and audio_io.sniff_format(p) == "flac" for p in result.files.values())
    stems = _read_stems(result.files)
    assert np.max(np.abs(stems["vocals"] + stems["instrumental"] - mix)) < 1e-3


def test_mp3_output(tmp_path: Path) -> None:
    result = _run(tmp_path, _write(tmp_path, _music(1.0, 44100), 44100), format="mp3")
    assert all(audio_io.sniff_format(p) == "mp3" for p in result.files.values())


def test_silence(tmp_path: Path) -> None:
    result = _run(tmp_path, _write(tmp_path, np.zeros((2, 44100), np.float32), 44100))
    assert all(np.all(a == 0) for a in _read_stems(result.files).values())


def test_one_second_mono_file_stays_mono(tmp_path: Path) -> None:
    mix = _music(1.0, 22050, channels=1)
    result = _run(tmp_path, _write(tmp_path, mix, 22050))
    stems = _read_stems(result.files)
    assert all(a.shape == (1, 22050) for a in stems.values())
    assert result.data["channels"] == 1


@pytest.mark.parametrize("sr", [8000, 96000])
def test_extreme_sample_rates_keep_their_rate(tmp_path: Path, sr: int) -> None:
    mix = _music(1.0, sr)
    result = _run(tmp_path, _write(tmp_path, mix, sr))
    assert result.data["sample_rate"] == sr
    stems = _read_stems(result.files)
    assert all(a.shape == mix.shape for a in stems.values())
    assert np.max(np.abs(sum(stems.values()) - mix)) < 1e-3


def test_clipping_input(tmp_path: Path) -> None:
    mix = np.clip(_music(1.0, 44100) * 6, -1, 1)  # hard-clipped master
    result = _run(tmp_path, _write(tmp_path, mix, 44100))
    stems = _read_stems(result.files)
    assert all(np.isfinite(a).all() for a in stems.values())
    assert np.max(np.abs(sum(stems.values()) - mix)) < 2e-3


def test_over_limit_duration_is_refused_clearly(tmp_path: Path) -> None:
    path = _write(tmp_path, _music(3.0, 8000, channels=1), 8000)
    with pytest.raises(TooLarge) as info:
        run_local("stems", tmp_path / "out", inputs={"audio": path}, params={"backend": "dsp"},
                  settings=load_settings(environ={}, max_audio_minutes=0.02))
    assert "limit" in info.value.message and info.value.code == "too_long"


def test_progress_is_monotonic_and_reaches_one(tmp_path: Path) -> None:
    progress: list = []
    run_local("stems", tmp_path / "out", inputs={"audio": _write(tmp_path, _music(1.0, 22050), 22050)},
              params={"backend": "dsp"}, progress=progress)
    fractions = [f for f, _ in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) >= 6


def test_mp3_input(tmp_path: Path) -> None:
    path = audio_io.save_audio(tmp_path / "song.mp3", _music(1.5, 44100), 44100, format="mp3")
    result = _run(tmp_path, path, mode="2stems")
    assert result.data["duration_s"] > 1.4
    assert set(result.files) == {"vocals", "instrumental"}


def test_another_plugin_can_call_stems_in_process(tmp_path: Path, monkeypatch) -> None:
    """The way the remix plugin uses us: ``ctx.call("stems", ...)`` and read the named files."""
    # no weights anywhere, whatever this machine has cached: auto must pick dsp
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    from moodmix.engine.capability import Capability, RunResult
    from moodmix.engine.hookspecs import hookimpl

    def run(ctx):
        stems = ctx.call("stems", inputs={"audio": ctx.inputs["audio"]},
                         params={"mode": "4stems", "backend": "auto"}, progress=(0.0, 0.5))
        return RunResult(data={"names": sorted(stems.files), "inner": stems.data["backend"],
                               "all_exist": all(p.is_file() for p in stems.files.values())})

    class Caller:
        @hookimpl
        def register_capabilities(self):
            return [Capability(name="caller", description="test", run=run)]

    registry = make_registry(Caller())
    path = _write(tmp_path, _music(1.0, 22050), 22050)
    result = run_local("caller", tmp_path / "out", inputs={"audio": path}, registry=registry,
                       settings=load_settings(environ={}))
    assert result.data["names"] == ["bass", "drums", "other", "vocals"]
    assert result.data["inner"] == "dsp" and result.data["all_exist"]


def test_without_weights_people_see_a_short_reason_and_no_paths(tmp_path: Path, monkeypatch) -> None:
    """The fall-back is said in a few words (progress, summary); paths stay in the result's data."""
    import huggingface_hub
    import torch.hub

    from moodmix.engine.errors import BadInput

    def no_download(*args, **kwargs):
        raise AssertionError("tried to download model weights")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_download)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    models = tmp_path / "models"
    models.mkdir()
    settings = load_settings(environ={}, model_dir=str(models), device="cpu")
    song = _write(tmp_path, _music(2.0, 22050), 22050)
    progress: list = []
    result = run_local("stems", tmp_path / "out", inputs={"audio": song}, params={"backend": "auto"},
                       settings=settings, progress=progress)
    assert result.backend == "dsp"
    messages = [m for _, m in progress if m]
    said = next(m for m in messages if m.startswith("separating with"))
    assert said == ("separating with the fast built-in separator — pull htdemucs for studio quality "
                    "(`moodmix models pull htdemucs`)")
    summary = make_registry().capability("stems").summary_of(result.data)
    assert summary.endswith("(pull htdemucs for studio quality (`moodmix models pull htdemucs`))")
    for text in [*messages, summary, result.data["backend_note"]]:  # "chunk 1/2" is fine, "/tmp/x" is not
        assert not re.search(r"/[A-Za-z_.~]", text) and str(tmp_path) not in text, text
    assert str(models) in result.data["backend_reason"]  # the details, for the API and the log

    with pytest.raises(BadInput) as info:  # asked for demucs: refused up front, and short too
        run_local("stems", tmp_path / "out2", inputs={"audio": song}, params={"backend": "demucs"},
                  settings=settings)
    assert not re.search(r"/[A-Za-z_.~]", info.value.message) and "htdemucs" in info.value.message
