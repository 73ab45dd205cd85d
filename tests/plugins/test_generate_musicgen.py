"""The MusicGen backend on a tiny randomly initialised model, through the real ``generate`` path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from moodmix.engine.config import load_settings
from moodmix.engine.errors import JobCancelled
from moodmix.engine.execution import run_capability
from moodmix.plugins.generate import musicgen
from moodmix.plugins.generate.backends import choose_backend
from moodmix.plugins.generate.tiny_model import CODEBOOKS, SR, save_tiny_musicgen
from moodmix.testing import make_registry, run_local


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Two cores shared by many jobs: torch's own threads only fight each other here."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
    musicgen.clear_cache()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models")
    save_tiny_musicgen(root / "tiny-musicgen")
    return root


@pytest.fixture(scope="module")
def bundle(model_dir: Path) -> musicgen.MusicgenBundle:
    return musicgen.load_musicgen(model_dir / "tiny-musicgen", "cpu")


IDS = torch.tensor([[3, 4, 5, 1]])
FAST = musicgen.Sampling(guidance_scale=1.0)


def test_sample_rate_length_and_progress(bundle: musicgen.MusicgenBundle) -> None:
    progress: list = []
    audio = musicgen.generate_audio(bundle, input_ids=IDS, duration=1.0, seed=1, sampling=FAST,
                                    progress=lambda f, m: progress.append(f))
    assert bundle.sampling_rate == SR
    assert audio.shape == (1, SR)
    assert np.isfinite(audio).all() and np.abs(audio).max() > 0
    assert len(progress) == musicgen.tokens_for(1.0, bundle) == 50 + CODEBOOKS - 1  # one report per token
    assert progress == sorted(progress) and progress[-1] == 1.0


def test_seeded_runs_reproduce_and_seeds_differ(bundle: musicgen.MusicgenBundle) -> None:
    a = musicgen.generate_audio(bundle, input_ids=IDS, duration=0.6, seed=7, sampling=FAST)
    b = musicgen.generate_audio(bundle, input_ids=IDS, duration=0.6, seed=7, sampling=FAST)
    c = musicgen.generate_audio(bundle, input_ids=IDS, duration=0.6, seed=8, sampling=FAST)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_seed_does_not_disturb_the_global_generator(bundle: musicgen.MusicgenBundle) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    musicgen.generate_audio(bundle, input_ids=IDS, duration=0.3, seed=1, sampling=FAST)
    assert torch.equal(torch.rand(3), expected)


def test_windows_continue_past_the_window_length(bundle: musicgen.MusicgenBundle) -> None:
    plan = musicgen.window_plan(2.6, window=1.0, overlap=0.4)
    assert plan == [(0.0, 1.0), (0.4, 0.6), (0.4, 0.6), (0.4, 0.4)]
    progress: list = []
    audio = musicgen.generate_audio(bundle, input_ids=IDS, duration=2.6, seed=3, sampling=FAST, window=1.0,
                                    overlap=0.4, progress=lambda f, m: progress.append((f, m)))
    assert audio.shape == (1, int(2.6 * SR))
    assert np.isfinite(audio).all()
    assert progress[-1][0] == 1.0 and "window 4/4" in progress[-1][1]
    assert [f for f, _ in progress] == sorted(f for f, _ in progress)
    assert musicgen.window_plan(300, 30, 10)[-1][1] > 0 and len(musicgen.window_plan(300, 30, 10)) == 15


def test_guidance_and_text_through_the_tokenizer(bundle: musicgen.MusicgenBundle) -> None:
    audio = musicgen.generate_audio(bundle, text="sad lofi piano", duration=0.4, seed=2,
                                    sampling=musicgen.Sampling(guidance_scale=3.0, top_k=50, temperature=0.9))
    assert audio.shape == (1, int(0.4 * SR))


def test_model_is_loaded_once_per_process(model_dir: Path, bundle: musicgen.MusicgenBundle) -> None:
    again = musicgen.load_musicgen(model_dir / "tiny-musicgen", "cpu")
    assert again is bundle
    assert (str(model_dir / "tiny-musicgen"), "cpu") in musicgen.cached_models()


def test_auto_picks_musicgen_only_when_weights_are_local(model_dir: Path, tmp_path: Path) -> None:
    found = choose_backend("auto", "tiny-musicgen", "tiny-musicgen-melody", str(model_dir), has_melody=False)
    assert found.name == "musicgen" and "weights found locally" in found.reason
    missing = choose_backend("auto", "tiny-musicgen", "x", str(tmp_path), has_melody=False)
    assert missing.name == "procedural" and "no local MusicGen weights" in missing.reason


def test_capability_runs_musicgen_end_to_end(model_dir: Path, bundle: musicgen.MusicgenBundle,
                                             tmp_path: Path) -> None:
    settings = load_settings(environ={}, model_dir=str(model_dir))
    params = {"model": "tiny-musicgen", "duration": 1.5, "seed": 4, "window": 5, "overlap": 1,
              "guidance_scale": 1.0}
    progress: list = []
    result = run_local("generate", tmp_path / "a", texts={"prompt": "happy house 120 bpm"}, params=params,
                       settings=settings, progress=progress)
    again = run_local("generate", tmp_path / "b", texts={"prompt": "happy house 120 bpm"}, params=params,
                      settings=settings)
    assert result.backend == "musicgen" and "tiny-musicgen" in result.data["backend_reason"]
    audio, sr = sf.read(result.files["audio"], dtype="float32", always_2d=True)
    assert sr == SR and audio.shape == (int(1.5 * SR), 1)
    assert result.files["audio"].read_bytes() == again.files["audio"].read_bytes()
    spec = json.loads(result.files["spec"].read_text())
    assert spec["backend"] == "musicgen" and spec["seed"] == 4 and spec["model"] == "tiny-musicgen"
    assert sum(1 for _, m in progress if m and "tokens" in m) >= 50
    assert musicgen.load_musicgen(model_dir / "tiny-musicgen", "cpu") is bundle  # the job reused it


def test_an_overshooting_codec_output_is_limited_to_the_true_peak_ceiling(
        model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The codec can decode past full scale; the file holds the master's -1 dBTP ceiling, not a clip."""
    from moodmix.engine.loudness import true_peak_dbtp

    t = np.arange(int(1.5 * SR)) / SR
    loud = (1.6 * np.sin(2 * np.pi * 997 * t)).astype(np.float32)[None, :]
    monkeypatch.setattr(musicgen, "generate_audio", lambda *a, **k: loud.copy())
    settings = load_settings(environ={}, model_dir=str(model_dir))
    result = run_local("generate", tmp_path / "a", texts={"prompt": "loud"},
                       params={"model": "tiny-musicgen", "duration": 1.5, "format": "wav"}, settings=settings)
    audio, sr = sf.read(result.files["audio"], dtype="float32", always_2d=True)
    peak = true_peak_dbtp(audio.T, sr)
    assert peak is not None and -1.6 < peak <= -1.0 + 0.05  # limited to the ceiling, not scaled far under it
    assert float(np.abs(audio).max()) < 0.95


def test_cancelling_stops_generation_between_tokens(model_dir: Path, bundle: musicgen.MusicgenBundle,
                                                    tmp_path: Path) -> None:
    calls = {"n": 0}

    def cancelled() -> bool:
        calls["n"] += 1
        return calls["n"] > 10

    with pytest.raises(JobCancelled):
        run_capability(make_registry(), "generate", texts={"prompt": "rock"}, output_dir=tmp_path,
                       params={"model": "tiny-musicgen", "duration": 20, "guidance_scale": 1.0},
                       settings=load_settings(environ={}, model_dir=str(model_dir)), cancelled=cancelled)
    assert calls["n"] < 30  # stopped within a few tokens, not after 1000


def test_melody_model_follows_a_reference_melody_across_windows(tmp_path: Path) -> None:
    from moodmix.plugins.generate.model_store import find_model

    save_tiny_musicgen(tmp_path / "tiny-melody", melody=True)
    location = find_model("tiny-melody", tmp_path)
    assert location.found and location.is_melody
    bundle = musicgen.load_musicgen(location.path, "cpu", melody=True)
    assert bundle.melody
    t = np.arange(2 * SR) / SR
    tune = (0.3 * np.sin(2 * np.pi * np.where(t < 1, 440.0, 660.0) * t)).astype(np.float32)[None]
    features = musicgen.melody_features(tune, SR)
    assert features.shape[-1] == 12 and torch.all(features.sum(-1) == 1)
    assert features[0, 2].argmax() == 9 and features[0, -2].argmax() == 4  # A then E
    args = {"text": "sad piano", "duration": 1.6, "seed": 1, "window": 1.0, "overlap": 0.4, "melody_sr": SR}
    with_tune = musicgen.generate_audio(bundle, melody=tune, **args)
    silent = musicgen.generate_audio(bundle, melody=np.zeros_like(tune), **args)
    assert with_tune.shape == (1, int(1.6 * SR))
    assert not np.array_equal(with_tune, silent)  # the chroma conditioning reaches the model


def test_melody_input_through_the_capability(tmp_path: Path) -> None:
    save_tiny_musicgen(tmp_path / "models" / "musicgen-melody", melody=True)
    save_tiny_musicgen(tmp_path / "models" / "musicgen-small")
    tune = tmp_path / "tune.wav"
    sf.write(tune, 0.3 * np.sin(2 * np.pi * 440 * np.arange(SR) / SR), SR)
    settings = load_settings(environ={}, model_dir=str(tmp_path / "models"))
    result = run_local("generate", tmp_path / "out", texts={"prompt": "sad piano"}, inputs={"melody": tune},
                       params={"duration": 0.8, "seed": 1, "guidance_scale": 1.0}, settings=settings)
    assert result.backend == "musicgen" and "musicgen-melody" in result.data["backend_reason"]
    assert result.data["spec"]["melody"] is True
    plain = run_local("generate", tmp_path / "plain", texts={"prompt": "sad piano"},
                      params={"duration": 0.8, "seed": 1, "guidance_scale": 1.0}, settings=settings)
    assert "musicgen-small" in plain.data["backend_reason"] and plain.data["spec"]["melody"] is False
