"""Authorisation, enumerated from the application's own route table.

A new endpoint is covered without touching this file: every route either appears in
``PUBLIC`` (open by design) or must refuse a request without a valid token and must answer
a second user's request for the first user's resources with 404/403. A new *path
parameter* name makes the matrix fail until it is taught what to put there.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
import msgspec
import numpy as np
import pytest
from hardening.stack import app_client
from helpers import signup, wait_job
from litestar import Litestar

from moodmix.engine.audio_io import save_audio

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
#: Open by design: the catalogue, health, sign-up/in, the page and its assets, the schema, metrics,
#: and share/media links (their signed token is the credential).
PUBLIC = {
    ("GET", "/"), ("GET", "/health"), ("GET", "/ready"), ("GET", "/metrics"), ("GET", "/static/{file_path}"),
    ("HEAD", "/static/{file_path}"), ("POST", "/api/v1/auth/register"), ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),  # its credential is the HttpOnly refresh cookie, not a bearer token
    ("GET", "/api/v1/capabilities"), ("GET", "/api/v1/capabilities/{name}"), ("GET", "/api/v1/genres"),
    ("GET", "/s/{token}"), ("GET", "/m/{token}"),
}
OWNED_PARAMS = {"file_id", "job_id", "share_id"}
#: Endpoints for bots: they take a service token, not a user's.
SERVICE_TOKEN_ENDPOINTS = {("POST", "/api/v1/auth/link-chat")}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # path_format: /api/v1/jobs/{job_id}
    body_type: Any = field(default=None, compare=False)  # the handler's ``data`` annotation, if any

    @property
    def params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    @property
    def public(self) -> bool:
        return (self.method, self.path) in PUBLIC or self.path.startswith("/schema")


def endpoints(app: Litestar) -> list[Endpoint]:
    """Every (method, path) the app serves, from its route table."""
    found = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            data = handler.parsed_fn_signature.parameters.get("data")
            for method in handler.http_methods & set(METHODS):
                found[(method, route.path_format)] = Endpoint(method, route.path_format,
                                                              data.annotation if data else None)
    return sorted(found.values(), key=lambda e: (e.path, e.method))


@dataclass
class Resources:
    """What the first user owns; ``fill`` puts it into a path."""

    file_id: str
    job_id: str
    share_id: str
    output: str = "reversed"

    def fill(self, endpoint: Endpoint) -> str:
        values = {"file_id": self.file_id, "job_id": self.job_id, "share_id": self.share_id, "name": self.output}
        unknown = [p for p in endpoint.params if p not in values]
        assert not unknown, f"{endpoint}: teach the authorisation matrix what {unknown} holds"
        return endpoint.path.format(**values)

    def ids(self) -> list[str]:
        return [self.file_id, self.job_id, self.share_id]


PLACEHOLDERS = {str: "ABCD1234", int: 1, float: 3600.0, bool: False}


def body_for(endpoint: Endpoint, res: Resources) -> dict | None:
    """A well-formed request body (so that a refusal is about who asks, not about the body)."""
    if endpoint.method != "POST":
        return None
    if endpoint.path == "/api/v1/jobs":
        return {"capability": "reverse", "file_id": res.file_id, "reuse": False}
    body_type = endpoint.body_type
    if not (isinstance(body_type, type) and issubclass(body_type, msgspec.Struct)):
        return {}
    return {f.encode_name: PLACEHOLDERS.get(f.type, "x") for f in msgspec.structs.fields(body_type) if f.required}


async def call(client, endpoint: Endpoint, res: Resources, headers: dict):
    url = res.fill(endpoint)
    if endpoint.path == "/api/v1/files" and endpoint.method == "POST":
        return await client.post(url, headers=headers, files={"file": ("a.wav", b"RIFF", "audio/wav")})
    body = body_for(endpoint, res)
    kwargs = {"json": body} if body is not None else {}
    return await client.request(endpoint.method, url, headers=headers, **kwargs)


async def alice_resources(client, tmp_path) -> tuple[dict, Resources]:
    alice = await signup(client)
    wav = save_audio(tmp_path / "tone.wav", np.sin(np.arange(8000) / 5.0).astype(np.float32) * 0.3, 8000)
    with open(wav, "rb") as fh:
        file_id = (await client.post("/api/v1/files", headers=alice, files={"file": ("t.wav", fh.read(), "audio/wav")})
                   ).json()["data"]["id"]
    job = (await client.post("/api/v1/jobs", headers=alice,
                             json={"capability": "reverse", "file_id": file_id, "reuse": False})).json()["data"]
    assert (await wait_job(client, alice, job["id"], timeout=90))["status"] == "succeeded"
    share = await client.post(f"/api/v1/jobs/{job['id']}/outputs/reversed/share", headers=alice, json={})
    assert share.status_code == 201, share.text
    return alice, Resources(file_id, job["id"], share.json()["data"]["id"])


def order_for_owner(eps: list[Endpoint]) -> list[Endpoint]:
    """Destructive calls last, so the owner's own checks see intact resources."""
    return sorted(eps, key=lambda e: e.method == "DELETE")


async def test_second_user_cannot_reach_first_users_resources(stack, tmp_path):
    alice, res = await alice_resources(stack, tmp_path)
    bob = await signup(stack)
    eps = [e for e in endpoints(stack.app) if not e.public]
    assert len(eps) >= 15, eps
    problems = []
    for ep in eps:
        resp = await call(stack, ep, res, bob)
        owned = set(ep.params) & OWNED_PARAMS
        if owned and resp.status_code not in (403, 404):
            problems.append(f"bob {ep.method} {ep.path}: {resp.status_code} (expected 404/403)")
        elif resp.status_code >= 500 or any(i in resp.text for i in res.ids()):
            problems.append(f"bob {ep.method} {ep.path}: {resp.status_code} leaks or fails: {resp.text[:200]}")
    # The same calls by the owner work: the refusals above were about who asked, not bad ids.
    for ep in order_for_owner([e for e in eps if set(e.params) & OWNED_PARAMS]):
        resp = await call(stack, ep, res, alice)
        if resp.status_code in (401, 403, 404) or resp.status_code >= 500:
            problems.append(f"alice {ep.method} {ep.path}: {resp.status_code} {resp.text[:200]}")
    assert problems == [], "\n".join(problems)
    chained = await stack.post("/api/v1/jobs", headers=bob, json={
        "capability": "reverse", "inputs": {"audio": {"job_id": res.job_id, "output": "reversed"}}})
    assert chained.status_code == 404


def hostile_tokens(secret: str, user_id: str) -> dict[str, str | None]:
    now = int(time.time())
    claims = {"sub": user_id, "kind": "access", "iat": now, "exp": now + 3600, "jti": uuid.uuid4().hex}
    good = jwt.encode(claims, secret, "HS256")
    head, payload, sig = good.split(".")
    other = jwt.encode({**claims, "sub": str(uuid.uuid4())}, secret, "HS256").split(".")[1]
    return {
        "none": None,
        "expired": jwt.encode({**claims, "exp": now - 5}, secret, "HS256"),
        "bad signature": f"{head}.{payload}.{sig[:-4]}{'AAAA' if not sig.endswith('AAAA') else 'BBBB'}",
        "payload swapped under a valid signature": f"{head}.{other}.{sig}",
        "alg none": jwt.encode(claims, None, "none"),
        "alg none, signature kept": f"{jwt.encode(claims, None, 'none')}{sig}",
        "HS512 with the right secret": jwt.encode(claims, secret, "HS512"),
        "wrong secret": jwt.encode(claims, "not-the-secret", "HS256"),
        "no expiry": jwt.encode({k: v for k, v in claims.items() if k != "exp"}, secret, "HS256"),
        "service token as user": jwt.encode({**claims, "kind": "service"}, secret, "HS256"),
        "share token as user": jwt.encode({**claims, "kind": "share"}, secret, "HS256"),
        "deleted user": jwt.encode({**claims, "sub": str(uuid.uuid4())}, secret, "HS256"),
        "garbage": "not.a.jwt",
        "empty": "",
        "huge": "A" * 6000,
    }


@pytest.mark.parametrize("stack_config", ["embedded"], indirect=True)
async def test_bad_tokens_are_refused_everywhere(stack, tmp_path):
    alice, res = await alice_resources(stack, tmp_path)
    me = (await stack.get("/api/v1/auth/me", headers=alice)).json()["data"]
    secret = stack.app.state.runtime.settings.secret_key
    eps = [e for e in endpoints(stack.app) if not e.public]
    problems = []
    for name, token in hostile_tokens(secret, me["id"]).items():
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        for ep in eps:
            if name == "service token as user" and (ep.method, ep.path) in SERVICE_TOKEN_ENDPOINTS:
                continue  # a service token is the right credential there
            resp = await call(stack, ep, res, headers)
            if resp.status_code != 401 or not resp.json()["error"]["code"].startswith("token_"):
                problems.append(f"{name}: {ep.method} {ep.path} -> {resp.status_code} {resp.text[:120]}")
    assert problems == [], "\n".join(problems)
    # A service token may act for chat users, but a user token may not.
    chat = {"Authorization": alice["Authorization"], "X-Moodmix-Chat": "telegram:42"}
    assert (await stack.get("/api/v1/files", headers=chat)).status_code == 401


HOSTILE_NAMES = ["../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/shadow", "....//....//x.wav", "..",
                 "a\x00b.wav", "%2e%2e%2fetc%2fpasswd", "x\r\nSet-Cookie: a=b.wav", "." * 300, "ü" * 400 + ".wav"]


@pytest.mark.parametrize("stack_config", ["embedded"], indirect=True)
async def test_file_names_cannot_traverse(stack, tmp_path):
    alice, res = await alice_resources(stack, tmp_path)
    wav = (await stack.get(f"/api/v1/files/{res.file_id}/download", headers=alice)).content
    for hostile in HOSTILE_NAMES:
        resp = await stack.post("/api/v1/files", headers=alice, files={"file": (hostile, wav, "audio/wav")})
        assert resp.status_code == 201, (hostile, resp.text)
        stored = resp.json()["data"]["filename"]
        assert "/" not in stored and "\\" not in stored and "\x00" not in stored and ".." not in stored, stored
        assert 0 < len(stored) <= 255 and not stored.startswith("."), stored
        down = await stack.get(f"/api/v1/files/{resp.json()['data']['id']}/download", headers=alice)
        assert down.status_code == 200 and "\n" not in down.headers["content-disposition"]
    raw = await stack.post("/api/v1/files?filename=../../../tmp/evil.wav", headers=alice, content=wav)
    assert raw.status_code == 201 and raw.json()["data"]["filename"] == "evil.wav"
    data_root = stack.data_dirs[0]
    assert not list(data_root.parent.glob("**/passwd")) and not list(data_root.parent.glob("**/evil.wav"))
    # Output names are looked up in the database, never joined to a path. (A bare ".." is resolved by
    # the HTTP client itself, so it reaches the job document, not a file: still no file is served.)
    for name in ["..", "...", "%2e%2e", "..%2F..%2Fetc%2Fpasswd", "reversed%2F..%2F..%2Fmoodmix.sqlite"]:
        resp = await stack.get(f"/api/v1/jobs/{res.job_id}/outputs/{name}", headers=alice)
        assert resp.status_code in (404, 200) and resp.headers["content-type"].startswith("application/json"), (
            name, resp.status_code, resp.headers["content-type"])
        share = await stack.post(f"/api/v1/jobs/{res.job_id}/outputs/{name}/share", headers=alice, json={})
        assert share.status_code in (404, 405), (name, share.status_code)


async def test_rate_limit_is_per_user_with_retry_after(tmp_path, monkeypatch):
    async with app_client("embedded", tmp_path, monkeypatch, MOODMIX_RATE_LIMIT="4") as client:
        alice = await signup(client)
        bob = await signup(client)
        codes = [(await client.get("/api/v1/files", headers=alice)).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 200, 429]
        limited = await client.get("/api/v1/jobs", headers=alice)
        assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
        assert 0 < int(limited.headers["retry-after"]) <= 900
        assert (await client.get("/api/v1/files", headers=bob)).status_code == 200  # Bob has his own bucket
        assert (await client.get("/health")).status_code == 200
