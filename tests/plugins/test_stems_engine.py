"""The demucs engines (``[plugins.stems] engine``): ONNX Runtime agrees with eager torch, falls back, is recorded."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from moodmix.cli import cli
from moodmix.engine import audio_io
from moodmix.plugins.stems import demucs_openvino, demucs_runtime, exported_net, model_cache
from moodmix.plugins.stems.demucs_backend import DemucsSeparator

pytestmark = pytest.mark.usefixtures("fresh_model_cache")

SOURCES = ["drums", "bass", "other", "vocals"]


def tiny_htdemucs():
    """A random HTDemucs with every part of the real one (both branches, cross-transformer)."""
    from demucs.htdemucs import HTDemucs

    torch.manual_seed(0)
    model = HTDemucs(sources=SOURCES, channels=4, depth=4, nfft=1024, t_layers=1, t_heads=2, dconv_comp=4,
                     segment=Fraction(2))
    # random init leaves the transformer's layer scales near zero: make it matter to the output
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith(".scale"):
                param.fill_(0.5)
    return model.eval()


@pytest.fixture
def mix() -> np.ndarray:
    rng = np.random.default_rng(1)
    t = np.arange(int(5.0 * 44100)) / 44100
    audio = np.stack([0.3 * np.sin(2 * np.pi * 110 * t) + 0.05 * rng.standard_normal(t.size),
                      0.2 * np.sign(np.sin(2 * np.pi * 2 * t)) * rng.standard_normal(t.size)])
    return audio.astype(np.float32)


def _separate(engine: str, audio: np.ndarray, cache: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    random.seed(0)  # the random shifts
    sep = DemucsSeparator("tiny", engine=engine, onnx_cache=str(cache), shifts=1, overlap=0.25)
    return sep.separate(audio, 44100), sep.engine_record


def test_onnx_engine_agrees_with_eager_torch_per_stem(mix: np.ndarray, tmp_path: Path) -> None:
    model_cache.put("tiny", "cpu", tiny_htdemucs())
    eager, eager_record = _separate("torch", mix, tmp_path)
    onnx, onnx_record = _separate("onnx", mix, tmp_path)
    assert eager_record["engine"] == "torch" and onnx_record["engine"] == "onnx"
    for stem in SOURCES:
        assert np.std(eager[stem]) > 1e-3  # a real signal, not two silences agreeing
        assert demucs_runtime.snr_db(eager[stem], onnx[stem]) >= 40.0, stem
    assert "int8 transformer" in onnx_record["engine_reason"]  # this model's calibration passes
    graphs = sorted(p.name for p in tmp_path.glob("htdemucs-*.onnx"))
    assert len(graphs) == 2 and graphs[0].endswith(".int8.onnx")  # the export and its int8 variant


def test_int8_is_used_only_where_its_calibration_passes_and_the_verdict_is_kept(tmp_path: Path,
                                                                              monkeypatch) -> None:
    import onnx

    from moodmix.plugins.stems import onnx_int8

    model = tiny_htdemucs()
    path = demucs_runtime.export_core(model, tmp_path)
    spec = exported_net.ExportedNet.of(model, path)
    verdict = onnx_int8.prepare(path, spec.to_json(), 1)
    assert verdict.use_int8 and onnx_int8.MIN_SNR_DB <= verdict.snr_db < 200
    ops = [node.op_type for node in onnx.load(str(onnx_int8.int8_graph_path(path))).graph.node]
    assert ops.count("MatMulInteger") > 0 and ops.count("Conv") == sum(
        n.op_type == "Conv" for n in onnx.load(str(path)).graph.node)  # linear layers only
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("calibrated twice"))
    assert onnx_int8.prepare(path, spec.to_json(), 1) == verdict  # kept beside the graph
    monkeypatch.setattr(onnx_int8, "MIN_SNR_DB", verdict.snr_db + 1)  # a model whose int8 falls short
    short = onnx_int8.prepare(path, spec.to_json(), 1)
    assert not short.use_int8 and "reached only" in short.why
    graph, why = demucs_runtime._onnx_graph(path, spec, 1, int8=True)
    assert graph == path and why == short.why
    graph, why = demucs_runtime._onnx_graph(path, spec, 1, int8=False)
    assert graph == path and "int8 off" in why


def test_int8_off_in_the_settings_runs_float32(mix: np.ndarray, tmp_path: Path) -> None:
    model_cache.put("tiny", "cpu", tiny_htdemucs())
    random.seed(0)
    sep = DemucsSeparator("tiny", engine="onnx", onnx_cache=str(tmp_path), int8=False)
    sep.separate(mix[:, :44100], 44100)
    assert sep.engine_record["engine_reason"] == "onnx requested; onnx runtime, float32 (int8 off in the settings)"
    assert not list(tmp_path.glob("*.int8.onnx"))


def test_export_is_cached_by_weights(tmp_path: Path) -> None:
    model = tiny_htdemucs()
    first = demucs_runtime.export_core(model, tmp_path)
    stamp = first.stat().st_mtime_ns
    assert demucs_runtime.export_core(tiny_htdemucs(), tmp_path) == first
    assert first.stat().st_mtime_ns == stamp  # reused, not written again
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    assert demucs_runtime.export_core(model, tmp_path) != first  # other weights, another graph


def test_an_export_left_unfinished_by_a_killed_process_is_swept(tmp_path: Path) -> None:
    """A worker killed while exporting leaves a model-sized ``.tmp``; the next export removes it, and
    leaves alone what a live process is still writing."""
    import os
    import subprocess
    import time

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    dead = int(gone.stdout)
    killed = tmp_path / f"htdemucs-abc-343980.{dead}.tmp"
    killed_ov = tmp_path / f"htdemucs-abc-343980.onnx.b1.{dead}.tmp.xml"
    writing = tmp_path / f"htdemucs-def-343980.{os.getppid()}.tmp"
    recent_verdict = tmp_path / "htdemucs-def-343980.openvino.tmp"
    old_verdict = tmp_path / "htdemucs-abc-343980.openvino.tmp"
    for path in (killed, killed_ov, writing, recent_verdict, old_verdict):
        path.write_bytes(b"half a model")
    os.utime(old_verdict, (time.time() - 7200, time.time() - 7200))
    demucs_runtime.export_core(tiny_htdemucs(), tmp_path)
    assert not killed.exists() and not killed_ov.exists() and not old_verdict.exists()
    assert writing.exists() and recent_verdict.exists()
    assert not list(tmp_path.glob(f"*.{os.getpid()}.tmp"))  # our own export finished and was renamed


def test_auto_falls_back_to_torch_without_onnxruntime(mix: np.ndarray, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if it were not installed
    monkeypatch.setitem(sys.modules, "openvino", None)
    model_cache.put("tiny", "cpu", tiny_htdemucs())
    sources, record = _separate("auto", mix[:, :44100], tmp_path)
    assert record["engine"] == "torch"
    assert "onnx unavailable" in record["engine_reason"] and "onnxruntime" in record["engine_reason"]
    assert "openvino unavailable" in record["engine_reason"]
    assert set(sources) == set(SOURCES)
    with pytest.raises(demucs_runtime.EngineUnavailable):
        demucs_runtime.wrap(tiny_htdemucs(), "onnx", tmp_path)


def test_a_model_that_is_not_htdemucs_stays_on_torch(tmp_path: Path) -> None:
    from demucs.demucs import Demucs

    runtime = demucs_runtime.wrap(Demucs(sources=SOURCES, channels=4, depth=2), "auto", tmp_path)
    assert runtime.engine == "torch" and "only HTDemucs exports" in runtime.why


def _model_folder(folder: Path) -> Path:
    """The tiny model as a local demucs repo (``SIG.th`` + ``NAME.yaml``)."""
    model = tiny_htdemucs()
    args, kwargs = model._init_args_kwargs
    folder.mkdir(parents=True)
    state = model.state_dict()
    torch.save({"klass": type(model), "args": args, "kwargs": kwargs, "state": state}, folder / "0123abcd.th")
    (folder / "tiny.yaml").write_text("models: ['0123abcd']\n")
    return folder


FASTEST = "openvino" if demucs_openvino.bf16_native() else "onnx"  # what auto picks on this machine


@pytest.mark.parametrize(("engine", "block_ort", "expected"),
                         [("auto", False, FASTEST), ("onnx", False, "onnx"), ("torch", False, "torch"),
                          ("auto", True, "torch")])
def test_cli_records_the_engine(engine: str, block_ort: bool, expected: str, mix: np.ndarray, tmp_path: Path,
                                monkeypatch) -> None:
    monkeypatch.setenv("MOODMIX_MODEL_DIR", str(_model_folder(tmp_path / "models")))
    monkeypatch.setenv("MOODMIX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MOODMIX_MODEL_DOWNLOAD", "never")
    monkeypatch.setenv("MOODMIX_DEVICE", "cpu")
    monkeypatch.setenv("MOODMIX_PLUGINS__STEMS__ENGINE", engine)
    if block_ort:
        monkeypatch.setitem(sys.modules, "onnxruntime", None)
        monkeypatch.setitem(sys.modules, "openvino", None)
    song = audio_io.save_audio(tmp_path / "song.wav", mix[:, :88200], 44100, format="wav")
    ran = CliRunner().invoke(cli, ["run", "stems", str(song), "-p", "backend=demucs", "-p", "model=tiny",
                                   "-p", "shifts=0", "-o", str(tmp_path / "out"), "-q"], catch_exceptions=False)
    assert ran.exit_code == 0, ran.output
    doc = json.loads((tmp_path / "out" / "result.json").read_text())
    assert doc["backend"] == "demucs" and doc["data"]["engine"] == expected
    if block_ort:
        assert "onnx unavailable" in doc["data"]["engine_reason"]
    if expected in ("onnx", "openvino"):
        assert list((tmp_path / "data" / "cache" / "onnx").glob("*.onnx"))


def test_openvino_engine_agrees_with_eager_torch_per_stem(mix: np.ndarray, tmp_path: Path) -> None:
    model_cache.put("tiny", "cpu", tiny_htdemucs())
    eager, _ = _separate("torch", mix, tmp_path)
    ov, record = _separate("openvino", mix, tmp_path)
    assert record["engine"] == "openvino"
    precision = "bfloat16" if demucs_openvino.bf16_native() else "float32"
    assert precision in record["engine_reason"], record
    for stem in SOURCES:
        assert np.std(eager[stem]) > 1e-3
        assert demucs_runtime.snr_db(eager[stem], ov[stem]) >= 40.0, stem


def test_bfloat16_needs_the_calibration_to_pass_and_the_verdict_is_kept(tmp_path: Path, monkeypatch) -> None:
    model = tiny_htdemucs()
    path = demucs_runtime.export_core(model, tmp_path)
    graph = demucs_openvino.static_graph_path(path)
    graph.write_text("<net/>")  # made already: only the verdict is missing
    monkeypatch.setattr(demucs_openvino, "bf16_native", lambda: True)
    monkeypatch.setattr(demucs_openvino, "calibrate", lambda *a, **k: 31.5)
    made, verdict = demucs_openvino.prepare(model, path, 1)
    assert made == graph and verdict.precision == "f32" and "31.5 dB" in verdict.why

    def no_second_calibration(*args, **kwargs):
        raise AssertionError("calibrated again")

    monkeypatch.setattr(demucs_openvino, "calibrate", no_second_calibration)
    assert demucs_openvino.prepare(model, path, 1)[1].snr_db == 31.5  # read back from beside the graph
    demucs_openvino.verdict_path(path).write_text("{broken")
    monkeypatch.setattr(demucs_openvino, "calibrate", lambda *a, **k: 55.0)
    assert demucs_openvino.prepare(model, path, 1)[1].precision == "bf16"


def test_auto_skips_openvino_when_bfloat16_fails_calibration(tmp_path: Path, monkeypatch) -> None:
    model = tiny_htdemucs()
    monkeypatch.setattr(demucs_openvino, "bf16_native", lambda: True)
    monkeypatch.setattr(demucs_openvino, "MIN_SNR_DB", 500.0)  # no model clears it
    # auto does not take float32 OpenVINO: ONNX Runtime runs float32 as fast; it says why it skipped it
    runtime = demucs_runtime.wrap(model, "auto", tmp_path)
    assert runtime.engine == "onnx" and "openvino unavailable" in runtime.why and "needs 500" in runtime.why
    # asked for by name, it runs the model in float32 and says why
    runtime = demucs_runtime.wrap(model, "openvino", tmp_path)
    assert runtime.engine == "openvino" and "float32: bfloat16 reached only" in runtime.why
    assert demucs_openvino.static_graph_path(demucs_runtime.export_core(model, tmp_path)).exists()


def test_calibration_measures_bfloat16_against_float32(tmp_path: Path) -> None:
    """The child process writes the static graph and really runs both precisions (on a CPU without
    bfloat16 units OpenVINO emulates it, slowly but with the same rounding)."""
    model = tiny_htdemucs()
    path = demucs_runtime.export_core(model, tmp_path)
    snr = demucs_openvino.calibrate(model, path, 1)
    assert 20.0 < snr < 120.0
    assert demucs_openvino.static_graph_path(path).exists()
    assert demucs_openvino.static_graph_path(path).with_suffix(".bin").stat().st_size > 100_000


def test_probe_is_deterministic_music_like_and_normalised() -> None:
    a = demucs_openvino.probe_mix(44100, 44100 * 3, 2)
    assert np.array_equal(a, demucs_openvino.probe_mix(44100, 44100 * 3, 2))
    assert a.shape == (2, 132300) and a.dtype == np.float32
    assert abs(float(a.std()) - 1.0) < 1e-3 and not np.allclose(a[0], a[1])


def test_doctor_says_which_engine_auto_takes(monkeypatch) -> None:
    from types import SimpleNamespace

    from moodmix.plugins.stems.doctor import engine_check

    auto = SimpleNamespace(plugins={})
    line = engine_check(auto)
    assert line.ok and line.detail.startswith(FASTEST.replace("onnx", "onnx runtime"))
    assert engine_check(SimpleNamespace(plugins={"stems": {"engine": "torch"}})).detail.startswith("torch (set in")
    monkeypatch.setitem(sys.modules, "openvino", None)
    monkeypatch.setattr(demucs_openvino, "bf16_native", lambda: False)
    assert engine_check(auto).detail.startswith("onnx runtime (float32, the transformer's linear layers in int8")
    no_int8 = SimpleNamespace(plugins={"stems": {"onnx_int8": False}})
    assert engine_check(no_int8).detail.startswith("onnx runtime (float32; no native")


def test_an_exported_engine_releases_the_torch_weights_and_torch_gets_them_back(tmp_path: Path,
                                                                                  mix: np.ndarray) -> None:
    """A model loaded from files keeps no torch weights while ONNX Runtime runs it; asking for the torch
    engine afterwards loads them again, and separates exactly as a model that never let them go."""
    from moodmix.plugins.stems import weight_release

    model = tiny_htdemucs()
    args, kwargs = model._init_args_kwargs
    folder = tmp_path / "models"
    folder.mkdir()
    torch.save({"klass": type(model), "args": args, "kwargs": kwargs, "state": model.state_dict()},
               folder / "0123abcd.th")
    (folder / "mybag.yaml").write_text("models: ['0123abcd']\n")

    def separator(engine: str) -> DemucsSeparator:
        return DemucsSeparator("mybag", engine=engine, model_dir=str(folder), onnx_cache=str(tmp_path / "onnx"))

    random.seed(3)  # the same random shift for every run compared
    onnx = separator("onnx").separate(mix, 44100)
    held = model_cache.get("mybag", "cpu")
    assert weight_release.is_released(held) and sum(p.numel() for p in held.parameters()) == 0
    random.seed(3)
    eager = separator("torch").separate(mix, 44100)
    assert not weight_release.is_released(held)
    assert sum(p.numel() for p in held.parameters()) == sum(p.numel() for p in model.parameters())
    model_cache.put("fresh", "cpu", model)  # handed over in memory: nowhere to reload it from, never released
    random.seed(3)
    never_released = DemucsSeparator("fresh", engine="torch").separate(mix, 44100)
    for stem in SOURCES:
        np.testing.assert_array_equal(eager[stem], never_released[stem])
        assert demucs_runtime.snr_db(eager[stem], onnx[stem]) >= 40.0, stem
    assert model_cache.load_counts[("mybag", "cpu")] == 1  # restored in place, not a second cached model
    separator("onnx").separate(mix, 44100)  # its runtime is still built: weights kept for the torch runtime
    assert not weight_release.is_released(held)
    DemucsSeparator("fresh", engine="onnx", onnx_cache=str(tmp_path / "onnx")).separate(mix, 44100)
    assert not weight_release.is_released(model)
