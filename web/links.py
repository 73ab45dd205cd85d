"""Addresses: the engine hands out ids, storage keys and tokens; this is where they become URLs.

Nothing here needs the web framework, so an in-process bot backend can use it too.
"""

from __future__ import annotations

API = "/api/v1"


def output_path(job_id: str, name: str) -> str:
    """Where a signed-in user downloads a job output."""
    return f"{API}/jobs/{job_id}/outputs/{name}"


def output_with_url(job_id: str, output: dict) -> dict:
    return {**output, "url": output_path(job_id, output["name"])}


def job_with_urls(job: dict) -> dict:
    """A job as the API shows it: each output in its result carries its download ``url``."""
    result = job.get("result")
    if not result:
        return job
    outputs = [output_with_url(job["id"], o) for o in result.get("outputs", [])]
    return {**job, "result": {**result, "outputs": outputs}}


def share_path(token: str) -> str:
    return f"/s/{token}"


def share_url(base_url: str, token: str) -> str:
    """The absolute public address of a share link."""
    return base_url.rstrip("/") + share_path(token)


def share_with_urls(share: dict, base_url: str) -> dict:
    """A share record plus ``path`` and absolute ``url`` when it carries its token (only when just made)."""
    if not share.get("token"):
        return share
    return {**share, "path": share_path(share["token"]), "url": share_url(base_url, share["token"])}


def media_link(media: dict) -> dict:
    """``{"url", "expires_in"}`` for a media token (streamable by ``<audio>`` without headers)."""
    return {"url": f"/m/{media['token']}", "expires_in": media["expires_in"]}
