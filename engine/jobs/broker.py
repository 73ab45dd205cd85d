"""The taskiq broker: in-process for the embedded setup, Redis streams with acks in production.

Each worker pool has its own stream (``<queue_name>:<pool>``, see :mod:`moodmix.engine.jobs.pools`);
a message goes to its pool's stream through the ``queue_name`` label, and a worker reads the
streams of the pools it serves. A message only wakes a worker up: the worker then claims the
next job from the database (:mod:`moodmix.engine.jobs.scheduler`), so a message is acknowledged
as soon as the claim is made. Retries wait in the database (``run_after``), not in the queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from taskiq import AsyncBroker, InMemoryBroker
from taskiq.exceptions import SendTaskError

from moodmix.engine.config import Settings

log = logging.getLogger(__name__)

TASK_NAME = "moodmix.run_job"

#: How long an enqueue keeps retrying a queue that went away (a Redis restart takes a few seconds;
#: the pooled connections of the client fail once before it reconnects).
ENQUEUE_RETRY_S = 10.0


async def send_with_retry(kicker: Any, job_id: str, *, within_s: float = ENQUEUE_RETRY_S) -> None:
    """Send a job message through ``kicker`` (a task or ``task.kicker()``), reconnecting and retrying
    with backoff for up to ``within_s`` seconds."""
    from redis.exceptions import RedisError

    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    delay = 0.05
    while True:
        try:
            await kicker.kiq(job_id)
            return
        except (OSError, RedisError, SendTaskError) as exc:  # taskiq wraps the broker's error in SendTaskError
            if loop.time() + delay > deadline:
                raise
            log.warning("queue unavailable (%s); retrying the send of job %s", exc, job_id)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)


def make_broker(settings: Settings, streams: Sequence[str]) -> AsyncBroker:
    """A broker that reads ``streams`` (the first is its default for sends without a label)."""
    if settings.redis_url:
        from taskiq_redis import RedisStreamBroker

        idle_ms = int((settings.job_time_limit_s + settings.stall_timeout_s) * 1000)
        return RedisStreamBroker(
            url=settings.redis_url,
            queue_name=streams[0],
            additional_streams={name: ">" for name in streams[1:]},
            consumer_group_name="moodmix-workers",
            idle_timeout=idle_ms,
            xread_block=1000,
            unacknowledged_lock_timeout=5,
            # Fetch only what this worker can take now (per stream): with taskiq-redis' default of 100,
            # one worker took the whole queue into its pending list.
            xread_count=max(1, settings.worker_concurrency),
            unacknowledged_batch_size=max(1, settings.worker_concurrency),
        )
    return InMemoryBroker(max_async_tasks=100, propagate_exceptions=False)
