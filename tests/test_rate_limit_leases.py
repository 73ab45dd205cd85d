"""The Redis rate limit counter hands out reserved blocks of a window's numbers: two API processes
together never let more than the limit through, small limits are exact, and a spent window refuses
without a round trip."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from support import REDIS_URL, require_services

from moodmix.web.rate_limit import RedisCounter, lease_size


def test_a_lease_is_a_hundredth_of_the_limit_between_1_and_1000():
    assert [lease_size(n) for n in (1, 100, 199, 200, 5_000, 10**9)] == [1, 1, 1, 2, 50, 1000]


async def _allowed(counter: RedisCounter, key: str, limit: int, tries: int) -> int:
    return sum([(await counter.hit(key, 60, limit))[0] <= limit for _ in range(tries)])


async def test_two_processes_share_the_limit():
    require_services()  # a missing Redis fails the run, never skips
    namespace = f"test-ratelimit-{uuid.uuid4().hex}"
    a, b = RedisCounter(REDIS_URL, namespace), RedisCounter(REDIS_URL, namespace)
    try:
        # A small limit reserves one number at a time: exact, whoever asks.
        small = [await _allowed(counter, "user:s", 5, 3) for counter in (a, b, a)]
        assert sum(small) == 5
        # A larger one (leases of 10): never more than the limit; at most one and a half leases less per
        # process (the rest of a lease and the next one, reserved ahead, may be left unused).
        limit = 1000
        allowed = 0
        for _ in range(120):
            allowed += await _allowed(a, "user:l", limit, 7) + await _allowed(b, "user:l", limit, 5)
        assert limit - 3 * lease_size(limit) <= allowed <= limit
        count, reset = await a.hit("user:l", 60, limit)
        assert count > limit and reset > 0
    finally:
        for counter in (a, b):
            await counter.aclose()


async def test_a_spent_window_refuses_without_asking_redis():
    require_services()
    counter = RedisCounter(REDIS_URL, f"test-ratelimit-{uuid.uuid4().hex}")
    try:
        assert await _allowed(counter, "user:x", 3, 5) == 3
        real, counter.client = counter.client, None  # any round trip would now fail
        assert (await counter.hit("user:x", 60, 3))[0] > 3
        counter.client = real
    finally:
        await counter.aclose()


async def test_the_next_lease_is_reserved_before_the_block_runs_out():
    require_services()
    counter = RedisCounter(REDIS_URL, f"test-ratelimit-{uuid.uuid4().hex}")
    limit, size = 100_000, lease_size(100_000)
    try:
        numbers = [(await counter.hit("user:a", 60, limit))[0] for _ in range(size // 2)]
        assert numbers == list(range(1, size // 2 + 1))
        assert "user:a" in counter._reserving  # half the block used: the next one is on its way
        await counter._reserving["user:a"]
        real, counter.client = counter.client, None  # any round trip would now fail
        numbers += [(await counter.hit("user:a", 60, limit))[0] for _ in range(size - 1)]
        counter.client = real
        assert numbers == list(range(1, size + size // 2))  # one process alone: consecutive numbers
        assert "user:a" not in counter._reserving  # the new block is not half used yet
        # A small limit still reserves one number at a time, when it is needed.
        assert [(await counter.hit("user:s", 60, 5))[0] for _ in range(6)] == [1, 2, 3, 4, 5, 6]
        assert "user:s" not in counter._reserving and counter.leases["user:s"][3] is None
    finally:
        await counter.aclose()


@pytest.mark.timeout(30)
async def test_a_finished_reservation_that_left_the_block_spent_is_not_awaited_again():
    """A request can run after a reservation finished but before its done callback removed it (another
    task was ready first). When that reservation left nothing usable (an ahead one that failed quietly),
    the request reserves again instead of awaiting the finished one over and over without yielding."""
    require_services()
    counter = RedisCounter(REDIS_URL, f"test-ratelimit-{uuid.uuid4().hex}")
    limit = 100_000
    try:
        counter.leases["user:a"] = [11, 10, time.time() + 60, None]  # this process's block is used up
        finished = asyncio.get_running_loop().create_future()
        finished.set_result(None)  # the ahead reservation failed quietly; its callback has not run yet
        counter._reserving["user:a"] = finished
        number, _ = await counter.hit("user:a", 60, limit)
        assert number == 1  # a new block was reserved in Redis: the window's first numbers
        assert counter.leases["user:a"][1] == lease_size(limit)
    finally:
        await counter.aclose()

