"""``moodmix worker``: one process that takes jobs of its pools from Redis until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal

from taskiq.acks import AcknowledgeType
from taskiq.receiver import Receiver

from moodmix.engine.config import Settings
from moodmix.engine.queue_recovery import sweep_orphans_forever, wait_for_queue
from moodmix.engine.runtime import Runtime
from moodmix.engine.scratch_cleanup import remove_orphan_scratch

log = logging.getLogger("moodmix.worker")


async def run_worker(settings: Settings) -> None:
    if not settings.redis_url:
        raise ValueError("a separate worker needs a shared queue: set MOODMIX_REDIS_URL "
                         "(the embedded setup runs jobs inside `moodmix serve`)")
    rt = await Runtime.start(settings, role="worker")
    removed = await remove_orphan_scratch(rt)
    if removed:
        log.info("removed %d scratch folders left by interrupted jobs", removed)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = rt.runner
    assert runner is not None
    device = os.environ.get("CUDA_VISIBLE_DEVICES")
    log.info("worker %s (pools: %s%s%s) listening on %s (capabilities: %s)", runner.worker_id,
             ", ".join(runner.served), f"; drains {', '.join(runner.drain)} when idle" if runner.drain else "",
             f"; pinned to CUDA device {device}" if device is not None else "", settings.queue_name,
             ", ".join(sorted(rt.registry.capabilities)))
    orphans = asyncio.create_task(sweep_orphans_forever(rt, stop))
    try:
        while await wait_for_queue(rt, stop):
            receiver = Receiver(rt.broker, max_async_tasks=max(1, settings.worker_concurrency), run_startup=False,
                                ack_type=AcknowledgeType.WHEN_SAVED, propagate_exceptions=False)
            try:
                await receiver.listen(stop)  # returns when ``stop`` is set
            except Exception as exc:  # Redis restarted or dropped us: reconnect instead of exiting
                log.warning("lost the queue: %s", _reason(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
    finally:
        stop.set()
        await orphans
        await rt.stop()


def _reason(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"[:300]
