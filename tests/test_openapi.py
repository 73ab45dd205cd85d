"""The OpenAPI document tells clients the truth: what ``data`` holds, the upload's body, who needs a token,
job status values, limits; OPTIONS names every method; share links use the address the client used."""

from __future__ import annotations

import msgspec
import pytest
from helpers import signup, upload, wait_job

from moodmix.engine.jobs import states
from moodmix.web import api_schemas

pytestmark = pytest.mark.parametrize("config_name", ["embedded"], indirect=True)


def resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def data_schema(spec: dict, path: str, method: str, status: str = "200") -> dict:
    content = spec["paths"][path][method]["responses"][status]["content"]["application/json"]
    envelope = resolve(spec, content["schema"])
    return resolve(spec, envelope["properties"]["data"])


async def test_job_responses_have_a_schema_with_the_status_values(api):
    spec = (await api.get("/schema/openapi.json")).json()
    job = data_schema(spec, "/api/v1/jobs/{job_id}", "get")
    assert set(job["required"]) >= {"id", "capability", "status", "progress", "result"}
    assert set(resolve(spec, job["properties"]["status"])["enum"]) == set(states.ALL)
    page = data_schema(spec, "/api/v1/jobs", "get")
    assert set(page["properties"]) == {"items", "page", "per_page", "total"}
    assert resolve(spec, page["properties"]["items"]["items"])["title"] == "JobData"
    file = data_schema(spec, "/api/v1/files/{file_id}", "get")
    assert {"id", "filename", "duration", "sample_rate"} <= set(file["properties"])
    for path, method in [("/api/v1/capabilities", "get"), ("/api/v1/genres", "get"), ("/api/v1/shares", "get")]:
        assert data_schema(spec, path, method)["type"] == "array", path
    share = data_schema(spec, "/api/v1/jobs/{job_id}/outputs/{name}/share", "post", "201")
    assert {"url", "expires_at", "revoked"} <= set(share["properties"])


async def test_upload_documents_its_multipart_body(api):
    spec = (await api.get("/schema/openapi.json")).json()
    body = spec["paths"]["/api/v1/files"]["post"]["requestBody"]
    form = body["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["file"]
    assert form["properties"]["file"] == {"type": "string", "format": "binary", "description": "The audio file"}
    assert body["required"] is True


async def test_security_is_per_route(api):
    spec = (await api.get("/schema/openapi.json")).json()
    assert "security" not in spec  # no document-wide requirement for open routes to inherit
    for path in ("/api/v1/auth/register", "/api/v1/auth/login"):
        assert spec["paths"][path]["post"].get("security", []) == [], path
    for path, method in [("/health", "get"), ("/api/v1/capabilities", "get"), ("/s/{token}", "get")]:
        assert spec["paths"][path][method].get("security", []) == [], path
    assert spec["paths"]["/api/v1/auth/refresh"]["post"]["security"] == [{"refreshCookie": []}]
    for path, method in [("/api/v1/files", "post"), ("/api/v1/jobs/{job_id}", "get"), ("/api/v1/auth/me", "delete"),
                         ("/api/v1/auth/logout", "post")]:
        assert spec["paths"][path][method]["security"] == [{"bearer": []}], path
    assert spec["components"]["securitySchemes"]["refreshCookie"]["in"] == "cookie"


async def test_limits_are_schema_constraints(api):
    spec = (await api.get("/schema/openapi.json")).json()
    share = spec["paths"]["/api/v1/jobs/{job_id}/outputs/{name}/share"]["post"]["requestBody"]
    expiry = share["content"]["application/json"]["schema"]["properties"]["expires_in_s"]
    max_s = api.app.state.runtime.settings.share_link_max_days * 86400
    assert expiry["minimum"] == 60 and expiry["maximum"] == max_s
    params = {p["name"]: p["schema"] for p in spec["paths"]["/api/v1/files"]["get"]["parameters"]}
    assert params["per_page"]["maximum"] == 100 and params["page"]["minimum"] == 1


async def test_options_allow_lists_every_method_of_the_path(api):
    for path, methods in [("/api/v1/files", {"GET", "POST", "OPTIONS"}),
                          ("/api/v1/auth/me", {"GET", "DELETE", "OPTIONS"}),
                          ("/api/v1/jobs", {"GET", "POST", "OPTIONS"}),
                          ("/api/v1/files/00000000-0000-0000-0000-000000000001", {"GET", "DELETE", "OPTIONS"})]:
        resp = await api.options(path)
        assert resp.status_code == 204, path
        assert {m.strip() for m in resp.headers["allow"].split(",")} == methods, (path, resp.headers["allow"])


async def test_real_answers_match_the_documented_data(api, demo_wav):
    """The documentation structs decode what the API really answers, so they cannot drift unnoticed."""
    headers = await signup(api)
    file = (await upload(api, headers, demo_wav)).json()["data"]
    msgspec.convert(file, api_schemas.FileData)
    job = (await api.post("/api/v1/jobs", headers=headers, json={"capability": "reverse", "file_id": file["id"],
                                                                "reuse": False})).json()["data"]
    msgspec.convert(job, api_schemas.JobData)
    done = await wait_job(api, headers, job["id"])
    msgspec.convert(done, api_schemas.JobData)
    checks = [("/api/v1/files", api_schemas.FilePage), ("/api/v1/jobs", api_schemas.JobPage),
              (f"/api/v1/jobs/{job['id']}/result", api_schemas.ResultDocument),
              (f"/api/v1/jobs/{job['id']}/outputs", list[api_schemas.OutputData]),
              ("/api/v1/capabilities", list[api_schemas.CapabilityData]),
              ("/api/v1/genres", list[api_schemas.GenreData]), ("/api/v1/auth/me", api_schemas.UserData)]
    for path, kind in checks:
        resp = await api.get(path, headers=headers)
        assert resp.status_code == 200, path
        msgspec.convert(resp.json()["data"], kind)
    share = await api.post(f"/api/v1/jobs/{job['id']}/outputs/reversed/share", headers=headers, json={})
    msgspec.convert(share.json()["data"], api_schemas.ShareData)


async def test_share_urls_use_the_address_the_client_used(api, demo_wav):
    """Without MOODMIX_PUBLIC_URL the share URL is built from the request (here the test client's host)."""
    assert api.app.state.runtime.settings.public_url == ""
    headers = await signup(api)
    file = (await upload(api, headers, demo_wav)).json()["data"]
    job = (await api.post("/api/v1/jobs", headers=headers, json={"capability": "reverse", "file_id": file["id"],
                                                                "reuse": False})).json()["data"]
    await wait_job(api, headers, job["id"])
    share = await api.post(f"/api/v1/jobs/{job['id']}/outputs/reversed/share",
                           headers={**headers, "host": "music.example:5123"}, json={})
    assert share.json()["data"]["url"].startswith("http://music.example:5123/s/"), share.json()["data"]["url"]
