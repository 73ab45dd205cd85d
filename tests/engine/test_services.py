"""Each part of the service layer, called directly (no HTTP) on an in-process SQLite Runtime."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from support import engine_runtime

from moodmix.engine.demo import write_demo_track
from moodmix.engine.errors import BadInput, Conflict, Forbidden, Gone, MoodmixError, NotFound, Unauthorized
from moodmix.engine.services.accounts import Accounts
from moodmix.engine.services.files import Files
from moodmix.engine.services.jobs import Jobs
from moodmix.engine.services.shares import Shares


@pytest.fixture
async def rt(tmp_path):
    async with engine_runtime(tmp_path / "data") as rt:
        yield rt


@pytest.fixture(scope="module")
def track(tmp_path_factory) -> bytes:
    return write_demo_track(tmp_path_factory.mktemp("audio") / "demo.wav", seconds=3).read_bytes()


async def _chunks(data: bytes):
    for i in range(0, len(data), 4096):
        yield data[i:i + 4096]


async def _user(rt, name: str = "alice") -> str:
    return (await Accounts(rt).register(username=name, password="correct horse 1"))["id"]


async def _finished(jobs: Jobs, user: str, job_id: str) -> dict:
    for _ in range(300):
        job = await jobs.get_job(user, job_id)
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError("the job did not finish")


# ---- accounts and chat identities -----------------------------------------------------------
async def test_register_login_and_token(rt):
    accounts = Accounts(rt)
    user = await accounts.register(username="alice", password="correct horse 1", email="A@x.org")
    with pytest.raises(Conflict):
        await accounts.register(username="alice", password="correct horse 1")
    session = await accounts.login(identifier="a@x.org", password="correct horse 1")
    assert session["user"]["id"] == user["id"] and session["user"]["email"] == "a@x.org"
    assert (await accounts.user_for_token(session["token"]))["username"] == "alice"
    with pytest.raises(Unauthorized):
        await accounts.login(identifier="alice", password="wrong password!")


async def test_any_well_formed_chat_platform_is_taken(rt):
    accounts = Accounts(rt)
    first = await accounts.chat_user("Matrix", "u_1", "Ann")
    again = await accounts.chat_user("matrix", "u_1")
    assert first["id"] == again["id"] and first["username"] == "matrix-u_1"
    assert (await accounts.chat_user("slack", "u_1"))["id"] != first["id"]
    for platform, pid in (("bad platform", "1"), ("x" * 33, "1"), ("", "1"), ("irc", "no spaces")):
        with pytest.raises(BadInput) as err:
            await accounts.chat_user(platform, pid)
        assert err.value.code == "bad_chat_identity"


async def test_a_link_code_moves_the_chat_account_once(rt):
    accounts = Accounts(rt)
    web = await _user(rt, "webann")
    code = (await accounts.create_link_code(web))["code"]
    assert (await accounts.link_chat_identity("matrix", "42", code))["id"] == web
    assert (await accounts.chat_user("matrix", "42"))["id"] == web
    with pytest.raises(BadInput):
        await accounts.link_chat_identity("matrix", "43", code)  # single use


# ---- files ------------------------------------------------------------------------------------
async def test_upload_is_scoped_and_shares_bytes_until_the_last_copy_goes(rt, track):
    files = Files(rt)
    alice, bob = await _user(rt, "alice"), await _user(rt, "bob")
    one = await files.upload(alice, "../../a.wav", _chunks(track))
    two = await files.upload(alice, lambda: "b.wav", _chunks(track))
    assert one["filename"] == "a.wav" and one["format"] == "wav" and one["duration"] == pytest.approx(3, abs=0.01)
    key, name, ctype = await files.file_download(alice, one["id"])
    assert key.startswith("uploads/") and (name, ctype) == ("a.wav", "audio/wav")
    assert key == (await files.file_download(alice, two["id"]))[0]  # content-addressed: stored once
    with pytest.raises(NotFound):
        await files.get_file(bob, one["id"])
    assert (await files.list_files(alice))["total"] == 2
    await files.delete_file(alice, one["id"])
    assert await rt.storage.size(key) == len(track)  # the other record still points at the bytes
    await files.delete_file(alice, two["id"])
    with pytest.raises(NotFound):
        await rt.storage.size(key)


async def test_not_audio_is_refused_and_leaves_nothing(rt):
    with pytest.raises(MoodmixError) as err:
        await Files(rt).upload(await _user(rt), "x.wav", _chunks(b"not audio at all" * 10))
    assert 400 <= err.value.status < 500
    assert not [p for p in rt.storage.scratch_root.rglob("*") if p.is_file()]


# ---- jobs -------------------------------------------------------------------------------------
async def test_create_job_binds_the_file_shortcut_and_runs(rt, track):
    files = Files(rt)
    jobs = Jobs(rt, files)
    alice = await _user(rt)
    upload = await files.upload(alice, "a.wav", _chunks(track))
    job = await jobs.create_job(alice, "analyze", file_id=upload["id"])
    assert job["capability"] == "analyze" and job["inputs"]["audio"] == {"audio": {"file_id": upload["id"]}}
    done = await _finished(jobs, alice, job["id"])
    assert done["status"] == "succeeded", done["error"]
    outputs = await jobs.job_outputs(alice, job["id"])
    assert outputs and all("url" not in o for o in outputs)  # addresses are the web layer's business
    assert all("url" not in o for o in done["result"]["outputs"])
    key, filename, _ = await jobs.output_download(alice, job["id"], outputs[0]["name"])
    assert key.startswith(f"outputs/{job['id']}/") and filename == outputs[0]["filename"]
    assert (await jobs.list_jobs(alice, capability="analyze"))["total"] == 1
    assert (await jobs.list_jobs(alice, capability="stems"))["total"] == 0
    twin = await jobs.create_job(alice, "analyze", inputs={"audio": upload["id"]})
    assert twin["cache_hit"] and twin["reused_from"] == job["id"]


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"inputs": {"nope": "x"}}, "bad_input_name"),
    ({"prompt": "hello"}, "bad_input"),
    ({}, "missing_input"),
    ({"inputs": {"audio": {"neither": 1}}}, "bad_input"),
    ({"params": {"bogus": 1}, "file_id": "x"}, "bad_params"),
])
async def test_create_job_refuses_bad_requests_before_queueing(rt, kwargs, code):
    jobs = Jobs(rt, Files(rt))
    alice = await _user(rt)
    with pytest.raises(BadInput) as err:
        await jobs.create_job(alice, "analyze", **kwargs)
    assert err.value.code == code
    assert (await jobs.list_jobs(alice))["total"] == 0


async def test_unknown_file_and_capability_are_not_found(rt):
    jobs = Jobs(rt, Files(rt))
    alice = await _user(rt)
    with pytest.raises(NotFound) as err:
        await jobs.create_job(alice, "analyze", file_id="00000000-0000-0000-0000-000000000000")
    assert err.value.code == "file_not_found"
    with pytest.raises(NotFound) as err:
        await jobs.create_job(alice, "frobnicate")
    assert err.value.code == "unknown_capability"


# ---- shares and media tokens ------------------------------------------------------------------
async def test_share_tokens_open_until_revoked(rt, track):
    files = Files(rt)
    jobs = Jobs(rt, files)
    shares = Shares(rt, jobs)
    alice, bob = await _user(rt, "alice"), await _user(rt, "bob")
    upload = await files.upload(alice, "a.wav", _chunks(track))
    job = await _finished(jobs, alice, (await jobs.create_job(alice, "analyze", file_id=upload["id"]))["id"])
    name = (await jobs.job_outputs(alice, job["id"]))[0]["name"]
    share = await shares.create_share(alice, job["id"], name, 3600)
    assert share["token"] and "url" not in share and "path" not in share
    key, _, _ = await shares.open_share(share["token"])
    assert key == (await jobs.output_download(alice, job["id"], name))[0]
    with pytest.raises(NotFound):
        await shares.create_share(bob, job["id"], name, 3600)
    with pytest.raises(BadInput):
        await shares.create_share(alice, job["id"], name, 5)
    with pytest.raises(Forbidden):
        await shares.open_share(share["token"][:-2] + "xx")
    await shares.revoke_share(alice, share["id"])
    with pytest.raises(Gone):
        await shares.open_share(share["token"])
    assert [s["revoked"] for s in await shares.list_shares(alice)] == [True]


async def test_media_tokens_round_trip_and_refuse_tampering(rt):
    shares = Shares(rt, Jobs(rt, Files(rt)))
    media = shares.media_token("uploads/ab/abc", "a.wav", "audio/wav")
    assert media["expires_in"] == 900 and set(media) == {"token", "expires_in"}
    assert shares.open_media(media["token"]) == ("uploads/ab/abc", "a.wav", "audio/wav")
    with pytest.raises(Forbidden):
        shares.open_media(media["token"] + "x")


def test_services_module_paths_exist():
    here = Path(__file__).resolve().parents[2] / "engine" / "services"
    assert {p.stem for p in here.glob("*.py")} >= {"accounts", "files", "jobs", "shares"}
