"""Jobs: create, inspect, list, cancel, outputs (one by one, named after the track, or all in a zip),
their waveforms and playable renditions, and live progress over Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import Provide
from litestar.params import Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage, Stream
from litestar.serialization import encode_json
from litestar.types import ASGIApp, Receive, Scope, Send

from moodmix.engine import renditions
from moodmix.engine.errors import BadInput, NotFound
from moodmix.engine.jobs import states
from moodmix.engine.jobs.status_board import status_board
from moodmix.engine.service import Service
from moodmix.web.download_names import download_name, track_name
from moodmix.web.envelope import ok, success
from moodmix.web.links import job_with_urls, media_link, output_with_url
from moodmix.web.openapi_docs import MAX_PAGE
from moodmix.web.ranges import content_disposition, file_response
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
    async def get_job(self, request: Request, job_id: UUID) -> ASGIApp:
        """The status document that pages and bots poll: its answer is kept, encoded, until the job changes.
        The caller is checked here, not through the ``user`` dependency: the same check without the
        dependency machinery, on the route that is called most."""
        user = await current_user(request)
        return await request.app.state.service.jobs.rendered_job(user["id"], str(job_id), job_envelope)

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
        """One output, saved as ``<track> – <output><suffix>`` (the stored name stays as it is)."""
        service: Service = request.app.state.service
        key, filename, ctype = await service.output_download(user["id"], str(job_id), name)
        job = await service.get_job(user["id"], str(job_id))
        shown = download_name(await track_name(service, user["id"], job), name, filename)
        return await file_response(request, request.app.state.runtime.storage, key, shown, ctype)

    @get("/{job_id:uuid}/outputs.zip")
    async def outputs_zip(self, request: Request, user: dict, job_id: UUID) -> Stream:
        """Every output of a finished job in one zip, each named after the track and the output."""
        service: Service = request.app.state.service
        storage = request.app.state.runtime.storage
        job = await service.get_job(user["id"], str(job_id))
        if job["status"] != states.SUCCEEDED:
            raise BadInput(f"the job has not succeeded (status: {job['status']})", code="job_not_ready")
        track = await track_name(service, user["id"], job)
        scratch = storage.job_scratch(f"zip-{job_id}")
        try:
            entries = []
            for out in await service.job_outputs(user["id"], str(job_id)):
                key, filename, _ = await service.output_download(user["id"], str(job_id), out["name"])
                local = await storage.fetch(key, scratch / "files")
                entries.append((local, download_name(track, out["name"], filename), out["kind"]))
            archive = scratch / "outputs.zip"
            await asyncio.to_thread(_write_zip, archive, entries)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        zip_name = download_name(track, job["capability"], "outputs.zip") if track else \
            f"{job['capability']}-outputs.zip"
        return Stream(_read_file(archive), media_type="application/zip",
                      headers={"Content-Disposition": content_disposition("attachment", zip_name),
                               "Content-Length": str(archive.stat().st_size), "Cache-Control": "private, max-age=0"},
                      background=BackgroundTask(shutil.rmtree, scratch, ignore_errors=True))

    @get("/{job_id:uuid}/outputs/{name:str}/stream-url")
    async def output_stream_url(self, request: Request, user: dict, job_id: UUID, name: str,
                                rendition: Literal["original", "playable"] = Parameter(default="original")
                                ) -> Response:
        """A URL valid for 15 minutes that an ``<audio>`` element can stream (with Range) without headers;
        ``rendition=playable`` as for files (an MP3 preview when the output's format does not play everywhere)."""
        service: Service = request.app.state.service
        key, filename, ctype = await service.output_download(user["id"], str(job_id), name)
        preview = False
        if rendition == "playable":
            out = await _output_record(service, user["id"], str(job_id), name)
            key, filename, ctype, preview = await service.rendition(key, out["sha256"], filename, ctype)
        return ok({**media_link(service.media_token(key, filename, ctype)), "preview": preview})

    @get("/{job_id:uuid}/outputs/{name:str}/waveform")
    async def output_waveform(self, request: Request, user: dict, job_id: UUID, name: str,
                              points: int = Parameter(default=800, ge=renditions.MIN_POINTS,
                                                      le=renditions.PEAK_RESOLUTION)) -> Response:
        """Min/max peaks of an audio output in ``points`` equal slices, computed once."""
        service: Service = request.app.state.service
        out = await _output_record(service, user["id"], str(job_id), name)
        if out["kind"] != "audio":
            raise BadInput(f"output {name!r} is not audio (it is {out['kind']})", code="not_audio")
        key, _, _ = await service.output_download(user["id"], str(job_id), name)
        return ok(await service.peaks(key, out["sha256"], points))

    @get("/{job_id:uuid}/events")
    async def events(self, request: Request, user: dict, job_id: UUID) -> ServerSentEvent:
        """``progress`` events while the job moves, then one ``done`` event with the final job."""
        service: Service = request.app.state.service
        await service.get_job(user["id"], str(job_id))  # not found: 404 before the stream starts
        settings = request.app.state.runtime.settings
        return ServerSentEvent(_job_events(service, user["id"], str(job_id), settings))


async def _output_record(service: Service, user_id: str, job_id: str, name: str) -> dict:
    for out in await service.job_outputs(user_id, job_id):
        if out["name"] == name:
            return out
    raise NotFound(f"job has no output {name!r}", code="output_not_found")


def _write_zip(archive: Path, entries: list[tuple[Path, str, str]]) -> None:
    """Audio and pictures are compressed already: stored as they are; the rest deflated."""
    used: set[str] = set()
    with zipfile.ZipFile(archive, "w") as zf:
        for path, name, kind in entries:
            stem, suffix, n = Path(name).stem, Path(name).suffix, 1
            while name in used:
                n += 1
                name = f"{stem} ({n}){suffix}"
            used.add(name)
            method = zipfile.ZIP_STORED if kind in ("audio", "image") else zipfile.ZIP_DEFLATED
            zf.write(path, arcname=name, compress_type=method)


async def _read_file(path: Path, block: int = 1 << 18) -> AsyncIterator[bytes]:
    import anyio

    async with await anyio.open_file(path, "rb") as fh:
        while chunk := await fh.read(block):
            yield chunk


class EncodedJSON:
    """A 200 JSON answer whose body and headers are encoded already: sent as they are, without building a
    Litestar ``Response`` per request (middlewares still add their headers to each answer)."""

    __slots__ = ("body", "headers")

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.headers = ((b"content-type", MediaType.JSON.value.encode()), (b"content-length", str(len(body)).encode()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": list(self.headers)})
        await send({"type": "http.response.body", "body": self.body})


def job_envelope(job: dict) -> EncodedJSON:
    """What ``ok(job_with_urls(job))`` sends, encoded once per status document."""
    return EncodedJSON(encode_json(success(job_with_urls(job))))


def result_document(job: dict) -> dict:
    result = job.get("result") or {}
    return {"job_id": job["id"], "capability": job["capability"], "backend": result.get("backend"),
            "params": job["params"], "data": result.get("data"), "outputs": result.get("outputs", [])}


async def _job_events(service: Service, user_id: str, job_id: str, settings: Any,
                      max_seconds: float = 3600, idle_s: float = 2.0) -> AsyncIterator[ServerSentEventMessage]:
    """Woken by the job's changes (the status board); every ``idle_s`` it looks anyway, for changes that
    nobody announces (a claim) or a relay message that was lost."""
    board = status_board(settings)
    key = str(job_id)
    last = None
    started = time.monotonic()
    while True:
        seen = board.version(key)  # before reading: a change after it ends the wait below at once
        job = await service.get_job(user_id, job_id)
        snapshot = (job["status"], job["progress"], job.get("message"), job.get("queue_position"), job.get("eta_s"))
        if snapshot != last:
            last = snapshot
            kind = "done" if job["status"] in states.TERMINAL else "progress"
            elapsed_ms = int((time.monotonic() - started) * 1000)
            yield ServerSentEventMessage(data=json.dumps(job_with_urls(job)), event=kind, id=str(elapsed_ms))
            if kind == "done":
                return
        if time.monotonic() - started > max_seconds:
            return
        await board.wait(key, seen, idle_s)
