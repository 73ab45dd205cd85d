"""The main flow over HTTP, on both configurations: sign up, upload, analyze, poll, download."""

from __future__ import annotations

import hashlib

from helpers import signup, upload, wait_job


async def test_upload_analyze_download(api, demo_wav):
    headers = await signup(api)
    resp = await upload(api, headers, demo_wav)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["success"] is True and body["error"] is None
    f = body["data"]
    assert f["format"] == "wav" and f["sample_rate"] == 44100 and f["channels"] == 2
    assert abs(f["duration"] - 6.0) < 0.01
    assert f["sha256"] == hashlib.sha256(demo_wav.read_bytes()).hexdigest()

    resp = await api.post("/api/v1/jobs", headers=headers, json={"capability": "analyze", "file_id": f["id"]})
    assert resp.status_code == 202, resp.text
    job = await wait_job(api, headers, resp.json()["data"]["id"])
    assert job["status"] == "succeeded", job
    assert job["progress"] == 100.0
    data = job["result"]["data"]
    assert abs(data["tempo"] - 120) < 2.5
    assert data["key"] == "A" and data["mode"] == "minor"

    resp = await api.get(f"/api/v1/jobs/{job['id']}/result", headers=headers)
    assert resp.status_code == 200
    doc = resp.json()["data"]
    assert doc["capability"] == "analyze" and doc["data"]["tempo"] == data["tempo"]
    names = [o["name"] for o in doc["outputs"]]
    assert "analysis" in names
    out = await api.get(f"/api/v1/jobs/{job['id']}/outputs/analysis", headers=headers)
    assert out.status_code == 200
    assert out.json()["duration"] == data["duration"]

    listed = await api.get("/api/v1/jobs?status=succeeded&capability=analyze", headers=headers)
    assert listed.json()["data"]["total"] == 1


async def test_range_download_and_dedup(api, demo_wav):
    headers = await signup(api)
    first = (await upload(api, headers, demo_wav)).json()["data"]
    second = (await upload(api, headers, demo_wav, name="again.wav")).json()["data"]
    assert first["id"] != second["id"] and first["sha256"] == second["sha256"]
    raw = demo_wav.read_bytes()
    resp = await api.get(f"/api/v1/files/{first['id']}/download", headers={**headers, "Range": "bytes=100-199"})
    assert resp.status_code == 206
    assert resp.content == raw[100:200]
    assert resp.headers["content-range"] == f"bytes 100-199/{len(raw)}"
    full = await api.get(f"/api/v1/files/{first['id']}/download", headers=headers)
    assert full.status_code == 200 and full.content == raw
    bad = await api.get(f"/api/v1/files/{first['id']}/download",
                        headers={**headers, "Range": f"bytes={len(raw) + 5}-"})
    assert bad.status_code == 416
    # deleting one record keeps the shared bytes for the other
    assert (await api.delete(f"/api/v1/files/{first['id']}", headers=headers)).status_code == 200
    again = await api.get(f"/api/v1/files/{second['id']}/download", headers=headers)
    assert again.status_code == 200 and again.content == raw
