"""In-process backend: the engine's service layer on a Runtime owned by the bot process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from moodmix.bots.backend import TERMINAL_STATES, ChatRef, FetchedOutput
from moodmix.engine.config import Settings
from moodmix.engine.runtime import Runtime
from moodmix.engine.service import Service
from moodmix.web.links import share_url

CHUNK = 1 << 20


async def _read_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


class ServiceBackend:
    """Calls :class:`~moodmix.engine.service.Service` directly; the user is resolved on every call
    so that a ``/link`` takes effect at once."""

    def __init__(self, service: Service, *, owns_runtime: bool = False) -> None:
        self.service = service
        self._owns_runtime = owns_runtime

    @classmethod
    async def start(cls, settings: Settings) -> ServiceBackend:
        """Start a Runtime (role ``api``: runs jobs in-process unless Redis hands them to workers)."""
        rt = await Runtime.start(settings, role="api")
        return cls(Service(rt), owns_runtime=True)

    async def _uid(self, chat: ChatRef) -> str:
        user = await self.service.chat_user(chat.platform, chat.user_id, chat.display_name)
        return user["id"]

    async def chat_user(self, chat: ChatRef) -> dict:
        return await self.service.chat_user(chat.platform, chat.user_id, chat.display_name)

    async def link(self, chat: ChatRef, code: str) -> dict:
        return await self.service.link_chat_identity(chat.platform, chat.user_id, code)

    async def capabilities(self) -> list[dict]:
        return self.service.capabilities()

    async def genres(self) -> list[dict]:
        return self.service.genres()

    async def upload(self, chat: ChatRef, filename: str, path: Path) -> dict:
        return await self.service.upload(await self._uid(chat), filename, _read_chunks(path))

    async def create_job(self, chat: ChatRef, capability: str, *, inputs: dict[str, Any] | None = None,
                         params: dict[str, Any], file_id: str | None = None, prompt: str | None = None) -> dict:
        return await self.service.create_job(await self._uid(chat), capability, inputs=inputs, params=params,
                                             file_id=file_id, prompt=prompt)

    async def get_job(self, chat: ChatRef, job_id: str) -> dict:
        return await self.service.get_job(await self._uid(chat), job_id)

    async def job_updates(self, chat: ChatRef, job: dict, *, poll_interval: float = 0.5) -> AsyncIterator[dict]:
        """Polls the database: cheap in-process, and there is no API rate limit to respect."""
        uid = await self._uid(chat)
        while True:
            yield job
            if job["status"] in TERMINAL_STATES:
                return
            await asyncio.sleep(poll_interval)
            job = await self.service.get_job(uid, job["id"])

    async def list_jobs(self, chat: ChatRef, *, page: int = 1, per_page: int = 10) -> dict:
        return await self.service.list_jobs(await self._uid(chat), page=page, per_page=per_page)

    async def cancel_job(self, chat: ChatRef, job_id: str) -> dict:
        return await self.service.cancel_job(await self._uid(chat), job_id)

    async def fetch_output(self, chat: ChatRef, job_id: str, name: str, workdir: Path) -> FetchedOutput:
        key, filename, ctype = await self.service.output_download(await self._uid(chat), job_id, name)
        workdir.mkdir(parents=True, exist_ok=True)
        path = await self.service.rt.storage.fetch(key, workdir)  # local storage: no copy is made
        return FetchedOutput(path=Path(path), filename=filename, content_type=ctype)

    async def share_output(self, chat: ChatRef, job_id: str, name: str, expires_in_s: float) -> str:
        share = await self.service.create_share(await self._uid(chat), job_id, name, expires_in_s)
        return share_url(self.service.settings.public_base_url, share["token"])

    async def close(self) -> None:
        if self._owns_runtime:
            await self.service.rt.stop()
