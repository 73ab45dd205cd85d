"""The taskiq broker: in-process for the embedded setup, a Redis stream with acks in production.

With :class:`RedisStreamBroker` a message is acknowledged only after the task
returns; a worker killed mid-job leaves it pending, and another worker claims it
once it has been idle for ``idle_timeout``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from taskiq import AsyncBroker, InMemoryBroker
from taskiq.exceptions import SendTaskError
from taskiq.kicker import AsyncKicker
from taskiq.message import TaskiqMessage
from taskiq.middlewares import SmartRetryMiddleware

from moodmix.engine.config import Settings

log = logging.getLogger(__name__)

TASK_NAME = "moodmix.run_job"


class TransientJobError(Exception):
    """Raised by the job task when an attempt failed in a way worth retrying."""


class BackoffRetryMiddleware(SmartRetryMiddleware):
    """SmartRetryMiddleware with true exponential backoff that also works without a scheduler.

    taskiq's middleware only labels the message with a delay when no schedule
    source is configured; we wait for the delay ourselves before re-sending.
    """

    def make_delay(self, message: TaskiqMessage, retries: int) -> float:
        base = float(message.labels.get("delay", self.default_delay))
        return min(base * (2 ** (retries - 1)), self.max_delay_exponent)

    async def on_send(self, kicker: AsyncKicker[Any, Any], message: TaskiqMessage, delay: float) -> None:
        async def later() -> None:
            await asyncio.sleep(delay)
            await kicker.kiq(*message.args, **message.kwargs)

        task = asyncio.get_running_loop().create_task(later())
        _pending.add(task)
        task.add_done_callback(_pending.discard)


_pending: set[asyncio.Task] = set()

#: How long an enqueue keeps retrying a queue that went away (a Redis restart takes a few seconds;
#: the pooled connections of the client fail once before it reconnects).
ENQUEUE_RETRY_S = 10.0


async def send_with_retry(task: Any, job_id: str, *, within_s: float = ENQUEUE_RETRY_S) -> None:
    """Send a job message, reconnecting and retrying with backoff for up to ``within_s`` seconds."""
    from redis.exceptions import RedisError

    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    delay = 0.05
    while True:
        try:
            await task.kiq(job_id)
            return
        except (OSError, RedisError, SendTaskError) as exc:  # taskiq wraps the broker's error in SendTaskError
            if loop.time() + delay > deadline:
                raise
            log.warning("queue unavailable (%s); retrying the send of job %s", exc, job_id)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)


def make_broker(settings: Settings) -> AsyncBroker:
    retry = BackoffRetryMiddleware(
        default_retry_count=max(1, settings.job_retries),
        default_retry_label=True,
        default_delay=settings.retry_backoff_s,
        max_delay_exponent=300,
        types_of_exceptions=[TransientJobError],
    )
    if settings.redis_url:
        from taskiq_redis import RedisStreamBroker

        idle_ms = int((settings.job_time_limit_s + settings.stall_timeout_s) * 1000)
        broker: AsyncBroker = RedisStreamBroker(
            url=settings.redis_url,
            queue_name=settings.queue_name,
            consumer_group_name="moodmix-workers",
            idle_timeout=idle_ms,
            xread_block=1000,
            unacknowledged_lock_timeout=5,
            # Fetch only what this worker can run now: with taskiq-redis' default of 100, one worker
            # took the whole queue into its pending list, and when it was killed every job it held
            # waited out ``idle_timeout`` (12 minutes by default) before another worker could claim it.
            xread_count=max(1, settings.worker_concurrency),
            unacknowledged_batch_size=max(1, settings.worker_concurrency),
        )
    else:
        broker = InMemoryBroker(max_async_tasks=100, propagate_exceptions=False)
    return broker.with_middlewares(retry)
