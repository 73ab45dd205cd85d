"""The musicnn mood backend through the engine, the CLI and the API, and its fallback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from moodmix.engine.config import load_settings
from moodmix.engine.errors import CapabilityFailed
from moodmix.plugins.mood.model import MoodModel
from moodmix.plugins.mood.training import synth
from moodmix.testing import run_local, write_wav
from tests.helpers import signup, upload, wait_job


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> Path:
    y, _ = synth.render_clip("energetic", np.random.default_rng(5), seconds=7.0, held_out=True)
    return write_wav(tmp_path_factory.mktemp("song") / "song.wav", y[None, :])


def test_auto_picks_musicnn_and_reports_its_tags(song: Path, tmp_path: Path) -> None:
    result = run_local("mood", tmp_path / "out", inputs={"audio": song})
    data = result.data
    assert result.backend == "musicnn+sklearn" and data["backend"] == "musicnn"
    assert data["model"]["backend"] == "musicnn"
    assert data["tags"]["patches"] >= 1 and len(data["tags"]["top"]) >= 5
    assert -1 <= data["tags"]["arousal"] <= 1 and -1 <= data["valence"] <= 1
    assert sum(data["distribution"].values()) == pytest.approx(1.0, abs=1e-3)


def test_features_backend_on_request_and_as_the_fallback_without_weights(song: Path, tmp_path: Path) -> None:
    asked = run_local("mood", tmp_path / "o1", inputs={"audio": song}, params={"backend": "features"})
    assert asked.backend == "librosa+sklearn" and asked.data["backend"] == "features" and "tags" not in asked.data
    settings = load_settings(environ={"MOODMIX_PLUGINS__MOOD__MUSICNN_WEIGHTS": str(tmp_path / "gone.npz")})
    fallback = run_local("mood", tmp_path / "o2", inputs={"audio": song}, settings=settings)
    assert fallback.backend == "librosa+sklearn" and fallback.data["backend"] == "features"
    with pytest.raises(CapabilityFailed, match=r"musicnn backend is unavailable.*not found"):
        run_local("mood", tmp_path / "o3", inputs={"audio": song}, settings=settings,
                  params={"backend": "musicnn"})


def test_cli_run_writes_a_result_naming_musicnn(song: Path, tmp_path: Path) -> None:
    command = [str(Path(sys.executable).with_name("moodmix")), "run", "mood", str(song), "-o", str(tmp_path / "out")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 0, done.stderr
    assert "backend: musicnn+sklearn" in done.stdout
    doc = json.loads((tmp_path / "out" / "result.json").read_text())
    assert doc["backend"] == "musicnn+sklearn"
    assert doc["data"]["backend"] == "musicnn" and doc["data"]["tags"]["top"]


def test_mood_train_learns_on_musicnn_rows(tmp_path: Path) -> None:
    import click

    import moodmix.plugins.mood as mood_plugin

    group = click.Group("moodmix")
    mood_plugin.register_commands(cli=group)
    for mood in ("energetic", "calm"):
        rng = np.random.default_rng(len(mood))
        for i in range(2):
            y, _ = synth.render_clip(mood, rng, seconds=6.0)
            write_wav(tmp_path / "data" / mood / f"{i}.wav", y[None, :])
    out = tmp_path / "m.joblib"
    result = CliRunner().invoke(group, ["mood", "train", str(tmp_path / "data"), "-o", str(out), "--folds", "2"])
    assert result.exit_code == 0, result.output
    assert "backend: musicnn" in result.output
    model = MoodModel.load(out)
    assert model.backend == "musicnn" and "tag_msd_happy" in model.meta["tag_reference"]
    assert model.meta["features"][-1].startswith("tag_") and len(model.meta["features"]) > 800


@pytest.mark.parametrize("config_name", ["embedded"], indirect=True)
async def test_api_job_names_the_musicnn_backend(api, song: Path) -> None:
    headers = await signup(api)
    file_id = (await upload(api, headers, song)).json()["data"]["id"]
    resp = await api.post("/api/v1/jobs", headers=headers,
                          json={"capability": "mood", "file_id": file_id, "params": {"backend": "musicnn"}})
    assert resp.status_code == 202, resp.text
    job = await wait_job(api, headers, resp.json()["data"]["id"], timeout=300)
    assert job["status"] == "succeeded", job["error"]
    assert job["backend"] == "musicnn+sklearn"
    assert job["result"]["data"]["backend"] == "musicnn" and job["result"]["data"]["tags"]["top"]
    bad = await api.post("/api/v1/jobs", headers=headers,
                         json={"capability": "mood", "file_id": file_id, "params": {"backend": "tensorflow"}})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_params", bad.text
