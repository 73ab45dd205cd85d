"""Token versions and ended sessions that each API process remembers while it hears the changes channel
(Redis): a change made through one process holds in another before the change's call returns, and
the remembered answers really spare the round trip."""

from __future__ import annotations

import asyncio
import uuid

from support import REDIS_URL, require_services

from moodmix.engine.services.token_state import RedisTokenState


class _NoReads:
    """A Redis client whose reads fail (publishing still works): answers can only come from memory."""

    def __init__(self, real) -> None:
        self.real = real

    def __getattr__(self, name):
        if name == "publish":
            return self.real.publish

        async def fail(*args, **kwargs):
            raise OSError("no Redis reads here")
        return fail


async def _subscribed(*states: RedisTokenState) -> None:
    for _ in range(100):
        if all(s._subscribed for s in states):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the changes channel was not subscribed")


async def test_a_bump_and_an_ended_session_hold_in_the_other_process_when_the_call_returns():
    require_services()  # a missing Redis fails the run, never skips
    namespace = f"test-tokens-{uuid.uuid4().hex}"
    here, there = RedisTokenState(REDIS_URL, namespace), RedisTokenState(REDIS_URL, namespace)
    user, session = str(uuid.uuid4()), uuid.uuid4().hex
    try:
        await here.lookup(user, session)
        await there.lookup(user, session)
        await _subscribed(here, there)
        await there.learn(user, 3)
        assert await there.lookup(user, session) == (3, False)
        assert await here.lookup(user, session) == (3, False)

        real = there.client
        there.client = _NoReads(real)  # from now on `there` answers from memory or not at all
        assert await there.lookup(user, session) == (3, False)
        await here.bump(user, 4)  # returns once every subscribed process has applied it
        assert await there.lookup(user, session) == (4, False)
        await here.end_session(session, 60)
        assert await there.lookup(user, session) == (4, True)
        there.client = real
        assert await there.lookup(user, uuid.uuid4().hex) == (4, False)  # a session nobody ended
    finally:
        for state in (here, there):
            await state.close()


async def test_without_the_channel_every_lookup_asks_redis():
    require_services()
    namespace = f"test-tokens-{uuid.uuid4().hex}"
    state = RedisTokenState(REDIS_URL, namespace)
    user = str(uuid.uuid4())
    try:
        await state.lookup(user, None)
        await _subscribed(state)
        await state.learn(user, 2)
        state._task.cancel()
        await asyncio.sleep(0.05)
        assert not state._subscribed  # nobody would tell this process about a change now
        await state.client.set(f"{namespace}:ver:{user}", 5)  # a change it did not hear
        assert (await state.lookup(user, None))[0] == 5
    finally:
        await state.close()


class _SwallowingPubSub:
    """A pub/sub whose subscribe turns a cancel into a connection error, as redis-py can while connecting."""

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return False

    async def subscribe(self, channel):
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise ConnectionError("connection closed while connecting") from None


async def test_a_cancelled_listener_stops_even_when_the_client_swallows_the_cancel():
    """Otherwise the retry loop reconnects forever and the server's shutdown (or a test's loop) hangs."""
    require_services()
    state = RedisTokenState(REDIS_URL, f"test-tokens-{uuid.uuid4().hex}")
    state._listener_client.pubsub = _SwallowingPubSub
    try:
        await state.lookup(str(uuid.uuid4()), None)  # starts the listener
        await asyncio.sleep(0.05)
        task = state._task
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=3)
        assert task in done and task.cancelled()
    finally:
        await state.close()
