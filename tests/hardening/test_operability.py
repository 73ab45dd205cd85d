"""Operability: JSON log lines carrying job ids, and Prometheus metrics from the database and queue."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import numpy as np
import pytest
from hardening.stack import app_client
from helpers import signup, wait_job
from prometheus_client.parser import text_string_to_metric_families

from moodmix.engine.audio_io import save_audio
from moodmix.engine.logging_setup import JobContextFilter, JsonFormatter, job_context


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """``{(sample name, sorted labels): value}`` from a Prometheus exposition."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


async def test_job_id_reaches_log_lines_from_tasks_and_threads():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(JobContextFilter())
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("moodmix.test-ops")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        async def job(job_id: str) -> None:
            job_context.set(job_id)
            log.info("in the task")
            await asyncio.to_thread(log.info, "in the plugin thread", extra={"step": 3})

        await asyncio.gather(job("job-a"), job("job-b"))
        log.info("outside any job")
    finally:
        log.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 5 and all(line["logger"] == "moodmix.test-ops" for line in lines)
    by_job = {}
    for line in lines:
        by_job.setdefault(line.get("job_id"), []).append(line["message"])
    assert sorted(by_job["job-a"]) == sorted(by_job["job-b"]) == ["in the plugin thread", "in the task"]
    assert by_job[None] == ["outside any job"]
    assert next(line for line in lines if line.get("step") == 3)["job_id"] in ("job-a", "job-b")


def tone_file(tmp_path) -> bytes:
    path = save_audio(tmp_path / "t.wav", (np.sin(np.arange(8000) / 4.0) * 0.3).astype(np.float32), 8000)
    return path.read_bytes()


@pytest.mark.parametrize("config", ["embedded", "production"])
async def test_metrics_and_json_logs(config, tmp_path, monkeypatch):
    if config == "production":
        from support import require_services

        require_services()
    env = {"MOODMIX_LOG_FORMAT": "json", "MOODMIX_LOG_LEVEL": "INFO"}
    async with app_client(config, tmp_path, monkeypatch, **env) as client:
        headers = await signup(client)
        file_id = (await client.post("/api/v1/files", headers=headers,
                                     files={"file": ("t.wav", tone_file(tmp_path), "audio/wav")})).json()["data"]["id"]
        ok = (await client.post("/api/v1/jobs", headers=headers,
                                json={"capability": "reverse", "file_id": file_id})).json()["data"]
        bad = (await client.post("/api/v1/jobs", headers=headers,
                                 json={"capability": "reverse", "file_id": file_id, "params": {"gain_db": 0.5},
                                       "reuse": False})).json()["data"]
        assert (await wait_job(client, headers, ok["id"], timeout=90))["status"] == "succeeded"
        assert (await wait_job(client, headers, bad["id"], timeout=90))["status"] == "succeeded"
        resp = await client.get("/metrics")
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
        got = samples(resp.text)

        def metric(name: str, **labels: str) -> float:
            return got[(name, tuple(sorted(labels.items())))]

        done = {"capability": "reverse", "status": "succeeded"}
        assert metric("moodmix_jobs", **done) == 2
        assert metric("moodmix_job_duration_seconds_count", **done) == 2
        assert metric("moodmix_job_duration_seconds_sum", **done) > 0
        assert metric("moodmix_job_duration_seconds_bucket", le="+Inf", **done) == 2
        assert metric("moodmix_stalled_jobs") == 0
        kind = "in-process" if config == "embedded" else "redis"
        queue = client.app.state.runtime.settings.queue_name
        assert metric("moodmix_queue_up", kind=kind, queue=queue) == 1
        if config == "production":
            assert metric("moodmix_queue_messages", queue=f"{queue}:cpu", state="stream_length") >= 2
            assert metric("moodmix_queue_messages", queue=f"{queue}:cpu", state="lag") == 0
        assert metric("moodmix_pool_jobs", pool="cpu", state="queued") == 0
        assert metric("moodmix_pool_running_per_user_max", pool="gpu") == 0
        worker = client.worker
    if worker is not None:  # the worker wrote JSON lines, and the job's lines carry its id
        lines = [json.loads(line) for line in worker.log_path.read_text().splitlines() if line.strip()]
        mine = [line for line in lines if line.get("job_id") == ok["id"]]
        assert any("succeeded" in line["message"] for line in mine), lines[-20:]
        assert all({"ts", "level", "logger", "message"} <= set(line) for line in lines)


async def test_metrics_token(tmp_path, monkeypatch):
    async with app_client("embedded", tmp_path, monkeypatch, MOODMIX_METRICS_TOKEN="scrape-me") as client:
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", headers={"Authorization": "Bearer nope"})).status_code == 401
        resp = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert resp.status_code == 200 and "moodmix_jobs" in resp.text
