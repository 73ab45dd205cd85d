"""HTTP backend: a remote moodmix REST API, acting for chat users with a service token.

Every request carries ``Authorization: Bearer <service token>`` and
``X-Moodmix-Chat: <platform>:<user id>``; the API maps that to the chat user's account.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx

from moodmix.bots.backend import TERMINAL_STATES, ChatRef, FetchedOutput
from moodmix.engine.errors import BadInput, Conflict, MoodmixError, NotFound, TooLarge, Unauthorized

log = logging.getLogger("moodmix.bots.http")

LINK_PATH = "/api/v1/auth/link-chat"
#: Polling is the fallback only: the API's rate limit counts every request of a chat user.
FALLBACK_POLL_S = 3.0
_ERRORS_BY_STATUS: dict[int, type[MoodmixError]] = {
    401: Unauthorized, 404: NotFound, 409: Conflict, 413: TooLarge, 422: BadInput,
}


def _error_from(resp: httpx.Response) -> MoodmixError:
    try:
        err = resp.json().get("error") or {}
    except ValueError:
        err = {}
    message = err.get("message") or f"the moodmix server answered HTTP {resp.status_code}"
    cls = _ERRORS_BY_STATUS.get(resp.status_code, MoodmixError)
    return cls(message, code=err.get("code") or "http_error", status=resp.status_code)


class HttpBackend:
    """Talks to ``base_url`` (e.g. ``https://moodmix.example``) through one ``httpx.AsyncClient``."""

    def __init__(self, base_url: str, service_token: str, *, client: httpx.AsyncClient | None = None,
                 timeout: float = 60.0) -> None:
        if not service_token:
            raise ValueError("the HTTP bot backend needs a service token: set MOODMIX_BOT_SERVICE_TOKEN "
                             "(create one with `moodmix service-token` on the server)")
        self._owns_client = client is None
        self.client = client or httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout)
        self.token = service_token

    def _headers(self, chat: ChatRef | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if chat is not None:
            headers["X-Moodmix-Chat"] = f"{chat.platform}:{chat.user_id}"
        return headers

    async def _call(self, method: str, path: str, chat: ChatRef | None = None, **kwargs: Any) -> Any:
        try:
            resp = await self.client.request(method, path, headers=self._headers(chat), **kwargs)
        except httpx.HTTPError as exc:
            raise MoodmixError(f"the moodmix server is not reachable ({exc.__class__.__name__}); "
                               "try again in a minute", code="backend_unreachable", status=503) from exc
        if resp.status_code >= 400:
            raise _error_from(resp)
        return resp.json()["data"]

    async def chat_user(self, chat: ChatRef) -> dict:
        return await self._call("GET", "/api/v1/auth/me", chat)

    async def link(self, chat: ChatRef, code: str) -> dict:
        try:
            return await self._call("POST", LINK_PATH, chat, json={"code": code})
        except MoodmixError as exc:
            if exc.status in (404, 405) and exc.code in ("not_found", "method_not_allowed"):
                raise MoodmixError("this moodmix server cannot link chat accounts yet; ask its operator "
                                   "to upgrade", code="link_unsupported", status=501) from exc
            raise

    async def capabilities(self) -> list[dict]:
        return await self._call("GET", "/api/v1/capabilities")

    async def genres(self) -> list[dict]:
        return await self._call("GET", "/api/v1/genres")

    async def upload(self, chat: ChatRef, filename: str, path: Path) -> dict:
        with path.open("rb") as fh:
            return await self._call("POST", "/api/v1/files", chat,
                                    files={"file": (filename, fh, "application/octet-stream")})

    async def create_job(self, chat: ChatRef, capability: str, *, inputs: dict[str, Any] | None = None,
                         params: dict[str, Any], file_id: str | None = None, prompt: str | None = None) -> dict:
        body = {"capability": capability, "inputs": inputs or {}, "params": params}
        body.update({k: v for k, v in (("file_id", file_id), ("prompt", prompt)) if v is not None})
        return await self._call("POST", "/api/v1/jobs", chat, json=body)

    async def get_job(self, chat: ChatRef, job_id: str) -> dict:
        return await self._call("GET", f"/api/v1/jobs/{job_id}", chat)

    async def job_updates(self, chat: ChatRef, job: dict, *, poll_interval: float = 0.5) -> AsyncIterator[dict]:
        """Follows the job's Server-Sent Events (one request for the whole job); polls if the stream drops."""
        yield job
        if job["status"] in TERMINAL_STATES:
            return
        try:
            async with self.client.stream("GET", f"/api/v1/jobs/{job['id']}/events", headers=self._headers(chat),
                                          timeout=httpx.Timeout(30.0, read=None)) as resp:
                if resp.status_code >= 400:
                    await resp.aread()
                    raise _error_from(resp)
                async for event, data in _sse_events(resp.aiter_lines()):
                    job = json.loads(data)
                    yield job
                    if event == "done" or job["status"] in TERMINAL_STATES:
                        return
        except httpx.HTTPError as exc:
            log.info("event stream for job %s dropped (%s); polling instead", job["id"], exc)
        while job["status"] not in TERMINAL_STATES:
            await asyncio.sleep(max(poll_interval, FALLBACK_POLL_S))
            job = await self.get_job(chat, job["id"])
            yield job

    async def list_jobs(self, chat: ChatRef, *, page: int = 1, per_page: int = 10) -> dict:
        return await self._call("GET", "/api/v1/jobs", chat, params={"page": page, "per_page": per_page})

    async def cancel_job(self, chat: ChatRef, job_id: str) -> dict:
        return await self._call("POST", f"/api/v1/jobs/{job_id}/cancel", chat)

    async def fetch_output(self, chat: ChatRef, job_id: str, name: str, workdir: Path) -> FetchedOutput:
        url = f"/api/v1/jobs/{job_id}/outputs/{name}"
        try:
            async with self.client.stream("GET", url, headers=self._headers(chat)) as resp:
                if resp.status_code >= 400:
                    await resp.aread()
                    raise _error_from(resp)
                ctype = resp.headers.get("content-type", "application/octet-stream").split(";")[0]
                filename = _filename_from(resp.headers.get("content-disposition", "")) or name
                workdir.mkdir(parents=True, exist_ok=True)
                with tempfile.NamedTemporaryFile(dir=workdir, delete=False,
                                                 suffix=Path(filename).suffix) as fh:
                    async for chunk in resp.aiter_bytes():
                        fh.write(chunk)
                    path = Path(fh.name)
        except httpx.HTTPError as exc:
            raise MoodmixError("could not download the result from the moodmix server; try /jobs later",
                               code="backend_unreachable", status=503) from exc
        return FetchedOutput(path=path, filename=filename, content_type=ctype)

    async def share_output(self, chat: ChatRef, job_id: str, name: str, expires_in_s: float) -> str:
        share = await self._call("POST", f"/api/v1/jobs/{job_id}/outputs/{name}/share", chat,
                                 json={"expires_in_s": expires_in_s})
        return share["url"]

    async def close(self) -> None:
        if self._owns_client:
            await self.client.aclose()


def _filename_from(disposition: str) -> str | None:
    """The file name in a Content-Disposition header (``filename*=UTF-8''…`` or ``filename=``)."""
    for part in disposition.split(";"):
        key, _, value = part.strip().partition("=")
        key = key.lower()
        if key == "filename*" and "''" in value:
            return Path(unquote(value.split("''", 1)[1])).name or None
        if key == "filename" and value:
            return Path(value.strip('"')).name or None
    return None


async def _sse_events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, str]]:
    """``(event, data)`` pairs from a text/event-stream body."""
    event, data = "message", []
    async for line in lines:
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:
        yield event, "\n".join(data)
