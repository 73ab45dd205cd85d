"""The job status board: documents served without the database while fresh, owner-checked, dropped and
announced on change (in-process, and across processes through Redis)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from support import REDIS_URL, engine_runtime, require_services

from moodmix.engine.config import load_settings
from moodmix.engine.demo import write_demo_track
from moodmix.engine.errors import NotFound
from moodmix.engine.jobs import status_board as sb
from moodmix.engine.services.accounts import Accounts
from moodmix.engine.services.files import Files
from moodmix.engine.services.jobs import Jobs

DOC = {"id": "j1", "status": "running", "progress": 10.0}


def test_owner_only_and_fresh_only(monkeypatch):
    board = sb.StatusBoard()
    board.put("j1", "alice", DOC, board.version("j1"), ended=False)
    assert board.get("j1", "alice") == DOC
    assert board.get("j1", "mallory") is None  # another user goes to the database, which says "not found"
    now = time.monotonic()
    monkeypatch.setattr(sb.time, "monotonic", lambda: now + sb.TTL_S + 0.01)
    assert board.get("j1", "alice") is None


def test_a_document_read_before_a_change_is_not_kept():
    board = sb.StatusBoard()
    seen = board.version("j1")
    board.changed("j1")  # the worker moved the job while the API was reading the old row
    board.put("j1", "alice", DOC, seen, ended=False)
    assert board.get("j1", "alice") is None
    board.put("j1", "alice", DOC, board.version("j1"), ended=False)
    board.changed("j1")
    assert board.get("j1", "alice") is None


async def test_pollers_arriving_together_read_the_database_once():
    board = sb.StatusBoard()
    calls = 0

    async def load():
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return DOC, False

    docs = await asyncio.gather(*(board.read("j1", "alice", load) for _ in range(50)))
    assert calls == 1 and all(d == DOC for d in docs)
    assert await board.read("j1", "alice", load) == DOC and calls == 1  # fresh: no load at all

    async def missing():
        raise NotFound("job not found", code="job_not_found")

    with pytest.raises(NotFound):
        await board.read("j1", "mallory", missing)  # someone else's poll is loaded (and refused) on its own


async def test_a_change_wakes_waiters_and_one_already_seen_returns_at_once():
    board = sb.StatusBoard()
    seen = board.version("j1")
    waiter = asyncio.create_task(board.wait("j1", seen, timeout=30))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    board.changed("j1")
    await asyncio.wait_for(waiter, 1)
    started = time.monotonic()
    await board.wait("j1", seen, timeout=30)  # the version moved since ``seen``
    assert time.monotonic() - started < 0.5


async def test_changes_reach_another_process_through_redis():
    require_services()  # a missing Redis fails the run (scripts/services starts it), never skips
    channel = f"test-{uuid.uuid4().hex}"
    settings = load_settings(environ={}, redis_url=REDIS_URL, queue_name=channel)
    here = sb.status_board(settings)
    there = sb.StatusBoard()  # another process: its own board and relay on the same channel
    there.relay = sb._RedisRelay(REDIS_URL, channel + sb.CHANNEL_SUFFIX, there)
    there.relay.listen()
    try:
        there.put("j9", "alice", DOC, there.version("j9"), ended=False)
        seen = there.version("j9")
        for _ in range(50):  # until the listener has subscribed
            await sb.job_changed(settings, "j9")
            if there.version("j9") != seen:
                break
            await asyncio.sleep(0.05)
        assert there.version("j9") != seen and there.get("j9", "alice") is None
        assert here.version("j9") >= 1
    finally:
        for relay in (here.relay, there.relay):
            relay.task.cancel()
            await relay.client.aclose()


async def test_service_polls_from_the_board_and_sees_the_outcome(tmp_path, monkeypatch):
    async with engine_runtime(tmp_path / "data") as rt:
        user = (await Accounts(rt).register(username="alice", password="correct horse 1"))["id"]
        other = (await Accounts(rt).register(username="bob", password="correct horse 1"))["id"]
        wav = write_demo_track(tmp_path / "t.wav", seconds=2).read_bytes()

        async def chunks():
            yield wav

        files = Files(rt)
        jobs = Jobs(rt, files)
        file_id = (await files.upload(user, "t.wav", chunks()))["id"]
        job = await jobs.create_job(user, "analyze", file_id=file_id)
        for _ in range(300):
            if (await jobs.get_job(user, job["id"]))["status"] == "succeeded":
                break
            await asyncio.sleep(0.1)
        assert (await jobs.get_job(user, job["id"]))["progress"] == 100.0  # the finish dropped the old document
        with pytest.raises(NotFound):
            await jobs.get_job(other, job["id"])  # a fresh document is still only its owner's

        async def no_query(*_a, **_k):
            raise AssertionError("polling a fresh document must not query the database")

        monkeypatch.setattr(jobs, "job_row", no_query)
        assert (await jobs.get_job(user, job["id"]))["status"] == "succeeded"


def test_a_rendering_is_made_once_per_document_and_only_for_its_owner():
    board = sb.StatusBoard()
    calls = []

    def render(doc: dict) -> bytes:
        calls.append(doc["progress"])
        return f"{doc['status']} {doc['progress']}".encode()

    board.put("j1", "alice", DOC, board.version("j1"), ended=False)
    assert board.rendered("j1", "alice", render) == b"running 10.0"
    assert board.rendered("j1", "alice", render) == b"running 10.0" and calls == [10.0]
    assert board.rendered("j1", "mallory", render) is None  # to the database, which says "not found"
    board.changed("j1")
    assert board.rendered("j1", "alice", render) is None
    board.put("j1", "alice", {**DOC, "progress": 50.0}, board.version("j1"), ended=False)
    assert board.rendered("j1", "alice", render) == b"running 50.0" and calls == [10.0, 50.0]


async def test_after_a_progress_report_pollers_get_the_old_rendering_only_while_one_reloads():
    board = sb.StatusBoard()

    def render(doc: dict) -> str:
        return f"{doc['status']} {doc['progress']}"

    board.put("j1", "alice", DOC, board.version("j1"), ended=False)
    assert board.rendered("j1", "alice", render) == "running 10.0"
    board.changed("j1", progress_only=True)
    assert board.get("j1", "alice") is None  # the service and SSE streams always read it again
    assert board.rendered("j1", "alice", render) is None  # nobody reloads it yet: this caller must
    release = asyncio.Event()

    async def load() -> tuple[dict, bool]:
        await release.wait()
        return {**DOC, "progress": 60.0}, False

    reading = asyncio.ensure_future(board.read("j1", "alice", load))
    await asyncio.sleep(0)
    assert board.rendered("j1", "alice", render) == "running 10.0"  # while the reload runs
    assert board.rendered("j1", "mallory", render) is None
    release.set()
    assert (await reading)["progress"] == 60.0
    assert board.rendered("j1", "alice", render) == "running 60.0"
    board.changed("j1")  # anything but progress: gone at once, reload or not
    assert board.rendered("j1", "alice", render) is None
