"""Demucs on an exported engine without torch: the numpy spectrogram steps against HTDemucs' own, the
export manifest (written once, found from the model's files, invalidated when they change), and a
worker process that separates from it without importing torch, to the same output."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from moodmix.plugins.stems import demucs_spectrum, export_manifest, model_cache, model_locator, recorded_runtime
from moodmix.plugins.stems.demucs_backend import DemucsSeparator
from moodmix.plugins.stems.demucs_runtime import snr_db
from moodmix.plugins.stems.exported_net import ExportedModel
from tests.plugins.tiny_demucs import SOURCES

pytestmark = pytest.mark.usefixtures("fresh_model_cache")


def _model(nfft: int = 1024, segment: Fraction = Fraction(2)):
    from demucs.htdemucs import HTDemucs

    torch.manual_seed(0)
    model = HTDemucs(sources=SOURCES, channels=4, depth=4, nfft=nfft, t_layers=1, t_heads=2, dconv_comp=4,
                     segment=segment)
    with torch.no_grad():  # random init leaves the layer scales near zero: make the transformer count
        for name, param in model.named_parameters():
            if name.endswith(".scale"):
                param.fill_(0.5)
    return model.eval()


def _as_float(z: np.ndarray) -> np.ndarray:
    return np.stack([z.real, z.imag]).astype(np.float64)


@pytest.mark.parametrize("length", [88200, 4097, 5000, 343980])
@pytest.mark.parametrize("nfft", [1024, 4096])
def test_spectrogram_steps_match_htdemucs(length: int, nfft: int) -> None:
    model = _model(nfft=nfft)
    if length <= nfft // 4 * 2:
        pytest.fail("the test lengths must be reflectable")
    x = torch.randn(1, 2, length, generator=torch.Generator().manual_seed(length))
    with torch.inference_mode():
        z = model._spec(x)
        ours = demucs_spectrum.spec(x.numpy(), model.nfft, model.hop_length)
        assert ours.shape == tuple(z.shape) and ours.dtype == np.complex64
        assert snr_db(_as_float(z.numpy()), _as_float(ours)) >= 120
        mag = model._magnitude(z)
        np.testing.assert_array_equal(demucs_spectrum.magnitude(z.numpy()), mag.numpy())
        net_out = torch.randn(1, 4, 4, *z.shape[-2:])  # what the network gives: (B, S, 2C, F, T)
        masked = model._mask(z, net_out)
        np.testing.assert_array_equal(demucs_spectrum.mask(net_out.numpy()), masked.numpy())
        wave = model._ispec(masked, length)
        ours_wave = demucs_spectrum.ispec(masked.numpy(), model.hop_length, length)
        assert ours_wave.shape == tuple(wave.shape) and ours_wave.dtype == np.float32
        assert snr_db(wave.numpy(), ours_wave) >= 120


def test_stft_pair_reconstructs_and_refuses_a_hop_that_does_not_divide_the_window() -> None:
    x = np.random.default_rng(0).standard_normal((2, 20000)).astype(np.float32)
    z = demucs_spectrum.stft(x, 1024, 256)
    assert z.shape == (2, 513, 1 + 20000 // 256)
    assert snr_db(x, demucs_spectrum.istft(z, 256, 20000)) >= 100
    with pytest.raises(ValueError, match="does not divide"):
        demucs_spectrum.istft(z, 300, 20000)
    with pytest.raises(ValueError, match="quarter"):
        demucs_spectrum.spec(x, 1024, 300)


def test_hub_names_and_folders_match_demucs_and_torch(monkeypatch, tmp_path: Path) -> None:
    from demucs.hf import DEFAULT_NAMESPACE, hf_repo_name

    for name in ("htdemucs", "htdemucs_ft", "htdemucs_6s", "mdx_extra_q", "hdemucs_mmi"):
        assert model_locator.hf_repo_id(name) == f"{DEFAULT_NAMESPACE}/{hf_repo_name(name)}"
    assert model_locator.hf_repo_id("someone/htdemucs_ft") == "someone/HTDemucs-ft"
    for env in ({}, {"TORCH_HOME": str(tmp_path / "th")}, {"XDG_CACHE_HOME": str(tmp_path / "xdg")}):
        monkeypatch.delenv("TORCH_HOME", raising=False)
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        assert model_locator._torch_hub_dir() == Path(torch.hub.get_dir())


def test_a_model_in_the_torch_hub_cache_is_found_without_importing_torch(monkeypatch, tmp_path: Path) -> None:
    """The bag files of demucs' own ``remote`` folder and the weights in torch's hub checkpoints."""
    from demucs.pretrained import REMOTE_ROOT

    bag = model_locator._read_bag(REMOTE_ROOT / "htdemucs.yaml")
    checkpoints = tmp_path / "th" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    for sig in bag["models"]:
        (checkpoints / f"{sig}-0000.th").write_bytes(b"weights")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    monkeypatch.setattr(model_locator, "_in_hf_cache", lambda name: None)
    found = model_locator.locate("htdemucs", None)
    assert found is not None and found.kind == "torch_cache"
    assert [f.parent for f in found.files] == [checkpoints] * len(bag["models"])


def _folder(root: Path) -> Path:
    model = _model()
    args, kwargs = model._init_args_kwargs
    folder = root / "models"
    folder.mkdir(parents=True)
    torch.save({"klass": type(model), "args": args, "kwargs": kwargs, "state": model.state_dict()},
               folder / "0123abcd.th")
    (folder / "tiny.yaml").write_text("models: ['0123abcd']\n")
    return folder


def _mix(seconds: float = 5.0) -> np.ndarray:
    rng = np.random.default_rng(1)
    t = np.arange(int(seconds * 44100)) / 44100
    return np.stack([0.3 * np.sin(2 * np.pi * 110 * t) + 0.05 * rng.standard_normal(t.size),
                     0.2 * np.sign(np.sin(2 * np.pi * 2 * t)) * rng.standard_normal(t.size)]).astype(np.float32)


def test_an_export_is_recorded_and_a_later_separator_runs_it_without_loading_the_model(tmp_path: Path) -> None:
    folder, cache = _folder(tmp_path), tmp_path / "onnx"
    files = list(model_locator.locate("tiny", str(folder)).files)
    random.seed(5)
    first = DemucsSeparator("tiny", engine="onnx", model_dir=str(folder), onnx_cache=str(cache))
    loaded = first.separate(_mix(), 44100)
    spec = export_manifest.read(cache, files)
    assert spec is not None and spec.sources == tuple(SOURCES) and spec.nets[0].segment == Fraction(2)
    assert ExportedModel.from_json(json.loads(json.dumps(spec.to_json()))) == spec

    model_cache.clear()
    recorded_runtime.forget()
    random.seed(5)
    second = DemucsSeparator("tiny", engine="onnx", model_dir=str(folder), onnx_cache=str(cache))
    again = second.separate(_mix(), 44100)
    assert model_cache.get("tiny", "cpu") is None  # the torch model was never loaded
    assert second.engine_record == first.engine_record
    for stem in SOURCES:
        np.testing.assert_array_equal(again[stem], loaded[stem])

    # the model's file replaced (a new download): its old record no longer applies
    weights = folder / "0123abcd.th"
    os.utime(weights, ns=(time.time_ns(), weights.stat().st_mtime_ns + 10**9))
    assert export_manifest.read(cache, files) is None
    assert recorded_runtime.runtime("tiny", str(folder), "onnx", cache) is None
    assert recorded_runtime.runtime("tiny", str(folder), "torch", cache) is None


def test_a_missing_record_is_prepared_in_a_child_once_and_says_so_first(tmp_path: Path) -> None:
    folder, cache = _folder(tmp_path), tmp_path / "onnx"
    calls = []
    built = recorded_runtime.runtime("tiny", str(folder), "onnx", cache, prepare=True,
                                     on_prepare=lambda: calls.append(list(cache.glob("model-*.json"))))
    assert built is not None and built.engine == "onnx"
    assert calls == [[]]  # told before the child ran, when there was no record yet
    assert model_cache.get("tiny", "cpu") is None  # the child loaded it, not this process
    recorded_runtime.forget()
    again = recorded_runtime.runtime("tiny", str(folder), "onnx", cache, prepare=True,
                                     on_prepare=lambda: calls.append("again"))
    assert again is not None and calls == [[]]  # recorded: nothing to prepare
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "0123abcd.th").write_bytes(b"not a model")
    (broken / "tiny.yaml").write_text("models: ['0123abcd']\n")
    assert recorded_runtime.runtime("tiny", str(broken), "onnx", tmp_path / "c2", prepare=True) is None


def test_a_record_naming_a_missing_graph_or_unreadable_is_ignored(tmp_path: Path) -> None:
    folder, cache = _folder(tmp_path), tmp_path / "onnx"
    DemucsSeparator("tiny", engine="onnx", model_dir=str(folder), onnx_cache=str(cache)).separate(_mix(1.0), 44100)
    files = list(model_locator.locate("tiny", str(folder)).files)
    manifest = export_manifest.manifest_path(cache, files)
    graph = cache / export_manifest.read(cache, files).nets[0].graph
    graph.rename(graph.with_suffix(".moved"))
    assert export_manifest.read(cache, files) is None
    graph.with_suffix(".moved").rename(graph)
    manifest.write_text("{not json")
    assert export_manifest.read(cache, files) is None


WORKER = """
import json, random, sys
from pathlib import Path
from moodmix.engine.config import load_settings
from moodmix.testing import run_local
folder, cache, song, out, engine = sys.argv[1:6]
environ = {"MOODMIX_PLUGINS__STEMS__ENGINE": engine, "MOODMIX_PLUGINS__STEMS__ONNX_CACHE": cache}
settings = load_settings(environ=environ, model_dir=folder, device="cpu", data_dir=str(Path(out) / "data"))
random.seed(7)
result = run_local("stems", Path(out), inputs={"audio": Path(song)},
                   params={"backend": "demucs", "model": "tiny", "shifts": 1}, settings=settings)
print(json.dumps({"torch": "torch" in sys.modules, "demucs": "demucs" in sys.modules, "engine": result.data["engine"],
                  "reason": result.data["backend_reason"]}))
"""


@pytest.mark.parametrize("engine", ["onnx", "openvino", "auto"])
def test_a_worker_separates_from_the_record_without_importing_torch(engine: str, tmp_path: Path) -> None:
    """A worker's first job on a model has a child load, export and record it; that job and every later one
    run the whole stems capability without torch or demucs imported, on the same engine, to the same
    stems."""
    from moodmix.engine.audio_io import load_audio, save_audio

    folder, cache = _folder(tmp_path), tmp_path / "onnx"
    song = save_audio(tmp_path / "song.wav", _mix(3.0), 44100, format="wav")
    runs = []
    for i in range(2):
        done = subprocess.run([sys.executable, "-c", WORKER, str(folder), str(cache), str(song),
                               str(tmp_path / f"out{i}"), engine], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    for run in runs:
        assert run["torch"] is False and run["demucs"] is False
        assert "exported for" in run["reason"]
    assert runs[1]["engine"] == runs[0]["engine"] != "torch"
    assert list(cache.glob("model-*.json"))  # the first job's child recorded the export
    for stem in ("drums", "bass", "other", "vocals"):
        a, _ = load_audio(tmp_path / "out0" / f"{stem}.wav")
        b, _ = load_audio(tmp_path / "out1" / f"{stem}.wav")
        assert np.std(a) > 1e-3
        np.testing.assert_array_equal(a, b)
