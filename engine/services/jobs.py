"""Jobs: requested (inputs bound, parameters parsed, result reuse), listed, cancelled, and their outputs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import msgspec

from moodmix.engine import timeutil
from moodmix.engine.db.tables import JobOutput, ProcessingJob
from moodmix.engine.errors import BadInput, Conflict, MoodmixError, NotFound
from moodmix.engine.execution import prepare
from moodmix.engine.inputs import bind_inputs
from moodmix.engine.jobs import states
from moodmix.engine.jobs.estimates import standing
from moodmix.engine.jobs.pools import pool_for
from moodmix.engine.jobs.scheduler import NORMAL, SHORT
from moodmix.engine.jobs.status_board import job_changed, status_board
from moodmix.engine.runtime import Runtime
from moodmix.engine.services.common import as_uuid, page_bounds, page_of
from moodmix.engine.services.files import Files


def result_cache_key(capability: str, version: str, params: Any, content: dict[str, str],
                     texts: dict[str, str]) -> str:
    """Hash of everything that determines a capability's outputs."""
    blob = json.dumps({"c": capability, "v": version, "p": params, "in": content, "t": texts},
                      sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def output_dict(o: dict) -> dict:
    return {"name": o["name"], "kind": o["kind"], "filename": o["filename"], "content_type": o["content_type"],
            "size_bytes": o["size_bytes"], "sha256": o["sha256"]}


def job_dict(row: dict) -> dict:
    result = row.get("result")
    if isinstance(result, str):
        result = json.loads(result)
    error = {"code": row["error_code"], "message": row["error"]} if row.get("error_code") else None
    return {
        "id": str(row["id"]), "capability": row["capability"], "status": row["status"],
        "progress": float(row["progress"] or 0.0), "message": row.get("message"),
        "params": row.get("params") or {}, "inputs": row.get("inputs") or {},
        "result": result, "backend": row.get("backend"), "error": error,
        "attempts": row.get("attempts", 0), "worker": row.get("worker"), "pool": row.get("pool"),
        "worker_pool": row.get("worker_pool"),
        "depends_on": str(row["depends_on"]) if row.get("depends_on") else None,
        "cache_hit": bool(row.get("cache_hit")),
        "reused_from": str(row["reused_from"]) if row.get("reused_from") else None,
        "created_at": timeutil.iso(row.get("created_at")), "started_at": timeutil.iso(row.get("started_at")),
        "finished_at": timeutil.iso(row.get("finished_at")),
    }


class Jobs:
    def __init__(self, rt: Runtime, files: Files) -> None:
        self.rt = rt
        self.files = files

    async def create_job(self, user_id: str, capability: str, *, inputs: dict[str, Any] | None = None,
                         params: dict[str, Any] | None = None, reuse: bool = True, file_id: str | None = None,
                         prompt: str | None = None) -> dict:
        """Validate and queue a job.

        ``inputs`` maps input names to a file id (``"…"`` or ``{"file_id": …}``), another job's
        output (``{"job_id": …, "output": "vocals"}``) or, for text inputs, a string; ``file_id``
        and ``prompt`` fill the first audio and text input. With ``reuse``, a finished job with the
        same input bytes, capability, parameters and plugin version answers at once (a cache hit).
        """
        settings = self.rt.settings
        cap, parsed = prepare(self.rt.registry, capability, params)
        normalised_params = msgspec.to_builtins(parsed)
        uid = as_uuid(user_id, "user")
        if inputs is not None and not isinstance(inputs, dict):
            raise BadInput("inputs must be an object", code="bad_input")
        bound = bind_inputs(cap, inputs, audio=file_id, prompt=prompt)
        audio: dict[str, dict] = {}
        content: dict[str, str] = {}  # input name -> sha256 of its bytes (for result reuse)
        depends_on = None
        primary_file = None
        for name, value in bound.audio.items():
            ref = {"file_id": value} if isinstance(value, str) else value
            if isinstance(ref, dict) and "file_id" in ref:
                row = await self.files.file_row(user_id, ref["file_id"])
                audio[name] = {"file_id": str(row["id"])}
                content[name] = row["sha256"]
                primary_file = primary_file or row["id"]
            elif isinstance(ref, dict) and "job_id" in ref:
                parent, sha = await self._parent_output(user_id, ref)
                if parent["status"] != states.SUCCEEDED:
                    if depends_on and depends_on != parent["id"]:
                        raise BadInput("a job can wait for only one unfinished job", code="bad_input")
                    depends_on = parent["id"]
                audio[name] = {"job_id": str(parent["id"]), "output": str(ref.get("output") or "")}
                if sha:
                    content[name] = sha
            else:
                raise BadInput(f"input {name!r} must be a file id or {{job_id, output}}", code="bad_input")
        cache_key = None
        if depends_on is None and cap.is_cacheable(parsed) and len(content) == len(audio):
            cache_key = result_cache_key(cap.name, cap.version, normalised_params, content, bound.texts)
        job = ProcessingJob(
            user=uid, audio=primary_file, capability=cap.name, status=states.QUEUED, progress=0.0,
            params=normalised_params, inputs={"audio": audio, "texts": bound.texts},
            max_attempts=max(1, settings.job_retries), time_limit_s=settings.job_time_limit_s,
            depends_on=depends_on, plugin_version=cap.version, message="queued", cache_key=cache_key,
            pool=pool_for(cap, parsed, settings), priority=SHORT if cap.resources.short else NORMAL,
        )
        await job.save()
        if reuse and cache_key and await self._reuse_finished(job, cache_key):
            return await self.get_job(user_id, str(job.id))
        if depends_on is None:
            await self._enqueue_or_fail(job.id, job.pool)
        else:
            await self._recheck_parent(job.id, depends_on)
        return await self.get_job(user_id, str(job.id))

    async def _parent_output(self, user_id: str, ref: dict) -> tuple[dict, str | None]:
        """The job an input comes from (one that can still produce that audio output), and the output's hash."""
        parent = await self.job_row(user_id, ref["job_id"])
        out = str(ref.get("output") or "")
        pcap = self.rt.registry.capabilities.get(parent["capability"])
        names = {o.name for o in pcap.outputs if o.kind == "audio"} if pcap else set()
        if out not in names:
            raise BadInput(f"job {parent['id']} ({parent['capability']}) has no audio output {out!r}; "
                           f"audio outputs: {', '.join(sorted(names)) or 'none'}", code="bad_input")
        if parent["status"] in (states.FAILED, states.CANCELLED):
            raise BadInput(f"job {parent['id']} {parent['status']}; its outputs will never exist",
                           code="parent_failed")
        if parent["status"] != states.SUCCEEDED:
            return parent, None
        row = await JobOutput.select(JobOutput.sha256).where(
            (JobOutput.job == parent["id"]) & (JobOutput.name == out)).first()
        return parent, row["sha256"] if row else None

    async def _enqueue_or_fail(self, job_id: Any, pool: str) -> None:
        """Send the job. The send itself reconnects and retries for a while (a Redis restart); when the
        queue stays away longer, nothing is recorded: the row goes and the caller gets 503. A job the API
        has accepted is never failed because of the queue."""
        try:
            await self.rt.enqueue(str(job_id), pool)
        except Exception as exc:
            await ProcessingJob.delete().where((ProcessingJob.id == job_id) & (ProcessingJob.status == states.QUEUED))
            raise MoodmixError("the job queue is unavailable, so the job was not accepted; try again in a moment",
                               code="queue_unavailable", status=503) from exc

    async def _recheck_parent(self, job_id: Any, parent_id: Any) -> None:
        """Close the race where the parent finished between our check and our insert."""
        parent = await ProcessingJob.select(ProcessingJob.status).where(ProcessingJob.id == parent_id).first()
        if parent and parent["status"] == states.SUCCEEDED:
            await self.rt.enqueue(str(job_id))  # the runner's claim makes a double send harmless
        elif parent and parent["status"] in (states.FAILED, states.CANCELLED):
            error = f"the job it depends on ({parent_id}) {parent['status']}"
            failed = await ProcessingJob.update({
                ProcessingJob.status: states.FAILED, ProcessingJob.error_code: "parent_failed",
                ProcessingJob.error: error, ProcessingJob.finished_at: timeutil.now(),
            }).where((ProcessingJob.id == job_id) & (ProcessingJob.status == states.QUEUED)).returning(ProcessingJob.id)
            if failed:
                await self.rt.notify_job_failed(job_id, states.FAILED, "parent_failed", error)

    async def _reuse_finished(self, job: ProcessingJob, cache_key: str) -> bool:
        """Answer ``job`` with a finished twin's outputs (the stored bytes are shared, not copied)."""
        twin = await ProcessingJob.select().where(
            (ProcessingJob.cache_key == cache_key) & (ProcessingJob.status == states.SUCCEEDED)
            & ProcessingJob.cache_hit.eq(False) & (ProcessingJob.id != job.id)
        ).order_by(ProcessingJob.finished_at, ascending=False).first()
        if twin is None:
            return False
        outputs = await JobOutput.select().where(JobOutput.job == twin["id"])
        for out in outputs:
            await JobOutput(job=job.id, storage_key=out["storage_key"], **output_dict(out)).save()
        await ProcessingJob.update({
            ProcessingJob.status: states.SUCCEEDED, ProcessingJob.progress: 100.0,
            ProcessingJob.message: "reused a finished identical job", ProcessingJob.result: twin["result"],
            ProcessingJob.backend: twin["backend"], ProcessingJob.cache_hit: True,
            # Another user's job id is theirs to know: a reuse across users is shown as a cache hit only.
            ProcessingJob.reused_from: twin["id"] if str(twin["user"]) == str(job.user) else None,
            ProcessingJob.result_path: twin["result_path"],
            ProcessingJob.started_at: timeutil.now(), ProcessingJob.finished_at: timeutil.now(),
        }).where(ProcessingJob.id == job.id)
        return True

    async def job_row(self, user_id: str, job_id: str) -> dict:
        """The user's job record; another user's job is "not found"."""
        row = await ProcessingJob.select().where(
            (ProcessingJob.id == as_uuid(job_id, "job")) & (ProcessingJob.user == as_uuid(user_id, "user"))
        ).first().output(load_json=True)
        if row is None:
            raise NotFound("job not found", code="job_not_found")
        return row

    async def get_job(self, user_id: str, job_id: str) -> dict:
        """The job, with ``queue_position`` and ``eta_s`` (``{low, high}`` seconds) while it waits or runs.

        Served from this process's status board while fresh (polling costs no query); the owner check holds.
        """
        async def load() -> tuple[dict, bool]:
            row = await self.job_row(user_id, job_id)
            return {**job_dict(row), **await standing(self.rt, row)}, row["status"] in states.TERMINAL

        board = status_board(self.rt.settings)
        return await board.read(str(as_uuid(job_id, "job")), str(as_uuid(user_id, "user")), load)

    async def rendered_job(self, user_id: str, job_id: str, render: Callable[[dict], Any]) -> Any:
        """``render(get_job(...))``, kept with the job's status document while it is fresh: polling an
        unchanged job renders it once. Canonical ids (``str(UUID)``) take the short way; others load."""
        board = status_board(self.rt.settings)
        held = board.rendered(job_id, user_id, render)
        if held is not None:
            return held
        job = await self.get_job(user_id, job_id)
        held = board.rendered(str(as_uuid(job_id, "job")), str(as_uuid(user_id, "user")), render)
        return held if held is not None else render(job)

    async def list_jobs(self, user_id: str, *, status: str | None = None, capability: str | None = None,
                        page: int = 1, per_page: int = 20) -> dict:
        page, per_page = page_bounds(page, per_page)
        where = ProcessingJob.user == as_uuid(user_id, "user")
        if status:
            if status not in states.ALL:
                raise BadInput(f"unknown status {status!r}; one of {', '.join(states.ALL)}", code="bad_filter")
            where = where & (ProcessingJob.status == status)
        if capability:
            where = where & (ProcessingJob.capability == capability)
        total = await ProcessingJob.count().where(where)
        rows = await ProcessingJob.select().where(where).order_by(
            ProcessingJob.created_at, ascending=False).limit(per_page).offset((page - 1) * per_page).output(
            load_json=True)
        return page_of([job_dict(r) for r in rows], page, per_page, total)

    async def cancel_job(self, user_id: str, job_id: str) -> dict:
        row = await self.job_row(user_id, job_id)
        if row["status"] in states.TERMINAL:
            raise Conflict(f"the job has already {row['status']}", code="job_finished")
        await ProcessingJob.update({ProcessingJob.cancel_requested: True}).where(ProcessingJob.id == row["id"])
        if row["status"] == states.QUEUED:
            cancelled = await ProcessingJob.update({
                ProcessingJob.status: states.CANCELLED, ProcessingJob.error_code: "cancelled",
                ProcessingJob.error: "cancelled by the user", ProcessingJob.message: "cancelled by the user",
                ProcessingJob.finished_at: timeutil.now(),
            }).where((ProcessingJob.id == row["id"]) & (ProcessingJob.status == states.QUEUED)
                     ).returning(ProcessingJob.id)
            if cancelled:
                await self.rt.notify_job_failed(row["id"], states.CANCELLED, "cancelled", "cancelled by the user")
            await job_changed(self.rt.settings, row["id"])
        return await self.get_job(user_id, job_id)

    async def job_outputs(self, user_id: str, job_id: str) -> list[dict]:
        row = await self.job_row(user_id, job_id)
        outs = await JobOutput.select().where(JobOutput.job == row["id"]).order_by(JobOutput.name)
        return [output_dict(o) for o in outs]

    async def output_row(self, job_pk: Any, name: str) -> dict | None:
        return await JobOutput.select().where((JobOutput.job == job_pk) & (JobOutput.name == name)).first()

    async def output_download(self, user_id: str, job_id: str, name: str) -> tuple[str, str, str]:
        """``(storage key, file name, content type)`` of one of the user's job outputs."""
        row = await self.job_row(user_id, job_id)
        out = await self.output_row(row["id"], name)
        if out is None:
            raise NotFound(f"job has no output {name!r}", code="output_not_found")
        return out["storage_key"], out["filename"], out["content_type"]
