"""Where a job stands: its place in line and a time range, from what similar jobs took lately.

The estimate of one job comes from the last ``eta_history`` finished jobs of the same capability:
per second of input audio when both it and they have an uploaded input, else per job. The median
gives the low end of the range and the 90th percentile the high end. A queued job waits for the
jobs ahead of it and what is left of the running ones, shared among the pool's running slots;
with no history for a capability involved there is no estimate (``None``), never a made-up one.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moodmix.engine import timeutil
from moodmix.engine.jobs import states
from moodmix.engine.jobs.scheduler import queue_order, seconds_between

if TYPE_CHECKING:
    from moodmix.engine.runtime import Runtime

Range = tuple[float, float]


def median_p90(values: list[float]) -> Range:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


@dataclass
class History:
    """Recent run times of one capability: per second of input, and per job."""

    per_input_s: list[float]
    per_job: list[float]

    def estimate(self, input_s: float | None) -> Range | None:
        if input_s and self.per_input_s:
            low, high = median_p90(self.per_input_s)
            return low * input_s, high * input_s
        if self.per_job:
            return median_p90(self.per_job)
        return None


class Estimator:
    """Run-time ranges for jobs, reading each capability's history once."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._history: dict[str, History] = {}
        self._input_s: dict[str, float | None] = {}

    async def history(self, capability: str) -> History:
        if capability not in self._history:
            from moodmix.engine.db.tables import ProcessingJob

            took = seconds_between(self.rt.db, "j.started_at", "j.finished_at")
            rows = await ProcessingJob.raw(
                f"SELECT {took} AS took, a.duration AS input_s FROM processing_jobs j "
                "LEFT JOIN audio_files a ON a.id = j.audio WHERE j.capability = {} AND j.status = 'succeeded' "
                "AND NOT j.cache_hit AND j.started_at IS NOT NULL AND j.finished_at IS NOT NULL "
                "ORDER BY j.finished_at DESC LIMIT {}", capability, max(1, self.rt.settings.eta_history))
            took_s = [(max(0.0, float(r["took"] or 0.0)), r["input_s"]) for r in rows]
            self._history[capability] = History(
                per_input_s=[t / float(i) for t, i in took_s if i and float(i) > 0],
                per_job=[t for t, _ in took_s])
        return self._history[capability]

    async def load_inputs(self, audio_ids: list[Any]) -> None:
        from moodmix.engine.db.tables import AudioFile

        wanted = [a for a in {str(a) for a in audio_ids if a} if a not in self._input_s]
        if wanted:
            rows = await AudioFile.select(AudioFile.id, AudioFile.duration).where(AudioFile.id.is_in(wanted))
            self._input_s.update({str(r["id"]): float(r["duration"] or 0.0) for r in rows})

    async def run_time(self, job: dict) -> Range | None:
        audio = str(job["audio"]) if job.get("audio") else None
        if audio:
            await self.load_inputs([audio])
        return (await self.history(job["capability"])).estimate(self._input_s.get(audio) if audio else None)


async def _running(rt: Runtime, pool: str) -> list[dict]:
    from moodmix.engine.db.tables import ProcessingJob

    return await ProcessingJob.select(ProcessingJob.capability, ProcessingJob.audio, ProcessingJob.progress).where(
        (ProcessingJob.pool == pool) & (ProcessingJob.status == states.RUNNING)
        & (ProcessingJob.heartbeat_at >= timeutil.ago(rt.settings.stall_timeout_s)))


async def standing(rt: Runtime, row: dict) -> dict:
    """``queue_position`` (1-based, in the order the pool will run its jobs) and ``eta_s`` (``{low, high}``
    seconds until the job is done) while it is queued or running; ``None`` where unknown."""
    out: dict[str, Any] = {"queue_position": None, "eta_s": None}
    est = Estimator(rt)
    if row["status"] == states.RUNNING:
        own = await est.run_time(row)
        if own is not None:
            left = 1.0 - min(100.0, float(row.get("progress") or 0.0)) / 100.0
            out["eta_s"] = _range(own[0] * left, own[1] * left)
        return out
    if row["status"] != states.QUEUED:
        return out
    order = await queue_order(rt, row["pool"])
    index = next((i for i, job in enumerate(order) if job["id"] == str(row["id"])), None)
    if index is None:  # waiting for the job it depends on
        return out
    out["queue_position"] = index + 1
    running = await _running(rt, row["pool"])
    await est.load_inputs([j["audio"] for j in (*order[: index + 1], *running)])
    own = await est.run_time(row)
    if own is None:
        return out
    low = high = 0.0
    for job in order[:index]:
        took = await est.run_time(job)
        if took is None:
            return out
        low, high = low + took[0], high + took[1]
    for job in running:
        took = await est.run_time(job)
        if took is None:
            return out
        left = 1.0 - min(100.0, float(job["progress"] or 0.0)) / 100.0
        low, high = low + took[0] * left, high + took[1] * left
    slots = max(1, len(running))
    out["eta_s"] = _range(low / slots + own[0], high / slots + own[1])
    return out


def _range(low: float, high: float) -> dict[str, float]:
    return {"low": round(low, 1), "high": round(max(low, high), 1)}
