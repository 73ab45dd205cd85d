"""Per-user rate limiting: a counter per identity and window, any window length, ``Retry-After`` on 429.

The seed asks for 100 requests per 15 minutes, which Litestar's middleware (windows of one
second/minute/hour/day) cannot express. An earlier subclass of it kept a JSON list with one
entry per request in the store and read and rewrote it on every request: O(limit) work and
two Redis round trips per request, which dominated status polling. Here each request costs
one ``INCR`` (one Redis round trip, pipelined with the window's expiry) or a dict update in
memory. A window starts with an identity's first request, like before.

When Redis is unreachable the limiter fails open: status polling, downloads and the page do
not need Redis, and refusing every request while it restarts would turn a queue hiccup into
a full outage.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable

import jwt
import msgspec
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from redis.exceptions import RedisError

log = logging.getLogger("moodmix.web")

EXCLUDE_PREFIXES = ("/health", "/ready", "/metrics", "/schema", "/static")


def identify(headers: dict[str, str], client_host: str | None) -> str:
    """The user behind the token (an unverified read is fine: it only picks a bucket), else the address."""
    chat = headers.get("x-moodmix-chat")
    if chat:
        return f"chat:{chat}"
    header = headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        sub = _token_subject(header[7:].strip())
        if sub:
            return f"user:{sub}"
    return f"ip:{client_host or 'unknown'}"


@functools.lru_cache(maxsize=4096)
def _token_subject(token: str) -> str | None:
    """Cached: pollers send the same token every time, and decoding it was a visible share of a request."""
    try:
        sub = jwt.decode(token, options={"verify_signature": False}).get("sub")
    except jwt.InvalidTokenError:
        return None
    return str(sub) if sub else None


class MemoryCounter:
    """Windows in a dict (one process: the embedded setup)."""

    def __init__(self) -> None:
        self.windows: dict[str, list[float]] = {}  # key -> [count, reset epoch]

    async def hit(self, key: str, window_s: int) -> tuple[int, float]:
        now = time.time()
        entry = self.windows.get(key)
        if entry is None or entry[1] <= now:
            if len(self.windows) > 100_000:  # forget expired windows now and then
                self.windows = {k: v for k, v in self.windows.items() if v[1] > now}
            entry = self.windows[key] = [0, now + window_s]
        entry[0] += 1
        return int(entry[0]), entry[1]


class RedisCounter:
    """Windows in Redis, shared by every API process: ``SET NX EX`` + ``INCR`` + ``PTTL``, one round trip."""

    def __init__(self, url: str, namespace: str = "moodmix-ratelimit") -> None:
        import redis.asyncio as aioredis

        self.client = aioredis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self.namespace = namespace

    async def hit(self, key: str, window_s: int) -> tuple[int, float]:
        name = f"{self.namespace}:{key}"
        pipe = self.client.pipeline(transaction=False)
        pipe.set(name, 0, ex=window_s, nx=True)
        pipe.incr(name)
        pipe.pttl(name)
        _, count, pttl = await pipe.execute()
        return int(count), time.time() + max(pttl, 0) / 1000


_last_warning = 0.0


def _warn_store_down(exc: BaseException) -> None:
    """At most one warning every 10 s, however many requests pass unlimited meanwhile."""
    global _last_warning
    if time.time() - _last_warning > 10:
        _last_warning = time.time()
        log.warning("rate-limit store unavailable (%s); requests pass unlimited until it is back", exc)


def _refusal() -> bytes:
    message = "too many requests; slow down and retry later"
    return msgspec.json.encode({"success": False, "message": message, "data": None,
                                "error": {"code": "rate_limited", "message": message}})


def make_rate_limit(limit: int, window_s: int, redis_url: str = "") -> Callable[[ASGIApp], ASGIApp]:
    """ASGI middleware factory: ``limit`` requests per identity per ``window_s`` seconds."""
    counter = RedisCounter(redis_url) if redis_url else MemoryCounter()
    policy = f"{limit}; w={window_s}".encode()

    def middleware(app: ASGIApp) -> ASGIApp:
        async def limited(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope.get("path", "")
            if scope["type"] != "http" or path == "/" or path.startswith(EXCLUDE_PREFIXES):
                await app(scope, receive, send)
                return
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
            client = scope.get("client")
            try:
                count, reset = await counter.hit(identify(headers, client[0] if client else None), window_s)
            except (OSError, RedisError) as exc:
                _warn_store_down(exc)
                await app(scope, receive, send)
                return
            reset_in = max(1, math.ceil(reset - time.time()))
            extra = [(b"ratelimit-policy", policy), (b"ratelimit-limit", str(limit).encode()),
                     (b"ratelimit-remaining", str(max(0, limit - count)).encode()),
                     (b"ratelimit-reset", str(reset_in).encode())]
            if count > limit:
                body = _refusal()
                await send({"type": "http.response.start", "status": 429, "headers": [
                    (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(reset_in).encode()), *extra]})
                await send({"type": "http.response.body", "body": body})
                return

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message.get("headers", ()), *extra]}
                await send(message)

            await app(scope, receive, send_with_headers)

        return limited

    return middleware
