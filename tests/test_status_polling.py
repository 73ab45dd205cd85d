"""``GET /api/v1/jobs/{id}``, the route that pages and bots poll, answers from kept encodings (the status
document's bytes, the token's verification, the rate-limit bucket of a credential): what it sends is
still the envelope with every header, and the checks that must not wait for a cache still apply to
every request (owner, revoked and expired tokens)."""

from __future__ import annotations

import time
import uuid

import jwt
from helpers import signup, upload, wait_job

from moodmix.engine import auth
from moodmix.web.rate_limit import Identities

PASSWORD = "correct horse 1"


async def _me(api, headers: dict) -> dict:
    return (await api.get("/api/v1/auth/me", headers=headers)).json()["data"]


async def test_polled_status_is_the_envelope_with_every_header_and_the_owner_check(api, demo_wav):
    headers = await signup(api)
    file_id = (await upload(api, headers, demo_wav)).json()["data"]["id"]
    created = await api.post("/api/v1/jobs", headers=headers, json={"capability": "reverse", "file_id": file_id})
    job_id = created.json()["data"]["id"]
    await wait_job(api, headers, job_id)
    remaining = []
    for encoding in ("identity", "identity", "br", "gzip"):  # after the first, from the kept encoding
        resp = await api.get(f"/api/v1/jobs/{job_id}", headers={**headers, "Accept-Encoding": encoding})
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"] == "application/json"
        assert resp.headers.get("content-encoding", "identity") == encoding  # compressed as any JSON answer
        if encoding == "identity":
            assert int(resp.headers["content-length"]) == len(resp.content)
        assert resp.headers["x-content-type-options"] == "nosniff" and "content-security-policy" in resp.headers
        body = resp.json()
        assert body["success"] is True and body["error"] is None and body["message"] == "ok"
        assert body["data"]["id"] == job_id and body["data"]["status"] == "succeeded"
        remaining.append(int(resp.headers["ratelimit-remaining"]))
    assert remaining == sorted(remaining, reverse=True) and len(set(remaining)) == 4
    other = await signup(api)
    for _ in range(2):
        resp = await api.get(f"/api/v1/jobs/{job_id}", headers=other)
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "job_not_found", resp.text


async def test_a_polling_token_is_refused_at_once_when_revoked_or_expired(api):
    name = f"p{uuid.uuid4().hex[:8]}"
    headers = await signup(api, name)
    job = await api.post("/api/v1/jobs", headers=headers, json={"capability": "slow", "params": {"seconds": 0.2},
                                                                 "reuse": False})
    job_id = job.json()["data"]["id"]
    me = await _me(api, headers)
    secret = api.app.state.runtime.settings.secret_key
    exp = int(time.time()) + 2
    short = {"Authorization": "Bearer " + jwt.encode({"sub": me["id"], "kind": "access", "exp": exp, "ver": 0},
                                                     secret, "HS256")}
    for h in (headers, short, headers, short):  # both verified and kept
        assert (await api.get(f"/api/v1/jobs/{job_id}", headers=h)).status_code == 200
    while time.time() <= exp + 0.05:
        time.sleep(0.05)
    expired = await api.get(f"/api/v1/jobs/{job_id}", headers=short)
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "token_expired", expired.text
    out = await api.post("/api/v1/auth/logout", headers=headers, json={"everywhere": True, "password": PASSWORD})
    assert out.status_code == 200, out.text
    revoked = await api.get(f"/api/v1/jobs/{job_id}", headers=headers)
    assert revoked.status_code == 401 and revoked.json()["error"]["code"] == "token_revoked", revoked.text


def test_a_kept_rate_limit_identity_ends_with_its_token():
    secret = "identity-test-secret-" + "x" * 20
    subject = str(uuid.uuid4())
    exp = int(time.time()) + 1
    token = jwt.encode({"sub": subject, "kind": "access", "exp": exp}, secret, "HS256")
    identities = Identities(secret)
    header = f"Bearer {token}".encode()
    assert identities.get(header, None) == f"user:{subject}"
    assert identities.get(header, None) == f"user:{subject}"  # kept
    assert identities.get(b"Bearer " + token.encode()[:-2] + b"xx", None) is None  # a forged signature
    assert identities.get(f"Bearer {auth.issue_token('another-secret-' + 'y' * 24, subject)}".encode(), None) is None
    service = auth.issue_token(secret, "bot", kind="service")
    assert identities.get(f"Bearer {service}".encode(), b"telegram:42") == "chat:telegram:42"
    assert identities.get(f"Bearer {service}".encode(), None) == "service:bot"
    while time.time() <= exp + 0.05:
        time.sleep(0.05)
    assert identities.get(header, None) is None  # expired: counted per address again


async def test_the_server_app_takes_its_start_up_heap_out_of_the_collectors_view(env_for, monkeypatch):
    """Full collections walked every object made at start-up (~120k in an HTTP worker), pausing every request
    in flight; the server's app freezes them once started, and a test app leaves the collector alone."""
    import gc

    from litestar.testing import AsyncTestClient

    from moodmix.engine.config import load_settings
    from moodmix.engine.plugin_manager import build_plugin_manager
    from moodmix.web.app import create_app

    for key, value in env_for("embedded").items():
        monkeypatch.setenv(key, value)
    gc.unfreeze()
    try:
        async with AsyncTestClient(app=create_app(load_settings(), pm=build_plugin_manager())) as client:
            assert (await client.get("/health")).status_code == 200
            assert gc.get_freeze_count() == 0
        async with AsyncTestClient(app=create_app(load_settings(), pm=build_plugin_manager(), freeze_heap=True)
                                   ) as client:
            assert (await client.get("/health")).status_code == 200
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
