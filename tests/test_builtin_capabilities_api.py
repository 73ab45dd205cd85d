"""Each built-in capability through a real API job, with its outputs downloadable."""

from __future__ import annotations

import io

import pytest
import soundfile as sf
from helpers import signup, upload, wait_job

CASES = {
    "stems": ({"mode": "2stems", "backend": "dsp"}, {"vocals", "instrumental"}),
    "mood": ({}, {"picture", "mood"}),
    "remix": ({"genre": "nightcore"}, {"remix", "recipe", "waveform"}),
}


@pytest.mark.parametrize("config_name", ["embedded"], indirect=True)
@pytest.mark.parametrize("capability", sorted(CASES))
async def test_capability_via_api(api, demo_wav, capability):
    params, outputs = CASES[capability]
    headers = await signup(api)
    file_id = (await upload(api, headers, demo_wav)).json()["data"]["id"]
    resp = await api.post("/api/v1/jobs", headers=headers,
                          json={"capability": capability, "file_id": file_id, "params": params})
    assert resp.status_code == 202, resp.text
    job = await wait_job(api, headers, resp.json()["data"]["id"], timeout=300)
    assert job["status"] == "succeeded", job["error"]
    assert job["backend"]
    listed = {o["name"]: o for o in (await api.get(f"/api/v1/jobs/{job['id']}/outputs", headers=headers)
                                     ).json()["data"]}
    assert outputs <= set(listed)
    for out in listed.values():
        body = await api.get(out["url"], headers=headers)
        assert body.status_code == 200 and len(body.content) == out["size_bytes"] > 0
        if out["kind"] == "audio":
            audio, sr = sf.read(io.BytesIO(body.content))
            assert sr >= 22050 and len(audio) > sr


@pytest.mark.parametrize("config_name", ["embedded"], indirect=True)
async def test_generate_via_api(api):
    headers = await signup(api)
    resp = await api.post("/api/v1/jobs", headers=headers, json={
        "capability": "generate", "prompt": "happy house 124 bpm in G major", "params": {"duration": 6, "seed": 5}})
    assert resp.status_code == 202, resp.text
    job = await wait_job(api, headers, resp.json()["data"]["id"], timeout=300)
    assert job["status"] == "succeeded", job["error"]
    audio = await api.get(f"/api/v1/jobs/{job['id']}/outputs/audio", headers=headers)
    data, sr = sf.read(io.BytesIO(audio.content))
    assert abs(len(data) / sr - 6) < 0.5
    too_long = await api.post("/api/v1/jobs", headers=headers, json={
        "capability": "generate", "prompt": "x", "params": {"duration": 100000}})
    assert too_long.status_code == 422 and "duration" in too_long.json()["error"]["message"]
    no_prompt = await api.post("/api/v1/jobs", headers=headers, json={"capability": "generate"})
    assert no_prompt.status_code == 422 and no_prompt.json()["error"]["code"] == "missing_input"


@pytest.mark.parametrize("config_name", ["embedded"], indirect=True)
async def test_unknown_genre_lists_valid_ones(api, demo_wav):
    headers = await signup(api)
    file_id = (await upload(api, headers, demo_wav)).json()["data"]["id"]
    resp = await api.post("/api/v1/jobs", headers=headers,
                          json={"capability": "remix", "file_id": file_id, "params": {"genre": "polkadot"}})
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "unknown_genre"
    message = resp.json()["error"]["message"]
    assert "lofi" in message and "nightcore" in message
    bad_recipe = await api.post("/api/v1/jobs", headers=headers, json={
        "capability": "remix", "file_id": file_id, "params": {"recipe": {"tempo": -5}}})
    assert bad_recipe.status_code == 422 and "tempo" in bad_recipe.json()["error"]["message"]
    assert (await api.get("/api/v1/jobs", headers=headers)).json()["data"]["total"] == 0
