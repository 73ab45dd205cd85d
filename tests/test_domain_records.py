"""Finished mood and remix jobs leave their rows in the seed's ``moods`` and ``remixes`` tables."""

from __future__ import annotations

import pytest
from helpers import signup, upload, wait_job


@pytest.mark.parametrize("config_name", ["embedded"], indirect=True)
async def test_mood_and_remix_rows(api, demo_wav):
    headers = await signup(api)
    file_id = (await upload(api, headers, demo_wav)).json()["data"]["id"]
    mood = (await api.post("/api/v1/jobs", headers=headers, json={"capability": "mood", "file_id": file_id})).json()
    remix = (await api.post("/api/v1/jobs", headers=headers,
                            json={"capability": "remix", "file_id": file_id, "params": {"genre": "lofi"}})).json()
    mood_job = await wait_job(api, headers, mood["data"]["id"], timeout=240)
    remix_job = await wait_job(api, headers, remix["data"]["id"], timeout=240)
    assert mood_job["status"] == "succeeded", mood_job["error"]
    assert remix_job["status"] == "succeeded", remix_job["error"]

    from moodmix.plugins.mood.records import Mood  # SQLite: safe to query from the test's own loop
    from moodmix.plugins.remix.records import Remix

    moods = await Mood.select().where(Mood.job == mood_job["id"])
    assert len(moods) == 1 and moods[0]["mood"] == mood_job["result"]["data"]["mood"]
    assert str(moods[0]["audio"]) == file_id
    remixes = await Remix.select().where(Remix.job == remix_job["id"])
    assert len(remixes) == 1 and remixes[0]["genre"] == "lofi" and str(remixes[0]["original"]) == file_id
