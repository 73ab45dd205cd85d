"""Progress messages: the text of one status line, and edits that respect chat rate limits.

Both platforms show progress by editing a single message; editing on every engine
tick would hit Discord's and Telegram's edit rate limits, hence :class:`ThrottledText`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from moodmix.bots.backend import BotBackend, ChatRef
from moodmix.engine.errors import MoodmixError

BAR_CELLS = 10


def bar(percent: float) -> str:
    filled = max(0, min(BAR_CELLS, round(percent / 100 * BAR_CELLS)))
    return "█" * filled + "░" * (BAR_CELLS - filled)


def progress_text(job: dict, title: str | None = None) -> str:
    """One line about ``job`` for a chat message, e.g. ``⚙️ remix 40% ████░░░░░░ — mixing``."""
    title = title or job.get("capability", "job")
    status = job.get("status")
    message = (job.get("message") or "").strip()
    if status == "queued":
        return f"⏳ {title}: {queue_text(job)}"
    if status == "running":
        pct = float(job.get("progress") or 0.0)
        extra = f" — {message}" if message and message not in ("running", "started") else ""
        return f"⚙️ {title} {pct:.0f}% {bar(pct)}{extra}"
    if status == "succeeded":
        return f"✅ {title}: done"
    if status == "cancelled":
        return f"🛑 {title}: cancelled"
    if status == "failed":
        error = (job.get("error") or {}).get("message") or message or "unknown error"
        return f"❌ {title} failed: {error}"
    return f"… {title}: {status}"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def duration_range(eta: dict) -> str:
    """``{"low": 38.2, "high": 61}`` -> ``"40–60 s"``; minutes from 90 s on."""
    low, high = float(eta["low"]), float(eta["high"])
    if high >= 90:
        lo, hi = max(1, round(low / 60)), max(1, round(high / 60))
        return f"{lo} min" if lo == hi else f"{lo}–{hi} min"
    step = 5 if high >= 20 else 1
    lo, hi = max(1, round(low / step) * step), max(1, round(high / step) * step)
    return f"{lo} s" if lo == hi else f"{lo}–{hi} s"


def queue_text(job: dict) -> str:
    """Where a queued job stands, e.g. ``3rd in line, about 40–60 s``."""
    if job.get("depends_on"):
        return "waiting for the job it depends on"
    position, eta = job.get("queue_position"), job.get("eta_s")
    if not position:
        return "waiting in the queue…"
    return f"{ordinal(int(position))} in line" + (f", about {duration_range(eta)}" if eta else "")


class ThrottledText:
    """Sends text through ``send`` only when it changed and not more often than ``min_interval``."""

    def __init__(self, send: Callable[[str], Awaitable[object]], min_interval: float = 1.5,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.send = send
        self.min_interval = min_interval
        self.clock = clock
        self.last_text: str | None = None
        self._last_at = float("-inf")
        self.sent = 0

    async def update(self, text: str, *, force: bool = False) -> bool:
        if text == self.last_text:
            return False
        now = self.clock()
        if not force and now - self._last_at < self.min_interval:
            return False
        await self.send(text)
        self.last_text, self._last_at = text, now
        self.sent += 1
        return True


async def follow_job(backend: BotBackend, chat: ChatRef, job: dict,
                     on_update: Callable[[dict], Awaitable[object]], *, poll_interval: float = 0.5,
                     timeout: float = 3600.0) -> dict:
    """Pass each snapshot of ``job`` to ``on_update`` until it ends; returns the final job."""
    try:
        async with asyncio.timeout(timeout):
            async for snapshot in backend.job_updates(chat, job, poll_interval=poll_interval):
                job = snapshot
                await on_update(job)
    except TimeoutError:
        raise MoodmixError(f"the job is still running after {timeout / 60:.0f} minutes; check /jobs later",
                           code="job_slow", status=504) from None
    return job
