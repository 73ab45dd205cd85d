"""``moodmix models`` and the neural paths end to end, against a loopback fake of the hub.

The fake hub serves a random-weight HTDemucs in demucs 4.1's own hub layout
(``htdemucs.yaml`` + ``955717e8.safetensors`` with the class and arguments in the metadata)
and a tiny random MusicGen saved by transformers, under their real repository ids.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from models.fake_hub import FakeHub

from moodmix.cli import cli
from moodmix.engine import audio_io
from moodmix.engine.config import load_settings
from moodmix.plugins.generate import musicgen
from moodmix.plugins.stems import model_cache

SIG = "955717e8"


def tiny_htdemucs_files(folder: Path) -> Path:
    """A random HTDemucs (85k parameters) as demucs' hub export writes it."""
    from demucs.htdemucs import HTDemucs
    from safetensors.torch import save_file

    torch.manual_seed(0)
    model = HTDemucs(sources=["drums", "bass", "other", "vocals"], channels=4, depth=4, nfft=1024, t_layers=1,
                     t_heads=2, dconv_comp=4, segment=Fraction(2))
    args, kwargs = model._init_args_kwargs
    kwargs = {k: ({"_type": "fraction", "numerator": v.numerator, "denominator": v.denominator}
                  if isinstance(v, Fraction) else v) for k, v in kwargs.items()}
    folder.mkdir(parents=True)
    (folder / "htdemucs.yaml").write_text(f"models: ['{SIG}']\n")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / f"{SIG}.safetensors"),
              metadata={"klass": "demucs.htdemucs.HTDemucs", "args": json.dumps(list(args)),
                        "kwargs": json.dumps(kwargs)})
    return folder


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from moodmix.plugins.generate.tiny_model import save_tiny_musicgen

    root = tmp_path_factory.mktemp("hub-repos")
    return {"adefossez/HTDemucs": tiny_htdemucs_files(root / "htdemucs"),
            "facebook/musicgen-small": save_tiny_musicgen(root / "musicgen-small")}


@pytest.fixture
def hub(repos, monkeypatch):
    import huggingface_hub.constants

    server = FakeHub()
    for repo_id, folder in repos.items():
        server.add_folder(repo_id, folder)
    server.start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    yield server
    server.stop()


@pytest.fixture
def env(tmp_path: Path, monkeypatch) -> Path:
    """The CLI's settings: a fresh model folder, data folder and download policy per test."""
    models = tmp_path / "models"
    monkeypatch.setenv("MOODMIX_MODEL_DIR", str(models))
    monkeypatch.setenv("MOODMIX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MOODMIX_MODEL_DOWNLOAD", "never")
    monkeypatch.setenv("MOODMIX_DEVICE", "cpu")
    model_cache.clear()
    musicgen.clear_cache()
    yield models
    model_cache.clear()
    musicgen.clear_cache()


@pytest.fixture
def song(tmp_path: Path) -> Path:
    t = np.arange(int(2.0 * 44100)) / 44100
    audio = np.stack([0.2 * np.sin(2 * np.pi * 220 * t), 0.2 * np.sin(2 * np.pi * 330 * t)]).astype(np.float32)
    return audio_io.save_audio(tmp_path / "song.wav", audio, 44100, format="wav")


def moodmix(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_list_shows_every_known_model_with_licence() -> None:
    result = moodmix("models", "list")
    assert result.exit_code == 0
    for name in ("htdemucs", "htdemucs_ft", "htdemucs_6s", "mdx_extra", "musicgen-small", "musicgen-medium",
                 "musicgen-melody"):
        assert name in result.output
    assert "CC-BY-NC-4.0 (non-commercial)" in result.output and "MIT" in result.output


def test_pull_then_doctor_then_auto_uses_demucs_and_records_the_licence(hub, env, song, tmp_path) -> None:
    before = moodmix("run", "stems", str(song), "-p", "backend=auto", "-p", "shifts=0", "-o", str(tmp_path / "a"),
                     "-q")
    assert before.exit_code == 0 and "backend: dsp" in before.output

    pulled = moodmix("models", "pull", "htdemucs")
    assert pulled.exit_code == 0, pulled.output
    assert "licence MIT" in pulled.output  # shown before the download
    folder = env / "htdemucs"
    assert sorted(p.name for p in folder.iterdir()) == [".moodmix-model.json", f"{SIG}.safetensors", "htdemucs.yaml"]
    assert not (env / ".downloads").exists()
    listed = moodmix("models", "list")
    assert "yes" in listed.output and str(folder) in listed.output

    doctor = moodmix("doctor")
    assert "ok stems: demucs htdemucs" in doctor.output
    assert "ok stems engine: " in doctor.output  # which engine auto takes for it here

    after = moodmix("run", "stems", str(song), "-p", "backend=auto", "-p", "shifts=0", "-o", str(tmp_path / "b"),
                    "-q")
    assert after.exit_code == 0, after.output
    doc = json.loads((tmp_path / "b" / "result.json").read_text())
    assert doc["backend"] == "demucs" and doc["data"]["model"] == "htdemucs"
    weights = doc["data"]["weights"]
    assert weights["licence"] == "MIT" and weights["repo_id"] == "adefossez/HTDemucs"
    assert weights["revision"] == hub.repos["adefossez/HTDemucs"].commit
    assert weights["files"] == [f"{SIG}.safetensors"]


def test_generate_pull_needs_the_licence_then_musicgen_runs(hub, env, tmp_path) -> None:
    refused = moodmix("models", "pull", "musicgen-small")  # not a terminal: no prompt, so no download
    assert refused.exit_code == 2 and "--accept-licence" in refused.output
    assert "NON-COMMERCIAL licence CC-BY-NC-4.0" in refused.output
    assert not env.exists() and not hub.downloads("model.safetensors")

    pulled = moodmix("models", "pull", "musicgen-small", "--accept-licence")
    assert pulled.exit_code == 0, pulled.output
    assert (env / "musicgen-small" / "model.safetensors").is_file()
    assert "ok generate: musicgen" in moodmix("doctor").output

    out = tmp_path / "gen"
    ran = moodmix("run", "generate", "--prompt", "sad lofi piano", "-p", "duration=0.5", "-p", "seed=1",
                  "-p", "guidance_scale=1", "-o", str(out), "-q")
    assert ran.exit_code == 0, ran.output
    doc = json.loads((out / "result.json").read_text())
    assert doc["backend"] == "musicgen"
    assert doc["data"]["weights"]["licence"] == "CC-BY-NC-4.0" and doc["data"]["weights"]["non_commercial"]
    assert doc["data"]["weights"]["name"] == "musicgen-small"


def test_a_download_cut_halfway_resumes_with_a_range_request(hub, env, monkeypatch) -> None:
    import huggingface_hub.constants

    # the client resumes from the last chunk it wrote (10 MB by default; the tiny model is 360 kB)
    monkeypatch.setattr(huggingface_hub.constants, "DOWNLOAD_CHUNK_SIZE", 16 * 1024)
    size = len(hub.repos["adefossez/HTDemucs"].files[f"{SIG}.safetensors"])
    hub.cut_once[f"{SIG}.safetensors"] = size // 2
    pulled = moodmix("models", "pull", "htdemucs")
    assert pulled.exit_code == 0, pulled.output
    first, resumed = hub.downloads(f"{SIG}.safetensors")
    assert first is None and resumed.startswith("bytes=")
    offset = int(resumed[len("bytes="):].rstrip("-"))
    assert size // 2 - 16 * 1024 <= offset <= size // 2  # picked up where the cut left it
    assert hub.bytes_sent < 1.1 * size + 10_000  # the first half was not fetched again
    assert moodmix("models", "verify", "htdemucs").output.strip() == "htdemucs: ok"


def test_a_corrupted_file_is_caught_by_verify_by_loading_and_repaired_by_pull(hub, env, song, tmp_path) -> None:
    assert moodmix("models", "pull", "htdemucs").exit_code == 0
    weights = env / "htdemucs" / f"{SIG}.safetensors"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF  # one flipped byte in the tensor data: still a loadable file
    weights.write_bytes(bytes(data))

    verified = moodmix("models", "verify")
    assert verified.exit_code == 1 and "htdemucs: DAMAGED" in verified.output and "sha256" in verified.output
    ran = moodmix("run", "stems", str(song), "-p", "backend=auto", "-p", "shifts=0", "-o", str(tmp_path / "a"), "-q")
    doc = json.loads((tmp_path / "a" / "result.json").read_text())
    assert doc["backend"] == "dsp" and "damaged" in doc["data"]["backend_reason"]
    assert ran.exit_code == 0

    repaired = moodmix("models", "pull", "htdemucs")
    assert repaired.exit_code == 0
    assert hub.downloads("htdemucs.yaml") == [None]  # the intact file was kept, only the bad one fetched again
    assert len(hub.downloads(f"{SIG}.safetensors")) == 2
    assert moodmix("models", "verify").exit_code == 0
    assert moodmix("models", "remove", "htdemucs").output.strip() == "htdemucs: removed"
    assert not (env / "htdemucs").exists()


def test_hub_unreachable_one_line_error_and_nothing_written(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    models = tmp_path / "models"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "HF_ENDPOINT": f"http://127.0.0.1:{port}",
           "MOODMIX_MODEL_DIR": str(models), "MOODMIX_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.run([sys.executable, "-m", "moodmix", "models", "pull", "htdemucs"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error: cannot reach the model hub for adefossez/HTDemucs")
    assert not models.exists()


def test_worker_with_never_opens_no_connection_and_auto_downloads(hub, env, song, tmp_path, monkeypatch) -> None:
    from moodmix.testing import run_local

    connects: list = []
    real_connect = socket.socket.connect

    def watch(self, address):
        connects.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", watch)
    never = load_settings(environ={}, model_dir=str(env), model_download="never", device="cpu")
    result = run_local("stems", tmp_path / "a", inputs={"audio": song}, params={"backend": "auto", "shifts": 0},
                       settings=never)
    assert result.backend == "dsp" and "moodmix models pull htdemucs" in result.data["backend_reason"]
    assert connects == [] and hub.requests == []

    ask = load_settings(environ={}, model_dir=str(env), model_download="ask", device="cpu")  # no one to ask
    assert run_local("stems", tmp_path / "b", inputs={"audio": song}, params={"backend": "auto", "shifts": 0},
                     settings=ask).backend == "dsp"
    assert connects == []

    auto = load_settings(environ={}, model_dir=str(env), model_download="auto", device="cpu")
    result = run_local("stems", tmp_path / "c", inputs={"audio": song}, params={"backend": "auto", "shifts": 0},
                       settings=auto)
    assert result.backend == "demucs" and connects and (env / "htdemucs" / "htdemucs.yaml").is_file()
    gen = run_local("generate", tmp_path / "d", texts={"prompt": "happy"}, params={"duration": 0.3, "seed": 1},
                    settings=auto)
    assert gen.backend == "procedural"  # auto never accepts a non-commercial licence for anyone
    assert not hub.downloads("model.safetensors")


def test_demucs_requested_without_weights_is_refused_at_request_time(env) -> None:
    from moodmix.engine.errors import BadInput
    from moodmix.testing import make_registry

    registry = make_registry(settings=load_settings(environ={}, model_dir=str(env), model_download="never"))
    stems = registry.capability("stems")
    with pytest.raises(BadInput) as info:
        stems.check(stems.parse_params({"backend": "demucs"}), registry)
    assert info.value.status == 422 and "`moodmix models pull htdemucs`" in info.value.message
    stems.check(stems.parse_params({"backend": "auto"}), registry)  # auto falls back instead
    generate = registry.capability("generate")
    with pytest.raises(BadInput, match="moodmix models pull musicgen-small --accept-licence"):
        generate.check(generate.parse_params({"backend": "musicgen"}), registry)
