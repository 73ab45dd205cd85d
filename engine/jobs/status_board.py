"""Job status documents held in memory, so that polling a job does not query the database each time.

Pages and bots poll ``GET /api/v1/jobs/{id}`` and hold SSE streams on it. Each process keeps the
document it last built for a job (the owner's id beside it, for the owner check) for at most
:data:`TTL_S`, or :data:`DONE_TTL_S` once the job has ended. Whoever changes a job (the runner's
heartbeat and outcome, a cancel) calls :func:`job_changed`: the document is dropped and everyone
waiting on the job (SSE streams) wakes. With Redis the change is published on one channel, so
every API process hears what a worker process did; a process that misses a message (Redis away)
serves a document at most ``TTL_S`` old. Changes nobody announces (a claim, the queue moving)
show within ``TTL_S`` too.

The documents stay in each process rather than in Redis: a dict read costs nothing next to the
round trip, and the TTL bounds what a lost invalidation can cost. Beside each document the board
keeps one rendering of it (the API's encoded response), so that a poll of an unchanged job costs
a dict look-up: no query, no copy, no encoding. A progress report (``progress_only``) only marks
the document old: while one poller reloads it, the others are answered the old rendering rather
than queued behind the query (it is what they would have read a moment earlier); every other
change drops it, so a cancel or an outcome is never answered from before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("moodmix.jobs")

#: How long a queued or running job's document is served without reading the database.
TTL_S = 1.0
#: The same for an ended job (only deleting it changes it then).
DONE_TTL_S = 10.0
CHANNEL_SUFFIX = ":job-changes"
#: Prefix of a job id on the channel when only its progress moved.
PROGRESS_MARK = "~"


class StatusBoard:
    """This process's job documents, and a wake-up for whoever waits on a job."""

    MAX_DOCS = 50_000

    def __init__(self) -> None:
        self._docs: dict[str, list] = {}  # job id -> [expires, owner id, document, (render, its output) or None]
        self._versions: dict[str, int] = {}
        self._events: dict[str, asyncio.Event] = {}
        self._loading: dict[tuple[str, str], asyncio.Future] = {}
        self.relay: _RedisRelay | None = None

    def get(self, job_id: str, user_id: str) -> dict | None:
        """The job's document while it is fresh and ``user_id`` owns it; ``None`` sends the caller to the
        database (which answers "not found" to anyone else)."""
        held = self._docs.get(job_id)
        if held is None or held[0] < time.monotonic() or held[1] != user_id:
            return None
        return dict(held[2])

    def rendered(self, job_id: str, user_id: str, render: Callable[[dict], Any]) -> Any:
        """``render(document)`` while the document is fresh and ``user_id`` owns it (rendered once per
        document); ``None`` as :meth:`get`. Ids must be canonical (``str(UUID)``): others only miss."""
        held = self._docs.get(job_id)
        if held is None or held[1] != user_id:
            return None
        if held[0] < time.monotonic() and (job_id, user_id) not in self._loading:
            return None  # old, and nobody is reading it again: the caller does
        if held[3] is None or held[3][0] is not render:
            held[3] = (render, render(dict(held[2])))
        return held[3][1]

    async def read(self, job_id: str, user_id: str, load: Callable[[], Awaitable[tuple[dict, bool]]]) -> dict:
        """The fresh document, else ``load()`` (``(document, ended)``) once for everyone asking at the same
        time: when a document expires under 100 pollers, one of them reads the database, not 100."""
        doc = self.get(job_id, user_id)
        if doc is not None:
            return doc
        key = (job_id, user_id)
        pending = self._loading.get(key)
        if pending is None:
            pending = self._loading[key] = asyncio.ensure_future(self._load(job_id, user_id, load))
            pending.add_done_callback(lambda done: self._loaded(key, done))
        return dict(await asyncio.shield(pending))

    async def _load(self, job_id: str, user_id: str, load: Callable[[], Awaitable[tuple[dict, bool]]]) -> dict:
        seen = self.version(job_id)
        doc, ended = await load()
        self.put(job_id, user_id, doc, seen, ended=ended)
        return doc

    def _loaded(self, key: tuple[str, str], done: asyncio.Future) -> None:
        self._loading.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved, so a load nobody waits for any more is not reported as lost

    def version(self, job_id: str) -> int:
        """Bumped by every change of the job; read it before reading the job, pass it to :meth:`put`/:meth:`wait`."""
        return self._versions.get(job_id, 0)

    def put(self, job_id: str, user_id: str, doc: dict, seen: int, *, ended: bool) -> None:
        """Keep ``doc``, read from the database when the job was at version ``seen`` (dropped if it moved since)."""
        if self.version(job_id) != seen:
            return
        if len(self._docs) >= self.MAX_DOCS:
            self._docs.clear()
        self._docs[job_id] = [time.monotonic() + (DONE_TTL_S if ended else TTL_S), user_id, dict(doc), None]

    def changed(self, job_id: str, *, progress_only: bool = False) -> None:
        """Drop the job's document (only mark it old for ``progress_only``) and wake its waiters (this
        process only; :func:`job_changed` tells all)."""
        held = self._docs.get(job_id) if progress_only else self._docs.pop(job_id, None)
        if progress_only and held is not None:
            held[0] = 0.0
        if len(self._versions) >= self.MAX_DOCS:
            self._versions.clear()
        self._versions[job_id] = self._versions.get(job_id, 0) + 1
        event = self._events.pop(job_id, None)
        if event is not None:
            event.set()

    async def wait(self, job_id: str, seen: int, timeout: float) -> None:
        """Return when the job changes after version ``seen`` (at once if it already has), or after ``timeout``."""
        if self.version(job_id) != seen:
            return
        event = self._events.setdefault(job_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)


class _RedisRelay:
    """Publishes this process's job changes and feeds every process's into its board."""

    def __init__(self, url: str, channel: str, board: StatusBoard) -> None:
        import redis.asyncio as aioredis

        self.client = aioredis.from_url(url, socket_connect_timeout=1)
        self.channel = channel
        self.board = board
        self.task: asyncio.Task | None = None
        self._warned = 0.0

    def listen(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._listen_forever())

    async def publish(self, job_id: str) -> None:
        try:
            await self.client.publish(self.channel, job_id)
        except Exception as exc:  # the others see the change within TTL_S anyway
            self._down(exc)

    async def _listen_forever(self) -> None:
        while True:
            try:
                async with self.client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self.channel)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            data = message["data"]
                            text = data.decode() if isinstance(data, bytes) else str(data)
                            self.board.changed(text.lstrip(PROGRESS_MARK), progress_only=text[:1] == PROGRESS_MARK)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._down(exc)
                await asyncio.sleep(1.0)

    def _down(self, exc: Exception) -> None:
        if time.monotonic() - self._warned > 10:
            self._warned = time.monotonic()
            log.warning("job change relay unavailable (%s); job documents may be up to %.0f s old", exc, TTL_S)


_boards: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, StatusBoard] = weakref.WeakKeyDictionary()


def status_board(settings: Any) -> StatusBoard:
    """This process's board (one per event loop), listening to the other processes' changes with Redis."""
    loop = asyncio.get_running_loop()
    board = _boards.get(loop)
    if board is None:
        board = _boards[loop] = StatusBoard()
        if getattr(settings, "redis_url", ""):
            board.relay = _RedisRelay(settings.redis_url, settings.queue_name + CHANNEL_SUFFIX, board)
    if board.relay is not None:
        board.relay.listen()
    return board


async def job_changed(settings: Any, job_id: Any, *, progress_only: bool = False) -> None:
    """The job's row changed: drop its document everywhere (``progress_only``: mark it old) and wake
    those watching it."""
    board = status_board(settings)
    board.changed(str(job_id), progress_only=progress_only)
    if board.relay is not None:
        await board.relay.publish(f"{PROGRESS_MARK if progress_only else ''}{job_id}")
