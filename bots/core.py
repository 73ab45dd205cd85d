"""Platform-neutral bot logic: limits, uploads, starting and following jobs, answers.

The Discord and Telegram modules call only this (plus :mod:`delivery` results); they
never talk to the engine directly.
"""

from __future__ import annotations

import contextlib
import logging
import re
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from moodmix.bots.backend import BotBackend, ChatRef
from moodmix.bots.catalog import Catalog, CatalogCache
from moodmix.bots.delivery import Delivery, prepare_delivery
from moodmix.bots.limits import BotLimits, ChatLimiter, RedisChatLimiter
from moodmix.bots.progress import ThrottledText, follow_job, progress_text
from moodmix.bots.tickets import TicketBook
from moodmix.engine.errors import BadInput

log = logging.getLogger("moodmix.bots")

ProgressSink = Callable[[str], Awaitable[object]]
#: Length of the previews the bots ask for first (when a capability declares ``preview_seconds``).
PREVIEW_SECONDS = 15.0
PREVIEW_PARAM = "preview_seconds"
#: Paths (``/home/x/.cache/…``, ``C:\\…``, ``~/…``) and what follows a colon after one: internals.
_PATH_RE = re.compile(r"(?:[A-Za-z]:\\|~/|/)[\w.\-~]+(?:[/\\][\w.\-~]*)+")
PUBLIC_LINE_MAX = 80


def public_reason(text: str | None) -> str:
    """A line safe to show in a shared chat: no file paths, no details after them, short.

    Fallback notes and errors can carry server internals (a model cache path under someone's
    home folder); the full text stays in the logs and the API.
    """
    text = (text or "").strip()
    if not text:
        return ""
    match = _PATH_RE.search(text)
    if match:
        log.info("progress detail kept out of chat: %s", text)
        head = text[: match.start()].rstrip(" :(,-—")
        head = re.split(r"[:;(]", head)[0].strip() if head else ""
        text = head or "details in the job log"
    return text if len(text) <= PUBLIC_LINE_MAX else text[: PUBLIC_LINE_MAX - 1] + "…"


def public_snapshot(job: dict) -> dict:
    """``job`` with its progress message and error reduced to :func:`public_reason`."""
    job = dict(job)
    job["message"] = public_reason(job.get("message"))
    if isinstance(job.get("error"), dict):
        job["error"] = {**job["error"], "message": public_reason(job["error"].get("message"))}
    return job
AUDIO_SUFFIXES = (".mp3", ".wav", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".aif", ".aiff", ".webm")


def looks_like_audio(filename: str | None, content_type: str | None) -> bool:
    """Cheap first check before downloading; the engine still sniffs and decodes the bytes."""
    if content_type and content_type.split(";")[0].strip().lower().startswith("audio/"):
        return True
    return bool(filename) and filename.lower().endswith(AUDIO_SUFFIXES)


class BotCore:
    """Shared by both bots; one instance per bot process."""

    def __init__(self, backend: BotBackend, *, public_url: str, limits: BotLimits | None = None,
                 max_input_bytes: int = 100 * 1024 * 1024, poll_interval: float = 0.5,
                 edit_interval: float = 1.5, job_timeout: float = 3600.0,
                 limiter: ChatLimiter | RedisChatLimiter | None = None) -> None:
        self.backend = backend
        self.public_url = public_url
        self.catalogs = CatalogCache(backend)
        self.limiter = limiter or ChatLimiter(limits)
        #: Button presses being handled or done (``claim``): a double click starts one job.
        self._claims: dict[str, float] = {}
        #: The job each chat user is following now (for /cancel).
        self.following: dict[str, dict] = {}
        self.tickets = TicketBook()
        self.max_input_bytes = max_input_bytes
        self.poll_interval = poll_interval
        self.edit_interval = edit_interval
        self.job_timeout = job_timeout

    async def catalog(self) -> Catalog:
        return await self.catalogs.get()

    # ---- gatekeeping ----------------------------------------------------------------------------
    def hit(self, chat: ChatRef) -> None:
        """Count a request; raises :class:`~moodmix.bots.limits.LimitReached` when too many."""
        self.limiter.hit(chat.key)

    def check_can_start(self, chat: ChatRef) -> None:
        """Raise now (before any upload or 'thinking…') if a job could not start."""
        self.limiter.check_job(chat.key)

    def claim(self, press_key: str, ttl: float = 600.0) -> bool:
        """True the first time ``press_key`` (ticket, action, genre, mode) is pressed within ``ttl``."""
        now = time.monotonic()
        for key in [k for k, t in self._claims.items() if now - t > ttl]:
            del self._claims[key]
        if press_key in self._claims:
            return False
        self._claims[press_key] = now
        return True

    def release(self, press_key: str) -> None:
        """Forget a claim whose job never started (so pressing again retries)."""
        self._claims.pop(press_key, None)

    def check_input_size(self, size: int | None, platform_limit: int | None = None) -> None:
        limit = min(self.max_input_bytes, platform_limit or self.max_input_bytes)
        if size is not None and size > limit:
            raise BadInput(f"that file is {size / 1048576:.1f} MB; the limit here is "
                           f"{limit / 1048576:.0f} MB — send a shorter or compressed (mp3) version",
                           code="too_large", status=413)

    # ---- work -----------------------------------------------------------------------------------
    async def upload(self, chat: ChatRef, filename: str, path: Path) -> dict:
        return await self.backend.upload(chat, filename, path)

    async def build_request(self, capability: str, *, genre: str | None = None,
                            params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Params for ``capability``, checked before anything starts (the capability exists, the genre
        is one it takes). Inputs are bound by the engine: a track and a prompt are shortcuts."""
        catalog = await self.catalog()
        cap = catalog.capability(capability)
        params = {k: v for k, v in (params or {}).items() if v is not None}
        if genre:
            param = catalog.genre_param(cap)
            if param is None:
                raise BadInput(f"{capability} does not take a genre", code="bad_input")
            params[param] = catalog.resolve_genre(genre, cap)
        return params

    async def can_preview(self, capability: str) -> bool:
        """Whether ``capability`` declares a ``preview_seconds`` parameter."""
        catalog = await self.catalog()
        return PREVIEW_PARAM in catalog.param_names(catalog.capability(capability))

    async def run(self, chat: ChatRef, capability: str, *, on_progress: ProgressSink,
                  file_id: str | None = None, prompt: str | None = None, genre: str | None = None,
                  params: dict[str, Any] | None = None, preview: bool = False) -> dict:
        """Queue a job and follow it to the end, sending progress lines; returns the final job.

        ``preview``: a :data:`PREVIEW_SECONDS` preview when the capability offers one.
        """
        params = dict(params or {})
        if preview and await self.can_preview(capability):
            params[PREVIEW_PARAM] = PREVIEW_SECONDS
        params = await self.build_request(capability, genre=genre, params=params)
        catalog = await self.catalog()
        chosen = params.get(catalog.genre_param(catalog.capability(capability)) or "")
        title = capability + (f" ({chosen})" if chosen else "") + (" preview" if params.get(PREVIEW_PARAM) else "")
        sink = ThrottledText(on_progress, self.edit_interval)
        with self.limiter.job_slot(chat.key):
            job = await self.backend.create_job(chat, capability, params=params, file_id=file_id, prompt=prompt)
            self.following[chat.key] = job

            async def show(snapshot: dict) -> None:
                done = snapshot["status"] in ("succeeded", "failed", "cancelled")
                await sink.update(progress_text(public_snapshot(snapshot), title), force=done or sink.sent == 0)

            try:
                return await follow_job(self.backend, chat, job, show, poll_interval=self.poll_interval,
                                        timeout=self.job_timeout)
            finally:
                if self.following.get(chat.key, {}).get("id") == job["id"]:
                    del self.following[chat.key]

    async def cancel(self, chat: ChatRef) -> str:
        """Cancel the job this chat user is following (else their newest unfinished one)."""
        job = self.following.get(chat.key)
        if job is None:
            page = await self.backend.list_jobs(chat, page=1, per_page=10)
            job = next((j for j in page["items"] if j["status"] in ("queued", "running")), None)
        if job is None:
            return "Nothing to cancel: you have no job running."
        await self.backend.cancel_job(chat, job["id"])
        return f"🛑 Cancelling {job.get('capability', 'the job')} ({job['id'][:8]})."

    async def deliver(self, chat: ChatRef, job: dict, workdir: Path, *, limit_bytes: int,
                      audio_formats: tuple[str, ...] = ("mp3", "wav", "flac", "ogg", "m4a"),
                      bundle_audio: bool = False, max_files: int = 10) -> Delivery:
        return await prepare_delivery(self.backend, chat, job, workdir, limit_bytes=limit_bytes,
                                      public_url=self.public_url, audio_formats=audio_formats,
                                      bundle_audio=bundle_audio, max_files=max_files)

    @staticmethod
    @contextlib.contextmanager
    def workspace() -> Iterator[Path]:
        """A temporary folder for downloads and transcodes of one request."""
        with tempfile.TemporaryDirectory(prefix="moodmix-bot-") as tmp:
            yield Path(tmp)

    # ---- small answers ---------------------------------------------------------------------------
    async def jobs_text(self, chat: ChatRef, limit: int = 10) -> str:
        page = await self.backend.list_jobs(chat, page=1, per_page=limit)
        if not page["items"]:
            return "You have no jobs yet. Send a track to start."
        lines = [f"Your last {len(page['items'])} of {page['total']} jobs:"]
        catalog = await self.catalog()
        for job in page["items"]:
            when = (job.get("created_at") or "")[:16].replace("T", " ")
            param = catalog.genre_param(catalog.capabilities.get(job["capability"], {}))
            genre = (job.get("params") or {}).get(param) if param else None
            what = job["capability"] + (f" ({genre})" if genre else "")
            pct = f" {job['progress']:.0f}%" if job["status"] == "running" else ""
            lines.append(f"• {what} — {job['status']}{pct} — {when} — {job['id'][:8]}")
        return "\n".join(lines)

    async def link(self, chat: ChatRef, code: str) -> str:
        if not code or not code.strip():
            raise BadInput("send the code from the web page: /link CODE", code="bad_link_code")
        user = await self.backend.link(chat, code.strip())
        return f"🔗 Linked: this chat now uses the moodmix account {user['username']!r}."

    async def genres_lines(self, limit: int = 100) -> list[str]:
        """One line per genre of each genre-taking action: name and the first sentence of its description."""
        catalog = await self.catalog()
        lines = []
        for cap in sorted(catalog.track_actions(), key=lambda c: c["name"]):
            genres = catalog.genres_for(cap) if catalog.takes_genre(cap) else []
            if genres:
                lines.append(f"Genres for {cap['name']}:")
                lines += [f"• {g['name']} — {Catalog.genre_line(g, limit)}" for g in genres]
        return lines

    async def actions_help(self, *, audio_syntax: str, prompt_syntax: str) -> list[str]:
        """One line per action, using the platform's syntax (``{name}`` and ``{genre}`` placeholders)."""
        catalog = await self.catalog()
        lines = []
        for cap in sorted(catalog.track_actions(), key=lambda c: c["name"]):
            extra = " [genre]" if catalog.takes_genre(cap) else ""
            lines.append(f"{audio_syntax.format(name=cap['name'], genre=extra)} — "
                         f"{catalog.short_description(cap, 80)}")
        for cap in sorted(catalog.prompt_actions(), key=lambda c: c["name"]):
            lines.append(f"{prompt_syntax.format(name=cap['name'])} — {catalog.short_description(cap, 80)}")
        return lines + await self.genres_lines(limit=60)
