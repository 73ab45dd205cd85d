"""Production setup: a worker SIGKILLed mid-job; the job is redelivered, finishes and is recorded once."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from helpers import signup, wait_job


@pytest.mark.parametrize("config_name", ["production"], indirect=True)
async def test_sigkill_mid_job_is_redelivered_and_recorded_once(config_name, env_for, tmp_path, monkeypatch):
    import support
    from litestar.testing import AsyncTestClient

    from moodmix.engine.config import load_settings
    from moodmix.engine.db.database import close_database, open_database
    from moodmix.engine.db.migrate import migrate
    from moodmix.engine.plugin_manager import build_plugin_manager
    from moodmix.web.app import create_app

    env = env_for("production", MOODMIX_JOB_TIME_LIMIT_S="20", MOODMIX_STALL_TIMEOUT_S="4")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    await support.reset_postgres()
    engine = await open_database(support.PG_URL, pool=False)
    await migrate(engine)
    await close_database(engine)
    workers = [support.WorkerProcess(env, tmp_path / f"worker{i}.log").start() for i in range(2)]
    try:
        app = create_app(load_settings(), pm=build_plugin_manager())
        async with AsyncTestClient(app=app, timeout=60) as api:
            headers = await signup(api)
            job = (await api.post("/api/v1/jobs", headers=headers,
                                  json={"capability": "slow", "params": {"seconds": 6}})).json()["data"]
            victim = None
            for _ in range(300):
                state = (await api.get(f"/api/v1/jobs/{job['id']}", headers=headers)).json()["data"]
                if state["status"] == "running" and state["progress"] >= 20:
                    victim = int(state["worker"].rsplit(":", 1)[1])
                    break
                await asyncio.sleep(0.1)
            assert victim is not None, "the job never started"
            killed = next(w for w in workers if w.proc.pid == victim)
            killed.kill(signal.SIGKILL)
            assert killed.proc.returncode == -signal.SIGKILL
            final = await wait_job(api, headers, job["id"], timeout=90)
            assert final["status"] == "succeeded", final
            assert final["attempts"] == 2
            assert int(final["worker"].rsplit(":", 1)[1]) != victim
            outputs = (await api.get(f"/api/v1/jobs/{job['id']}/outputs", headers=headers)).json()["data"]
            assert [o["name"] for o in outputs] == ["log"]
            out = await api.get(f"/api/v1/jobs/{job['id']}/outputs/log", headers=headers)
            assert out.status_code == 200 and out.json() == {"steps": 60}
            # Give any duplicate delivery time to show up: the record must not change.
            await asyncio.sleep(3)
            again = (await api.get(f"/api/v1/jobs/{job['id']}", headers=headers)).json()["data"]
            assert again["attempts"] == 2 and again["finished_at"] == final["finished_at"]
            assert os.path.isdir(tmp_path / "data")
    finally:
        for w in workers:
            w.stop()
