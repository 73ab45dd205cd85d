"""Issue 17 through the API, on every test configuration (local and S3 storage): every upload plays
(a cached MP3 preview when its format does not play everywhere), waveform peaks come from the server,
results download named after the track, one by one or all in a zip."""

from __future__ import annotations

import io
import re
import urllib.parse
import uuid
import zipfile

import pytest
import soundfile as sf
from helpers import signup, upload, wait_job

DASH = "\u2013"


@pytest.fixture(scope="session")
def recordings(tmp_path_factory):
    from real_recordings import make_recordings

    return make_recordings(tmp_path_factory.mktemp("recordings"))


def disposition_name(header: str) -> str:
    """The RFC 5987 ``filename*`` of a Content-Disposition header, decoded."""
    match = re.search(r"filename\*=UTF-8''([^;]+)", header)
    assert match, header
    return urllib.parse.unquote(match.group(1))


# ---- API ------------------------------------------------------------------------------------------

async def test_an_ogg_upload_plays_through_a_cached_mp3_preview_with_server_peaks(api, recordings, tmp_path):
    headers = await signup(api)
    resp = await upload(api, headers, recordings["ogg"])
    assert resp.status_code == 201, resp.text
    record = resp.json()["data"]
    assert record["format"] == "ogg" and record["playback"] == "preview"

    link = (await api.get(f"/api/v1/files/{record['id']}/stream-url", headers=headers,
                          params={"rendition": "playable"})).json()["data"]
    assert link["preview"] is True
    media = await api.get(link["url"])
    assert media.status_code == 200 and media.headers["content-type"].startswith("audio/mpeg")
    assert "(preview).mp3" in disposition_name(media.headers["content-disposition"])
    (tmp_path / "preview.mp3").write_bytes(media.content)
    info = sf.info(str(tmp_path / "preview.mp3"))
    assert abs(info.duration - record["duration"]) < 0.2, (info.duration, record["duration"])
    again = (await api.get(f"/api/v1/files/{record['id']}/stream-url", headers=headers,
                           params={"rendition": "playable"})).json()["data"]
    assert (await api.get(again["url"])).content == media.content  # made once, then served from storage

    # The original stays what it was.
    original = (await api.get(f"/api/v1/files/{record['id']}/stream-url", headers=headers)).json()["data"]
    assert original["preview"] is False
    assert (await api.get(original["url"])).content == recordings["ogg"].read_bytes()

    wave = await api.get(f"/api/v1/files/{record['id']}/waveform", headers=headers, params={"points": 200})
    assert wave.status_code == 200, wave.text
    peaks = wave.json()["data"]
    assert peaks["points"] == len(peaks["min"]) == len(peaks["max"]) == 200
    assert abs(peaks["duration"] - record["duration"]) < 0.05
    assert all(-1.01 <= lo <= hi <= 1.01 for lo, hi in zip(peaks["min"], peaks["max"], strict=True))
    assert max(peaks["max"]) > 0.2 and min(peaks["min"]) < -0.2  # a real recording, not a flat line
    coarse = (await api.get(f"/api/v1/files/{record['id']}/waveform", headers=headers,
                            params={"points": 20})).json()["data"]
    assert max(coarse["max"]) == pytest.approx(max(peaks["max"]), abs=1e-3)  # folding keeps the peaks

    for bad in ("5", "100000", "many"):
        resp = await api.get(f"/api/v1/files/{record['id']}/waveform", headers=headers, params={"points": bad})
        assert resp.status_code == 400, (bad, resp.text)
    other = await signup(api)
    assert (await api.get(f"/api/v1/files/{record['id']}/waveform", headers=other)).status_code == 404


async def test_mp3_and_flac_play_as_they_are(api, recordings):
    headers = await signup(api)
    for kind in ("mp3", "flac"):
        record = (await upload(api, headers, recordings[kind])).json()["data"]
        assert record["playback"] == "original", record
        link = (await api.get(f"/api/v1/files/{record['id']}/stream-url", headers=headers,
                              params={"rendition": "playable"})).json()["data"]
        assert link["preview"] is False
        assert (await api.get(link["url"])).content == recordings[kind].read_bytes()


async def test_outputs_carry_the_track_name_zip_together_and_have_waveforms(api, recordings):
    headers = await signup(api)
    record = (await upload(api, headers, recordings["mp3"])).json()["data"]
    job = (await api.post("/api/v1/jobs", headers=headers,
                          json={"capability": "stems", "file_id": record["id"]})).json()["data"]
    job = await wait_job(api, headers, job["id"])
    assert job["status"] == "succeeded", job
    names = [o["name"] for o in job["result"]["outputs"]]
    assert "vocals" in names

    one = await api.get(f"/api/v1/jobs/{job['id']}/outputs/vocals", headers=headers)
    assert one.status_code == 200
    assert disposition_name(one.headers["content-disposition"]) == f"Crossroads excerpt {DASH} vocals.wav"
    assert 'filename="Crossroads excerpt - vocals.wav"' in one.headers["content-disposition"]  # ASCII fallback
    listed = (await api.get(f"/api/v1/jobs/{job['id']}/outputs", headers=headers)).json()["data"]
    assert {o["filename"] for o in listed} >= {"vocals.wav"}  # the stored name stays as it is

    archive = await api.get(f"/api/v1/jobs/{job['id']}/outputs.zip", headers=headers)
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
    assert disposition_name(archive.headers["content-disposition"]).endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zf:
        members = {i.filename: i for i in zf.infolist()}
        assert set(members) == {f"Crossroads excerpt {DASH} {o['name']}.wav" for o in listed}
        vocals = zf.read(f"Crossroads excerpt {DASH} vocals.wav")
    assert vocals == one.content

    wave = (await api.get(f"/api/v1/jobs/{job['id']}/outputs/vocals/waveform", headers=headers,
                          params={"points": 64})).json()["data"]
    assert wave["points"] == 64 and abs(wave["duration"] - 12.0) < 0.1
    link = (await api.get(f"/api/v1/jobs/{job['id']}/outputs/vocals/stream-url", headers=headers,
                          params={"rendition": "playable"})).json()["data"]
    assert link["preview"] is False  # WAV plays everywhere
    assert (await api.get(f"/api/v1/jobs/{job['id']}/outputs/nope/waveform", headers=headers)).status_code == 404


async def test_a_prompted_job_is_named_after_its_prompt_and_json_has_no_waveform(api):
    headers = await signup(api)
    job = (await api.post("/api/v1/jobs", headers=headers, json={
        "capability": "generate", "prompt": "calm piano / rain at night", "params": {"duration": 2}})).json()["data"]
    job = await wait_job(api, headers, job["id"])
    assert job["status"] == "succeeded", job
    audio = await api.get(f"/api/v1/jobs/{job['id']}/outputs/audio", headers=headers)
    assert disposition_name(audio.headers["content-disposition"]) == f"calm piano _ rain at night {DASH} audio.wav"
    resp = await api.get(f"/api/v1/jobs/{job['id']}/outputs/spec/waveform", headers=headers)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "not_audio"
    with zipfile.ZipFile(io.BytesIO((await api.get(f"/api/v1/jobs/{job['id']}/outputs.zip",
                                                   headers=headers)).content)) as zf:
        assert sorted(zf.namelist()) == [f"calm piano _ rain at night {DASH} audio.wav",
                                         f"calm piano _ rain at night {DASH} spec.json"]


async def test_a_zip_of_an_unfinished_job_is_refused(api, recordings):
    headers = await signup(api)
    job = (await api.post("/api/v1/jobs", headers=headers, json={
        "capability": "generate", "prompt": "long drone", "params": {"duration": 120}})).json()["data"]
    resp = await api.get(f"/api/v1/jobs/{job['id']}/outputs.zip", headers=headers)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "job_not_ready", resp.text
    await api.post(f"/api/v1/jobs/{job['id']}/cancel", headers=headers)
    assert (await api.get(f"/api/v1/jobs/{uuid.uuid4()}/outputs.zip", headers=headers)).status_code == 404


