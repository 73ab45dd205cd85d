"""The one task that runs any capability for a job row.

It claims the row (compare-and-set, so a redelivered message never runs a job
twice at once), resolves inputs from storage, runs the plugin in a thread while a
heartbeat loop persists progress and watches for cancellation, then stores the
outputs and records the result exactly once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moodmix.engine import timeutil
from moodmix.engine.capability import Capability, JobInfo, RunResult
from moodmix.engine.db.tables import AudioFile, JobOutput, ProcessingJob
from moodmix.engine.errors import JobCancelled, MoodmixError, NotFound
from moodmix.engine.execution import execute, probe_local
from moodmix.engine.jobs import states
from moodmix.engine.jobs.broker import TransientJobError
from moodmix.engine.logging_setup import job_context
from moodmix.engine.outputs import jsonable, record_outputs

if TYPE_CHECKING:
    from moodmix.engine.runtime import Runtime

log = logging.getLogger("moodmix.jobs")

@dataclass
class _Live:
    """Progress reported by the plugin thread, read by the heartbeat loop."""

    fraction: float = 0.0
    message: str | None = None
    version: int = 0
    #: Another worker took the job over: this attempt stops without touching the job's row.
    lost: bool = False


class JobRunner:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self._slots = asyncio.Semaphore(max(1, rt.settings.worker_concurrency))

    async def run(self, job_id: str) -> None:
        job_context.set(str(job_id))  # log lines of this job, its plugin thread included, carry the id
        async with self._slots:
            await self._run(job_id)

    async def _claim(self, job: dict) -> bool:
        stale = timeutil.ago(self.rt.settings.stall_timeout_s)
        claimable = (ProcessingJob.status == states.QUEUED) | (
            (ProcessingJob.status == states.RUNNING) & (ProcessingJob.heartbeat_at < stale))
        rows = await ProcessingJob.update({
            ProcessingJob.status: states.RUNNING,
            ProcessingJob.attempts: ProcessingJob.attempts + 1,
            ProcessingJob.worker: self.worker_id,
            ProcessingJob.started_at: timeutil.now(),
            ProcessingJob.heartbeat_at: timeutil.now(),
            ProcessingJob.progress: 0.0,
            ProcessingJob.message: "starting",
        }).where((ProcessingJob.id == job["id"]) & (ProcessingJob.attempts == job["attempts"]) & claimable
                 ).returning(ProcessingJob.id)
        return bool(rows)

    async def _run(self, job_id: str) -> None:
        job = await ProcessingJob.select().where(ProcessingJob.id == job_id).first().output(load_json=True)
        if job is None or job["status"] in states.TERMINAL:
            return
        if job["cancel_requested"]:
            await self.finish(job["id"], states.CANCELLED, error_code="cancelled", error="cancelled by the user")
            return
        if job["depends_on"]:
            parent = await ProcessingJob.select(ProcessingJob.status).where(
                ProcessingJob.id == job["depends_on"]).first()
            if parent is None or parent["status"] != states.SUCCEEDED:
                return  # started again when the parent finishes
        if not await self._claim(job):
            log.info("job %s is held by another worker; skipping this delivery", job_id)
            return
        attempt = job["attempts"] + 1
        log.info("job %s (%s) attempt %d on %s", job_id, job["capability"], attempt, self.worker_id)
        scratch = self.rt.storage.job_scratch(str(job_id))
        try:
            await self._attempt(job, attempt, scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    async def _attempt(self, job: dict, attempt: int, scratch: Path) -> None:
        job_id = str(job["id"])
        live = _Live()
        cancel = threading.Event()

        def progress(fraction: float, message: str | None = None) -> None:
            live.fraction, live.message = fraction, message or live.message
            live.version += 1

        try:
            # Looked up and parsed once for the whole attempt; checked when the job was requested.
            cap = self.rt.registry.capability(job["capability"])
            params = cap.parse_params(job["params"])
            inputs = await self.resolve_inputs(job, scratch / "in")
        except MoodmixError as exc:
            await self.finish(job_id, states.FAILED, error_code=exc.code, error=exc.message, held=True)
            return
        texts = dict(job["inputs"].get("texts", {}))
        limit = float(job["time_limit_s"] or self.rt.settings.job_time_limit_s)
        out_dir = scratch / "out"
        work = asyncio.to_thread(
            execute, cap, params, registry=self.rt.registry, inputs=inputs, texts=texts, output_dir=out_dir,
            settings=self.rt.settings, progress=progress, cancelled=cancel.is_set, time_limit_s=limit,
            job_id=job_id, temp_root=scratch / "tmp")
        beat = asyncio.create_task(self._heartbeat(job_id, live, cancel))
        try:
            result = await asyncio.wait_for(work, timeout=limit + 30)
        except TimeoutError:
            cancel.set()
            await self.finish(job_id, states.FAILED, error_code="timeout",
                              error=f"the job ran past its {limit:.0f} s time limit", held=True)
            return
        except JobCancelled:
            if not live.lost:
                await self.finish(job_id, states.CANCELLED, error_code="cancelled", error="cancelled by the user",
                                  held=True)
            return
        except MoodmixError as exc:
            await self.finish(job_id, states.FAILED, error_code=exc.code, error=exc.message, held=True)
            return
        except Exception as exc:
            log.exception("job %s attempt %d crashed", job_id, attempt)
            if attempt < int(job["max_attempts"]):
                await ProcessingJob.update({
                    ProcessingJob.status: states.QUEUED,
                    ProcessingJob.message: f"attempt {attempt} failed ({exc}); retrying",
                }).where((ProcessingJob.id == job_id) & (ProcessingJob.worker == self.worker_id))
                raise TransientJobError(str(exc)) from exc
            await self.finish(job_id, states.FAILED, error_code="internal_error",
                              error=f"failed after {attempt} attempts: {exc}", held=True)
            return
        finally:
            beat.cancel()
        await self.succeed(job, cap, result)

    async def _heartbeat(self, job_id: str, live: _Live, cancel: threading.Event) -> None:
        """Persist progress twice a second (only when it moved) and pick up cancellation."""
        seen = -1
        beat_every = min(5.0, self.rt.settings.stall_timeout_s / 4)
        last_beat = time.monotonic()
        while True:
            await asyncio.sleep(0.5)
            try:
                values: dict[Any, Any] = {}
                if live.version != seen:
                    seen = live.version
                    values[ProcessingJob.progress] = round(live.fraction * 100.0, 1)
                    values[ProcessingJob.message] = live.message
                if values or time.monotonic() - last_beat >= beat_every:
                    values[ProcessingJob.heartbeat_at] = timeutil.now()
                    mine = await ProcessingJob.update(values).where(
                        (ProcessingJob.id == job_id) & (ProcessingJob.status == states.RUNNING)
                        & (ProcessingJob.worker == self.worker_id)).returning(ProcessingJob.id)
                    last_beat = time.monotonic()
                    if not mine:  # taken over after our beats stopped (e.g. a long database outage)
                        log.warning("job %s is no longer held by this worker; stopping this attempt", job_id)
                        live.lost = True
                        cancel.set()
                        return
                row = await ProcessingJob.select(ProcessingJob.cancel_requested).where(
                    ProcessingJob.id == job_id).first()
                if row is None or row["cancel_requested"]:
                    cancel.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a DB hiccup must not kill the job; the next beat retries
                log.warning("heartbeat for job %s failed: %s", job_id, exc)

    async def resolve_inputs(self, job: dict, dest: Path) -> dict[str, Path]:
        """Map the job's audio inputs (file ids or other jobs' outputs) to local paths.

        Uploads were decoded completely when they arrived, so they are not probed again; another
        job's output was written by a plugin and is probed (headers only) before this one reads it.
        """
        paths: dict[str, Path] = {}
        unverified: dict[str, Path] = {}
        for name, ref in job["inputs"].get("audio", {}).items():
            if "file_id" in ref:
                row = await AudioFile.select(AudioFile.storage_key).where(
                    (AudioFile.id == ref["file_id"]) & (AudioFile.user == job["user"])).first()
                if row is None:
                    raise NotFound(f"input {name!r}: the file no longer exists", code="file_not_found")
                paths[name] = await self.rt.storage.fetch(row["storage_key"], dest / name)
            else:
                row = await JobOutput.select(JobOutput.storage_key).where(
                    (JobOutput.job == ref["job_id"]) & (JobOutput.name == ref["output"])).first()
                if row is None:
                    raise NotFound(f"input {name!r}: job {ref['job_id']} has no output {ref['output']!r}",
                                   code="output_not_found")
                paths[name] = unverified[name] = await self.rt.storage.fetch(row["storage_key"], dest / name)
        await asyncio.to_thread(probe_local, unverified, self.rt.settings.max_audio_seconds)
        return paths

    async def succeed(self, job: dict, cap: Capability, result: RunResult) -> None:
        job_id = str(job["id"])
        records = await asyncio.to_thread(record_outputs, cap, result.files)
        await self.rt.storage.delete_prefix(f"outputs/{job_id}")
        await JobOutput.delete().where(JobOutput.job == job_id)
        outputs = []
        for record, path in records:
            blob = await self.rt.storage.put_output(job_id, record.filename, path, record.sha256)
            await JobOutput(job=job_id, storage_key=blob.key, **record.as_dict()).save()
            result.files[record.name] = blob.key
            outputs.append(record.as_dict())
        payload = {"data": jsonable(result.data), "summary": cap.summary_of(result.data), "backend": result.backend,
                   "outputs": outputs}
        rows = await ProcessingJob.update({
            ProcessingJob.status: states.SUCCEEDED,
            ProcessingJob.progress: 100.0,
            ProcessingJob.message: "done",
            ProcessingJob.result: json.dumps(payload),
            ProcessingJob.result_path: f"outputs/{job_id}",
            ProcessingJob.backend: result.backend,
            ProcessingJob.plugin_version: cap.version,
            ProcessingJob.finished_at: timeutil.now(),
            ProcessingJob.error: None,
            ProcessingJob.error_code: None,
        }).where((ProcessingJob.id == job_id) & (ProcessingJob.status == states.RUNNING)
                 & (ProcessingJob.worker == self.worker_id)).returning(ProcessingJob.id)
        if not rows:
            log.warning("job %s changed hands before it finished here; result discarded", job_id)
            return
        log.info("job %s succeeded (backend=%s, %d outputs)", job_id, result.backend, len(outputs))
        try:
            hook_results = self.rt.pm.hook.job_succeeded(
                job=job_info(job, states.SUCCEEDED, backend=result.backend), capability=cap, result=result)
            for maybe in hook_results:
                if asyncio.iscoroutine(maybe):
                    await maybe
        except Exception:
            log.exception("a job_succeeded hook failed for job %s", job_id)
        await self.release_children(job_id)

    async def finish(self, job_id: Any, status: str, *, error_code: str | None, error: str | None,
                     held: bool = False) -> None:
        """End a job; ``held``: only while this worker still holds it (an attempt's own outcome must not
        overwrite the row of a job another worker took over)."""
        where = (ProcessingJob.id == job_id) & ProcessingJob.status.not_in(list(states.TERMINAL))
        if held:
            where = where & (ProcessingJob.worker == self.worker_id)
        ended = await ProcessingJob.update({
            ProcessingJob.status: status,
            ProcessingJob.error_code: error_code,
            ProcessingJob.error: error,
            ProcessingJob.message: error,
            ProcessingJob.finished_at: timeutil.now(),
        }).where(where).returning(ProcessingJob.id)
        if not ended and held:
            log.warning("job %s was taken over by another worker; this attempt's outcome is dropped", job_id)
            return
        log.info("job %s %s: %s", job_id, status, error)
        if ended:  # only the call that ended it tells the plugins
            await self.rt.notify_job_failed(job_id, status, error_code, error)
        children = await ProcessingJob.select(ProcessingJob.id).where(
            (ProcessingJob.depends_on == job_id) & (ProcessingJob.status == states.QUEUED))
        for child in children:
            await self.finish(child["id"], states.FAILED, error_code="parent_failed",
                              error=f"the job it depends on ({job_id}) {status}")

    async def release_children(self, job_id: str) -> None:
        children = await ProcessingJob.select(ProcessingJob.id).where(
            (ProcessingJob.depends_on == job_id) & (ProcessingJob.status == states.QUEUED))
        for child in children:
            await self.rt.enqueue(str(child["id"]))


def job_info(job: dict, status: str, *, backend: str | None = None) -> JobInfo:
    """The plugin-facing view of a job row."""
    audio = (job.get("inputs") or {}).get("audio", {})
    first = next(iter(audio.values()), {})
    return JobInfo(id=str(job["id"]), user_id=str(job["user"]), capability=job["capability"], status=status,
                   params=dict(job.get("params") or {}), inputs=dict(job.get("inputs") or {}),
                   audio_id=first.get("file_id"), attempts=int(job.get("attempts") or 0), backend=backend)

