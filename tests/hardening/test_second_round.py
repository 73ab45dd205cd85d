"""Defects found by the independent test pass (issue 18), each pinned by a test that failed before its fix."""

from __future__ import annotations

import time
import uuid

import jwt
import numpy as np
import pytest
from hardening.stack import app_client
from helpers import signup

from moodmix.engine.audio_io import save_audio

UNICODE_NAMES = ["名前.wav", "a–b.wav", "song 🎵.wav", "שיר חדש.wav", "café.wav", "مرحبا.wav"]


def _wav(tmp_path):
    return save_audio(tmp_path / "clip.wav", np.zeros((1, 8000), np.float32) + 0.01, 8000).read_bytes()


@pytest.mark.parametrize("config", ["embedded", "production"])
async def test_upload_names_in_any_script_are_kept(tmp_path, monkeypatch, config):
    async with app_client(config, tmp_path, monkeypatch) as client:
        alice = await signup(client)
        body = _wav(tmp_path)
        for name in UNICODE_NAMES:
            resp = await client.post("/api/v1/files", headers=alice, files={"file": (name, body, "audio/wav")})
            assert resp.status_code == 201, (name, resp.text)
            file = resp.json()["data"]
            assert file["filename"] == name
            download = await client.get(f"/api/v1/files/{file['id']}/download", headers=alice)
            assert download.status_code == 200 and download.content == body
            assert "filename*=UTF-8''" in download.headers["content-disposition"]
        long_name = "ü" * 400 + ".wav"
        resp = await client.post("/api/v1/files", headers=alice, files={"file": (long_name, body, "audio/wav")})
        assert resp.status_code == 201 and resp.json()["data"]["filename"].endswith(".wav")


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/auth/register", "/api/v1/jobs"])
async def test_deeply_nested_json_is_a_400(tmp_path, monkeypatch, path):
    async with app_client("embedded", tmp_path, monkeypatch) as client:
        alice = await signup(client)
        deep = '{"password": ' + "[" * 5000 + "]" * 5000 + "}"
        resp = await client.post(path, content=deep, headers={**alice, "content-type": "application/json"})
        assert resp.status_code == 400, resp.text
        assert resp.json()["error"]["code"] == "bad_json"


def _forged(sub: str) -> str:
    claims = {"sub": sub, "kind": "access", "exp": int(time.time()) + 3600}
    return jwt.encode(claims, "not-the-server-secret-but-long-enough!", algorithm="HS256")


async def test_forged_tokens_neither_escape_nor_spend_others_quota(tmp_path, monkeypatch):
    async with app_client("embedded", tmp_path, monkeypatch, MOODMIX_RATE_LIMIT="30") as client:
        victim = await signup(client)
        victim_id = (await client.get("/api/v1/auth/me", headers=victim)).json()["data"]["id"]
        # Tokens naming random subjects share the sender's address budget: they run out.
        codes = [(await client.get("/api/v1/files", headers={"Authorization": f"Bearer {_forged(uuid.uuid4().hex)}"}
                                   )).status_code for _ in range(40)]
        assert 429 in codes and set(codes) <= {401, 429}
        # Tokens naming the victim never touch the victim's bucket.
        for _ in range(40):
            await client.get("/api/v1/files", headers={"Authorization": f"Bearer {_forged(victim_id)}"})
        assert (await client.get("/api/v1/files", headers=victim)).status_code == 200


async def test_failed_sign_ins_are_limited_per_address(tmp_path, monkeypatch):
    async with app_client("embedded", tmp_path, monkeypatch, MOODMIX_RATE_LIMIT="100") as client:
        alice = await signup(client)
        codes = [(await client.post("/api/v1/auth/login", json={"username": "nobody", "password": "wrong pass"})
                  ).status_code for _ in range(25)]
        assert codes[:20] == [401] * 20 and codes[-1] == 429
        refused = await client.post("/api/v1/auth/login", json={"username": "nobody", "password": "wrong pass"})
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        # A valid token still works from the same address: only guessing is refused.
        assert (await client.get("/api/v1/files", headers=alice)).status_code == 200


async def test_decode_failures_follow_one_status_rule(tmp_path, monkeypatch):
    """415: a type moodmix does not read. 422: a supported type whose content is broken. 413: too big/long."""
    flac = save_audio(tmp_path / "ok.flac", np.zeros((1, 16000), np.float32) + 0.01, 16000, format="flac")
    cut = flac.read_bytes()[: flac.stat().st_size // 2]
    cases = {
        "notes.txt": (b"just some text, not audio at all" * 10, 415, "unsupported_format"),
        "cut.flac": (cut, 422, None),
        "empty.wav": (b"", 422, "empty_file"),
        "header.wav": (_wav(tmp_path)[:44], 422, None),
    }
    async with app_client("embedded", tmp_path, monkeypatch) as client:
        alice = await signup(client)
        for name, (body, status, code) in cases.items():
            resp = await client.post("/api/v1/files", headers=alice, files={"file": (name, body, "audio/wav")})
            assert resp.status_code == status, (name, resp.text)
            if code:
                assert resp.json()["error"]["code"] == code


def _redis_server(port: int) -> None:
    import subprocess

    subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                    "--appendonly", "no"], check=True, capture_output=True)


async def test_first_job_after_a_redis_restart_is_accepted(tmp_path, monkeypatch):
    """A private Redis is restarted under a running API: the next job gets 202, never a 503 or a failure."""
    import subprocess
    import threading

    from helpers import wait_job
    from support import free_port, require_services

    require_services()
    port = free_port()
    _redis_server(port)
    try:
        async with app_client("production", tmp_path, monkeypatch,
                              MOODMIX_REDIS_URL=f"redis://127.0.0.1:{port}/0") as api:
            headers = await signup(api)
            first = await api.post("/api/v1/jobs", headers=headers, json={"capability": "slow",
                                                                           "params": {"seconds": 0.1}})
            assert first.status_code == 202
            assert (await wait_job(api, headers, first.json()["data"]["id"], timeout=60))["status"] == "succeeded"
            subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True)
            # The job is requested while Redis is still down; it comes back 1.5 s later.
            restart = threading.Timer(1.5, _redis_server, [port])
            restart.start()
            after = await api.post("/api/v1/jobs", headers=headers, json={"capability": "slow",
                                                                           "params": {"seconds": 0.2}})
            restart.cancel()
            assert after.status_code == 202, after.text
            job = await wait_job(api, headers, after.json()["data"]["id"], timeout=90)
            assert job["status"] == "succeeded", job
    finally:
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True)


async def test_killed_workers_job_resumes_within_30_s_and_its_scratch_goes(tmp_path, monkeypatch):
    """Default stall timeout: the job is taken over in < 30 s and the killed attempt's scratch is swept."""
    import asyncio
    import signal

    from helpers import wait_job
    from support import WorkerProcess, require_services

    require_services()
    async with app_client("production", tmp_path, monkeypatch) as api:
        spare = WorkerProcess(api.worker.env, tmp_path / "spare.log").start()
        try:
            headers = await signup(api)
            job = (await api.post("/api/v1/jobs", headers=headers,
                                  json={"capability": "slow", "params": {"seconds": 8}})).json()["data"]
            victim = None
            for _ in range(600):
                state = (await api.get(f"/api/v1/jobs/{job['id']}", headers=headers)).json()["data"]
                if state["status"] == "running" and state["progress"] >= 10:
                    victim = int(state["worker"].rsplit(":", 1)[1])
                    break
                await asyncio.sleep(0.1)
            assert victim is not None, "the job never started"
            killed = next(w for w in (api.worker, spare) if w.proc.pid == victim)
            scratch = tmp_path / "data" / "temp"
            assert any(p.name.startswith(f"job-{job['id']}") for p in scratch.iterdir())
            killed.kill(signal.SIGKILL)
            kill_time = asyncio.get_running_loop().time()
            taken_over = None
            while asyncio.get_running_loop().time() - kill_time < 45:
                state = (await api.get(f"/api/v1/jobs/{job['id']}", headers=headers)).json()["data"]
                if state["attempts"] == 2 and state["status"] in ("running", "succeeded"):
                    taken_over = asyncio.get_running_loop().time() - kill_time
                    break
                await asyncio.sleep(0.25)
            assert taken_over is not None and taken_over < 30, taken_over
            final = await wait_job(api, headers, job["id"], timeout=60)
            assert final["status"] == "succeeded" and final["attempts"] == 2
            for _ in range(80):  # the survivor's next sweep removes the dead attempt's folder
                if not any(p.name.startswith(f"job-{job['id']}") for p in scratch.iterdir()):
                    break
                await asyncio.sleep(0.25)
            assert not any(p.name.startswith(f"job-{job['id']}") for p in scratch.iterdir())
        finally:
            spare.stop()
