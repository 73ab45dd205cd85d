"""job_failed is called once per failed job; doctor prints the plugins' lines; a disabled plugin's
capability is gone from the API."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from helpers import signup

from moodmix.engine.capability import Capability, DoctorCheck, InputSpec, RunContext, RunResult
from moodmix.engine.config import load_settings
from moodmix.engine.errors import BadInput
from moodmix.engine.hookspecs import hookimpl


def _boom(ctx: RunContext) -> RunResult:
    raise BadInput("this capability always fails", code="always_fails")


class Failing:
    """A plugin with a capability that fails, and an async job_failed that records its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str | None, str]] = []

    @hookimpl
    def register_capabilities(self):
        return [Capability(name="boom", description="fails", run=_boom,
                           inputs=(InputSpec("prompt", "text", "anything"),))]

    @hookimpl
    async def job_failed(self, job, capability, error_code):
        self.calls.append((job.status, job.capability, capability.name if capability else None, error_code))

    @hookimpl
    def doctor_checks(self, settings):
        return [DoctorCheck("boom", False, "always fails", hint="do not use it")]


async def test_job_failed_is_called_once(tmp_path: Path) -> None:
    from moodmix.engine.db.tables import ProcessingJob, User
    from moodmix.engine.plugin_manager import build_plugin_manager
    from moodmix.engine.runtime import Runtime
    from moodmix.engine.service import Service

    plugin = Failing()
    settings = load_settings(environ={"MOODMIX_DATA_DIR": str(tmp_path / "data"), "MOODMIX_JOB_RETRIES": "1"})
    rt = await Runtime.start(settings, pm=build_plugin_manager(settings, extra=[plugin]))
    try:
        user = User(username="fay")
        await user.save()
        job = await Service(rt).create_job(str(user.id), "boom", inputs={"prompt": "x"})
        for _ in range(200):
            row = await ProcessingJob.select(ProcessingJob.status).where(ProcessingJob.id == job["id"]).first()
            if row["status"] == "failed" and plugin.calls:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # a second call would have arrived by now
        assert plugin.calls == [("failed", "boom", "boom", "always_fails")]
    finally:
        await rt.stop()


def test_doctor_prints_plugin_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from moodmix.engine import doctor
    from moodmix.engine.plugin_manager import build_plugin_manager

    settings = load_settings(environ={"MOODMIX_DATA_DIR": str(tmp_path)})
    lines = doctor.report(settings)
    assert any(line.startswith(("ok mood: model", "!! mood: model")) for line in lines)
    assert any(line.startswith(("ok stems: demucs", "!! stems: dsp separator")) for line in lines)
    assert any(line.startswith(("ok generate: musicgen", "!! generate: procedural composer")) for line in lines)
    pm = build_plugin_manager(settings, extra=[Failing()])
    text = "\n".join(doctor.format_check(c) for c in doctor.plugin_checks(pm, settings))
    assert "!! boom: always fails\n   hint: do not use it" in text


@pytest.fixture
def env_for(tmp_path):
    from support import base_env

    def make(config: str, **extra: str) -> dict[str, str]:
        return base_env(tmp_path / "data", config, MOODMIX_DISABLE_PLUGINS="mood", **extra)

    return make


@pytest.mark.parametrize("config_name", ["embedded"], indirect=True)
async def test_a_disabled_plugin_leaves_the_capability_list(api) -> None:
    names = {c["name"] for c in (await api.get("/api/v1/capabilities")).json()["data"]}
    assert "mood" not in names and {"stems", "remix"} <= names
    headers = await signup(api)
    response = await api.post("/api/v1/jobs", headers=headers, json={"capability": "mood", "file_id": "x"})
    assert response.status_code in (404, 422)
