"""``moodmix worker``: one process that takes jobs from Redis until told to stop."""

from __future__ import annotations

import asyncio
import logging
import signal

from taskiq.acks import AcknowledgeType
from taskiq.receiver import Receiver

from moodmix.engine.config import Settings
from moodmix.engine.runtime import Runtime

log = logging.getLogger("moodmix.worker")


async def run_worker(settings: Settings) -> None:
    if not settings.redis_url:
        raise ValueError("a separate worker needs a shared queue: set MOODMIX_REDIS_URL "
                         "(the embedded setup runs jobs inside `moodmix serve`)")
    rt = await Runtime.start(settings, role="worker")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    receiver = Receiver(rt.broker, max_async_tasks=max(1, settings.worker_concurrency), run_startup=False,
                        ack_type=AcknowledgeType.WHEN_SAVED, propagate_exceptions=False)
    log.info("worker %s listening on %s (capabilities: %s)", rt.runner.worker_id if rt.runner else "?",
             settings.queue_name, ", ".join(sorted(rt.registry.capabilities)))
    try:
        await receiver.listen(stop)
    finally:
        await rt.stop()
