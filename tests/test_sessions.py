"""Browser sessions (refresh cookie, rotation, reuse detection, sign-out), account deletion, and
token checks that every API process sees at once (token versions and ended sessions through Redis)."""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
import pytest
from helpers import signup, upload, wait_job
from support import real_server, require_services

from moodmix.engine.storage.base import output_key as storage_output_key
from moodmix.engine.storage.base import upload_key as storage_upload_key

COOKIE = "moodmix_refresh"
PASSWORD = "correct horse 1"


async def session_signup(client, name: str | None = None) -> tuple[dict, dict]:
    """Register with ``session: true``; returns (Authorization headers, response data)."""
    name = name or f"s{uuid.uuid4().hex[:8]}"
    resp = await client.post("/api/v1/auth/register", json={"username": name, "password": PASSWORD,
                                                             "session": True})
    assert resp.status_code == 201, resp.text
    data = resp.json()["data"]
    return {"Authorization": f"Bearer {data['token']}"}, data


def refresh_cookie_header(resp) -> str:
    values = [v for v in resp.headers.get_list("set-cookie") if v.startswith(f"{COOKIE}=")]
    assert len(values) == 1, resp.headers
    return values[0]


async def test_session_sign_in_sets_a_scoped_httponly_cookie_and_a_short_token(api):
    name = f"s{uuid.uuid4().hex[:8]}"
    resp = await api.post("/api/v1/auth/register", json={"username": name, "password": PASSWORD, "session": True})
    assert resp.status_code == 201
    cookie = refresh_cookie_header(resp).lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/api/v1/auth" in cookie
    assert "secure" not in cookie  # plain http here; https requests get Secure
    data = resp.json()["data"]
    assert data["expires_in"] == 900 and data["user"]["username"] == name
    claims = jwt.decode(data["token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 900 and claims["sid"]
    # API clients still get their long-lived token and no cookie.
    api.cookies.clear()
    login = await api.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
    assert login.status_code == 200 and COOKIE not in login.headers.get("set-cookie", "")
    assert login.json()["data"]["expires_in"] == 7 * 86400
    session = await api.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD, "session": True})
    assert session.status_code == 200 and session.json()["data"]["expires_in"] == 900
    assert api.cookies.get(COOKIE)


async def test_refresh_rotates_and_a_reused_token_ends_the_family(api):
    headers, _ = await session_signup(api)
    first = api.cookies.get(COOKIE)
    resp = await api.post("/api/v1/auth/refresh")
    assert resp.status_code == 200, resp.text
    second = api.cookies.get(COOKIE)
    assert second and second != first
    fresh = {"Authorization": f"Bearer {resp.json()['data']['token']}"}
    assert (await api.get("/api/v1/auth/me", headers=fresh)).status_code == 200
    # Someone replays the first (already used) token: the whole family ends, including the live one.
    api.cookies.clear()
    reused = await api.post("/api/v1/auth/refresh", cookies={COOKIE: first})
    assert reused.status_code == 401 and reused.json()["error"]["code"] == "session_reused"
    assert "max-age=0" in refresh_cookie_header(reused).lower()
    api.cookies.clear()
    later = await api.post("/api/v1/auth/refresh", cookies={COOKIE: second})
    assert later.status_code == 401 and later.json()["error"]["code"] == "session_ended"
    # The access tokens the family handed out stop working at once.
    for h in (headers, fresh):
        denied = await api.get("/api/v1/auth/me", headers=h)
        assert denied.status_code == 401 and denied.json()["error"]["code"] == "token_revoked"


async def test_refresh_without_or_with_a_bad_cookie_is_401(api):
    api.cookies.clear()
    missing = await api.post("/api/v1/auth/refresh")
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "session_missing"
    bogus = await api.post("/api/v1/auth/refresh", cookies={COOKIE: "not-a-token"})
    assert bogus.status_code == 401 and bogus.json()["error"]["code"] == "session_ended"


async def test_logout_revokes_the_refresh_token_and_the_session_access_token(api):
    headers, _ = await session_signup(api)
    token = api.cookies.get(COOKIE)
    out = await api.post("/api/v1/auth/logout", headers=headers, json={})
    assert out.status_code == 200, out.text
    assert "max-age=0" in refresh_cookie_header(out).lower()
    api.cookies.clear()
    again = await api.post("/api/v1/auth/refresh", cookies={COOKIE: token})
    assert again.status_code == 401 and again.json()["error"]["code"] == "session_ended"
    denied = await api.get("/api/v1/files", headers=headers)
    assert denied.status_code == 401 and denied.json()["error"]["code"] == "token_revoked"


async def test_logout_everywhere_needs_the_password_and_ends_api_tokens_too(api):
    name = f"e{uuid.uuid4().hex[:8]}"
    api_headers = await signup(api, name)
    page_headers, _ = await session_signup(api)
    assert (await api.get("/api/v1/files", headers=api_headers)).status_code == 200
    # A plain sign-out of an API token leaves the token's other sessions alone.
    wrong = await api.post("/api/v1/auth/logout", headers=api_headers, json={"everywhere": True, "password": "x"})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "bad_password"
    assert (await api.get("/api/v1/files", headers=api_headers)).status_code == 200
    out = await api.post("/api/v1/auth/logout", headers=api_headers, json={"everywhere": True, "password": PASSWORD})
    assert out.status_code == 200
    denied = await api.get("/api/v1/files", headers=api_headers)
    assert denied.status_code == 401 and denied.json()["error"]["code"] == "token_revoked"
    # Another user's session is untouched; signing in again works.
    assert (await api.get("/api/v1/files", headers=page_headers)).status_code == 200
    login = await api.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
    fresh = {"Authorization": f"Bearer {login.json()['data']['token']}"}
    assert (await api.get("/api/v1/files", headers=fresh)).status_code == 200


async def test_a_token_whose_subject_is_not_a_uuid_is_401(api):
    secret = api.app.state.runtime.settings.secret_key
    now = int(time.time())
    for sub in ("nope", "1", "../etc"):
        token = jwt.encode({"sub": sub, "kind": "access", "exp": now + 60, "iat": now}, secret, "HS256")
        resp = await api.get("/api/v1/files", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 401 and resp.json()["error"]["code"] == "token_invalid", (sub, resp.text)


async def test_account_deletion_removes_data_and_releases_unshared_blobs(api, demo_wav, tmp_path):
    name = f"d{uuid.uuid4().hex[:8]}"
    alice = await signup(api, name)
    bob = await signup(api)
    mine = (await upload(api, alice, demo_wav)).json()["data"]
    shared_bytes = (await upload(api, bob, demo_wav)).json()["data"]  # same bytes: one blob, two rows
    job = (await api.post("/api/v1/jobs", headers=alice, json={"capability": "reverse", "file_id": mine["id"],
                                                               "reuse": False})).json()["data"]
    assert (await wait_job(api, alice, job["id"]))["status"] == "succeeded"
    share = await api.post(f"/api/v1/jobs/{job['id']}/outputs/reversed/share", headers=alice, json={})
    share_url = share.json()["data"]["path"]
    assert (await api.get(share_url)).status_code == 200
    storage = api.app.state.runtime.storage
    output = (await api.get(f"/api/v1/jobs/{job['id']}/outputs", headers=alice)).json()["data"][0]
    output_key = storage_output_key(job["id"], output["filename"])
    assert await storage.size(output_key) > 0

    wrong = await api.request("DELETE", "/api/v1/auth/me", headers=alice, json={"password": "not it"})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "bad_password"
    gone = await api.request("DELETE", "/api/v1/auth/me", headers=alice, json={"password": PASSWORD})
    assert gone.status_code == 200, gone.text

    denied = await api.get("/api/v1/files", headers=alice)
    assert denied.status_code == 401 and denied.json()["error"]["code"].startswith("token_")
    assert (await api.get(share_url)).status_code in (403, 410)
    login = await api.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
    assert login.status_code == 401
    # Bob's upload of the same bytes still downloads; Alice's job output is gone from storage.
    assert (await api.get(f"/api/v1/files/{shared_bytes['id']}/download", headers=bob)).status_code == 200
    with pytest.raises(Exception):  # noqa: B017 - each storage backend names its own "missing" error
        await storage.size(output_key)
    # Bob deletes his account too: now the upload's bytes have no row left and go.
    upload_key = storage_upload_key(shared_bytes["sha256"])
    assert await storage.size(upload_key) > 0
    assert (await api.request("DELETE", "/api/v1/auth/me", headers=bob, json={"password": PASSWORD})).status_code == 200
    with pytest.raises(Exception):  # noqa: B017
        await storage.size(upload_key)


@pytest.mark.parametrize("config_name", ["production"], indirect=True)
async def test_deletion_and_sign_out_reach_every_api_process_at_once(api, tmp_path):
    """Two API processes on one Postgres + Redis (this one in-process, the other ``moodmix serve``): what
    happens through one holds in the other at once, although each caches users for USER_CACHE_S."""
    require_services()
    assert api.app.state.service.accounts.USER_CACHE_S >= 5  # the caches are really in play
    with real_server({}, tmp_path / "other.log", server="uvicorn") as base:  # the fixture's environment
        async with httpx.AsyncClient(base_url=base, timeout=30) as other:
            name = f"x{uuid.uuid4().hex[:8]}"
            alice = await signup(api, name)
            for _ in range(2):  # the second answer comes from the other process's cache
                assert (await other.get("/api/v1/files", headers=alice)).status_code == 200
            assert (await api.request("DELETE", "/api/v1/auth/me", headers=alice,
                                      json={"password": PASSWORD})).status_code == 200
            denied = await other.get("/api/v1/files", headers=alice)
            assert denied.status_code == 401 and denied.json()["error"]["code"].startswith("token_")

            page, _ = await session_signup(api)
            for _ in range(2):
                assert (await other.get("/api/v1/files", headers=page)).status_code == 200
            assert (await api.post("/api/v1/auth/logout", headers=page, json={})).status_code == 200
            denied = await other.get("/api/v1/files", headers=page)
            assert denied.status_code == 401 and denied.json()["error"]["code"] == "token_revoked"

            bob = await signup(other)
            for _ in range(2):
                assert (await api.get("/api/v1/files", headers=bob)).status_code == 200
            me = (await other.get("/api/v1/auth/me", headers=bob)).json()["data"]
            assert (await other.post("/api/v1/auth/logout", headers=bob, json={
                "everywhere": True, "password": PASSWORD})).status_code == 200
            denied = await api.get("/api/v1/files", headers=bob)
            assert denied.status_code == 401 and denied.json()["error"]["code"] == "token_revoked", me


@pytest.mark.parametrize("config_name", ["production"], indirect=True)
async def test_token_checks_fall_back_to_the_database_when_redis_is_down(api):
    require_services()
    from moodmix.engine.services.token_state import RedisTokenState

    page, _ = await session_signup(api)
    accounts = api.app.state.service.accounts
    accounts.token_state = RedisTokenState("redis://127.0.0.1:9/0")  # nothing listens on port 9
    assert (await api.get("/api/v1/files", headers=page)).status_code == 200
    assert (await api.post("/api/v1/auth/logout", headers=page, json={})).status_code == 200
    denied = await api.get("/api/v1/files", headers=page)
    assert denied.status_code == 401 and denied.json()["error"]["code"] == "token_revoked"


async def test_migration_adds_sessions_to_an_older_database(tmp_path):
    """A database from before sessions (no users.token_version, no refresh_tokens) is brought up to date."""
    from moodmix.engine.db.database import close_database, open_database
    from moodmix.engine.db.migrate import migrate
    from moodmix.migrations.m0002_rename_columns import columns

    engine = await open_database(f"sqlite:///{tmp_path / 'old.sqlite'}", pool=False)
    try:
        await migrate(engine)
        await engine.run_ddl("DROP TABLE refresh_tokens")
        await engine.run_ddl("ALTER TABLE users DROP COLUMN token_version")
        await engine.run_ddl("DELETE FROM moodmix_migrations WHERE id = 'm0004_sessions'")
        assert "token_version" not in await columns(engine, "users")
        assert await migrate(engine) == ["m0004_sessions"]
        assert "token_version" in await columns(engine, "users")
        assert {"family", "token_hash", "used_at", "revoked"} <= await columns(engine, "refresh_tokens")
    finally:
        await close_database(engine)


@pytest.mark.parametrize("config_name", ["embedded"], indirect=True)
async def test_account_deletion_refuses_a_malformed_confirmation_with_400(api):
    alice = await signup(api)
    for body in ("[" * 5000 + "]" * 5000, "{", '{"password": 5}', '{"nope": 1}'):
        resp = await api.request("DELETE", "/api/v1/auth/me", headers={**alice, "content-type": "application/json"},
                                 content=body)
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "bad_request", (body[:20], resp.text)
    assert (await api.get("/api/v1/auth/me", headers=alice)).status_code == 200
