"""The ``job_succeeded`` hook writes one row per mood job in the ``moods`` table."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import moodmix.plugins.mood as mood_plugin
from moodmix.engine.capability import JobInfo, RunResult
from moodmix.engine.db.database import close_database, open_database
from moodmix.engine.db.migrate import migrate
from moodmix.engine.db.tables import AudioFile, ProcessingJob, User
from moodmix.plugins.mood.capability import CAPABILITY
from moodmix.plugins.mood.records import Mood


async def test_mood_job_lands_in_the_moods_table(tmp_path: Path) -> None:
    engine = await open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        await migrate(engine)
        user = User(username="ann")
        await user.save()
        audio = AudioFile(user=user.id, filename="a.wav", storage_key="x", sha256="0" * 64, size_bytes=1,
                          content_type="audio/wav", format="wav", duration=12.0, sample_rate=22050, channels=1)
        await audio.save()
        job = ProcessingJob(user=user.id, audio=audio.id, capability="mood")
        await job.save()
        result = RunResult(data={"mood": "sad", "confidence": 0.7, "valence": -0.5, "arousal": -0.3,
                                 "features": {"tempo_bpm": 70.0, "key": "A minor"}})
        info = JobInfo(id=str(job.id), user_id=str(user.id), capability="mood", status="succeeded", params={},
                       inputs={"audio": {"audio": {"file_id": str(audio.id)}}}, audio_id=str(audio.id))
        await mood_plugin.job_succeeded(job=info, capability=CAPABILITY, result=result)
        other = RunResult(data={"mood": "x"})
        await mood_plugin.job_succeeded(job=info, capability=type("C", (), {"name": "stems"})(), result=other)
        rows = await Mood.select().where(Mood.audio == audio.id)
        assert len(rows) == 1  # the stems job wrote nothing
        row = rows[0]
        assert row["mood"] == "sad" and row["confidence"] == 0.7
        assert row["valence"] == -0.5 and row["arousal"] == -0.3
        assert str(row["job"]) == str(job.id)
        features = row["features"] if isinstance(row["features"], dict) else json.loads(row["features"])
        assert features["key"] == "A minor"
        assert uuid.UUID(str(row["id"]))
    finally:
        await close_database(engine)
