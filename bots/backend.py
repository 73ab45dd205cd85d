"""The one interface the bots use to reach the engine.

Two implementations exist: :mod:`moodmix.bots.service_backend` (the service layer on a
Runtime in this process) and :mod:`moodmix.bots.http_backend` (a remote REST API with a
service token). Keeping the surface this small is what stops the bots from growing their
own copy of any capability.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

TERMINAL_STATES = ("succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class ChatRef:
    """Who is talking to a bot: a chat platform and that platform's user id."""

    platform: str
    user_id: str
    display_name: str | None = None

    @property
    def key(self) -> str:
        """A stable key for per-user bookkeeping (limits, tickets)."""
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True)
class FetchedOutput:
    """A job output available as a local file (the stored file itself or a downloaded copy)."""

    path: Path
    filename: str
    content_type: str


class BotBackend(Protocol):
    """Everything a bot may ask of the engine; every call acts as the given chat user.

    Errors are raised as :class:`moodmix.engine.errors.MoodmixError` with a message meant
    for the person in the chat.
    """

    async def chat_user(self, chat: ChatRef) -> dict:
        """The moodmix user behind this chat account (created on first use)."""
        ...

    async def link(self, chat: ChatRef, code: str) -> dict:
        """Attach this chat account to the web account that made ``code``."""
        ...

    async def capabilities(self) -> list[dict]: ...

    async def genres(self) -> list[dict]: ...

    async def upload(self, chat: ChatRef, filename: str, path: Path) -> dict:
        """Store a local audio file for the user; the engine validates it."""
        ...

    async def create_job(self, chat: ChatRef, capability: str, *, inputs: dict[str, Any] | None = None,
                         params: dict[str, Any], file_id: str | None = None, prompt: str | None = None) -> dict:
        """Queue a job; ``file_id``/``prompt`` fill the capability's first audio/text input (the engine binds)."""
        ...

    async def get_job(self, chat: ChatRef, job_id: str) -> dict: ...

    def job_updates(self, chat: ChatRef, job: dict, *, poll_interval: float = 0.5) -> AsyncIterator[dict]:
        """Snapshots of ``job`` as it changes, starting with ``job`` itself and ending with its final state."""
        ...

    async def list_jobs(self, chat: ChatRef, *, page: int = 1, per_page: int = 10) -> dict: ...

    async def cancel_job(self, chat: ChatRef, job_id: str) -> dict: ...

    async def fetch_output(self, chat: ChatRef, job_id: str, name: str, workdir: Path) -> FetchedOutput:
        """A local file holding output ``name``; callers must treat it as read-only."""
        ...

    async def share_output(self, chat: ChatRef, job_id: str, name: str, expires_in_s: float) -> str:
        """A public, expiring download link to output ``name`` (for files too big for the chat)."""
        ...

    async def close(self) -> None: ...
