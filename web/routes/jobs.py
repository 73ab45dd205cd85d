"""Jobs: create, inspect, list, cancel, outputs, and live progress over Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from moodmix.engine.errors import BadInput
from moodmix.engine.jobs import states
from moodmix.engine.service import Service
from moodmix.web.envelope import ok
from moodmix.web.links import job_with_urls, media_link, output_with_url
from moodmix.web.openapi_docs import MAX_PAGE
from moodmix.web.ranges import file_response
from moodmix.web.security import current_user


class JobRef(msgspec.Struct, forbid_unknown_fields=True):
    job_id: str
    output: str


class CreateJobBody(msgspec.Struct, forbid_unknown_fields=True):
    """``inputs`` maps input names to a file id, ``{job_id, output}`` or text.

    Shortcuts: ``file_id`` fills the capability's first audio input, ``prompt`` its first text input.
    """

    capability: str
    inputs: dict[str, str | JobRef] = {}
    params: dict[str, Any] = {}
    file_id: str | None = None
    prompt: str | None = None
    #: Answer from a finished identical job when there is one (same input bytes, parameters, plugin version).
    reuse: bool = True


class JobsController(Controller):
    path = "/api/v1/jobs"
    tags = ["jobs"]
    dependencies = {"user": Provide(current_user)}

    @post("/", status_code=202)
    async def create(self, request: Request, user: dict, data: CreateJobBody) -> Response:
        service: Service = request.app.state.service
        inputs: dict[str, Any] = {k: (msgspec.to_builtins(v) if isinstance(v, JobRef) else v)
                                  for k, v in data.inputs.items()}
        job = await service.create_job(user["id"], data.capability, inputs=inputs, params=data.params,
                                       reuse=data.reuse, file_id=data.file_id, prompt=data.prompt)
        return ok(job_with_urls(job), "job queued", 202)

    @get("/")
    async def list_jobs(self, request: Request, user: dict,
                        status: str | None = Parameter(default=None),
                        capability: str | None = Parameter(default=None),
                        page: int = Parameter(default=1, ge=1, le=MAX_PAGE),
                        per_page: int = Parameter(default=20, ge=1, le=100)) -> Response:
        listing = await request.app.state.service.list_jobs(user["id"], status=status, capability=capability,
                                                          page=page, per_page=per_page)
        return ok({**listing, "items": [job_with_urls(j) for j in listing["items"]]})

    @get("/{job_id:uuid}")
    async def get_job(self, request: Request, user: dict, job_id: UUID) -> Response:
        return ok(job_with_urls(await request.app.state.service.get_job(user["id"], str(job_id))))

    @post("/{job_id:uuid}/cancel", status_code=200)
    async def cancel(self, request: Request, user: dict, job_id: UUID) -> Response:
        job = await request.app.state.service.cancel_job(user["id"], str(job_id))
        return ok(job_with_urls(job), "cancellation requested")

    @get("/{job_id:uuid}/result")
    async def result(self, request: Request, user: dict, job_id: UUID) -> Response:
        """The job's result document: the same JSON that ``moodmix run`` writes to result.json."""
        job = await request.app.state.service.get_job(user["id"], str(job_id))
        if job["status"] != states.SUCCEEDED:
            raise BadInput(f"the job has not succeeded (status: {job['status']})", code="job_not_ready")
        return ok(result_document(job_with_urls(job)))

    @get("/{job_id:uuid}/outputs")
    async def outputs(self, request: Request, user: dict, job_id: UUID) -> Response:
        outputs = await request.app.state.service.job_outputs(user["id"], str(job_id))
        return ok([output_with_url(str(job_id), o) for o in outputs])

    @get("/{job_id:uuid}/outputs/{name:str}")
    async def output(self, request: Request, user: dict, job_id: UUID, name: str) -> Response:
        key, filename, ctype = await request.app.state.service.output_download(user["id"], str(job_id), name)
        return await file_response(request, request.app.state.runtime.storage, key, filename, ctype)

    @get("/{job_id:uuid}/outputs/{name:str}/stream-url")
    async def output_stream_url(self, request: Request, user: dict, job_id: UUID, name: str) -> Response:
        """A URL valid for 15 minutes that an ``<audio>`` element can stream (with Range) without headers."""
        service: Service = request.app.state.service
        return ok(media_link(service.media_token(*await service.output_download(user["id"], str(job_id), name))))

    @get("/{job_id:uuid}/events")
    async def events(self, request: Request, user: dict, job_id: UUID) -> ServerSentEvent:
        """``progress`` events while the job moves, then one ``done`` event with the final job."""
        service: Service = request.app.state.service
        first = await service.get_job(user["id"], str(job_id))
        return ServerSentEvent(_job_events(service, user["id"], str(job_id), first))


def result_document(job: dict) -> dict:
    result = job.get("result") or {}
    return {"job_id": job["id"], "capability": job["capability"], "backend": result.get("backend"),
            "params": job["params"], "data": result.get("data"), "outputs": result.get("outputs", [])}


async def _job_events(service: Service, user_id: str, job_id: str, job: dict,
                      interval: float = 0.5, max_seconds: float = 3600) -> AsyncIterator[ServerSentEventMessage]:
    last = None
    waited = 0.0
    while True:
        snapshot = (job["status"], job["progress"], job.get("message"))
        if snapshot != last:
            last = snapshot
            kind = "done" if job["status"] in states.TERMINAL else "progress"
            yield ServerSentEventMessage(data=json.dumps(job_with_urls(job)), event=kind, id=str(int(waited * 1000)))
            if kind == "done":
                return
        if waited > max_seconds:
            return
        await asyncio.sleep(interval)
        waited += interval
        job = await service.get_job(user_id, job_id)
