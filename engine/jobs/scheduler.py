"""Which queued job a worker runs next, and where a queued job stands.

A queue message only says "something may be runnable in this pool": a worker with a free slot
claims the next job from the database with one compare-and-set ``UPDATE``, picking by

1. priority: short jobs (``Resources.short``) before long ones;
2. fairness: the user with the fewest jobs running in the pool, then the one served least
   recently (round-robin), skipping users already at ``max_running_per_user``;
3. age.

Queued jobs and running jobs whose worker stopped beating are claimable (a killed worker's job
is taken by the next worker of its pool); a retry waits for ``run_after``; a chained job waits
for its parent. On Postgres the claim holds a transaction-scoped advisory lock, so two workers
never both count a user under the cap; SQLite serialises writers by itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from moodmix.engine import timeutil
from moodmix.engine.db.database import is_postgres

if TYPE_CHECKING:
    from piccolo.engine.base import Engine

    from moodmix.engine.runtime import Runtime

#: Serialises claims on Postgres (any constant unique to moodmix).
CLAIM_LOCK = 7_245_015
SHORT, NORMAL = 0, 1


def seconds_between(engine: Engine, start: str, end: str) -> str:
    """SQL for the seconds between two timestamp expressions, on Postgres or SQLite."""
    if is_postgres(engine):
        return f"EXTRACT(EPOCH FROM ({end} - {start}))"
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


class _Sql:
    """Builds one statement with piccolo's ``{}`` placeholders and its arguments in order."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.args: list[Any] = []

    def add(self, text: str, *args: Any) -> _Sql:
        self.parts.append(text)
        self.args.extend(args)
        return self

    def text(self) -> str:
        return " ".join(self.parts)


_RUNNING_OF_USER = ("(SELECT COUNT(*) FROM processing_jobs r WHERE r.\"user\" = j.\"user\" AND r.pool = j.pool "
                    "AND r.status = 'running' AND r.heartbeat_at >= {})")
_LAST_SERVED = "(SELECT MAX(s.started_at) FROM processing_jobs s WHERE s.\"user\" = j.\"user\" AND s.pool = j.pool)"
_PARENT_DONE = ("(j.depends_on IS NULL OR EXISTS (SELECT 1 FROM processing_jobs p "
                "WHERE p.id = j.depends_on AND p.status = 'succeeded'))")


def _claim_sql(pools: Sequence[str], worker_id: str, worker_pool: str, cap: int, stale: datetime,
               now: datetime) -> _Sql:
    q = _Sql()
    q.add("UPDATE processing_jobs SET status = 'running', attempts = attempts + 1, worker = {}, worker_pool = {}, "
          "started_at = {}, heartbeat_at = {}, progress = 0.0, message = 'starting', run_after = NULL",
          worker_id, worker_pool, now, now)
    q.add(f"WHERE id = (SELECT j.id FROM processing_jobs j WHERE j.pool IN ({', '.join('{}' for _ in pools)})",
          *pools)
    q.add("AND (j.status = 'queued' OR (j.status = 'running' AND j.heartbeat_at < {}))", stale)
    q.add("AND (j.run_after IS NULL OR j.run_after <= {})", now)
    q.add(f"AND {_PARENT_DONE}")
    if cap > 0:
        q.add(f"AND {_RUNNING_OF_USER} < {{}}", stale, cap)
    q.add(f"ORDER BY j.priority, {_RUNNING_OF_USER}, {_LAST_SERVED} NULLS FIRST, j.created_at LIMIT 1)", stale)
    q.add("AND (status = 'queued' OR (status = 'running' AND heartbeat_at < {})) RETURNING id", stale)
    return q


async def claim_next(rt: Runtime, pools: Sequence[str], *, worker_id: str, worker_pool: str) -> str | None:
    """Claim the job that should run next in ``pools`` for this worker; its id, or ``None``."""
    from moodmix.engine.db.tables import ProcessingJob

    if not pools:
        return None
    s = rt.settings
    q = _claim_sql(pools, worker_id, worker_pool, s.max_running_per_user, timeutil.ago(s.stall_timeout_s),
                   timeutil.now())
    if is_postgres(rt.db):
        async with rt.db.transaction():
            await rt.db.run_ddl(f"SELECT pg_advisory_xact_lock({CLAIM_LOCK})")
            rows = await ProcessingJob.raw(q.text(), *q.args)
    else:
        rows = await ProcessingJob.raw(q.text(), *q.args)
    return str(rows[0]["id"]) if rows else None


async def runnable_ids(rt: Runtime, pool: str, *, older_than: datetime, limit: int = 1000) -> list[str]:
    """Queued jobs of ``pool`` a worker could claim now (parent done, retry due, user under the cap)."""
    from moodmix.engine.db.tables import ProcessingJob

    s = rt.settings
    q = _Sql().add("SELECT j.id FROM processing_jobs j WHERE j.pool = {} AND j.status = 'queued' "
                   "AND j.created_at < {} AND (j.run_after IS NULL OR j.run_after <= {})",
                   pool, older_than, timeutil.now())
    q.add(f"AND {_PARENT_DONE}")
    if s.max_running_per_user > 0:
        q.add(f"AND {_RUNNING_OF_USER} < {{}}", timeutil.ago(s.stall_timeout_s), s.max_running_per_user)
    q.add("ORDER BY j.created_at LIMIT {}", limit)
    return [str(r["id"]) for r in await ProcessingJob.raw(q.text(), *q.args)]


async def queue_order(rt: Runtime, pool: str) -> list[dict]:
    """The pool's waiting jobs (``id``, ``capability``, ``audio``) in the order the claims will take them.

    The order of the claim query, played forward: each user's queued jobs take turns (a user's
    k-th job counts as if k more of theirs were running), short jobs first, oldest first among equals.
    Jobs waiting for their parent are left out: they join the line when it finishes.
    """
    from moodmix.engine.db.tables import ProcessingJob

    stale = timeutil.ago(rt.settings.stall_timeout_s)
    waiting = await ProcessingJob.raw(
        "SELECT j.id, j.\"user\" AS uid, j.priority, j.created_at, j.capability, j.audio FROM processing_jobs j "
        f"WHERE j.pool = {{}} AND j.status = 'queued' AND {_PARENT_DONE} ORDER BY j.created_at", pool)
    if not waiting:
        return []
    users = await ProcessingJob.raw(
        "SELECT \"user\" AS uid, MAX(started_at) AS last_served, "
        "SUM(CASE WHEN status = 'running' AND heartbeat_at >= {} THEN 1 ELSE 0 END) AS running "
        "FROM processing_jobs WHERE pool = {} AND started_at IS NOT NULL GROUP BY \"user\"", stale, pool)
    running = {str(u["uid"]): int(u["running"] or 0) for u in users}
    last = {str(u["uid"]): timeutil.iso(u["last_served"]) or "" for u in users}
    turn: dict[tuple[str, int], int] = defaultdict(int)
    keyed = []
    for row in waiting:  # oldest first, so each user's k-th job gets turn k
        uid, prio = str(row["uid"]), int(row["priority"] if row["priority"] is not None else NORMAL)
        k = turn[(uid, prio)]
        turn[(uid, prio)] += 1
        keyed.append(((prio, running.get(uid, 0) + k, last.get(uid, ""), timeutil.iso(row["created_at"]) or ""),
                      {"id": str(row["id"]), "capability": row["capability"], "audio": row["audio"]}))
    keyed.sort(key=lambda pair: pair[0])
    return [job for _, job in keyed]
