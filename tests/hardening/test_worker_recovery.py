"""Recovery paths found by bench/worker_faults.py, pinned down without disturbing the shared Redis.

- Redis losing its data (restart without persistence) is simulated by deleting this test's own
  stream and marker key: a worker starting afterwards must resend the jobs still queued.
- A message consumed without the job being claimed: the orphan sweep resends the job.
- A job whose message cannot be sent must not stay "queued" for ever: 503, and nothing is recorded.
- Scratch folders of killed attempts are removed at start-up, except the running job's.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from hardening.stack import app_client
from helpers import signup, wait_job
from support import WorkerProcess, require_services

from moodmix.engine.queue_recovery import marker_key
from moodmix.engine.scratch_cleanup import remove_orphan_scratch


async def test_jobs_lost_with_redis_data_are_sent_again(tmp_path, monkeypatch):
    require_services()
    import redis.asyncio as aioredis

    async with app_client("production", tmp_path, monkeypatch, MOODMIX_STALL_TIMEOUT_S="4") as api:
        headers = await signup(api)
        api.worker.kill()  # no one consumes: the messages sit in the stream
        ids = []
        for seconds in (0.2, 0.3):
            resp = await api.post("/api/v1/jobs", headers=headers,
                                  json={"capability": "slow", "params": {"seconds": seconds}})
            ids.append(resp.json()["data"]["id"])
        settings = api.app.state.runtime.settings
        redis = aioredis.from_url(settings.redis_url)
        try:
            queue = f"{settings.queue_name}:cpu"  # the pool stream of `slow`
            assert await redis.xlen(queue) >= 2
            await redis.delete(queue, marker_key(queue))  # "Redis restarted empty"
        finally:
            await redis.aclose()
        worker = WorkerProcess(api.worker.env, tmp_path / "worker2.log").start()
        try:
            for job_id in ids:
                assert (await wait_job(api, headers, job_id, timeout=60))["status"] == "succeeded"
            assert "unfinished jobs again" in worker.log_path.read_text()
        finally:
            worker.stop()


async def test_queued_job_whose_message_was_consumed_is_sent_again(tmp_path, monkeypatch):
    """A worker read the message and failed before claiming the job (e.g. its database connection
    was dropped): the message is acknowledged, the job still ``queued``. The orphan sweep resends it."""
    require_services()
    import redis.asyncio as aioredis

    # Workers also look for claimable jobs when idle; that look is turned off so the sweep must do it.
    async with app_client("production", tmp_path, monkeypatch, MOODMIX_STALL_TIMEOUT_S="2",
                          MOODMIX_IDLE_POLL_S="600") as api:
        headers = await signup(api)
        queue = f"{api.app.state.runtime.settings.queue_name}:cpu"  # the pool stream of `slow`
        redis = aioredis.from_url(api.app.state.runtime.settings.redis_url)
        for _ in range(300):  # the first worker is up (it set the marker): Redis has not "lost" anything
            if await redis.exists(marker_key(queue)):
                break
            await asyncio.sleep(0.1)
        api.worker.kill()
        job = (await api.post("/api/v1/jobs", headers=headers,
                              json={"capability": "slow", "params": {"seconds": 0.2}})).json()["data"]
        try:  # play the worker that took the message and then failed
            taken = await redis.xreadgroup("moodmix-workers", "doomed", {queue: ">"}, count=10)
            assert sum(len(messages) for _, messages in taken) == 1
            for _, messages in taken:
                await redis.xack(queue, "moodmix-workers", *[msg_id for msg_id, _ in messages])
        finally:
            await redis.aclose()
        worker = WorkerProcess(api.worker.env, tmp_path / "worker2.log").start()
        try:
            assert (await wait_job(api, headers, job["id"], timeout=60))["status"] == "succeeded"
            assert "had no message left" in worker.log_path.read_text()
        finally:
            worker.stop()


async def test_job_that_cannot_be_queued_is_not_accepted(tmp_path, monkeypatch):
    async with app_client("embedded", tmp_path, monkeypatch) as api:
        headers = await signup(api)

        async def queue_down(job_id: str) -> None:
            raise ConnectionError("Redis is restarting")

        monkeypatch.setattr(api.app.state.runtime, "enqueue", queue_down)
        resp = await api.post("/api/v1/jobs", headers=headers, json={"capability": "slow", "params": {"seconds": 1}})
        assert resp.status_code == 503 and resp.json()["error"]["code"] == "queue_unavailable"
        jobs = (await api.get("/api/v1/jobs", headers=headers)).json()["data"]["items"]
        assert jobs == []  # not accepted, so not recorded (and never recorded as failed)


@pytest.mark.parametrize("stack_config", ["embedded"], indirect=True)
async def test_orphan_scratch_folders_are_removed(stack):
    headers = await signup(stack)
    finished = (await stack.post("/api/v1/jobs", headers=headers,
                                 json={"capability": "slow", "params": {"seconds": 0.1}})).json()["data"]
    await wait_job(stack, headers, finished["id"])
    running = (await stack.post("/api/v1/jobs", headers=headers,
                                json={"capability": "slow", "params": {"seconds": 30}})).json()["data"]
    for _ in range(100):
        if (await stack.get(f"/api/v1/jobs/{running['id']}", headers=headers)).json()["data"]["status"] == "running":
            break
        await asyncio.sleep(0.1)
    rt = stack.app.state.runtime
    root = rt.storage.scratch_root
    left = [root / f"job-{finished['id']}-0badc0de", root / f"job-{uuid.uuid4()}-00000000"]
    kept = root / f"job-{running['id']}-0badc0de"
    for path in (*left, kept):
        (path / "out").mkdir(parents=True)
        (path / "out" / "stems.wav").write_bytes(b"x" * 1000)
    unrelated = root / "upload-abc.tmp"
    unrelated.write_bytes(b"in flight")
    assert await remove_orphan_scratch(rt) == 2
    assert not any(p.exists() for p in left) and kept.exists() and unrelated.exists()
    await stack.post(f"/api/v1/jobs/{running['id']}/cancel", headers=headers)
