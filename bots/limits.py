"""Per chat user limits: a request rate, job quotas per hour and day, and jobs at once.

The REST API has its own rate limit per client, but behind one service token every chat
user would share it, so the bot must be fair between its own users. Kept in the bot process
(:class:`ChatLimiter`), or in Redis (:class:`RedisChatLimiter`) when one is configured, so that
two bot replicas cannot be used to double a user's quota.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from moodmix.engine.errors import MoodmixError

HOUR = 3600.0
DAY = 86400.0


class LimitReached(MoodmixError):
    """A chat user went past a limit; the message says when to come back."""

    code = "rate_limited"
    status = 429


class Busy(MoodmixError):
    """The chat user already has as many jobs running as allowed."""

    code = "busy"
    status = 409


@dataclass(frozen=True)
class BotLimits:
    """Numbers behind :class:`ChatLimiter`; ``from_env`` reads ``MOODMIX_BOT_*`` overrides."""

    requests_per_minute: int = 20
    jobs_per_hour: int = 20
    jobs_per_day: int = 100
    jobs_at_once: int = 1

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> BotLimits:
        env = os.environ if environ is None else environ
        values = {}
        for name in ("requests_per_minute", "jobs_per_hour", "jobs_per_day", "jobs_at_once"):
            raw = env.get(f"MOODMIX_BOT_{name.upper()}")
            if raw:
                try:
                    values[name] = int(raw)
                except ValueError:
                    raise ValueError(f"MOODMIX_BOT_{name.upper()} must be a whole number, not {raw!r}") from None
        return cls(**values)


def _wait_text(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} seconds"
    if seconds < 5400:
        return f"{round(seconds / 60)} minutes"
    return f"{seconds / 3600:.1f} hours"


class ChatLimiter:
    """Sliding-window counters per chat user key (``ChatRef.key``)."""

    def __init__(self, limits: BotLimits | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits or BotLimits()
        self.clock = clock
        self._requests: dict[str, deque[float]] = defaultdict(deque)
        self._jobs: dict[str, deque[float]] = defaultdict(deque)
        self._active: dict[str, int] = defaultdict(int)

    @staticmethod
    def _prune(stamps: deque[float], now: float, window: float) -> None:
        while stamps and stamps[0] <= now - window:
            stamps.popleft()

    def hit(self, key: str) -> None:
        """Count one request (a command, an upload, a button); raise when over the per-minute rate."""
        now = self.clock()
        stamps = self._requests[key]
        self._prune(stamps, now, 60.0)
        if len(stamps) >= self.limits.requests_per_minute:
            raise LimitReached(f"slow down: at most {self.limits.requests_per_minute} requests a minute; "
                               f"try again in {_wait_text(stamps[0] + 60.0 - now)}")
        stamps.append(now)

    def check_job(self, key: str) -> None:
        """Raise unless ``key`` may start a job now (checked again when the job really starts)."""
        if self._active[key] >= self.limits.jobs_at_once:
            raise Busy("you already have a job running; wait for it to finish (see /jobs), then try again")
        now = self.clock()
        stamps = self._jobs[key]
        self._prune(stamps, now, DAY)
        for window, allowed, label in ((HOUR, self.limits.jobs_per_hour, "an hour"),
                                       (DAY, self.limits.jobs_per_day, "a day")):
            recent = [t for t in stamps if t > now - window]
            if len(recent) >= allowed:
                raise LimitReached(f"you reached the limit of {allowed} jobs {label}; "
                                   f"try again in {_wait_text(recent[0] + window - now)}")

    def active(self, key: str) -> int:
        return self._active[key]

    @contextlib.contextmanager
    def job_slot(self, key: str) -> Iterator[None]:
        """Hold one of the user's job slots while their job is followed; counts toward the quotas."""
        self.check_job(key)
        self._active[key] += 1
        self._jobs[key].append(self.clock())
        try:
            yield
        finally:
            self._active[key] -= 1


class RedisChatLimiter:
    """:class:`ChatLimiter`'s rules with the counters in Redis, shared by every bot process.

    Each request and job is a member of a sorted set scored by wall-clock time; a job slot is a
    counter. Both are claimed first and checked after (and given back when over), so two
    processes racing for the last slot cannot both win. Keys expire on their own.
    """

    def __init__(self, url: str, limits: BotLimits | None = None, *, prefix: str = "moodmix:bot:",
                 clock: Callable[[], float] = time.time, slot_ttl_s: int = 2 * 3600) -> None:
        import redis

        self.limits = limits or BotLimits()
        self.redis = redis.Redis.from_url(url)
        self.prefix = prefix
        self.clock = clock
        self.slot_ttl_s = slot_ttl_s

    def _key(self, kind: str, key: str) -> str:
        return f"{self.prefix}{kind}:{key}"

    def _claim(self, zkey: str, now: float, window: float) -> tuple[str, int, float]:
        """Add a member now; returns it, the count in ``window`` and the oldest stamp in it."""
        member = f"{now:.6f}:{uuid.uuid4().hex[:8]}"
        pipe = self.redis.pipeline()
        pipe.zremrangebyscore(zkey, "-inf", now - DAY)
        pipe.zadd(zkey, {member: now})
        pipe.zcount(zkey, f"({now - window}", "+inf")
        pipe.zrangebyscore(zkey, f"({now - window}", "+inf", start=0, num=1, withscores=True)
        pipe.expire(zkey, int(DAY) + 60)
        _, _, count, oldest, _ = pipe.execute()
        return member, int(count), float(oldest[0][1]) if oldest else now

    def hit(self, key: str) -> None:
        now = self.clock()
        zkey = self._key("requests", key)
        member, count, oldest = self._claim(zkey, now, 60.0)
        if count > self.limits.requests_per_minute:
            self.redis.zrem(zkey, member)
            raise LimitReached(f"slow down: at most {self.limits.requests_per_minute} requests a minute; "
                               f"try again in {_wait_text(oldest + 60.0 - now)}")

    def check_job(self, key: str) -> None:
        if self.active(key) >= self.limits.jobs_at_once:
            raise Busy("you already have a job running; wait for it to finish (see /jobs), then try again")
        now = self.clock()
        zkey = self._key("jobs", key)
        for window, allowed, label in ((HOUR, self.limits.jobs_per_hour, "an hour"),
                                       (DAY, self.limits.jobs_per_day, "a day")):
            stamps = self.redis.zrangebyscore(zkey, f"({now - window}", "+inf", withscores=True)
            if len(stamps) >= allowed:
                raise LimitReached(f"you reached the limit of {allowed} jobs {label}; "
                                   f"try again in {_wait_text(float(stamps[0][1]) + window - now)}")

    def active(self, key: str) -> int:
        return int(self.redis.get(self._key("active", key)) or 0)

    @contextlib.contextmanager
    def job_slot(self, key: str) -> Iterator[None]:
        """Hold one of the user's job slots (across processes) while their job is followed."""
        active_key = self._key("active", key)
        pipe = self.redis.pipeline()
        pipe.incr(active_key)
        pipe.expire(active_key, self.slot_ttl_s)  # a crashed bot's slot frees itself
        held, _ = pipe.execute()
        try:
            if int(held) > self.limits.jobs_at_once:
                raise Busy("you already have a job running; wait for it to finish (see /jobs), then try again")
            now = self.clock()
            zkey = self._key("jobs", key)
            member, in_day, _ = self._claim(zkey, now, DAY)
            in_hour = int(self.redis.zcount(zkey, f"({now - HOUR}", "+inf"))
            for count, allowed, label, window in ((in_hour, self.limits.jobs_per_hour, "an hour", HOUR),
                                                  (in_day, self.limits.jobs_per_day, "a day", DAY)):
                if count > allowed:
                    self.redis.zrem(zkey, member)
                    stamps = self.redis.zrangebyscore(zkey, f"({now - window}", "+inf", start=0, num=1,
                                                      withscores=True)
                    first = float(stamps[0][1]) if stamps else now
                    raise LimitReached(f"you reached the limit of {allowed} jobs {label}; "
                                       f"try again in {_wait_text(first + window - now)}")
            yield
        finally:
            self.redis.decr(active_key)


def make_limiter(limits: BotLimits | None = None, redis_url: str = "") -> ChatLimiter | RedisChatLimiter:
    """Limits in Redis when ``redis_url`` is set (shared by replicas), else in this process."""
    return RedisChatLimiter(redis_url, limits) if redis_url else ChatLimiter(limits)
