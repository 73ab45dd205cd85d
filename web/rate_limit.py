"""Per-user rate limiting: a counter per identity and window, any window length, ``Retry-After`` on 429.

The seed asks for 100 requests per 15 minutes, which Litestar's middleware (windows of one
second/minute/hour/day) cannot express. An earlier subclass of it kept a JSON list with one
entry per request in the store and read and rewrote it on every request: O(limit) work and
two Redis round trips per request, which dominated status polling. Here a request costs a dict
update: in memory (one process), or with Redis against a block of the window's numbers that this
process reserved with one ``INCRBY`` (see :class:`RedisCounter`): the limit holds across every API
process, and a busy identity costs one Redis round trip per block rather than per request. The
window starts with an identity's first request, like before.

Buckets come only from verified credentials: a user's token (signature and expiry checked, the
result cached by :func:`moodmix.engine.auth.read_token`, the bucket kept per credential header until
the token expires: :class:`Identities`), or a bot's service token acting for a chat user. Everything
unauthenticated or invalid is counted per client address, so forged tokens can neither escape the
limit nor spend a victim's quota. Requests that fail authentication (401)
also count against a smaller per-address budget; once it is spent, that address gets 429 for
anything it sends without valid credentials (password guessing, token guessing).

When Redis is unreachable the limiter fails open: status polling, downloads and the page do
not need Redis, and refusing every request while it restarts would turn a queue hiccup into
a full outage.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable

import msgspec
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from redis.exceptions import RedisError

from moodmix.engine import auth
from moodmix.engine.errors import Unauthorized

log = logging.getLogger("moodmix.web")

EXCLUDE_PREFIXES = ("/health", "/ready", "/metrics", "/schema", "/static")


def identify(authorization: str, chat: str | None, secret: str) -> tuple[str, float] | None:
    """The verified identity behind an ``Authorization`` header (and ``X-Moodmix-Chat`` for a bot), with
    the time its token expires; ``None`` when the credentials are not valid (counted per address)."""
    if not authorization.lower().startswith("bearer "):
        return None
    try:
        claims = auth.read_token(secret, authorization[7:].strip())
    except Unauthorized:
        return None
    if claims.kind == "service":
        return (f"chat:{chat}" if chat else f"service:{claims.subject}"), claims.expires_at
    if claims.kind == "access":
        return f"user:{claims.subject}", claims.expires_at
    return None


class Identities:
    """Verified identities by the raw credential headers, until their token expires: a client polling with
    the same token is bucketed with one dict look-up. Invalid credentials are never kept."""

    MAX = 10_000

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.known: dict[tuple[bytes, bytes | None], tuple[str, float]] = {}

    def get(self, authorization: bytes, chat: bytes | None) -> str | None:
        key = (authorization, chat)
        held = self.known.get(key)
        if held is not None and held[1] > time.time():
            return held[0]
        found = identify(authorization.decode("latin-1"), chat.decode("latin-1") if chat is not None else None,
                         self.secret)
        if found is None:
            self.known.pop(key, None)
            return None
        if len(self.known) >= self.MAX:
            self.known.clear()
        self.known[key] = found
        return found[0]


class MemoryCounter:
    """Windows in a dict (one process: the embedded setup)."""

    def __init__(self) -> None:
        self.windows: dict[str, list[float]] = {}  # key -> [count, reset epoch]

    async def hit(self, key: str, window_s: int, limit: int) -> tuple[int, float]:
        now = time.time()
        entry = self.windows.get(key)
        if entry is None or entry[1] <= now:
            if len(self.windows) > 100_000:  # forget expired windows now and then
                self.windows = {k: v for k, v in self.windows.items() if v[1] > now}
            entry = self.windows[key] = [0, now + window_s]
        entry[0] += 1
        return int(entry[0]), entry[1]

    async def peek(self, key: str) -> int:
        entry = self.windows.get(key)
        return int(entry[0]) if entry and entry[1] > time.time() else 0


def lease_size(limit: int) -> int:
    """Numbers reserved per round trip: 1 % of the limit (at most 1,000). A process holds at most one and a
    half blocks unused (the rest of one, and the next reserved ahead), so reservations can refuse another
    process's requests early by at most 1.5 % of the limit per process."""
    return max(1, min(1000, limit // 100))


class RedisCounter:
    """Windows in Redis, shared by every API process, handed out locally in reserved blocks.

    A window's key counts every number reserved by any process (``SET NX EX`` + ``INCRBY`` + ``PTTL`` in
    one round trip). A process serves its block from memory and, once half of it is used, reserves the
    next block in the background, so that requests do not wait for the round trip (under 100 pollers
    every request that arrived while a block was being reserved used to wait for Redis). A block's
    numbers are global: once the last number reserved is past the limit, the window is spent for
    everyone and refusals need no round trip until it resets. Small limits (under 200) reserve one
    number at a time, when it is needed, exactly as a plain counter.
    """

    MAX_KEYS = 100_000

    def __init__(self, url: str, namespace: str = "moodmix-ratelimit") -> None:
        import redis.asyncio as aioredis

        self.client = aioredis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self.namespace = namespace
        # key -> [next number, last number reserved, reset epoch, the next block reserved ahead or None]
        self.leases: dict[str, list] = {}
        self._reserving: dict[str, asyncio.Future] = {}

    async def hit(self, key: str, window_s: int, limit: int) -> tuple[int, float]:
        while True:
            now = time.time()
            lease = self.leases.get(key)
            if lease is not None and lease[2] > now:
                if lease[0] <= lease[1]:
                    lease[0] += 1
                    size = lease_size(limit)
                    if (size > 1 and lease[3] is None and lease[1] - lease[0] + 1 <= size // 2 and lease[1] < limit
                            and key not in self._reserving):
                        self._start(key, window_s, limit, ahead=True)
                    return int(lease[0] - 1), lease[2]
                ahead = lease[3]
                if ahead is not None and ahead[2] > now:
                    self.leases[key] = [ahead[0], ahead[1], ahead[2], None]
                    continue
                if lease[1] >= limit:  # spent for everyone until the window resets
                    return int(lease[1] + 1), lease[2]
            pending = self._reserving.get(key)
            if pending is None or pending.done():
                # A finished reservation is never awaited again: awaiting a done future does not yield, so a
                # block that one left unusable (an ahead reservation that failed quietly) would spin here.
                pending = self._start(key, window_s, limit, ahead=False)
            await asyncio.shield(pending)

    def _start(self, key: str, window_s: int, limit: int, *, ahead: bool) -> asyncio.Future:
        pending = self._reserving[key] = asyncio.ensure_future(self._reserve(key, window_s, limit, ahead))
        pending.add_done_callback(lambda done, k=key: self._forget(k, done))
        return pending

    def _forget(self, key: str, done: asyncio.Future) -> None:
        if self._reserving.get(key) is done:  # (a newer reservation for the key may have replaced it)
            del self._reserving[key]
        if not done.cancelled():
            done.exception()  # retrieved: an ahead reservation's failure is logged by _reserve, not by asyncio

    async def aclose(self) -> None:
        """Cancel reservations in flight, then close the connection pool."""
        pending = list(self._reserving.values())
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await self.client.aclose()

    async def _reserve(self, key: str, window_s: int, limit: int, ahead: bool = False) -> None:
        size = lease_size(limit)
        name = f"{self.namespace}:{key}"
        pipe = self.client.pipeline(transaction=False)
        pipe.set(name, 0, ex=window_s, nx=True)
        pipe.incrby(name, size)
        pipe.pttl(name)
        try:
            _, last, pttl = await pipe.execute()
        except (OSError, RedisError) as exc:
            if not ahead:
                raise
            _warn_store_down(exc)  # nobody waits for it: the request that finds the block spent asks again
            return
        if len(self.leases) >= self.MAX_KEYS:
            now = time.time()
            self.leases = {k: v for k, v in self.leases.items() if v[2] > now}
        ttl_s = pttl / 1000 if pttl > 0 else window_s  # (a key with no expiry is not ours to fix here)
        block = (int(last) - size + 1, int(last), time.time() + ttl_s)
        lease = self.leases.get(key)
        if ahead and lease is not None and lease[0] <= lease[1] and lease[2] > time.time():
            lease[3] = block
        else:
            self.leases[key] = [*block, None]

    async def peek(self, key: str) -> int:
        value = await self.client.get(f"{self.namespace}:{key}")
        return int(value or 0)


_last_warning = 0.0


def _warn_store_down(exc: BaseException) -> None:
    """At most one warning every 10 s, however many requests pass unlimited meanwhile."""
    global _last_warning
    if time.time() - _last_warning > 10:
        _last_warning = time.time()
        log.warning("rate-limit store unavailable (%s); requests pass unlimited until it is back", exc)


def _refusal(message: str = "too many requests; slow down and retry later") -> bytes:
    return msgspec.json.encode({"success": False, "message": message, "data": None,
                                "error": {"code": "rate_limited", "message": message}})


async def _refuse(send: Send, body: bytes, retry_after: int, extra: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": 429, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry_after).encode()), *extra]})
    await send({"type": "http.response.body", "body": body})


def make_rate_limit(limit: int, window_s: int, redis_url: str = "", *, secret_key: str,
                    auth_failure_limit: int | None = None) -> Callable[[ASGIApp], ASGIApp]:
    """ASGI middleware factory: ``limit`` requests per identity per ``window_s`` seconds.

    ``auth_failure_limit`` (default: a fifth of ``limit``, at least 5) failed authentications per
    address per window are allowed before that address is refused without valid credentials.
    """
    counter = RedisCounter(redis_url) if redis_url else MemoryCounter()
    identities = Identities(secret_key)
    policy = [(b"ratelimit-policy", f"{limit}; w={window_s}".encode()), (b"ratelimit-limit", str(limit).encode())]
    failures_allowed = auth_failure_limit if auth_failure_limit is not None else max(5, limit // 5)

    def middleware(app: ASGIApp) -> ASGIApp:
        async def limited(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope.get("path", "")
            if scope["type"] != "http" or path == "/" or path.startswith(EXCLUDE_PREFIXES):
                await app(scope, receive, send)
                return
            authorization = chat = None
            for name, value in scope.get("headers", ()):  # ASGI servers send names in lower case
                if name == b"authorization":
                    authorization = value
                elif name == b"x-moodmix-chat":
                    chat = value
            client = scope.get("client")
            address = f"ip:{client[0] if client else 'unknown'}"
            identity = identities.get(authorization, chat) if authorization is not None else None
            try:
                if identity is None:
                    identity = address
                    if await counter.peek(f"authfail:{address}") >= failures_allowed:
                        await _refuse(send, _refusal("too many failed sign-ins or invalid tokens from this "
                                                     "address; wait and retry"), window_s, [])
                        return
                count, reset = await counter.hit(identity, window_s, limit)
            except (OSError, RedisError) as exc:
                _warn_store_down(exc)
                await app(scope, receive, send)
                return
            reset_in = max(1, math.ceil(reset - time.time()))
            extra = [*policy, (b"ratelimit-remaining", str(max(0, limit - count)).encode()),
                     (b"ratelimit-reset", str(reset_in).encode())]
            if count > limit:
                await _refuse(send, _refusal(), reset_in, extra)
                return

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    if message.get("status") == 401:
                        try:
                            await counter.hit(f"authfail:{address}", window_s, failures_allowed)
                        except (OSError, RedisError) as exc:
                            _warn_store_down(exc)
                    message = {**message, "headers": [*message.get("headers", ()), *extra]}
                await send(message)

            await app(scope, receive, send_with_headers)

        return limited

    return middleware
