"""Worker pools on Postgres + Redis: jobs run only in their pool (proven by the worker ids on the
job rows), a killed gpu worker's job goes to another gpu worker and never to a cpu one, and
``moodmix worker --gpus 0,1`` runs one process per device, each pinned with CUDA_VISIBLE_DEVICES."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from hardening.stack import app_client
from helpers import signup, wait_job
from support import WorkerProcess, require_services


def _pid(job: dict) -> int:
    return int(job["worker"].rsplit(":", 1)[1])


async def _job(api, headers, capability: str, **params) -> str:
    resp = await api.post("/api/v1/jobs", headers=headers,
                          json={"capability": capability, "params": params, "reuse": False})
    assert resp.status_code == 202, resp.text
    return resp.json()["data"]["id"]


async def test_jobs_stay_in_their_pool_and_a_killed_gpu_workers_job_stays_there(tmp_path, monkeypatch):
    require_services()
    env = {"MOODMIX_POOL_ROUTES": "slow:gpu", "MOODMIX_WORKER_POOL": "gpu", "MOODMIX_STALL_TIMEOUT_S": "4",
           "MOODMIX_JOB_TIME_LIMIT_S": "30"}
    async with app_client("production", tmp_path, monkeypatch, **env) as api:
        gpu_a = api.worker
        gpu_b = WorkerProcess(dict(gpu_a.env), tmp_path / "gpu-b.log").start()
        cpu = WorkerProcess({**gpu_a.env, "MOODMIX_WORKER_POOL": "cpu"}, tmp_path / "cpu.log").start()
        try:
            headers = await signup(api)
            gpu_pids, cpu_pid = {gpu_a.proc.pid, gpu_b.proc.pid}, cpu.proc.pid
            gpu_jobs = [await _job(api, headers, "slow", seconds=0.3) for _ in range(4)]
            cpu_jobs = [await _job(api, headers, "flaky") for _ in range(3)]  # fails once: retried in its pool
            done = {j: await wait_job(api, headers, j, timeout=90) for j in gpu_jobs + cpu_jobs}
            assert all(d["status"] == "succeeded" for d in done.values()), done
            for j in gpu_jobs:
                assert done[j]["pool"] == done[j]["worker_pool"] == "gpu" and _pid(done[j]) in gpu_pids, done[j]
            for j in cpu_jobs:
                assert done[j]["pool"] == done[j]["worker_pool"] == "cpu" and _pid(done[j]) == cpu_pid, done[j]
                assert done[j]["attempts"] == 2, done[j]

            victim_job = await _job(api, headers, "slow", seconds=6)
            victim = None
            for _ in range(300):
                state = (await api.get(f"/api/v1/jobs/{victim_job}", headers=headers)).json()["data"]
                if state["status"] == "running" and state["progress"] >= 10:
                    victim = _pid(state)
                    break
                await asyncio.sleep(0.1)
            assert victim in gpu_pids, victim
            killed = gpu_a if gpu_a.proc.pid == victim else gpu_b
            killed.kill(signal.SIGKILL)
            final = await wait_job(api, headers, victim_job, timeout=90)
            assert final["status"] == "succeeded" and final["attempts"] == 2, final
            assert _pid(final) in gpu_pids - {victim}, (final["worker"], cpu_pid)
        finally:
            gpu_b.stop()
            cpu.stop()


async def test_gpus_option_runs_one_pinned_worker_per_device(tmp_path, monkeypatch):
    require_services()
    env = {"MOODMIX_POOL_ROUTES": "slow:gpu", "MOODMIX_WORKER_POOL": "cpu"}  # the fixture's worker: cpu only
    async with app_client("production", tmp_path, monkeypatch, **env) as api:
        with open(tmp_path / "gpus.log", "ab") as log:
            fleet = subprocess.Popen([sys.executable, "-m", "moodmix", "worker", "--gpus", "0,1"],
                                     env={**api.worker.env}, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        try:
            headers = await signup(api)
            ids = [await _job(api, headers, "slow", seconds=2) for _ in range(2)]
            seen: dict[int, str] = {}
            for _ in range(200):  # both run at once, one per device
                for j in ids:
                    state = (await api.get(f"/api/v1/jobs/{j}", headers=headers)).json()["data"]
                    if state["status"] == "running":
                        seen[_pid(state)] = state["worker_pool"]
                if len(seen) == 2:
                    break
                await asyncio.sleep(0.1)
            assert len(seen) == 2 and set(seen.values()) == {"gpu"}, seen
            devices = set()
            for pid in seen:
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                devices |= {v.split(b"=", 1)[1].decode() for v in environ if v.startswith(b"CUDA_VISIBLE_DEVICES=")}
                assert pid != api.worker.proc.pid
            assert devices == {"0", "1"}
            for j in ids:
                assert (await wait_job(api, headers, j, timeout=60))["status"] == "succeeded"
        finally:
            os.killpg(fleet.pid, signal.SIGTERM)
            fleet.wait(timeout=30)
