"""Prometheus metrics, computed at scrape time from the database and the queue.

Jobs run in ``moodmix worker`` processes that may live on other machines and expose no
port, so counters kept inside them cannot be scraped through the API. The database holds
every job's state and timestamps and Redis holds the queue, so both are read when
``/metrics`` is scraped: any API process answers the same numbers, and nothing is lost when a
worker restarts. (taskiq's ``PrometheusMiddleware`` does not fit: it opens its own HTTP
server on port 9000, on all interfaces, in every worker, and sets
``PROMETHEUS_MULTIPROC_DIR`` for the whole process.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from moodmix.engine import timeutil
from moodmix.engine.db.tables import ProcessingJob
from moodmix.engine.jobs import pools, states
from moodmix.engine.jobs.scheduler import seconds_between as _seconds_between

if TYPE_CHECKING:
    from moodmix.engine.runtime import Runtime

#: Seconds; spans a 1 s test job to a 30-minute generation.
DURATION_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
GROUP = "moodmix-workers"


@dataclass
class Histogram:
    buckets: list[int]  # cumulative counts, one per DURATION_BUCKETS entry
    total: float
    count: int


@dataclass
class Snapshot:
    """Everything one scrape reports."""

    jobs: dict[tuple[str, str], int] = field(default_factory=dict)  # (capability, status) -> count
    durations: dict[tuple[str, str], Histogram] = field(default_factory=dict)  # (capability, status)
    retries: dict[str, int] = field(default_factory=dict)  # capability -> attempts beyond the first
    oldest_queued_s: float = 0.0
    stalled: int = 0
    queue: dict[str, dict[str, float]] = field(default_factory=dict)  # stream -> stream_length, pending, lag
    #: pool -> queued, running, running_users, running_per_user_max, waiting_users
    pools: dict[str, dict[str, float]] = field(default_factory=dict)
    queue_up: bool = True
    taken_at: float = field(default_factory=time.monotonic)


async def _durations(rt: Runtime) -> dict[tuple[str, str], Histogram]:
    """Run time of the final attempt of every finished job that really ran, bucketed in SQL."""
    d = _seconds_between(rt.db, "started_at", "finished_at")
    cols = ", ".join(f"SUM(CASE WHEN d <= {b} THEN 1 ELSE 0 END) AS le_{i}" for i, b in enumerate(DURATION_BUCKETS))
    rows = await ProcessingJob.raw(
        f"SELECT capability, status, COUNT(*) AS n, SUM(d) AS total, {cols} FROM ("  # constants only: no user input
        f"SELECT capability, status, {d} AS d FROM processing_jobs WHERE status IN ('succeeded', 'failed') "
        "AND started_at IS NOT NULL AND finished_at IS NOT NULL AND NOT cache_hit) AS finished "
        "GROUP BY capability, status")
    return {(r["capability"], r["status"]): Histogram([int(r[f"le_{i}"] or 0) for i in range(len(DURATION_BUCKETS))],
                                                    float(r["total"] or 0.0), int(r["n"]))
            for r in rows}


async def _oldest_queued(rt: Runtime) -> float:
    age = _seconds_between(rt.db, "MIN(created_at)", "CURRENT_TIMESTAMP")
    rows = await ProcessingJob.raw(f"SELECT {age} AS age FROM processing_jobs WHERE status = 'queued'")
    return max(0.0, float(rows[0]["age"] or 0.0)) if rows else 0.0


async def _queue(rt: Runtime) -> dict[str, dict[str, float]]:
    """Per pool stream: length, delivered-but-unacknowledged (pending) and not-yet-delivered (lag) messages."""
    import redis.asyncio as aioredis

    client = aioredis.from_url(rt.settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    streams: dict[str, dict[str, float]] = {}
    try:
        for pool in pools.POOLS:
            name = pools.stream(rt.settings, pool)
            out = streams[name] = {"stream_length": float(await client.xlen(name)), "pending": 0.0, "lag": 0.0}
            try:
                groups = await client.xinfo_groups(name)
            except aioredis.ResponseError:  # the stream does not exist yet
                groups = []
            for group in groups:
                gname = group.get("name", b"")
                if (gname.decode() if isinstance(gname, bytes) else gname) == GROUP:
                    out["pending"] = float(group.get("pending") or 0)
                    out["lag"] = float(group.get("lag") or 0)
        return streams
    finally:
        await client.aclose()


async def _pools(rt: Runtime) -> dict[str, dict[str, float]]:
    """Per pool: jobs queued and running, and how running jobs spread over users (fairness)."""
    rows = await ProcessingJob.raw(
        "SELECT pool, \"user\" AS uid, SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END) AS queued, "
        "SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END) AS running FROM processing_jobs "
        "WHERE status IN ('queued', 'running') GROUP BY pool, \"user\"")
    keys = ("queued", "running", "running_users", "running_per_user_max", "waiting_users")
    out = {p: dict.fromkeys(keys, 0.0) for p in pools.POOLS}
    for r in rows:
        stats = out.setdefault(r["pool"] or pools.CPU, dict.fromkeys(keys, 0.0))
        queued, running = float(r["queued"] or 0), float(r["running"] or 0)
        stats["queued"] += queued
        stats["running"] += running
        stats["running_users"] += 1.0 if running else 0.0
        stats["waiting_users"] += 1.0 if queued else 0.0
        stats["running_per_user_max"] = max(stats["running_per_user_max"], running)
    return out


async def take_snapshot(rt: Runtime) -> Snapshot:
    snap = Snapshot()
    rows = await ProcessingJob.raw(
        "SELECT capability, status, COUNT(*) AS n, SUM(CASE WHEN attempts > 1 THEN attempts - 1 ELSE 0 END) AS retries "
        "FROM processing_jobs GROUP BY capability, status")
    for r in rows:
        snap.jobs[(r["capability"], r["status"])] = int(r["n"])
        snap.retries[r["capability"]] = snap.retries.get(r["capability"], 0) + int(r["retries"] or 0)
    snap.durations = await _durations(rt)
    snap.oldest_queued_s = await _oldest_queued(rt)
    snap.pools = await _pools(rt)
    cutoff = timeutil.ago(rt.settings.stall_timeout_s)
    snap.stalled = await ProcessingJob.count().where(
        (ProcessingJob.status == states.RUNNING) & (ProcessingJob.heartbeat_at < cutoff))
    if rt.settings.redis_url:
        try:
            snap.queue = await _queue(rt)
        except Exception:
            snap.queue_up = False
    return snap


class _SnapshotCollector(Collector):
    def __init__(self, snap: Snapshot, queue_name: str, queue_kind: str) -> None:
        self.snap, self.queue_name, self.queue_kind = snap, queue_name, queue_kind

    def collect(self):
        s = self.snap
        jobs = GaugeMetricFamily("moodmix_jobs", "Jobs by capability and state (all time).",
                                 labels=["capability", "status"])
        for (cap, status), n in sorted(s.jobs.items()):
            jobs.add_metric([cap, status], n)
        yield jobs
        hist = HistogramMetricFamily("moodmix_job_duration_seconds", "Run time of finished jobs' final attempt.",
                                     labels=["capability", "status"])
        for (cap, status), h in sorted(s.durations.items()):
            buckets = [(str(b), c) for b, c in zip(DURATION_BUCKETS, h.buckets, strict=True)] + [("+Inf", h.count)]
            hist.add_metric([cap, status], buckets, h.total)
        yield hist
        retries = GaugeMetricFamily("moodmix_job_retries", "Attempts beyond the first, summed over jobs.",
                                    labels=["capability"])
        for cap, n in sorted(s.retries.items()):
            retries.add_metric([cap], n)
        yield retries
        yield GaugeMetricFamily("moodmix_oldest_queued_job_age_seconds", "Age of the oldest queued job.",
                                value=s.oldest_queued_s)
        yield GaugeMetricFamily("moodmix_stalled_jobs", "Running jobs whose worker stopped sending heartbeats.",
                                value=s.stalled)
        up = GaugeMetricFamily("moodmix_queue_up", "Whether the queue answered this scrape.", labels=["queue", "kind"])
        up.add_metric([self.queue_name, self.queue_kind], 1.0 if s.queue_up else 0.0)
        yield up
        depth = GaugeMetricFamily("moodmix_queue_messages",
                                  "Queue messages per pool stream: stream_length (Redis stream entries), lag (not "
                                  "yet delivered), pending (delivered, not yet acknowledged); in-process: queued "
                                  "jobs as lag.", labels=["queue", "state"])
        for queue, states_ in sorted(s.queue.items()):
            for state, value in sorted(states_.items()):
                depth.add_metric([queue, state], value)
        yield depth
        pool_jobs = GaugeMetricFamily("moodmix_pool_jobs", "Jobs waiting (queued) and running, per worker pool.",
                                      labels=["pool", "state"])
        users = GaugeMetricFamily("moodmix_pool_users", "Users with jobs running, and with jobs waiting, per pool.",
                                  labels=["pool", "state"])
        fairness = GaugeMetricFamily("moodmix_pool_running_per_user_max",
                                     "The most jobs one user has running in the pool (capped by "
                                     "max_running_per_user).", labels=["pool"])
        for pool, stats in sorted(s.pools.items()):
            pool_jobs.add_metric([pool, "queued"], stats["queued"])
            pool_jobs.add_metric([pool, "running"], stats["running"])
            users.add_metric([pool, "running"], stats["running_users"])
            users.add_metric([pool, "waiting"], stats["waiting_users"])
            fairness.add_metric([pool], stats["running_per_user_max"])
        yield pool_jobs
        yield users
        yield fairness


def render(snap: Snapshot, rt: Runtime) -> bytes:
    """The Prometheus text exposition of ``snap``."""
    registry = CollectorRegistry(auto_describe=False)
    if not snap.queue and not rt.settings.redis_url:
        snap.queue = {pools.stream(rt.settings, p): {"lag": snap.pools.get(p, {}).get("queued", 0.0)}
                      for p in pools.POOLS}
    kind = "redis" if rt.settings.redis_url else "in-process"
    registry.register(_SnapshotCollector(snap, rt.settings.queue_name, kind))
    return generate_latest(registry)
