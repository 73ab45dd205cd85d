"""Everything a process needs, wired once: settings, plugins, storage, database, queue.

The API server, ``moodmix worker`` and the bots each hold one :class:`Runtime`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

import pluggy
from piccolo.engine.base import Engine
from taskiq import AsyncBroker

from moodmix.engine import timeutil
from moodmix.engine.config import Settings
from moodmix.engine.db.database import close_database, open_database
from moodmix.engine.db.migrate import migrate
from moodmix.engine.db.tables import ProcessingJob
from moodmix.engine.jobs import pools as pools_
from moodmix.engine.jobs import states
from moodmix.engine.jobs.broker import TASK_NAME, make_broker, send_with_retry
from moodmix.engine.jobs.runner import JobRunner
from moodmix.engine.plugin_manager import get_plugin_manager
from moodmix.engine.registry import Registry
from moodmix.engine.scratch_cleanup import remove_orphan_scratch
from moodmix.engine.storage import Storage, make_storage

log = logging.getLogger("moodmix")


@dataclass
class Runtime:
    settings: Settings
    pm: pluggy.PluginManager
    registry: Registry
    storage: Storage
    db: Engine
    broker: AsyncBroker
    runner: JobRunner | None = None
    _task: Any = None
    _background: list[asyncio.Task] = field(default_factory=list)

    @classmethod
    async def start(cls, settings: Settings, *, pm: pluggy.PluginManager | None = None,
                    role: str = "api", auto_migrate: bool = True) -> Runtime:
        """``role``: ``api`` (embedded worker when no Redis), ``worker`` or ``client`` (enqueue only)."""
        pm = pm or get_plugin_manager()
        pm.hook.startup(settings=settings)
        registry = Registry.from_plugin_manager(pm, settings)
        storage = make_storage(settings)
        db = await open_database(settings.effective_database_url, pm=pm)
        if auto_migrate:
            await migrate(db, pm)
        runs_jobs = role == "worker" or (role == "api" and not settings.redis_url and settings.embedded_worker)
        # A worker reads its pools' streams; everyone else reads none but declares them all.
        served = pools_.pools_served(settings.worker_pool if role == "worker" else "all")
        broker = make_broker(settings, [pools_.stream(settings, p) for p in (served if runs_jobs else pools_.POOLS)])
        rt = cls(settings=settings, pm=pm, registry=registry, storage=storage, db=db, broker=broker)
        if runs_jobs:
            drain = (pools_.CPU,) if settings.drain_cpu and pools_.CPU not in served else ()
            rt.runner = JobRunner(rt, served, drain=drain)
            broker.is_worker_process = role == "worker"
        async def run_job(job_id: str) -> None:
            await rt._run_job(job_id)

        rt._task = broker.register_task(run_job, task_name=TASK_NAME)
        await broker.startup()
        if runs_jobs:
            rt._background.append(asyncio.create_task(rt._sweep_forever()))
            rt._background.append(asyncio.create_task(rt.runner.poll_forever()))
            if not settings.redis_url:
                await rt.requeue_unfinished()
        return rt

    async def _run_job(self, job_id: str) -> None:
        if self.runner is None:
            raise RuntimeError("this process does not run jobs")
        await self.runner.run(job_id)

    async def enqueue(self, job_id: str, pool: str | None = None) -> None:
        """Tell the workers of the job's pool that it may be runnable (the pool is read when not given)."""
        if pool is None:
            row = await ProcessingJob.select(ProcessingJob.pool).where(ProcessingJob.id == job_id).first()
            pool = row["pool"] if row and row["pool"] else pools_.CPU
        kicker = self._task.kicker().with_labels(queue_name=pools_.stream(self.settings, pool))
        await send_with_retry(kicker, job_id)

    async def stop(self) -> None:
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.runner is not None:
            with contextlib.suppress(Exception):
                await self.runner.shutdown()
        if hasattr(self.broker, "wait_all"):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.broker.wait_all(), timeout=5)
        with contextlib.suppress(Exception):
            await self.broker.shutdown()
        await close_database(self.db)

    async def requeue_unfinished(self) -> None:
        """Embedded queue lives in memory: after a restart, send unfinished jobs again."""
        rows = await ProcessingJob.select(ProcessingJob.id, ProcessingJob.pool).where(
            ProcessingJob.status.is_in([states.QUEUED, states.RUNNING]) & ProcessingJob.depends_on.is_null())
        for row in rows:
            await self.enqueue(str(row["id"]), row["pool"])

    async def notify_job_failed(self, job_id: Any, status: str, error_code: str | None, error: str | None) -> None:
        """Call the plugins' ``job_failed`` hooks; the caller has just moved the job to ``status`` (once).

        Each plugin's implementation runs on its own; one that raises is logged (the outcome is recorded).
        """
        from moodmix.engine.jobs.runner import job_info

        job = await ProcessingJob.select().where(ProcessingJob.id == job_id).first().output(load_json=True)
        if job is None:
            return
        args = {"job": job_info(job, status, backend=job.get("backend")),
                "capability": self.registry.capabilities.get(job["capability"]),
                "error_code": error_code or status, "error": error or status}
        for impl in self.pm.hook.job_failed.get_hookimpls():  # one by one: a failing plugin stops no other
            try:
                outcome = impl.function(**{name: args[name] for name in impl.argnames})
                if asyncio.iscoroutine(outcome):
                    await outcome
            except Exception:
                log.exception("the job_failed hook of %s failed for job %s", impl.plugin_name, job_id)

    async def sweep_stalled(self) -> int:
        """Running jobs whose worker stopped beating: retry them, or fail them after the last try."""
        cutoff = timeutil.ago(self.settings.stall_timeout_s)
        stale = await ProcessingJob.select(ProcessingJob.id, ProcessingJob.attempts, ProcessingJob.max_attempts,
                                           ProcessingJob.pool).where((ProcessingJob.status == states.RUNNING)
                                                   & (ProcessingJob.heartbeat_at < cutoff))
        for row in stale:
            if row["attempts"] >= row["max_attempts"]:
                error = "the worker running this job stopped responding"
                failed = await ProcessingJob.update({
                    ProcessingJob.status: states.FAILED, ProcessingJob.error_code: "stalled",
                    ProcessingJob.error: error, ProcessingJob.finished_at: timeutil.now(),
                }).where((ProcessingJob.id == row["id"]) & (ProcessingJob.status == states.RUNNING)
                         ).returning(ProcessingJob.id)
                if failed:
                    await self.notify_job_failed(row["id"], states.FAILED, "stalled", error)
            else:
                log.warning("job %s stalled; sending it again", row["id"])
                await self.enqueue(str(row["id"]), row["pool"])
        return len(stale)

    async def _sweep_forever(self) -> None:
        period = max(1.0, self.settings.stall_timeout_s / 2)
        while True:
            await asyncio.sleep(period)
            try:
                await self.sweep_stalled()
                # Scratch of attempts killed on this machine goes now, not at the next worker start.
                await remove_orphan_scratch(self)
            except Exception as exc:
                log.warning("stalled-job sweep failed: %s", exc)
