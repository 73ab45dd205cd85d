"""A job's plugin sees its upload under the name the user gave it (``ctx.input_name``), though the
file it reads is named by storage."""

from __future__ import annotations

from moodmix import hookimpl
from moodmix.engine.capability import Capability, RunContext, RunResult


def _names(ctx: RunContext) -> RunResult:
    return RunResult(data={"name": ctx.input_name("audio"), "path_name": ctx.inputs["audio"].name})


class NamesPlugin:
    @hookimpl
    def register_capabilities(self):
        return [Capability(name="names", description="Say the input's names.", run=_names, outputs=())]


async def test_the_runner_passes_the_uploads_file_name(moodmix_plugin, moodmix_client, moodmix_audio):
    moodmix_plugin(NamesPlugin(), name="names")
    headers = await moodmix_client.signup()
    file_id = await moodmix_client.upload(headers, moodmix_audio(seconds=1.0), filename="Night Drive.wav")
    resp = await moodmix_client.post("/api/v1/jobs", headers=headers,
                                     json={"capability": "names", "file_id": file_id})
    assert resp.status_code == 202, resp.text
    job = await moodmix_client.wait_job(headers, resp.json()["data"]["id"])
    assert job["status"] == "succeeded", job
    data = job["result"]["data"]
    assert data["name"] == "Night Drive.wav" and data["path_name"] != "Night Drive.wav"
