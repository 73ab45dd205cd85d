"""HTTP helpers shared by the API tests."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path


async def signup(client, name: str | None = None) -> dict[str, str]:
    """Register a fresh user; returns Authorization headers."""
    name = name or f"user{uuid.uuid4().hex[:8]}"
    resp = await client.post("/api/v1/auth/register", json={"username": name, "password": "correct horse 1",
                                                             "email": f"{name}@example.com"})
    assert resp.status_code == 201, resp.text
    return {"Authorization": f"Bearer {resp.json()['data']['token']}"}


async def upload(client, headers: dict, path: Path, name: str | None = None):
    with open(path, "rb") as fh:
        return await client.post("/api/v1/files", headers=headers,
                                  files={"file": (name or path.name, fh.read(), "application/octet-stream")})


async def wait_job(client, headers: dict, job_id: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = await client.get(f"/api/v1/jobs/{job_id}", headers=headers)
        assert resp.status_code == 200, resp.text
        job = resp.json()["data"]
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        await asyncio.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s: {job}")
