"""Per-user limits shared by bot replicas through Redis: two processes cannot double a quota."""

from __future__ import annotations

import os
import uuid

import pytest
from support import require_services

from moodmix.bots.backend import ChatRef
from moodmix.bots.core import BotCore
from moodmix.bots.limits import BotLimits, Busy, ChatLimiter, LimitReached, RedisChatLimiter, make_limiter
from moodmix.bots.settings import load_bot_settings

REDIS_URL = os.environ.get("MOODMIX_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_limiters():
    """Two limiters as two bot processes would make them: separate clients, one Redis, one prefix."""
    require_services()  # a missing Redis fails the run (scripts/services starts it), never skips
    prefix = f"moodmix:test:{uuid.uuid4().hex[:8]}:"
    limits = BotLimits(requests_per_minute=3, jobs_per_hour=2, jobs_per_day=5, jobs_at_once=1)
    pair = [RedisChatLimiter(REDIS_URL, limits, prefix=prefix) for _ in range(2)]
    yield pair
    client = pair[0].redis
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


def test_two_processes_share_one_request_rate(redis_limiters):
    one, two = redis_limiters
    one.hit("telegram:1")
    two.hit("telegram:1")
    one.hit("telegram:1")
    with pytest.raises(LimitReached, match="at most 3 requests a minute"):
        two.hit("telegram:1")
    two.hit("telegram:2")  # another user is not affected


def test_two_processes_share_job_slots_and_quotas(redis_limiters):
    one, two = redis_limiters
    with one.job_slot("discord:1"):
        assert two.active("discord:1") == 1
        with pytest.raises(Busy), two.job_slot("discord:1"):
            pass
    with two.job_slot("discord:1"):  # the slot came back when the job ended
        pass
    with pytest.raises(LimitReached, match="limit of 2 jobs an hour"):
        one.check_job("discord:1")
    with pytest.raises(LimitReached), one.job_slot("discord:1"):
        pass
    assert one.active("discord:1") == two.active("discord:1") == 0


def test_two_bot_cores_on_one_redis_enforce_one_limit(redis_limiters, backend):
    ann = ChatRef("telegram", "77", "Ann")
    cores = [BotCore(backend, public_url="http://x", limiter=limiter) for limiter in redis_limiters]
    for core in cores + cores[:1]:
        core.hit(ann)
    with pytest.raises(LimitReached):
        cores[1].hit(ann)


def test_the_redis_url_comes_from_the_bots_or_the_engine():
    assert load_bot_settings(environ={"MOODMIX_BOT_REDIS_URL": "redis://r:6379/2"}).redis_url("redis://e") \
        == "redis://r:6379/2"
    assert load_bot_settings(environ={}).redis_url("redis://engine:6379/0") == "redis://engine:6379/0"
    assert isinstance(make_limiter(None, ""), ChatLimiter)
    assert isinstance(make_limiter(None, REDIS_URL), RedisChatLimiter)
    urls = load_bot_settings(environ={"MOODMIX_DISCORD_API_URL": "http://127.0.0.1:9/api/v10",
                                      "MOODMIX_DISCORD_GATEWAY_URL": "ws://127.0.0.1:9/"})
    assert urls.discord_api_url.endswith("/api/v10") and urls.discord_gateway_url.startswith("ws://")
