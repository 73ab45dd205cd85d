"""What the envelope's ``data`` holds, route by route, for the OpenAPI document.

Handlers return plain dicts made by the service layer; these structs describe them so that
clients (and their code generators) see the file, the job with its status values, the result,
and so on. They are documentation: nothing is decoded through them. ``tests/test_openapi.py``
checks real responses against them, so they cannot drift silently.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from moodmix.engine.jobs import states

#: Every status a job can be in (engine/jobs/states.py): queued → running → succeeded | failed | cancelled.
JobStatus = Literal[states.ALL]  # type: ignore[valid-type]


class UserData(msgspec.Struct):
    id: str
    username: str
    email: str | None
    created_at: str | None


class TokenData(msgspec.Struct):
    """A bearer token: ``jwt_expiry_days`` for API clients, 15 minutes for a browser session (``session``)."""

    token: str
    token_type: Literal["Bearer"]
    user: UserData
    expires_in: int | None = None


class FileData(msgspec.Struct):
    id: str
    filename: str
    format: str
    content_type: str
    size_bytes: int
    sha256: str
    duration: float
    sample_rate: int
    channels: int
    created_at: str | None


class FilePage(msgspec.Struct):
    items: list[FileData]
    page: int
    per_page: int
    total: int


class OutputData(msgspec.Struct):
    name: str
    kind: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    url: str | None = None


class JobError(msgspec.Struct):
    code: str
    message: str | None


class ResultData(msgspec.Struct):
    """A finished job's result: the capability's data, its one-line summary, and the output files."""

    data: Any
    outputs: list[OutputData]
    summary: str | None = None
    backend: str | None = None


class EtaRange(msgspec.Struct):
    low: float
    high: float


class JobData(msgspec.Struct):
    id: str
    capability: str
    status: JobStatus
    progress: float
    message: str | None
    params: dict[str, Any]
    inputs: dict[str, Any]
    result: ResultData | None
    backend: str | None
    error: JobError | None
    attempts: int
    worker: str | None
    depends_on: str | None
    cache_hit: bool
    reused_from: str | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    #: The worker pool the job is routed to (``gpu``/``cpu``), and the pools of the worker that ran it.
    pool: str | None = None
    worker_pool: str | None = None
    #: ``GET /jobs/{id}`` and its events only: 1-based place in the pool's line while queued.
    queue_position: int | None = None
    #: ``GET /jobs/{id}`` and its events only: seconds until done while queued or running, from recent
    #: jobs of the same capability (``None`` without history).
    eta_s: EtaRange | None = None


class JobPage(msgspec.Struct):
    items: list[JobData]
    page: int
    per_page: int
    total: int


class ResultDocument(msgspec.Struct):
    """``GET /jobs/{id}/result``: the same JSON that ``moodmix run`` writes to result.json."""

    job_id: str
    capability: str
    backend: str | None
    params: dict[str, Any]
    data: Any
    outputs: list[OutputData]


class InputSpecData(msgspec.Struct):
    name: str
    kind: str  # "audio" or "text"
    description: str
    required: bool


class OutputSpecData(msgspec.Struct):
    name: str
    kind: str
    description: str
    optional: bool


class CapabilityData(msgspec.Struct):
    """A capability as front ends see it; ``params_schema`` is the JSON schema of its parameters."""

    name: str
    description: str
    version: str
    inputs: list[InputSpecData]
    outputs: list[OutputSpecData]
    params_schema: dict[str, Any]
    ui: dict[str, Any]
    on_upload: bool
    genre_params: dict[str, str]
    advanced: list[str]
    resources: dict[str, Any]


class GenreData(msgspec.Struct):
    name: str
    description: str
    aliases: list[str]
    set: str


class ShareData(msgspec.Struct):
    """A share link; ``token``, ``path`` and ``url`` only in the answer that created it."""

    id: str
    job_id: str
    output: str
    expires_at: str | None
    revoked: bool
    token: str | None = None
    path: str | None = None
    url: str | None = None


class MediaLinkData(msgspec.Struct):
    """A short-lived address an ``<audio>`` element can stream and seek without headers."""

    url: str
    expires_in: int


class LinkCodeData(msgspec.Struct):
    code: str
    expires_in: int


class HealthData(msgspec.Struct):
    status: Literal["ok"]


class ReadyData(msgspec.Struct):
    status: Literal["ready"]
    checks: dict[str, str]
    capabilities: list[str]


class ShareRequest(msgspec.Struct):
    """``POST …/share``: how long the link lives, in seconds (the maximum is ``share_link_max_days``)."""

    expires_in_s: float = 7 * 86400


class UploadForm(msgspec.Struct):
    """``POST /files`` as multipart/form-data: the audio file in the field ``file``."""

    file: bytes


#: (method, path) -> what ``data`` holds in the success envelope; ``None``: data is null.
DATA: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/auth/register"): TokenData,
    ("POST", "/api/v1/auth/login"): TokenData,
    ("POST", "/api/v1/auth/refresh"): TokenData,
    ("POST", "/api/v1/auth/logout"): None,
    ("GET", "/api/v1/auth/me"): UserData,
    ("DELETE", "/api/v1/auth/me"): None,
    ("POST", "/api/v1/auth/link-code"): LinkCodeData,
    ("POST", "/api/v1/auth/link-chat"): UserData,
    ("POST", "/api/v1/files"): FileData,
    ("GET", "/api/v1/files"): FilePage,
    ("GET", "/api/v1/files/{file_id}"): FileData,
    ("DELETE", "/api/v1/files/{file_id}"): None,
    ("GET", "/api/v1/files/{file_id}/stream-url"): MediaLinkData,
    ("POST", "/api/v1/jobs"): JobData,
    ("GET", "/api/v1/jobs"): JobPage,
    ("GET", "/api/v1/jobs/{job_id}"): JobData,
    ("POST", "/api/v1/jobs/{job_id}/cancel"): JobData,
    ("GET", "/api/v1/jobs/{job_id}/result"): ResultDocument,
    ("GET", "/api/v1/jobs/{job_id}/outputs"): list[OutputData],
    ("GET", "/api/v1/jobs/{job_id}/outputs/{name}/stream-url"): MediaLinkData,
    ("POST", "/api/v1/jobs/{job_id}/outputs/{name}/share"): ShareData,
    ("GET", "/api/v1/shares"): list[ShareData],
    ("DELETE", "/api/v1/shares/{share_id}"): None,
    ("GET", "/api/v1/capabilities"): list[CapabilityData],
    ("GET", "/api/v1/capabilities/{name}"): CapabilityData,
    ("GET", "/api/v1/genres"): list[GenreData],
    ("GET", "/health"): HealthData,
    ("GET", "/ready"): ReadyData,
}
