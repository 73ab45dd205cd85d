"""Deterministic regressions for what fuzzing found: inputs that were 500s on Postgres."""

from __future__ import annotations

import pytest
from helpers import signup

# (method, url, request kwargs). SQLite stores NUL characters, Postgres refuses them: the answer may be
# 200 or 4xx, but never a 5xx, and always the envelope.
NUL_REQUESTS = [
    ("POST", "/api/v1/auth/login", {"json": {"username": "a\u0000b", "password": "whatever-1"}}),
    ("POST", "/api/v1/auth/login", {"json": {"email": "a\u0000@example.com", "password": "whatever-1"}}),
    ("GET", "/api/v1/jobs?capability=a%00b", {}),
    ("GET", "/api/v1/jobs?status=a%00b", {}),
    ("POST", "/api/v1/jobs", {"json": {"capability": "rev\u0000erse", "file_id": "x"}}),
    ("POST", "/api/v1/jobs", {"json": {"capability": "reverse", "file_id": "a\u0000"}}),
    ("GET", "/api/v1/capabilities/a%00b", {}),
]


@pytest.mark.parametrize("stack_config", ["embedded", "production"], indirect=True)
async def test_nul_characters_and_huge_pages_are_client_errors(stack):
    headers = await signup(stack)
    for method, url, kwargs in NUL_REQUESTS:
        resp = await stack.request(method, url, headers=headers, **kwargs)
        body = resp.json()
        assert resp.status_code < 500, (method, url, resp.status_code, resp.text[:200])
        assert body["success"] is (resp.status_code < 400) and (body["error"] is None or body["error"]["code"])
    for url in ("/api/v1/jobs?page=718275369906747199193088", "/api/v1/files?page=9223372036854775807",
                "/api/v1/jobs?page=1000001", "/api/v1/files?per_page=101"):
        resp = await stack.get(url, headers=headers)
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "bad_request", (url, resp.text[:200])
    assert (await stack.get("/api/v1/jobs?page=1000000", headers=headers)).json()["data"]["items"] == []
    # An e-mail address with a NUL (service.EMAIL_RE allows control characters): stored on SQLite.
    resp = await stack.post("/api/v1/auth/register", json={"username": "nul-user", "password": "whatever-1",
                                                           "email": "x\u0000@example.com"})
    assert resp.status_code in (201, 422), resp.text[:200]
