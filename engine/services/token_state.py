"""What every API process must learn at once: a user's current token version, and ended sessions.

Each process caches users for a few seconds (:attr:`Accounts.USER_CACHE_S`); without a shared
signal a deleted account or a signed-out session would keep working there until the cache
expires. Without Redis there is one API process, so a dict does. With Redis, the versions and
ended sessions live there, and each process keeps what it read in memory while it is subscribed
to a channel on which every change is published: status polling then costs no round trip for
the token check (a ``GET`` per request cost 13 % of a poll). The process that makes a change waits
until every subscribed process has applied it (each acknowledges on the channel), so the
refusal holds everywhere before the sign-out answers. A process that is not subscribed (Redis
away, the subscription being re-made) reads Redis per request, as before.
``None`` means "not known here": the caller asks the database, which is always the truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid

log = logging.getLogger("moodmix.sessions")

#: How long a version stays in Redis after it was last learned (the database answers after that).
VERSION_TTL_S = 86400


class MemoryTokenState:
    """One process: versions and ended sessions in dicts (bounded)."""

    MAX = 100_000

    def __init__(self) -> None:
        self.versions: dict[str, int] = {}
        self.ended: dict[str, float] = {}

    async def lookup(self, user_id: str, session: str | None) -> tuple[int | None, bool | None]:
        ended = None
        if session:
            until = self.ended.get(session)
            ended = until is not None and until > time.monotonic()
        return self.versions.get(user_id), ended

    async def learn(self, user_id: str, version: int) -> None:
        if len(self.versions) >= self.MAX:
            self.versions.clear()
        if version > self.versions.get(user_id, -1):
            self.versions[user_id] = version

    async def bump(self, user_id: str, version: int) -> None:
        self.versions[user_id] = version

    async def end_session(self, session: str, ttl_s: float) -> None:
        if len(self.ended) >= self.MAX:
            now = time.monotonic()
            self.ended = {k: v for k, v in self.ended.items() if v > now}
        self.ended[session] = time.monotonic() + ttl_s

    async def close(self) -> None:
        """Nothing to release (the Redis variant stops its listener and connections)."""


class RedisTokenState:
    """Every API process: Redis (``GET``/``MGET``), remembered while subscribed to the changes; errors answer
    ``None``."""

    #: A remembered answer is read again after this long, whatever the channel said.
    CACHE_S = 30.0
    #: How long a change waits for the other processes' acknowledgements.
    ACK_WAIT_S = 1.0

    def __init__(self, url: str, namespace: str = "moodmix-tokens") -> None:
        import redis.asyncio as aioredis

        self.client = aioredis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self._listener_client = aioredis.from_url(url, socket_connect_timeout=1, health_check_interval=10)
        self.namespace = namespace
        self.channel = f"{namespace}:changes"
        self._warned = 0.0
        self._versions: dict[str, tuple[float, int]] = {}  # user id -> (expires, version)
        self._ended: dict[str, tuple[float, bool]] = {}  # session -> (expires, ended)
        self._generation = 0  # moved by every change heard: a read that began before it is not remembered
        self._subscribed = False
        self._task: asyncio.Task | None = None
        self._acks: dict[str, list] = {}  # nonce -> [acknowledgements, expected, event]

    def _version_key(self, user_id: str) -> str:
        return f"{self.namespace}:ver:{user_id}"

    def _session_key(self, session: str) -> str:
        return f"{self.namespace}:ended:{session}"

    def _down(self, exc: Exception) -> None:
        if time.monotonic() - self._warned > 10:
            self._warned = time.monotonic()
            log.warning("token state store unavailable (%s); reading the database instead", exc)

    # ---- reads ---------------------------------------------------------------------------------
    def _remembered(self, user_id: str, session: str | None) -> tuple[int | None, bool | None] | None:
        if not self._subscribed:
            return None
        now = time.monotonic()
        version = self._versions.get(user_id)
        if version is None or version[0] < now:
            return None
        if not session:
            return version[1], None
        ended = self._ended.get(session)
        if ended is None or ended[0] < now:
            return None
        return version[1], ended[1]

    async def lookup(self, user_id: str, session: str | None) -> tuple[int | None, bool | None]:
        from redis.exceptions import RedisError

        self._listen()
        held = self._remembered(user_id, session)
        if held is not None:
            return held
        generation = self._generation
        try:
            if session:
                version, ended = await self.client.mget(self._version_key(user_id), self._session_key(session))
                answer = (int(version) if version is not None else None), ended is not None
            else:
                version = await self.client.get(self._version_key(user_id))
                answer = (int(version) if version is not None else None), None
        except (RedisError, OSError, ValueError) as exc:
            self._down(exc)
            return None, None
        if self._subscribed and generation == self._generation:
            self._remember(user_id, answer[0], session, answer[1])
        return answer

    def _remember(self, user_id: str, version: int | None, session: str | None = None,
                  ended: bool | None = None) -> None:
        expires = time.monotonic() + self.CACHE_S
        if len(self._versions) >= MemoryTokenState.MAX or len(self._ended) >= MemoryTokenState.MAX:
            self._forget()
        if version is not None:
            held = self._versions.get(user_id)
            self._versions[user_id] = (expires, max(version, held[1]) if held else version)
        if session and ended is not None:
            held_ended = self._ended.get(session)
            self._ended[session] = (expires, ended or bool(held_ended and held_ended[1]))

    def _forget(self) -> None:
        self._versions.clear()
        self._ended.clear()
        self._generation += 1

    # ---- writes ----------------------------------------------------------------------------------
    async def learn(self, user_id: str, version: int) -> None:
        """Record a version read from the database, unless a newer one is already there."""
        from redis.exceptions import RedisError

        generation = self._generation
        try:
            key = self._version_key(user_id)
            if not await self.client.set(key, version, ex=VERSION_TTL_S, nx=True):
                current = await self.client.get(key)
                if current is None or int(current) < version:
                    await self.client.set(key, version, ex=VERSION_TTL_S)
                else:
                    version = int(current)
        except (RedisError, OSError, ValueError) as exc:
            self._down(exc)
            return
        if self._subscribed and generation == self._generation:
            self._remember(user_id, version)

    async def bump(self, user_id: str, version: int) -> None:
        from redis.exceptions import RedisError

        try:
            await self.client.set(self._version_key(user_id), version, ex=VERSION_TTL_S)
        except (RedisError, OSError) as exc:  # the database has it; other processes see it within USER_CACHE_S
            self._down(exc)
        await self._announce(f"ver {user_id} {version}")

    async def end_session(self, session: str, ttl_s: float) -> None:
        from redis.exceptions import RedisError

        try:
            await self.client.set(self._session_key(session), 1, ex=max(1, int(ttl_s)))
        except (RedisError, OSError) as exc:
            self._down(exc)
        await self._announce(f"end {session}")

    # ---- the changes channel ---------------------------------------------------------------------
    async def _announce(self, change: str) -> None:
        """Publish ``change`` and wait (at most :attr:`ACK_WAIT_S`) until every subscriber has applied it."""
        from redis.exceptions import RedisError

        self._apply(change)
        nonce = uuid.uuid4().hex
        waiting = self._acks[nonce] = [0, None, asyncio.Event()]
        try:
            waiting[1] = await self.client.publish(self.channel, f"{change} {nonce}")
            if waiting[0] < waiting[1]:
                await asyncio.wait_for(waiting[2].wait(), self.ACK_WAIT_S)
        except (RedisError, OSError, TimeoutError) as exc:  # unheard processes fall back on CACHE_S and USER_CACHE_S
            self._down(exc)
        finally:
            self._acks.pop(nonce, None)

    def _apply(self, change: str) -> None:
        kind, _, rest = change.partition(" ")
        self._generation += 1
        if kind == "ver":
            user_id, _, version = rest.partition(" ")
            self._versions.pop(user_id, None)
            if version.isdigit():
                self._remember(user_id, int(version))
        elif kind == "end":
            self._ended[rest] = (time.monotonic() + self.CACHE_S, True)

    async def _heard(self, message: str) -> None:
        head, _, nonce = message.rpartition(" ")
        if head == "ack":
            waiting = self._acks.get(nonce)
            if waiting is not None:
                waiting[0] += 1
                if waiting[1] is not None and waiting[0] >= waiting[1]:
                    waiting[2].set()
            return
        self._apply(head)
        from redis.exceptions import RedisError

        try:
            await self.client.publish(self.channel, f"ack {nonce}")
        except (RedisError, OSError) as exc:  # the announcer stops waiting after ACK_WAIT_S
            self._down(exc)

    def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._subscribed = False
            self._task = loop.create_task(self._listen_forever())

    async def _listen_forever(self) -> None:
        while True:
            try:
                async with self._listener_client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    async for message in pubsub.listen():
                        if message.get("type") == "subscribe":
                            self._forget()  # what was read before now may have missed a change
                            self._subscribed = True
                        elif message.get("type") == "message":
                            data = message["data"]
                            await self._heard(data.decode() if isinstance(data, bytes) else str(data))
            except asyncio.CancelledError:
                self._subscribed = False
                raise
            except Exception as exc:
                if _being_cancelled():  # redis-py can turn a cancel into a connection error: stop, don't retry
                    self._subscribed = False
                    raise asyncio.CancelledError from exc
                self._down(exc)
            self._subscribed = False
            self._forget()
            await asyncio.sleep(1.0)


    async def close(self) -> None:
        """Stop listening and close both connections (the app's shutdown; tests)."""
        task, self._task = self._task, None
        self._subscribed = False
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=5)
        for client in (self.client, self._listener_client):
            with contextlib.suppress(Exception):
                await client.aclose()


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def make_token_state(redis_url: str) -> MemoryTokenState | RedisTokenState:
    return RedisTokenState(redis_url) if redis_url else MemoryTokenState()
