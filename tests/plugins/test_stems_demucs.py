"""The demucs backend on the real code path, with small random models (no weights, no network)."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from moodmix.engine import audio_io
from moodmix.engine.config import load_settings
from moodmix.engine.errors import BadInput
from moodmix.plugins.stems import demucs_backend, model_cache, model_locator
from moodmix.plugins.stems.capability import fold_sources
from moodmix.testing import run_local

pytestmark = pytest.mark.usefixtures("fresh_model_cache")

SOURCES = ["drums", "bass", "other", "vocals"]


def tiny_htdemucs(sources: list[str] = SOURCES, segment: float = 2.0):
    """HTDemucs with random weights, small enough to run a segment in ~30 ms."""
    from demucs.htdemucs import HTDemucs

    torch.manual_seed(0)
    model = HTDemucs(sources=sources, channels=4, depth=4, nfft=1024, t_layers=1, t_heads=2,
                     dconv_comp=4, segment=Fraction(segment).limit_denominator(100))
    return model.eval()


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to download weights fails the test."""
    import huggingface_hub
    import torch.hub

    def boom(*args, **kwargs):
        raise AssertionError("tried to download model weights")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", boom)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", boom)
    monkeypatch.setattr("huggingface_hub.file_download.hf_hub_download", boom)


@pytest.fixture
def no_cached_weights(tmp_path: Path, monkeypatch):
    """Empty Hugging Face and torch hub caches, whatever this machine holds."""
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


@pytest.fixture
def song(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    t = np.arange(int(3.0 * 44100)) / 44100
    audio = np.stack([0.2 * np.sin(2 * np.pi * 220 * t), 0.1 * rng.standard_normal(t.size)])
    audio = audio.astype(np.float32)
    return audio_io.save_audio(tmp_path / "song.wav", audio, 44100, format="wav")


def _settings(model_dir: Path | str = ""):
    return load_settings(environ={}, model_dir=str(model_dir), device="cpu")


def test_injected_htdemucs_runs_per_segment_and_is_reused(song: Path, tmp_path: Path, no_network) -> None:
    model_cache.put("tiny", "cpu", tiny_htdemucs())
    progress: list = []
    params = {"backend": "demucs", "model": "tiny", "shifts": 0, "segment": 1.0, "overlap": 0.25}
    result = run_local("stems", tmp_path / "a", inputs={"audio": song}, params=params,
                       settings=_settings(), progress=progress)
    assert result.backend == "demucs" and result.data["backend"] == "demucs"
    assert set(result.files) == {"drums", "bass", "vocals", "other"}
    assert result.data["stems"] == ["drums", "bass", "vocals", "other"]
    assert result.data["sample_rate"] == 44100
    for path in result.files.values():
        audio, sr = audio_io.load_audio(path)
        assert audio.shape == (2, 3 * 44100) and sr == 44100
    segment_reports = [f for f, m in progress if m and m.startswith("demucs segment")]
    assert len(segment_reports) == 4  # 3 s in 1 s segments with 25 % overlap: offsets 0, .75, 1.5, 2.25
    assert segment_reports == sorted(segment_reports)
    assert 0.05 < segment_reports[0] < segment_reports[-1] <= 0.92
    # second job: same model object, nothing reloaded
    again = run_local("stems", tmp_path / "b", inputs={"audio": song}, params=params | {"mode": "2stems"},
                      settings=_settings())
    assert set(again.files) == {"vocals", "instrumental"}
    assert model_cache.load_counts == {}  # injected, never loaded from disk


def test_segment_longer_than_model_allows_is_clamped() -> None:
    model_cache.put("tiny", "cpu", tiny_htdemucs(segment=1.0))
    sep = demucs_backend.DemucsSeparator("tiny", segment=5.0, shifts=0)
    out = sep.separate(np.zeros((1, 100), np.float32) + 0.1, 44100)
    assert sep.used_segment == pytest.approx(1.0)
    assert out["vocals"].shape == (1, 100)  # mono in, mono out, same length


def test_demucs_unittest_loads_once_per_process(song: Path, tmp_path: Path, no_network) -> None:
    params = {"backend": "demucs", "model": "demucs_unittest", "shifts": 0}
    first = run_local("stems", tmp_path / "a", inputs={"audio": song}, params=params, settings=_settings())
    second = run_local("stems", tmp_path / "b", inputs={"audio": song}, params=params, settings=_settings())
    assert first.data["backend"] == second.data["backend"] == "demucs"
    assert model_cache.load_counts == {("demucs_unittest", "cpu"): 1}
    assert "already loaded" in second.data["backend_reason"]


def test_auto_falls_back_to_dsp_without_weights(song: Path, tmp_path: Path, no_network,
                                                no_cached_weights) -> None:
    empty = tmp_path / "models"
    empty.mkdir()
    result = run_local("stems", tmp_path / "out", inputs={"audio": song}, params={"backend": "auto"},
                       settings=_settings(empty))
    assert result.backend == "dsp"
    assert "htdemucs" in result.data["backend_reason"] and str(empty) in result.data["backend_reason"]
    assert set(result.files) == {"drums", "bass", "vocals", "other"}


def test_demucs_requested_without_weights_says_what_to_do(song: Path, tmp_path: Path, no_network,
                                                          no_cached_weights) -> None:
    with pytest.raises(BadInput) as info:  # refused before anything runs, whatever ran earlier in the process
        run_local("stems", tmp_path / "out", inputs={"audio": song},
                  params={"backend": "demucs", "model": "htdemucs_ft"}, settings=_settings(tmp_path))
    assert "htdemucs_ft" in info.value.message and "backend=dsp" in info.value.message
    assert info.value.code == "model_not_installed"


def test_model_folder_in_demucs_repo_layout(tmp_path: Path, song: Path, no_network) -> None:
    model = tiny_htdemucs()
    args, kwargs = model._init_args_kwargs
    package = {"klass": type(model), "args": args, "kwargs": kwargs, "state": model.state_dict()}
    folder = tmp_path / "models"
    folder.mkdir()
    torch.save(package, folder / "0123abcd.th")
    (folder / "mybag.yaml").write_text("models: ['0123abcd']\nsegment: 2\n")
    location = model_locator.locate("mybag", folder)
    assert location is not None and location.kind == "model_dir"
    result = run_local("stems", tmp_path / "out", inputs={"audio": song},
                       params={"backend": "auto", "model": "mybag", "shifts": 0}, settings=_settings(folder))
    assert result.backend == "demucs" and result.data["engine"] in ("onnx", "openvino")
    # a child loaded and exported it; this process runs the recorded graphs without loading it
    assert model_cache.load_counts == {} and "exported for" in result.data["backend_reason"]


def test_hugging_face_cache_layout_is_found_offline(tmp_path: Path, monkeypatch, no_network) -> None:
    """demucs 4.1 stores adefossez/HTDemucs-ft with NAME.yaml + SIG.safetensors; we read it from the cache."""
    import huggingface_hub.constants
    from safetensors.torch import save_file

    model = tiny_htdemucs()
    args, kwargs = model._init_args_kwargs
    kwargs = {k: ({"_type": "fraction", "numerator": v.numerator, "denominator": v.denominator}
                  if isinstance(v, Fraction) else v) for k, v in kwargs.items()}
    snap = tmp_path / "hub" / "models--adefossez--HTDemucs-ft" / "snapshots" / ("a" * 40)
    snap.mkdir(parents=True)
    (snap.parents[1] / "refs").mkdir()
    (snap.parents[1] / "refs" / "main").write_text("a" * 40)
    (snap / "htdemucs_ft.yaml").write_text("models: ['f7e0c4bc']\n")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(snap / "f7e0c4bc.safetensors"),
              metadata={"klass": "demucs.htdemucs.HTDemucs", "args": json.dumps(list(args)),
                        "kwargs": json.dumps(kwargs)})
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    location = model_locator.locate("htdemucs_ft", None)
    assert location is not None and location.kind == "hf_cache"
    loaded = model_locator.load(location)
    assert list(loaded.sources) == SOURCES
    assert torch.equal(next(loaded.parameters()), next(model.parameters()))
    assert model_locator.locate("htdemucs", None) is None  # another name is still missing


def test_six_source_models_fold_guitar_and_piano_into_other() -> None:
    names = ["drums", "bass", "other", "vocals", "guitar", "piano"]
    sources = {n: np.full((2, 4), i + 1, np.float32) for i, n in enumerate(names)}
    four = fold_sources(sources, "4stems")
    assert list(four) == ["drums", "bass", "vocals", "other"]
    assert np.all(four["other"] == 3 + 5 + 6)
    two = fold_sources(sources, "2stems")
    assert np.all(two["instrumental"] == 1 + 2 + 3 + 5 + 6) and np.all(two["vocals"] == 4)


def test_segment_count_matches_demucs_passes() -> None:
    model = tiny_htdemucs()
    calls: list[dict] = []
    from demucs.apply import apply_model

    apply_model(model, torch.zeros(1, 2, 44100 * 3), shifts=0, split=True, overlap=0.5, segment=1.0,
                callback=calls.append)
    assert demucs_backend.count_segments(model, 44100 * 3, 1.0, 0.5, 0) == len(calls) // 2


def test_cancelling_stops_between_segments(song: Path, tmp_path: Path) -> None:
    from moodmix.engine.errors import JobCancelled
    from moodmix.engine.execution import run_capability
    from moodmix.testing import make_registry

    model_cache.put("tiny", "cpu", tiny_htdemucs())
    seen: list[str] = []

    def progress(fraction: float, message: str | None = None) -> None:
        seen.append(message or "")

    def cancelled() -> bool:  # the user cancels once the first segment is done
        return any(m.startswith("demucs segment") for m in seen)

    with pytest.raises(JobCancelled):
        run_capability(make_registry(), "stems", inputs={"audio": song}, output_dir=tmp_path / "out",
                       params={"backend": "demucs", "model": "tiny", "shifts": 0, "segment": 1.0},
                       settings=_settings(), progress=progress, cancelled=cancelled)
    assert sum(m.startswith("demucs segment") for m in seen) == 1
    assert not list((tmp_path / "out").glob("*.wav"))


def test_torch_hub_cache_of_the_legacy_downloader_is_found(tmp_path: Path, no_cached_weights) -> None:
    assert model_locator.locate("htdemucs", None) is None
    checkpoints = tmp_path / "torch" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "955717e8-8726e21a.th").write_bytes(b"weights")  # the file demucs' RemoteRepo would fetch
    location = model_locator.locate("htdemucs", None)
    assert location is not None and location.kind == "torch_cache"
    assert location.files == (checkpoints / "955717e8-8726e21a.th",)
    assert model_locator.locate("mdx_extra", None) is None  # a bag of four: all four must be there
