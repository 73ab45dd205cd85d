"""Bad input gets a 4xx with a machine-readable code and a reason, and nothing is stored half-way."""

from __future__ import annotations

import time
import uuid

import jwt
import numpy as np
import soundfile as sf
from helpers import signup, upload

from moodmix.engine.audio_io import save_audio


def stored_upload_files(api) -> list:
    """Files left in scratch space, plus stored uploads on a local backend."""
    storage = api.app.state.runtime.storage
    left = [p for p in storage.scratch_root.rglob("*") if p.is_file()]
    if hasattr(storage, "root"):
        left += [p for p in (storage.root / "uploads").rglob("*") if p.is_file()]
    return sorted(left)


async def test_bad_uploads_are_refused_and_leave_nothing(api, tmp_path):
    headers = await signup(api)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp3"
    text.write_text("this is not audio, just a text file renamed to mp3\n" * 20)
    good = save_audio(tmp_path / "good.wav", np.zeros((1, 44100), np.float32) + 0.1, 44100)
    truncated = tmp_path / "cut.wav"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    header_only = tmp_path / "header.wav"
    header_only.write_bytes(good.read_bytes()[:44])
    nan = tmp_path / "nan.wav"
    sf.write(nan, np.full(1000, np.nan, np.float32), 44100, subtype="FLOAT")  # save_audio would clean it
    cases = {empty: "empty_file", text: "unsupported_format", truncated: "truncated_audio",
             header_only: "truncated_audio", nan: "non_finite_audio"}
    for path, code in cases.items():
        resp = await upload(api, headers, path)
        body = resp.json()
        assert 400 <= resp.status_code < 500, (path.name, resp.text)
        assert body["success"] is False and body["error"]["code"] == code, (path.name, body)
        assert body["error"]["message"]
    assert stored_upload_files(api) == []
    listed = await api.get("/api/v1/files", headers=headers)
    assert listed.json()["data"]["total"] == 0


async def test_no_file_field_and_oversize(api, tmp_path, monkeypatch):
    headers = await signup(api)
    resp = await api.post("/api/v1/files", headers=headers, files={"other": ("x.wav", b"RIFF", "audio/wav")})
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "missing_file"
    api.app.state.runtime.settings.max_upload_mb = 0.01  # 10 KiB
    big = save_audio(tmp_path / "big.wav", np.zeros((1, 44100), np.float32), 44100)
    resp = await upload(api, headers, big)
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "too_large"
    temp_files = [p for p in api.app.state.runtime.storage.scratch_root.rglob("*") if p.is_file()]
    assert temp_files == []


async def test_job_errors(api, demo_wav):
    headers = await signup(api)
    file_id = (await upload(api, headers, demo_wav)).json()["data"]["id"]
    resp = await api.post("/api/v1/jobs", headers=headers, json={"capability": "nope", "file_id": file_id})
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "unknown_capability"
    assert "analyze" in resp.json()["error"]["message"]
    resp = await api.post("/api/v1/jobs", headers=headers,
                          json={"capability": "analyze", "file_id": file_id, "params": {"bogus": 1}})
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "bad_params"
    assert "bogus" in resp.json()["error"]["message"]
    resp = await api.post("/api/v1/jobs", headers=headers, json={"capability": "analyze"})
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "missing_input"
    resp = await api.post("/api/v1/jobs", headers=headers, json={"capability": "analyze", "file_id": "../../etc"})
    assert resp.status_code == 404
    jobs = await api.get("/api/v1/jobs", headers=headers)
    assert jobs.json()["data"]["total"] == 0, "refused jobs must not be recorded"


async def test_other_users_resources_are_invisible(api, demo_wav):
    alice = await signup(api)
    bob = await signup(api)
    file_id = (await upload(api, alice, demo_wav)).json()["data"]["id"]
    job = (await api.post("/api/v1/jobs", headers=alice,
                          json={"capability": "analyze", "file_id": file_id})).json()["data"]
    for method, url in [("get", f"/api/v1/files/{file_id}"), ("get", f"/api/v1/files/{file_id}/download"),
                        ("delete", f"/api/v1/files/{file_id}"), ("get", f"/api/v1/jobs/{job['id']}"),
                        ("post", f"/api/v1/jobs/{job['id']}/cancel"), ("get", f"/api/v1/jobs/{job['id']}/outputs"),
                        ("get", f"/api/v1/jobs/{job['id']}/events")]:
        resp = await getattr(api, method)(url, headers=bob)
        assert resp.status_code == 404, (method, url, resp.status_code)
    resp = await api.post("/api/v1/jobs", headers=bob, json={"capability": "analyze", "file_id": file_id})
    assert resp.status_code == 404
    assert (await api.get("/api/v1/files", headers=bob)).json()["data"]["total"] == 0
    assert (await api.get(f"/api/v1/files/{file_id}", headers=alice)).status_code == 200


async def test_tokens(api):
    headers = await signup(api)
    assert (await api.get("/api/v1/auth/me", headers=headers)).status_code == 200
    resp = await api.get("/api/v1/files")
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "token_missing"
    secret = api.app.state.runtime.settings.secret_key
    me = (await api.get("/api/v1/auth/me", headers=headers)).json()["data"]
    expired = jwt.encode({"sub": me["id"], "kind": "access", "exp": int(time.time()) - 10}, secret, "HS256")
    resp = await api.get("/api/v1/files", headers={"Authorization": f"Bearer {expired}"})
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "token_expired"
    forged = jwt.encode({"sub": me["id"], "kind": "access", "exp": int(time.time()) + 99}, "wrong", "HS256")
    resp = await api.get("/api/v1/files", headers={"Authorization": f"Bearer {forged}"})
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "token_invalid"
    unsigned = jwt.encode({"sub": me["id"], "kind": "access", "exp": int(time.time()) + 99}, None, "none")
    resp = await api.get("/api/v1/files", headers={"Authorization": f"Bearer {unsigned}"})
    assert resp.status_code == 401
    ghost = jwt.encode({"sub": str(uuid.uuid4()), "kind": "access", "exp": int(time.time()) + 99}, secret, "HS256")
    assert (await api.get("/api/v1/files", headers={"Authorization": f"Bearer {ghost}"})).status_code == 401


async def test_register_and_login_rules(api):
    resp = await api.post("/api/v1/auth/register", json={"username": "ab", "password": "longenough"})
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "bad_username"
    resp = await api.post("/api/v1/auth/register", json={"username": "carol", "password": "short"})
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "bad_password"
    ok = await api.post("/api/v1/auth/register", json={"username": "carol", "password": "longenough",
                                                       "email": "Carol@Example.com"})
    assert ok.status_code == 201
    dup = await api.post("/api/v1/auth/register", json={"username": "carol", "password": "longenough"})
    assert dup.status_code == 409
    bad = await api.post("/api/v1/auth/login", json={"username": "carol", "password": "wrong-password"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "bad_credentials"
    good = await api.post("/api/v1/auth/login", json={"email": "carol@example.com", "password": "longenough"})
    assert good.status_code == 200 and good.json()["data"]["token"]
    malformed = await api.post("/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"})
    assert malformed.status_code == 400
