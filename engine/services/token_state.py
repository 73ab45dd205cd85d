"""What every API process must learn at once: a user's current token version, and ended sessions.

Each process caches users for a few seconds (:attr:`Accounts.USER_CACHE_S`); without a shared
signal a deleted account or a signed-out session would keep working there until the cache
expires. With Redis, each request reads the user's version (and, for a browser session, whether
it was ended) in one round trip; without Redis there is one API process, so a dict does.
``None`` means "not known here": the caller asks the database, which is always the truth.
"""

from __future__ import annotations

import logging
import time

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


class RedisTokenState:
    """Every API process: ``GET`` (or ``MGET`` with the session's key) per request; errors answer ``None``."""

    def __init__(self, url: str, namespace: str = "moodmix-tokens") -> None:
        import redis.asyncio as aioredis

        self.client = aioredis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self.namespace = namespace
        self._warned = 0.0

    def _version_key(self, user_id: str) -> str:
        return f"{self.namespace}:ver:{user_id}"

    def _session_key(self, session: str) -> str:
        return f"{self.namespace}:ended:{session}"

    def _down(self, exc: Exception) -> None:
        if time.monotonic() - self._warned > 10:
            self._warned = time.monotonic()
            log.warning("token state store unavailable (%s); reading the database instead", exc)

    async def lookup(self, user_id: str, session: str | None) -> tuple[int | None, bool | None]:
        from redis.exceptions import RedisError

        try:
            if session:
                version, ended = await self.client.mget(self._version_key(user_id), self._session_key(session))
                return (int(version) if version is not None else None), ended is not None
            version = await self.client.get(self._version_key(user_id))
            return (int(version) if version is not None else None), None
        except (RedisError, OSError, ValueError) as exc:
            self._down(exc)
            return None, None

    async def learn(self, user_id: str, version: int) -> None:
        """Record a version read from the database, unless a newer one is already there."""
        from redis.exceptions import RedisError

        try:
            key = self._version_key(user_id)
            if not await self.client.set(key, version, ex=VERSION_TTL_S, nx=True):
                current = await self.client.get(key)
                if current is None or int(current) < version:
                    await self.client.set(key, version, ex=VERSION_TTL_S)
        except (RedisError, OSError, ValueError) as exc:
            self._down(exc)

    async def bump(self, user_id: str, version: int) -> None:
        from redis.exceptions import RedisError

        try:
            await self.client.set(self._version_key(user_id), version, ex=VERSION_TTL_S)
        except (RedisError, OSError) as exc:  # the database has it; other processes see it within USER_CACHE_S
            self._down(exc)

    async def end_session(self, session: str, ttl_s: float) -> None:
        from redis.exceptions import RedisError

        try:
            await self.client.set(self._session_key(session), 1, ex=max(1, int(ttl_s)))
        except (RedisError, OSError) as exc:
            self._down(exc)


def make_token_state(redis_url: str) -> MemoryTokenState | RedisTokenState:
    return RedisTokenState(redis_url) if redis_url else MemoryTokenState()
