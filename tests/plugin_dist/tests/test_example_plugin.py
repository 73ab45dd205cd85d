"""The example plugin's own tests, written as its author would: only ``moodmix.testing``'s fixtures.

With the distribution installed (``pip install -e .``) its entry point is loaded like any other, so
nothing here imports the plugin: the fixtures find it. Run them with ``pytest`` in this folder, or as
part of moodmix's suite (whose ``tests/conftest.py`` installs the distribution first).
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf


def test_reverse_plays_the_track_backwards(moodmix_run, moodmix_audio):
    source = moodmix_audio("click", seconds=1.0, sr=16000)
    progress: list = []
    result = moodmix_run("reverse", inputs={"audio": source}, params={"gain_db": -6}, progress=progress)
    assert result.backend == "numpy" and result.data == {"frames": 16000, "sample_rate": 16000}
    original, _ = sf.read(source, dtype="float32")
    reversed_audio, sr = sf.read(result.files["reversed"], dtype="float32")
    assert sr == 16000 and reversed_audio.shape == original.shape
    np.testing.assert_allclose(reversed_audio, original[::-1] * 10 ** (-6 / 20), atol=2e-3)
    assert any(message == "reversing" for _, message in progress)


def test_reverse_refuses_a_gain_out_of_range(moodmix_run, moodmix_audio):
    with pytest.raises(Exception, match="gain_db must be between -24 and 12"):
        moodmix_run("reverse", inputs={"audio": moodmix_audio()}, params={"gain_db": 99})


def test_slow_reports_real_progress(moodmix_run):
    progress: list = []
    result = moodmix_run("slow", params={"seconds": 0.4}, progress=progress)
    fractions = [f for f, _ in progress]
    assert result.data == {"steps": 4} and fractions == sorted(fractions) and fractions[-1] == 1.0


def test_polka_joins_the_remix_genres(moodmix_registry):
    registry = moodmix_registry()
    assert registry.genre("Polka").recipe["tempo"] == 120
    assert registry.owners["reverse"] == "example"


async def test_reverse_through_the_api(moodmix_client, moodmix_audio):
    headers = await moodmix_client.signup()
    file_id = await moodmix_client.upload(headers, moodmix_audio(seconds=1.0))
    bad = await moodmix_client.post("/api/v1/jobs", headers=headers, json={
        "capability": "reverse", "file_id": file_id, "params": {"gain_db": 99}})
    assert bad.status_code == 422 and "gain_db" in bad.json()["error"]["message"]
    resp = await moodmix_client.post("/api/v1/jobs", headers=headers, json={
        "capability": "reverse", "file_id": file_id})
    job = await moodmix_client.wait_job(headers, resp.json()["data"]["id"])
    assert job["status"] == "succeeded" and job["backend"] == "numpy"
    out = await moodmix_client.get(f"/api/v1/jobs/{job['id']}/outputs/reversed", headers=headers)
    assert out.status_code == 200 and out.content[:4] == b"RIFF"
