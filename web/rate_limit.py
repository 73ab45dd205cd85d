"""Per-user rate limiting on Litestar's middleware, with any window length and ``Retry-After``.

Litestar's config takes a window of one second/minute/hour/day; the seed asks for
100 requests per 15 minutes, so the window is made configurable here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from time import time
from typing import Any

import jwt
from litestar import Request
from litestar.middleware.rate_limit import CacheObject, RateLimitConfig, RateLimitMiddleware
from litestar.serialization import decode_json, encode_json
from litestar.stores.base import Store
from redis.exceptions import RedisError

log = logging.getLogger("moodmix.web")


def identify(request: Request) -> str:
    """The user behind the token (unverified read is fine: it only picks a bucket), else the address."""
    chat = request.headers.get("x-moodmix-chat")
    if chat:
        return f"chat:{chat}"
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        try:
            sub = jwt.decode(header[7:].strip(), options={"verify_signature": False}).get("sub")
            if sub:
                return f"user:{sub}"
        except jwt.InvalidTokenError:
            pass
    client = request.client
    return f"ip:{client.host if client else 'unknown'}"


class WindowRateLimitMiddleware(RateLimitMiddleware):
    config: WindowRateLimitConfig

    async def retrieve_cached_history(self, key: str, store: Store) -> CacheObject:
        now = int(time())
        try:
            cached = await store.get(key)
        except (OSError, RedisError) as exc:
            # Fail open: with Redis down (restart, failover) every request would otherwise be a 500,
            # status polling and downloads included, though none of them needs Redis.
            _warn_store_down(exc)
            cached = None
        if cached:
            obj = CacheObject(**decode_json(value=cached))
            if obj.reset > now:
                return obj
        return CacheObject(history=[], reset=now + self.config.window_s)

    async def set_cached_history(self, key: str, cache_object: CacheObject, store: Store) -> None:
        # The limit needs how many requests, not when: keep one small marker per request.
        cache_object.history.append(0)
        try:
            await store.set(key, encode_json(cache_object), expires_in=max(1, cache_object.reset - int(time())))
        except (OSError, RedisError) as exc:
            _warn_store_down(exc)

    def create_response_headers(self, cache_object: CacheObject) -> dict[str, str]:
        headers = super().create_response_headers(cache_object)
        headers[self.config.rate_limit_policy_header_key] = f"{self.max_requests}; w={self.config.window_s}"
        if len(cache_object.history) >= self.max_requests:
            headers["Retry-After"] = str(max(1, cache_object.reset - int(time())))
        return headers


_last_warning = 0.0


def _warn_store_down(exc: BaseException) -> None:
    """At most one warning every 10 s, however many requests pass unlimited meanwhile."""
    global _last_warning
    if time() - _last_warning > 10:
        _last_warning = time()
        log.warning("rate-limit store unavailable (%s); requests pass unlimited until it is back", exc)


@dataclass
class WindowRateLimitConfig(RateLimitConfig):
    window_s: int = 900


def make_rate_limit(limit: int, window_s: int, store: str = "rate_limit", **kw: Any) -> WindowRateLimitConfig:
    return WindowRateLimitConfig(
        rate_limit=("minute", int(limit)), window_s=int(window_s), identifier_for_request=identify,
        middleware_class=WindowRateLimitMiddleware, store=store,
        exclude=[r"^/health$", r"^/ready$", r"^/metrics$", r"^/schema", r"^/static", r"^/$"], **kw,
    )
