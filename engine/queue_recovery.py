"""Keep workers going through Redis restarts, and resend jobs whose messages Redis lost.

A Redis restart without persistence (or a failover to an empty replica) drops the stream,
its consumer group and every queued message. Before this module a worker's read failed with
``NOGROUP`` and the process exited, and jobs still ``queued`` in the database waited forever
for messages that no longer existed.

Lost data is detected with a marker key: it disappears with everything else, so the first
worker to find it missing (at start-up, or when it reconnects) recreates the consumer group
and sends every unfinished job again. A job that was still queued properly gets two
messages; the runner's compare-and-set claim makes the second one a no-op.

A periodic sweep (:func:`resend_orphaned_jobs`) catches the other ways a queued job can lose
its message, which the stalled-job sweeper (running jobs only) does not see. Each worker pool
has its own stream (:func:`moodmix.engine.jobs.pools.stream`); both checks run per stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from moodmix.engine import timeutil
from moodmix.engine.db.tables import ProcessingJob
from moodmix.engine.jobs import pools, states
from moodmix.engine.jobs.scheduler import runnable_ids

if TYPE_CHECKING:
    from moodmix.engine.runtime import Runtime

log = logging.getLogger("moodmix.worker")
GROUP = "moodmix-workers"  # engine/jobs/broker.py's consumer group


def marker_key(queue: str) -> str:
    return f"moodmix:queue-epoch:{queue}"


async def ensure_group(client: aioredis.Redis, queue: str) -> None:
    """The consumer group, created from the start of the stream so nothing added meanwhile is skipped."""
    try:
        await client.xgroup_create(queue, GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


async def resend_if_queue_was_reset(rt: Runtime) -> int:
    """When a pool's marker is missing (new or wiped Redis), resend its unfinished jobs; returns how many."""
    client = aioredis.from_url(rt.settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
    sent = 0
    try:
        for pool in pools.POOLS:
            queue = pools.stream(rt.settings, pool)
            await ensure_group(client, queue)
            if not await client.set(marker_key(queue), str(time.time()), nx=True):
                continue  # the data survived, or another worker is already resending
            rows = await ProcessingJob.select(ProcessingJob.id).where(
                ProcessingJob.status.is_in([states.QUEUED, states.RUNNING]) & ProcessingJob.depends_on.is_null()
                & (ProcessingJob.pool == pool))
            for row in rows:
                await rt.enqueue(str(row["id"]), pool)
            if rows:
                log.warning("the queue %s was empty or new: sent %d unfinished jobs again", queue, len(rows))
            sent += len(rows)
        return sent
    finally:
        await client.aclose()


async def queue_lag(client: aioredis.Redis, queue: str) -> int | None:
    """Messages in the stream not yet delivered to the group (``None`` when Redis cannot say)."""
    try:
        groups = await client.xinfo_groups(queue)
    except ResponseError:
        return None
    for group in groups:
        name = group.get("name", b"")
        if (name.decode() if isinstance(name, bytes) else name) == GROUP:
            lag = group.get("lag")
            return None if lag is None else int(lag)
    return None


async def resend_orphaned_jobs(rt: Runtime) -> int:
    """Resend queued jobs that no message will ever deliver; returns how many were sent.

    When every message of a pool has been delivered (lag 0) but a job older than the stall timeout
    could run now (parent done, retry due, its user under the cap) and is still ``queued``, its
    message is gone: the API died between insert and send, a worker took the message and failed
    before claiming (a dropped database connection does that), or Redis lost it. One worker per
    period does the check (a short Redis lock); a job that was in fact about to be claimed just
    gets a second, harmless message.
    """
    period = sweep_period(rt)
    client = aioredis.from_url(rt.settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
    sent = 0
    try:
        for pool in pools.POOLS:
            queue = pools.stream(rt.settings, pool)
            if not await client.set(f"moodmix:orphan-sweep:{queue}", "1", nx=True, px=int(period * 900)):
                continue
            if await queue_lag(client, queue) != 0:
                continue
            ids = await runnable_ids(rt, pool, older_than=timeutil.ago(max(5.0, rt.settings.stall_timeout_s)))
            for job_id in ids:
                await rt.enqueue(job_id, pool)
            if ids:
                log.warning("%d queued jobs had no message left in %s: sent them again", len(ids), queue)
            sent += len(ids)
        return sent
    finally:
        await client.aclose()


def sweep_period(rt: Runtime) -> float:
    return max(2.0, rt.settings.stall_timeout_s / 2)


async def sweep_orphans_forever(rt: Runtime, stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=sweep_period(rt))
        if stop.is_set():
            return
        try:
            await resend_orphaned_jobs(rt)
        except Exception as exc:  # Redis or the database down: the next period tries again
            log.warning("orphaned-job sweep failed: %s", exc)


async def wait_for_queue(rt: Runtime, stop: asyncio.Event, max_delay: float = 5.0) -> bool:
    """Retry until Redis answers (and recover lost messages); ``False`` when asked to stop first."""
    delay = 0.5
    while not stop.is_set():
        try:
            await resend_if_queue_was_reset(rt)
            return True
        except Exception as exc:  # Redis or the database still down: wait, never exit
            log.warning("queue unavailable (%s); retrying in %.1f s", exc, delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
        delay = min(max_delay, delay * 2)
    return False
