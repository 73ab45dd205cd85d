"""Platform-neutral bot logic: limits, uploads, starting and following jobs, answers.

The Discord and Telegram modules call only this (plus :mod:`delivery` results); they
never talk to the engine directly.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from moodmix.bots.backend import BotBackend, ChatRef
from moodmix.bots.catalog import Catalog, CatalogCache
from moodmix.bots.delivery import Delivery, prepare_delivery
from moodmix.bots.limits import BotLimits, ChatLimiter
from moodmix.bots.progress import ThrottledText, follow_job, progress_text
from moodmix.bots.tickets import TicketBook
from moodmix.engine.errors import BadInput

ProgressSink = Callable[[str], Awaitable[object]]
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
                 edit_interval: float = 1.5, job_timeout: float = 3600.0) -> None:
        self.backend = backend
        self.public_url = public_url
        self.catalogs = CatalogCache(backend)
        self.limiter = ChatLimiter(limits)
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

    async def run(self, chat: ChatRef, capability: str, *, on_progress: ProgressSink,
                  file_id: str | None = None, prompt: str | None = None, genre: str | None = None,
                  params: dict[str, Any] | None = None) -> dict:
        """Queue a job and follow it to the end, sending progress lines; returns the final job."""
        params = await self.build_request(capability, genre=genre, params=params)
        catalog = await self.catalog()
        chosen = params.get(catalog.genre_param(catalog.capability(capability)) or "")
        title = capability + (f" ({chosen})" if chosen else "")
        sink = ThrottledText(on_progress, self.edit_interval)
        with self.limiter.job_slot(chat.key):
            job = await self.backend.create_job(chat, capability, params=params, file_id=file_id, prompt=prompt)

            async def show(snapshot: dict) -> None:
                done = snapshot["status"] in ("succeeded", "failed", "cancelled")
                await sink.update(progress_text(snapshot, title), force=done or sink.sent == 0)

            return await follow_job(self.backend, chat, job, show, poll_interval=self.poll_interval,
                                    timeout=self.job_timeout)

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
        for cap in sorted(catalog.track_actions(), key=lambda c: c["name"]):
            if catalog.takes_genre(cap) and catalog.genre_names(cap):
                lines.append(f"Genres for {cap['name']}: " + ", ".join(catalog.genre_names(cap)))
        return lines
