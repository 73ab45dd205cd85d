"""Start the real `moodmix serve` process on a loopback port and drive it over HTTP."""

from __future__ import annotations

import httpx
import pytest
from support import base_env, real_server


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_real_server_end_to_end(tmp_path, demo_wav, server):
    env = base_env(tmp_path / "data", "embedded")
    with real_server(env, tmp_path / "server.log", server=server) as base, \
            httpx.Client(base_url=base, timeout=30) as http:
        ready = http.get("/ready").json()
        assert ready["data"]["status"] == "ready" and "analyze" in ready["data"]["capabilities"]
        schema = http.get("/schema/openapi.json").json()
        assert "/api/v1/jobs" in schema["paths"] and "/api/v1/files" in schema["paths"]
        token = http.post("/api/v1/auth/register", json={"username": "smoke", "password": "smoke-test-1"}
                          ).json()["data"]["token"]
        headers = {"Authorization": f"Bearer {token}"}
        with open(demo_wav, "rb") as fh:
            f = http.post("/api/v1/files", headers=headers, files={"file": ("demo.wav", fh, "audio/wav")})
        assert f.status_code == 201, f.text
        job = http.post("/api/v1/jobs", headers=headers,
                        json={"capability": "analyze", "file_id": f.json()["data"]["id"]}).json()["data"]
        events = []
        with http.stream("GET", f"/api/v1/jobs/{job['id']}/events", headers=headers) as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    events.append(line.split(":", 1)[1].strip())
                    if events[-1] == "done":
                        break
        assert events[-1] == "done"
        final = http.get(f"/api/v1/jobs/{job['id']}", headers=headers).json()["data"]
        assert final["status"] == "succeeded" and final["progress"] == 100
        doc = http.get(f"/api/v1/jobs/{job['id']}/result", headers=headers).json()["data"]
        assert abs(doc["data"]["tempo"] - 120) < 2.5
        assert http.get("/", headers=headers).status_code == 200


def test_rate_limit_returns_429_with_retry_after(tmp_path):
    env = base_env(tmp_path / "data", "embedded", MOODMIX_RATE_LIMIT="5", MOODMIX_RATE_LIMIT_WINDOW_S="900")
    with real_server(env, tmp_path / "server.log") as base, \
            httpx.Client(base_url=base, timeout=10) as http:
        codes = [http.get("/api/v1/capabilities").status_code for _ in range(7)]
        assert codes[:5] == [200] * 5 and codes[5] == 429
        resp = http.get("/api/v1/capabilities")
        assert resp.status_code == 429
        assert 0 < int(resp.headers["retry-after"]) <= 900
        assert resp.json()["error"]["code"] == "rate_limited"
        assert http.get("/health").status_code == 200  # health is never limited
