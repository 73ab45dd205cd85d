"""Worker pools: which queue a job goes to, and which queues a worker reads.

A job goes to the ``gpu`` pool when its capability's :class:`~moodmix.engine.capability.Resources`
say this run would use the GPU (``resources.wants_gpu(params)``), else to ``cpu``. Operators
override that per capability with ``pool_routes`` (``MOODMIX_POOL_ROUTES=stems:cpu,…``), so a
plugin's capability lands in the right pool without the engine naming it.
"""

from __future__ import annotations

from typing import Any

from moodmix.engine.capability import Capability
from moodmix.engine.config import Settings

GPU = "gpu"
CPU = "cpu"
POOLS = (GPU, CPU)
#: ``moodmix worker --pool`` choices: one pool, or every pool.
WORKER_POOLS = ("all", *POOLS)


def pool_for(cap: Capability, params: Any, settings: Settings) -> str:
    """The pool a run of ``cap`` with ``params`` belongs to (configuration first, then its resources)."""
    routed = settings.pool_routes.get(cap.name)
    if routed:
        return routed
    return GPU if cap.resources.wants_gpu(params) else CPU


def pools_served(worker_pool: str) -> tuple[str, ...]:
    """The pools a worker started with ``--pool worker_pool`` takes jobs from."""
    return POOLS if worker_pool == "all" else (worker_pool,)


def stream(settings: Settings, pool: str) -> str:
    """The Redis stream (taskiq queue) of one pool."""
    return f"{settings.queue_name}:{pool}"
