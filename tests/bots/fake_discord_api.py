"""A local stand-in for Discord's REST API and CDN, plus builders for real gateway payloads.

discord.py's HTTP layer is pointed here by ``discord.http.Route.BASE``; interactions are
fed to ``ConnectionState.parse_interaction_create`` exactly as the gateway would, and
every callback/webhook request the library makes is recorded with its JSON or multipart body.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from fake_loopback import LoopbackServer

TOKEN = "discord-test-token"
APP_ID = 900000000000000001
BOT_ID = 900000000000000002
DM_CHANNEL = 900000000000000003
EPHEMERAL = 1 << 6


@dataclass
class Call:
    method: str
    path: str
    json: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    result: Any = None

    @property
    def content(self) -> str:
        return self.json.get("content") or (self.json.get("data") or {}).get("content") or ""

    @property
    def flags(self) -> int:
        return int(self.json.get("flags") or (self.json.get("data") or {}).get("flags") or 0)


def user_payload(user_id: int, name: str) -> dict:
    return {"id": str(user_id), "username": name, "discriminator": "0", "global_name": name.title(),
            "avatar": None, "bot": False}


class FakeDiscord(LoopbackServer):
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.cdn: dict[str, bytes] = {}
        self.commands: list[dict] = []
        self._ids = itertools.count(910000000000000000)
        self._messages: dict[str, int] = {}  # interaction token -> original message id
        self._changed = asyncio.Condition()
        #: Interaction tokens stop working this long after the interaction (Discord: 15 minutes).
        self.token_lifetime_s: float | None = None
        self._token_born: dict[str, float] = {}
        #: Refuse (413) a request whose files add up to more than this.
        self.max_request_bytes: int | None = None

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/api/v10/{tail:.*}", self._api)
        app.router.add_get("/cdn/{name}", self._cdn)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    def next_id(self) -> int:
        return next(self._ids)

    # ---- payloads ------------------------------------------------------------------------------------
    def message_payload(self, message_id: int, content: str = "", *, components: list | None = None,
                        attachments: list | None = None, flags: int = 0) -> dict:
        return {"id": str(message_id), "channel_id": str(DM_CHANNEL), "type": 20, "content": content,
                "author": {**user_payload(BOT_ID, "moodmix"), "bot": True}, "attachments": attachments or [],
                "embeds": [], "mentions": [], "mention_roles": [], "pinned": False, "mention_everyone": False,
                "tts": False, "timestamp": "2025-01-01T00:00:00+00:00", "edited_timestamp": None,
                "flags": flags, "components": components or [], "application_id": str(APP_ID)}

    def interaction(self, user: dict, kind: int, data: dict, *, size_limit: int = 10 * 1024 * 1024,
                    message: dict | None = None) -> dict:
        token = f"tok{self.next_id()}"
        self._token_born[token] = time.monotonic()
        payload = {"id": str(self.next_id()), "application_id": str(APP_ID), "type": kind, "data": data,
                   "token": token, "version": 1, "user": user, "locale": "en-US",
                   "app_permissions": "0", "entitlements": [], "attachment_size_limit": size_limit,
                   "authorizing_integration_owners": {"1": user["id"]}, "context": 1,
                   "channel_id": str(DM_CHANNEL),
                   "channel": {"id": str(DM_CHANNEL), "type": 1, "recipients": [user], "flags": 0}}
        if message is not None:
            payload["message"] = message
        return payload

    def add_attachment(self, filename: str, data: bytes, content_type: str | None) -> dict:
        att_id = str(self.next_id())
        self.cdn[f"{att_id}-{filename}"] = data
        url = f"http://127.0.0.1:{self.port}/cdn/{att_id}-{filename}"
        att = {"id": att_id, "filename": filename, "size": len(data), "url": url, "proxy_url": url}
        if content_type:
            att["content_type"] = content_type
        return att

    def command(self, user: dict, name: str, options: list[dict], *, attachment: dict | None = None,
                kind: int = 2, **kwargs: Any) -> dict:
        data: dict[str, Any] = {"id": str(self.command_id(name)), "name": name, "type": 1, "options": options}
        if attachment:
            data["resolved"] = {"attachments": {attachment["id"]: attachment}}
        return self.interaction(user, kind, data, **kwargs)

    def command_id(self, name: str) -> int:
        return next((int(c["id"]) for c in self.commands if c["name"] == name), 1)

    def button_press(self, user: dict, message: dict, custom_id: str) -> dict:
        return self.interaction(user, 3, {"custom_id": custom_id, "component_type": 2}, message=message)

    # ---- server --------------------------------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes]] = {}
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":
                    body = json.loads(await part.text())
                else:
                    files[part.name] = (part.filename, await part.read())
        elif request.can_read_body:
            body = await request.json()
        call = Call(request.method, path, body, files)
        refusal = self._refusal(call)
        if refusal is not None:
            status, call.result = refusal
            async with self._changed:
                self.calls.append(call)
                self._changed.notify_all()
            return web.json_response(call.result, status=status)
        call.result = self._answer(call)
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
        if call.result is None:
            return web.Response(status=204)
        # discord.py parses JSON only for exactly "application/json", as Discord sends it
        return web.Response(body=json.dumps(call.result).encode(), headers={"Content-Type": "application/json"})

    def _refusal(self, call: Call) -> tuple[int, dict] | None:
        """Discord's errors for an expired interaction token and for a request that is too large."""
        parts = call.path.split("/")
        if self.token_lifetime_s is not None and call.path.startswith("/webhooks/"):
            born = self._token_born.get(parts[3])
            if born is not None and time.monotonic() - born > self.token_lifetime_s:
                return 401, {"message": "Invalid Webhook Token", "code": 50027}
        size = sum(len(data) for _, data in call.files.values())
        if self.max_request_bytes is not None and size > self.max_request_bytes:
            return 413, {"message": "Request entity too large", "code": 40005}
        return None

    def _answer(self, call: Call) -> Any:
        method, path = call.method, call.path
        if path == "/users/@me":
            return {**user_payload(BOT_ID, "moodmix"), "bot": True}
        if path == "/oauth2/applications/@me":
            return {"id": str(APP_ID), "name": "moodmix", "description": "", "icon": None, "bot_public": True,
                    "bot_require_code_grant": False, "owner": user_payload(1, "owner"), "verify_key": "00",
                    "flags": 0, "summary": "", "team": None}
        if method == "PUT" and path.endswith("/commands"):
            self.commands = [{**c, "id": str(self.next_id()), "application_id": str(APP_ID), "version": "1"}
                             for c in call.json]
            return self.commands
        if path.endswith("/callback"):
            token = path.split("/")[3]
            kind = call.json.get("type")
            if kind in (4, 5):  # a new message (or the "thinking…" placeholder) becomes the original
                self._messages[token] = self.next_id()
            return {"interaction": {"id": path.split("/")[2], "type": 2,
                                    "response_message_id": str(self._messages.get(token, 0)),
                                    "response_message_loading": kind == 5,
                                    "response_message_ephemeral": bool(call.flags & EPHEMERAL)},
                    "resource": {"type": kind}}
        if path.startswith("/channels/") and "/messages" in path and method in ("POST", "PATCH"):
            message_id = int(path.rsplit("/", 1)[1]) if method == "PATCH" else self.next_id()
            return self.message_payload(message_id, call.json.get("content") or "",
                                        components=call.json.get("components"),
                                        attachments=self._attachments(call))
        if path.startswith("/webhooks/"):
            token = path.split("/")[3]
            if method == "DELETE":
                return None
            if path.endswith("/messages/@original"):
                message_id = self._messages.setdefault(token, self.next_id())
            else:
                message_id = self.next_id()
            return self.message_payload(message_id, call.json.get("content") or "",
                                        components=call.json.get("components"), attachments=self._attachments(call),
                                        flags=int(call.json.get("flags") or 0))
        return {}

    def _attachments(self, call: Call) -> list[dict]:
        return [{"id": str(self.next_id()), "filename": name, "size": len(data), "url": "http://x/a",
                 "proxy_url": "http://x/a"} for name, data in call.files.values()]

    async def _cdn(self, request: web.Request) -> web.Response:
        data = self.cdn.get(request.match_info["name"])
        if data is None:
            raise web.HTTPNotFound()
        return web.Response(body=data)

    # ---- assertions -----------------------------------------------------------------------------------
    async def wait_for(self, predicate, *, timeout: float = 30.0, after: int = 0) -> Call:
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                for call in self.calls[after:]:
                    if predicate(call):
                        return call
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(c.method, c.path, c.content[:60]) for c in self.calls[after:]]
                    raise AssertionError(f"no matching Discord request in {timeout} s; saw {seen}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), left)

    def since(self, mark: int) -> list[Call]:
        return self.calls[mark:]
