"""What capabilities declare for the front ends, and that front ends go by it.

Every genre a capability's genre parameter offers (``GET /api/v1/genres?set=…``) is accepted
by that capability through the API, and generate makes music in each of its own; the page's
code names no capability; a disabled plugin vanishes from the API and the bots' catalog.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import signup, upload, wait_job

STATIC = Path(__file__).resolve().parents[1] / "web" / "static"
#: The genres the page used to offer for generate's genre parameter; they failed when run.
REMIX_ONLY = ("drum-and-bass", "reggaeton", "slowed-reverb", "nightcore")


def registry():
    from moodmix.engine.plugin_manager import build_plugin_manager
    from moodmix.engine.registry import Registry

    return Registry.from_plugin_manager(build_plugin_manager())


async def offered(api, set_name: str) -> list[dict]:
    resp = await api.get("/api/v1/genres", params={"set": set_name})
    assert resp.status_code == 200, resp.text
    genres = resp.json()["data"]
    assert genres and all(g["set"] == set_name for g in genres)
    return genres


def test_descriptors_name_real_parameters() -> None:
    reg = registry()
    for cap in reg.capabilities.values():
        fields = set(cap.params.__struct_fields__)
        assert set(cap.advanced) <= fields, cap.name
        assert set(cap.genre_params) <= fields, cap.name
        for set_name in cap.genre_params.values():
            assert reg.genres_in(set_name), f"{cap.name} takes genres from the empty set {set_name!r}"
        assert cap.summarize  # every capability can say one line about its result
    assert [c.name for c in reg.capabilities.values() if c.on_upload] == ["analyze"]
    stems = reg.capability("stems")
    assert not stems.resources.wants_gpu(stems.parse_params({"backend": "dsp"}))
    assert stems.resources.wants_gpu(stems.parse_params({}))
    generate = reg.capability("generate")
    assert not generate.resources.wants_gpu(generate.parse_params({"backend": "procedural"}))
    assert reg.capability("analyze").resources.short


def test_same_name_in_two_sets_is_two_genres() -> None:
    reg = registry()
    assert reg.genre("house", "remix").recipe is not reg.genre("house", "generate").recipe
    assert reg.genre("Lo_Fi", "generate").name == "lofi"  # separators and case ignored, as in run
    for name in REMIX_ONLY:
        assert reg.genre(name, "remix").name == name
        assert name not in reg.genres_in("generate")
    assert reg.genre("drum-and-bass", "generate").name == "dnb"  # by alias


@pytest.mark.parametrize("config_name", ["embedded"], indirect=True)
async def test_genres_endpoint_filters_by_set(api) -> None:
    everything = (await api.get("/api/v1/genres")).json()["data"]
    assert {g["set"] for g in everything} >= {"remix", "generate"}
    for cap in (await api.get("/api/v1/capabilities")).json()["data"]:
        for set_name in cap["genre_params"].values():
            names = [g["name"] for g in await offered(api, set_name)]
            assert names == [g["name"] for g in everything if g["set"] == set_name]
    missing = await api.get("/api/v1/genres", params={"set": "no-such-set"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_genre_set"


@pytest.mark.parametrize("config_name", ["embedded"], indirect=True)
async def test_every_offered_genre_is_accepted_by_its_capability(api, demo_wav) -> None:
    """POST /jobs with each offered genre is queued (202), never refused; the jobs are then cancelled."""
    headers = await signup(api)
    file_id = (await upload(api, headers, demo_wav)).json()["data"]["id"]
    caps = [c for c in (await api.get("/api/v1/capabilities")).json()["data"] if c["genre_params"]]
    assert {c["name"] for c in caps} >= {"remix", "generate"}
    for cap in caps:
        for param, set_name in cap["genre_params"].items():
            for genre in await offered(api, set_name):
                inputs = {i["name"]: (file_id if i["kind"] == "audio" else "a short test piece")
                          for i in cap["inputs"] if i["required"]}
                # Seeded and short, so nothing heavy runs before the cancel lands.
                params = {param: genre["name"], **({"duration": 1} if cap["name"] == "generate" else {})}
                resp = await api.post("/api/v1/jobs", headers=headers, json={
                    "capability": cap["name"], "inputs": inputs, "params": params})
                assert resp.status_code == 202, (cap["name"], genre["name"], resp.text)
                await api.post(f"/api/v1/jobs/{resp.json()['data']['id']}/cancel", headers=headers)


@pytest.mark.parametrize("config_name", ["embedded"], indirect=True)
async def test_generate_refuses_other_sets_up_front_and_plays_its_aliases(api) -> None:
    """Remix genres given to generate: refused at request time (422), or played when they alias a style."""
    headers = await signup(api)
    for name in REMIX_ONLY:
        resp = await api.post("/api/v1/jobs", headers=headers, json={
            "capability": "generate", "prompt": "anything", "params": {"genre": name, "duration": 2, "seed": 3}})
        if name == "drum-and-bass":  # an alias of generate's own "dnb" style, so it must play
            assert resp.status_code == 202, resp.text
            job = await wait_job(api, headers, resp.json()["data"]["id"], timeout=300)
            assert job["status"] == "succeeded", job["error"]
            assert job["result"]["data"]["spec"]["genre"] == "dnb"
            continue
        assert resp.status_code == 422 and resp.json()["error"]["code"] == "unknown_genre", resp.text
        assert "lofi" in resp.json()["error"]["message"]  # it lists generate's own genres
    assert (await api.get("/api/v1/jobs", headers=headers)).json()["data"]["total"] == 1


@pytest.mark.parametrize("config_name", ["embedded"], indirect=True)
async def test_generate_makes_music_in_every_genre_it_offers(api) -> None:
    headers = await signup(api)
    ids = {}
    for genre in await offered(api, "generate"):
        resp = await api.post("/api/v1/jobs", headers=headers, json={
            "capability": "generate", "prompt": "a short test piece",
            "params": {"genre": genre["name"], "duration": 2, "seed": 1, "backend": "procedural"}})
        assert resp.status_code == 202, resp.text
        ids[genre["name"]] = resp.json()["data"]["id"]
    for name, job_id in ids.items():
        job = await wait_job(api, headers, job_id, timeout=300)
        assert job["status"] == "succeeded", (name, job["error"])
        assert job["result"]["data"]["spec"]["genre"] == name
        assert job["result"]["summary"].startswith("2.0 s of ") and name in job["result"]["summary"]


@pytest.mark.parametrize("config_name", ["embedded"], indirect=True)
async def test_remix_runs_the_genres_generate_used_to_be_offered(api, tmp_path) -> None:
    from moodmix.engine.demo import write_demo_track

    headers = await signup(api)
    track = write_demo_track(tmp_path / "short.wav", seconds=3.0)
    file_id = (await upload(api, headers, track)).json()["data"]["id"]
    for name in REMIX_ONLY:
        resp = await api.post("/api/v1/jobs", headers=headers, json={
            "capability": "remix", "file_id": file_id, "params": {"genre": name, "stems_backend": "dsp"}})
        assert resp.status_code == 202, resp.text
        job = await wait_job(api, headers, resp.json()["data"]["id"], timeout=300)
        assert job["status"] == "succeeded", (name, job["error"])
        assert job["result"]["summary"].startswith(f"{name}: ")


def test_the_page_names_no_capability() -> None:
    names = sorted(registry().capabilities)
    assert {"analyze", "stems", "mood", "remix", "generate"} <= set(names)
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b", re.IGNORECASE)
    found = []
    for path in sorted(STATIC.rglob("*")):
        if path.suffix in (".js", ".html"):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                found += [f"{path.relative_to(STATIC)}:{number}: {m.group(0)!r}" for m in pattern.finditer(line)]
    assert not found, "the page names capabilities (read what they declare instead):\n" + "\n".join(found)


@pytest.fixture
def mood_disabled(monkeypatch):
    monkeypatch.setenv("MOODMIX_DISABLE_PLUGINS", "mood")


@pytest.mark.parametrize("config_name", ["embedded"], indirect=True)
async def test_a_disabled_plugin_is_gone_from_the_api_and_the_bots(mood_disabled, api) -> None:
    from moodmix.bots.catalog import Catalog
    from moodmix.bots.service_backend import ServiceBackend

    names = {c["name"] for c in (await api.get("/api/v1/capabilities")).json()["data"]}
    assert "mood" not in names and {"analyze", "stems", "remix", "generate"} <= names
    assert (await api.get("/api/v1/capabilities/mood")).status_code == 404
    catalog = await Catalog.load(ServiceBackend(api.app.state.service))
    assert "mood" not in catalog.capabilities and "remix" in catalog.capabilities
    assert "mood" not in {c["name"] for c in catalog.track_actions()}


def test_moodmix_run_prints_the_capability_summary(demo_wav, tmp_path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "moodmix", "run", "stems", str(demo_wav), "-p", "backend=dsp",
                           "-p", "mode=2stems", "-o", str(out), "-q"], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "MOODMIX_DATA_DIR": str(tmp_path / "data")})
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "result.json").read_text())["summary"]
    assert summary.startswith("2 stems (vocals, instrumental) of 6.0 s by dsp")
    assert proc.stdout.splitlines()[0] == summary


def test_a_disabled_plugin_is_gone_from_the_cli(tmp_path) -> None:
    env = {**os.environ, "MOODMIX_DATA_DIR": str(tmp_path / "data"), "MOODMIX_DISABLE_PLUGINS": "mood"}
    listed = subprocess.run([sys.executable, "-m", "moodmix", "capabilities"], capture_output=True, text=True,
                            timeout=120, env=env)
    assert listed.returncode == 0, listed.stderr
    names = {line.split()[0] for line in listed.stdout.splitlines() if line.strip()}
    assert "mood" not in names and "analyze" in names
    ran = subprocess.run([sys.executable, "-m", "moodmix", "run", "mood", "x.wav", "-o", str(tmp_path / "o")],
                         capture_output=True, text=True, timeout=120, env=env)
    assert ran.returncode == 2 and "unknown capability 'mood'" in ran.stderr
    helped = subprocess.run([sys.executable, "-m", "moodmix", "--help"], capture_output=True, text=True,
                            timeout=120, env=env)
    assert helped.returncode == 0 and "\n  mood " not in helped.stdout  # the plugin's own command group went too
