"""A third-party plugin distribution, installed from tests/plugin_dist, is listed and runnable everywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import soundfile as sf
from helpers import signup, upload, wait_job

from moodmix import hookimpl
from moodmix.engine.errors import BadInput


async def test_listed_and_runnable_by_api(api, demo_wav):
    caps = (await api.get("/api/v1/capabilities")).json()["data"]
    by_name = {c["name"]: c for c in caps}
    assert {"reverse", "slow", "flaky", "analyze"} <= set(by_name)
    schema = by_name["reverse"]["params_schema"]
    assert schema["properties"]["gain_db"]["type"] == "number"
    genres = {g["name"] for g in (await api.get("/api/v1/genres")).json()["data"]}
    assert "polka" in genres

    headers = await signup(api)
    file_id = (await upload(api, headers, demo_wav)).json()["data"]["id"]
    bad = await api.post("/api/v1/jobs", headers=headers,
                         json={"capability": "reverse", "file_id": file_id, "params": {"gain_db": 99}})
    assert bad.status_code == 422 and "gain_db" in bad.json()["error"]["message"]
    resp = await api.post("/api/v1/jobs", headers=headers,
                          json={"capability": "reverse", "file_id": file_id, "params": {"gain_db": -6}})
    job = await wait_job(api, headers, resp.json()["data"]["id"])
    assert job["status"] == "succeeded" and job["backend"] == "numpy"
    out = await api.get(f"/api/v1/jobs/{job['id']}/outputs/reversed", headers=headers)
    assert out.status_code == 200 and out.content[:4] == b"RIFF"


async def test_chained_job_runs_after_its_parent(api, demo_wav):
    """A job whose input is another job's output waits for it, then runs on that output."""
    headers = await signup(api)
    file_id = (await upload(api, headers, demo_wav)).json()["data"]["id"]
    parent = (await api.post("/api/v1/jobs", headers=headers,
                             json={"capability": "reverse", "file_id": file_id})).json()["data"]
    child = await api.post("/api/v1/jobs", headers=headers, json={
        "capability": "analyze", "inputs": {"audio": {"job_id": parent["id"], "output": "reversed"}}})
    assert child.status_code == 202, child.text
    done = await wait_job(api, headers, child.json()["data"]["id"])
    assert done["status"] == "succeeded", done["error"]
    assert abs(done["result"]["data"]["duration"] - 6.0) < 0.01
    wrong = await api.post("/api/v1/jobs", headers=headers, json={
        "capability": "analyze", "inputs": {"audio": {"job_id": parent["id"], "output": "nope"}}})
    assert wrong.status_code == 422 and "reversed" in wrong.json()["error"]["message"]


async def test_retry_with_backoff_after_a_crash(api):
    headers = await signup(api)
    resp = await api.post("/api/v1/jobs", headers=headers, json={"capability": "flaky"})
    job = await wait_job(api, headers, resp.json()["data"]["id"])
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 2 and job["result"]["data"] == {"recovered": True}


async def test_cancel_a_running_job(api):
    import asyncio

    headers = await signup(api)
    job = (await api.post("/api/v1/jobs", headers=headers,
                          json={"capability": "slow", "params": {"seconds": 20}})).json()["data"]
    for _ in range(100):
        state = (await api.get(f"/api/v1/jobs/{job['id']}", headers=headers)).json()["data"]
        if state["status"] == "running" and state["progress"] > 0:
            break
        await asyncio.sleep(0.1)
    resp = await api.post(f"/api/v1/jobs/{job['id']}/cancel", headers=headers)
    assert resp.status_code == 200
    final = await wait_job(api, headers, job["id"], timeout=30)
    assert final["status"] == "cancelled" and final["progress"] < 100
    again = await api.post(f"/api/v1/jobs/{job['id']}/cancel", headers=headers)
    assert again.status_code == 409


def test_runnable_from_cli(demo_wav, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "moodmix", "run", "reverse", str(demo_wav), "--param",
                           "gain_db=-3", "-o", str(out), "-q"], capture_output=True, text=True,
                          env={**os.environ, "MOODMIX_DATA_DIR": str(tmp_path / "data")}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "result.json").read_text())
    assert doc["capability"] == "reverse" and doc["params"] == {"gain_db": -3.0}
    reversed_audio, sr = sf.read(out / "reversed.wav")
    original, _ = sf.read(demo_wav)
    assert reversed_audio.shape == original.shape and sr == 44100


def test_third_party_genre_remixes_from_cli(demo_wav, tmp_path):
    out = tmp_path / "polka"
    proc = subprocess.run([sys.executable, "-m", "moodmix", "run", "remix", str(demo_wav), "--param", "genre=polka",
                           "-o", str(out), "-q"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "MOODMIX_DATA_DIR": str(tmp_path / "data")})
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "result.json").read_text())
    assert doc["data"]["genre"] == "polka" and abs(doc["data"]["recipe"]["tempo"] - 120) < 1e-6
    audio, sr = sf.read(out / next(o["filename"] for o in doc["outputs"] if o["name"] == "remix"))
    assert len(audio) > sr * 5


class RoutesPlugin:
    """A plugin object with routes only: one open, one for signed-in users, one that refuses."""

    @hookimpl
    def register_routes(self):
        from litestar import get

        @get("/hello", sync_to_thread=False)
        def hello() -> dict:
            return {"hello": "world"}

        @get("/me")
        async def me(user: dict, service: Any) -> dict:
            return {"username": user["username"], "capabilities": len(service.capabilities())}

        @get("/refuse", sync_to_thread=False)
        def refuse() -> dict:
            raise BadInput("not today", code="not_today")

        return [hello, me, refuse]


async def test_plugin_routes_are_mounted_under_the_plugin_name(moodmix_plugin, moodmix_client):
    moodmix_plugin(RoutesPlugin(), name="greeter")
    hello = await moodmix_client.get("/api/v1/plugins/greeter/hello")
    assert hello.status_code == 200 and hello.json() == {"hello": "world"}
    anonymous = await moodmix_client.get("/api/v1/plugins/greeter/me")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "token_missing"
    headers = await moodmix_client.signup("routes_user")
    me = await moodmix_client.get("/api/v1/plugins/greeter/me", headers=headers)
    assert me.status_code == 200 and me.json()["username"] == "routes_user" and me.json()["capabilities"] >= 5
    refused = await moodmix_client.get("/api/v1/plugins/greeter/refuse")
    assert refused.status_code == 422
    assert refused.json()["error"] == {"code": "not_today", "message": "not today"}

    schema = (await moodmix_client.get("/schema/openapi.json")).json()
    paths = schema["paths"]
    assert {"/api/v1/plugins/greeter/hello", "/api/v1/plugins/greeter/me"} <= set(paths)
    assert paths["/api/v1/plugins/greeter/hello"]["get"]["tags"] == ["plugin: greeter"]
    assert paths["/api/v1/plugins/greeter/hello"]["get"].get("security") in (None, [], [{}])  # open
    assert "401" in paths["/api/v1/plugins/greeter/me"]["get"]["responses"]
    assert "401" not in paths["/api/v1/plugins/greeter/hello"]["get"]["responses"]
