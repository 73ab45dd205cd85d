"""Per chat user limits: a request rate, job quotas per hour and day, and jobs at once.

Kept in the bot process (in memory): the REST API has its own rate limit per client,
but behind one service token every chat user would share it, so the bot must be fair
between its own users.
"""

from __future__ import annotations

import contextlib
import os
import time
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
