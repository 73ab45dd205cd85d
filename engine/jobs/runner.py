"""Runs jobs in this process: claims them, runs any capability, records the result.

A queue message (or the idle poll) makes the runner claim jobs while it has free slots: the
scheduler picks which (compare-and-set, so a job never runs twice at once). At most
``worker_concurrency`` jobs run here, and of them at most ``gpu_slots`` from the gpu pool (one
process per device). Each job's inputs come from storage, the plugin runs in a thread while a
heartbeat loop persists progress and watches for cancellation, and the outputs and result are
recorded exactly once. A crashed attempt goes back to the queue after a backoff (``run_after``).
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
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moodmix.engine import timeutil
from moodmix.engine.capability import Capability, JobInfo, RunResult
from moodmix.engine.db.tables import AudioFile, JobOutput, ProcessingJob
from moodmix.engine.errors import JobCancelled, MoodmixError, NotFound
from moodmix.engine.execution import execute, probe_local
from moodmix.engine.jobs import pools, scheduler, states
from moodmix.engine.jobs.status_board import job_changed
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
    def __init__(self, rt: Runtime, served: tuple[str, ...] = pools.POOLS, *, drain: tuple[str, ...] = ()) -> None:
        self.rt = rt
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self.served = served
        self.drain = drain  # pools taken from only while nothing runs here (``--drain-cpu``)
        self.label = "all" if set(served) == set(pools.POOLS) else "+".join(served)
        self.capacity = max(1, rt.settings.worker_concurrency)
        self.gpu_capacity = max(1, rt.settings.gpu_slots)
        self._running: dict[str, str] = {}  # job id -> pool
        self._tasks: set[asyncio.Task] = set()
        self._claiming = asyncio.Lock()

    async def run(self, job_id: str) -> None:
        """A queue message: a job may be runnable in one of our pools. Take work while slots are free
        (whichever job the scheduler says comes next, not necessarily ``job_id``)."""
        await self.fill()

    def open_pools(self) -> list[str]:
        """The pools this process can take a job from now."""
        if len(self._running) >= self.capacity:
            return []
        gpu_full = sum(1 for p in self._running.values() if p == pools.GPU) >= self.gpu_capacity
        open_ = [p for p in self.served if not (p == pools.GPU and gpu_full)]
        if not self._running:
            open_ += [p for p in self.drain if p not in open_]
        return open_

    async def fill(self) -> int:
        """Claim and start jobs until the slots are full or nothing is claimable; how many started."""
        started = 0
        async with self._claiming:
            while open_ := self.open_pools():
                job_id = await scheduler.claim_next(self.rt, open_, worker_id=self.worker_id,
                                                    worker_pool=self.label)
                if job_id is None:
                    break
                job = await ProcessingJob.select().where(ProcessingJob.id == job_id).first().output(load_json=True)
                if job is None:
                    continue
                self._running[job_id] = job["pool"]
                task = asyncio.create_task(self._run_claimed(job))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                started += 1
        return started

    async def poll_forever(self) -> None:
        """Look for claimable jobs while a slot is free: picks up what no message announced (a user who
        was at the cap, a retry whose backoff ended, a message held by a busy worker, ``--drain-cpu``)."""
        while True:
            await asyncio.sleep(self.rt.settings.idle_poll_s)
            if self.open_pools():
                try:
                    await self.fill()
                except Exception as exc:  # the database is away: the next poll tries again
                    log.warning("looking for jobs failed: %s", exc)

    async def shutdown(self, grace_s: float = 5.0) -> None:
        """Stop: let running jobs finish for ``grace_s``, then hand the rest back to the queue."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace_s)
        held = list(self._running)
        for task in list(self._tasks):
            task.cancel()
        if held:
            await ProcessingJob.update({
                ProcessingJob.status: states.QUEUED, ProcessingJob.attempts: ProcessingJob.attempts - 1,
                ProcessingJob.message: "the worker stopped; queued again",
            }).where(ProcessingJob.id.is_in(held) & (ProcessingJob.status == states.RUNNING)
                     & (ProcessingJob.worker == self.worker_id))
            log.info("handed %d running jobs back to the queue", len(held))

    async def _run_claimed(self, job: dict) -> None:
        job_id = str(job["id"])
        job_context.set(job_id)  # log lines of this job, its plugin thread included, carry the id
        try:
            if job["cancel_requested"]:
                await self.finish(job_id, states.CANCELLED, error_code="cancelled", error="cancelled by the user")
                return
            attempt = int(job["attempts"])
            log.info("job %s (%s, %s pool) attempt %d on %s", job_id, job["capability"], job["pool"], attempt,
                     self.worker_id)
            scratch = self.rt.storage.job_scratch(job_id)
            try:
                await self._attempt(job, attempt, scratch)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
        except Exception:
            log.exception("job %s: recording its outcome failed; the stall sweep will retry it", job_id)
        finally:
            self._running.pop(job_id, None)
        try:
            await self.fill()  # the slot is free: take the next job now rather than at the next poll
        except Exception as exc:
            log.warning("looking for jobs failed: %s", exc)

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
            inputs, input_names = await self.resolve_inputs(job, scratch / "in")
        except MoodmixError as exc:
            await self.finish(job_id, states.FAILED, error_code=exc.code, error=exc.message, held=True)
            return
        texts = dict(job["inputs"].get("texts", {}))
        limit = float(job["time_limit_s"] or self.rt.settings.job_time_limit_s)
        out_dir = scratch / "out"
        work = asyncio.to_thread(
            execute, cap, params, registry=self.rt.registry, inputs=inputs, texts=texts, output_dir=out_dir,
            settings=self.rt.settings, progress=progress, cancelled=cancel.is_set, time_limit_s=limit,
            job_id=job_id, temp_root=scratch / "tmp", input_names=input_names)
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
        except Exception:
            log.exception("job %s attempt %d crashed", job_id, attempt)
            if attempt < int(job["max_attempts"]):
                delay = min(300.0, self.rt.settings.retry_backoff_s * 2 ** (attempt - 1))
                await ProcessingJob.update({
                    ProcessingJob.status: states.QUEUED,
                    ProcessingJob.run_after: timeutil.now() + timedelta(seconds=delay),
                    # What went wrong is in the log (above); people see that it retries, not the exception.
                    ProcessingJob.message: f"attempt {attempt} failed; retrying in {delay:.0f} s",
                }).where((ProcessingJob.id == job_id) & (ProcessingJob.worker == self.worker_id))
                await job_changed(self.rt.settings, job_id)
                return
            await self.finish(job_id, states.FAILED, error_code="internal_error",
                              error=f"failed after {attempt} attempts (an internal error: the server log "
                                    "has the details)", held=True)
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
                    if mine and len(values) > 1:  # progress moved: pollers and SSE streams see it now
                        await job_changed(self.rt.settings, job_id, progress_only=True)
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

    async def resolve_inputs(self, job: dict, dest: Path) -> tuple[dict[str, Path], dict[str, str]]:
        """Map the job's audio inputs (file ids or other jobs' outputs) to local paths, and the uploads
        among them to their file names (the plugin sees content-hash paths; people know the name).

        Uploads were decoded completely when they arrived, so they are not probed again; another
        job's output was written by a plugin and is probed (headers only) before this one reads it.
        """
        paths: dict[str, Path] = {}
        names: dict[str, str] = {}
        unverified: dict[str, Path] = {}
        for name, ref in job["inputs"].get("audio", {}).items():
            if "file_id" in ref:
                row = await AudioFile.select(AudioFile.storage_key, AudioFile.filename).where(
                    (AudioFile.id == ref["file_id"]) & (AudioFile.user == job["user"])).first()
                if row is None:
                    raise NotFound(f"input {name!r}: the file no longer exists", code="file_not_found")
                paths[name] = await self.rt.storage.fetch(row["storage_key"], dest / name)
                if row["filename"]:
                    names[name] = row["filename"]
            else:
                row = await JobOutput.select(JobOutput.storage_key).where(
                    (JobOutput.job == ref["job_id"]) & (JobOutput.name == ref["output"])).first()
                if row is None:
                    raise NotFound(f"input {name!r}: job {ref['job_id']} has no output {ref['output']!r}",
                                   code="output_not_found")
                paths[name] = unverified[name] = await self.rt.storage.fetch(row["storage_key"], dest / name)
        await asyncio.to_thread(probe_local, unverified, self.rt.settings.max_audio_seconds)
        return paths, names

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
        await job_changed(self.rt.settings, job_id)
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
            await job_changed(self.rt.settings, job_id)
            await self.rt.notify_job_failed(job_id, status, error_code, error)
        children = await ProcessingJob.select(ProcessingJob.id).where(
            (ProcessingJob.depends_on == job_id) & (ProcessingJob.status == states.QUEUED))
        for child in children:
            await self.finish(child["id"], states.FAILED, error_code="parent_failed",
                              error=f"the job it depends on ({job_id}) {status}")

    async def release_children(self, job_id: str) -> None:
        children = await ProcessingJob.select(ProcessingJob.id, ProcessingJob.pool).where(
            (ProcessingJob.depends_on == job_id) & (ProcessingJob.status == states.QUEUED))
        for child in children:
            await self.rt.enqueue(str(child["id"]), child["pool"])


def job_info(job: dict, status: str, *, backend: str | None = None) -> JobInfo:
    """The plugin-facing view of a job row."""
    audio = (job.get("inputs") or {}).get("audio", {})
    first = next(iter(audio.values()), {})
    return JobInfo(id=str(job["id"]), user_id=str(job["user"]), capability=job["capability"], status=status,
                   params=dict(job.get("params") or {}), inputs=dict(job.get("inputs") or {}),
                   audio_id=first.get("file_id"), attempts=int(job.get("attempts") or 0), backend=backend)

