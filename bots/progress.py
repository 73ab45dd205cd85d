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
        return f"⏳ {title}: waiting in the queue…"
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
