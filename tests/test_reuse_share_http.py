"""Result reuse, share links, compression and security headers — on every configuration."""

from __future__ import annotations

import time

import httpx
import jwt
from helpers import signup, upload, wait_job

from moodmix.engine import auth


async def _analyzed(api, headers, demo_wav, **extra):
    file_id = (await upload(api, headers, demo_wav)).json()["data"]["id"]
    resp = await api.post("/api/v1/jobs", headers=headers,
                          json={"capability": "reverse", "file_id": file_id, **extra})
    assert resp.status_code == 202, resp.text
    return file_id, resp.json()["data"]


async def test_identical_request_reuses_finished_outputs(api, demo_wav):
    alice = await signup(api)
    _, first = await _analyzed(api, alice, demo_wav)
    first = await wait_job(api, alice, first["id"])
    assert first["status"] == "succeeded" and first["cache_hit"] is False
    # Another user uploading the same bytes asks for the same thing: answered at once.
    bob = await signup(api)
    _, second = await _analyzed(api, bob, demo_wav)
    assert second["status"] == "succeeded" and second["cache_hit"] is True
    assert second["reused_from"] is None  # Alice's job id is not Bob's to see
    assert first["id"] not in str(second)
    assert second["result"]["data"] == first["result"]["data"]
    # Alice asking again sees which of her jobs answered.
    _, again = await _analyzed(api, alice, demo_wav)
    assert again["cache_hit"] is True and again["reused_from"] == first["id"]
    a = await api.get(f"/api/v1/jobs/{first['id']}/outputs/reversed", headers=alice)
    b = await api.get(f"/api/v1/jobs/{second['id']}/outputs/reversed", headers=bob)
    assert a.content == b.content and len(a.content) > 1000
    # switched off per request, or different parameters: it runs for real
    _, fresh = await _analyzed(api, bob, demo_wav, reuse=False)
    assert fresh["cache_hit"] is False
    assert (await wait_job(api, bob, fresh["id"]))["status"] == "succeeded"
    _, other = await _analyzed(api, bob, demo_wav, params={"gain_db": -1})
    assert other["cache_hit"] is False


async def test_share_links(api, demo_wav):
    owner = await signup(api)
    _, job = await _analyzed(api, owner, demo_wav)
    job = await wait_job(api, owner, job["id"])
    original = (await api.get(f"/api/v1/jobs/{job['id']}/outputs/reversed", headers=owner)).content
    stranger = await signup(api)
    denied = await api.post(f"/api/v1/jobs/{job['id']}/outputs/reversed/share", headers=stranger, json={})
    assert denied.status_code == 404
    resp = await api.post(f"/api/v1/jobs/{job['id']}/outputs/reversed/share", headers=owner,
                          json={"expires_in_s": 3600})
    assert resp.status_code == 201, resp.text
    share = resp.json()["data"]
    public = await api.get(share["path"])  # no Authorization header at all
    assert public.status_code == 200 and public.content == original
    part = await api.get(share["path"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == original[:100]
    tampered = share["token"][:-3] + ("AAA" if not share["token"].endswith("AAA") else "BBB")
    assert (await api.get(f"/s/{tampered}")).status_code == 403
    secret = api.app.state.runtime.settings.secret_key
    payload = jwt.decode(share["token"], secret, algorithms=["HS256"])
    expired = jwt.encode({**payload, "exp": int(time.time()) - 5}, secret, "HS256")
    gone = await api.get(f"/s/{expired}")
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "share_expired"
    user_token = auth.issue_token(secret, payload["sub"], kind="access")
    assert (await api.get(f"/s/{user_token}")).status_code == 403
    assert (await api.delete(f"/api/v1/shares/{share['id']}", headers=stranger)).status_code == 404
    assert (await api.delete(f"/api/v1/shares/{share['id']}", headers=owner)).status_code == 200
    revoked = await api.get(share["path"])
    assert revoked.status_code == 410 and revoked.json()["error"]["code"] == "share_revoked"
    listed = (await api.get("/api/v1/shares", headers=owner)).json()["data"]
    assert listed[0]["revoked"] is True and "token" not in listed[0]
    bad = await api.post(f"/api/v1/jobs/{job['id']}/outputs/reversed/share", headers=owner,
                         json={"expires_in_s": 10 ** 9})
    assert bad.status_code == 422


async def test_compression_and_security_headers(api):
    br = await api.get("/api/v1/capabilities", headers={"Accept-Encoding": "br"})
    assert br.status_code == 200 and br.headers["content-encoding"] == "br"
    assert br.json()["success"] is True  # httpx decodes brotli
    gz = await api.get("/api/v1/capabilities", headers={"Accept-Encoding": "gzip"})
    assert gz.headers["content-encoding"] == "gzip"
    page = await api.get("/")
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    err = await api.get("/api/v1/files")
    assert err.status_code == 401 and err.headers["x-content-type-options"] == "nosniff"


async def test_presigned_downloads_on_s3(env_for, tmp_path, monkeypatch, demo_wav):
    """With S3 and presigning on, downloads redirect to the object store, which serves the same bytes."""
    import support
    from litestar.testing import AsyncTestClient

    from moodmix.engine.config import load_settings
    from moodmix.web.app import create_app

    support.require_services()
    await support.reset_postgres()
    env = env_for("s3", MOODMIX_S3_PRESIGN_DOWNLOADS="1")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    async with AsyncTestClient(app=create_app(load_settings()), timeout=60) as api:
        headers = await signup(api)
        file_id = (await upload(api, headers, demo_wav)).json()["data"]["id"]
        resp = await api.get(f"/api/v1/files/{file_id}/download", headers=headers, follow_redirects=False)
        assert resp.status_code == 307, resp.text
        location = resp.headers["location"]
        assert location.startswith(support.moto_url())
        async with httpx.AsyncClient() as http:
            direct = await http.get(location)
        assert direct.status_code == 200 and direct.content == demo_wav.read_bytes()


async def test_stream_urls_work_without_headers_and_expire(api, demo_wav):
    headers = await signup(api)
    file_id = (await upload(api, headers, demo_wav)).json()["data"]["id"]
    media = (await api.get(f"/api/v1/files/{file_id}/stream-url", headers=headers)).json()["data"]
    assert media["url"].startswith("/m/") and media["expires_in"] == 900
    part = await api.get(media["url"], headers={"Range": "bytes=0-11"})
    assert part.status_code == 206 and part.content == demo_wav.read_bytes()[:12]
    other = await signup(api)
    assert (await api.get(f"/api/v1/files/{file_id}/stream-url", headers=other)).status_code == 404
    secret = api.app.state.runtime.settings.secret_key
    claims = jwt.decode(media["url"][3:], secret, algorithms=["HS256"])
    stale = jwt.encode({**claims, "exp": int(time.time()) - 1}, secret, "HS256")
    assert (await api.get(f"/m/{stale}")).status_code == 410
    forged = jwt.encode({**claims, "key": "uploads/../../etc/passwd"}, "not-the-secret", "HS256")
    assert (await api.get(f"/m/{forged}")).status_code == 403
