"""A local stand-in for the Telegram Bot API, speaking its HTTP protocol on 127.0.0.1.

Serves ``getMe``, ``getUpdates`` (long polling over a queue the test fills), ``getFile``
and file downloads; records every other method call (``sendMessage``, ``editMessageText``,
``sendAudio``, ``answerCallbackQuery`` …) with its form or multipart fields.
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

TOKEN = "123456:TEST-token"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "moodmix", "username": "moodmix_test_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}


@dataclass
class Call:
    method: str
    fields: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    result: Any = None

    def json(self, name: str) -> Any:
        return json.loads(self.fields[name])


class FakeTelegram(LoopbackServer):
    def __init__(self) -> None:
        self.updates: list[dict] = []
        self.calls: list[Call] = []
        self.files: dict[str, bytes] = {}
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._changed = asyncio.Condition()

    # ---- server ------------------------------------------------------------------------------------
    def routes(self, app: web.Application) -> None:
        app.router.add_post("/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        form = await request.post()
        fields: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes]] = {}
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = (value.filename, value.file.read())
            else:
                fields[key] = value
        if method == "getUpdates":
            return await self._get_updates(fields)
        if method == "getMe":
            return self._ok(BOT_USER)
        if method == "getFile":
            file_id = fields["file_id"]
            if file_id not in self.files:
                return web.json_response({"ok": False, "error_code": 400,
                                          "description": "Bad Request: invalid file_id"}, status=400)
            return self._ok({"file_id": file_id, "file_unique_id": file_id[::-1], "file_size": len(self.files[file_id]),
                             "file_path": f"music/{file_id}.bin"})
        call = Call(method, fields, files)
        call.result = self._result_for(call)
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
        return self._ok(call.result)

    def _result_for(self, call: Call) -> Any:
        if call.method.startswith(("send", "editMessage")):
            chat_id = int(call.fields.get("chat_id", 1))
            message = {"message_id": int(call.fields.get("message_id") or next(self._message_ids)),
                       "date": int(time.time()), "chat": {"id": chat_id, "type": "private"},
                       "from": BOT_USER}
            if "text" in call.fields:
                message["text"] = call.fields["text"]
            if call.method == "sendAudio":
                message["audio"] = {"file_id": "sent-audio", "file_unique_id": "sa", "duration": 1}
            if call.method == "sendPhoto":
                message["photo"] = [{"file_id": "sent-photo", "file_unique_id": "sp", "width": 8, "height": 8}]
            if call.method == "sendDocument":
                message["document"] = {"file_id": "sent-doc", "file_unique_id": "sd"}
            return message
        return True

    async def _get_updates(self, fields: dict) -> web.Response:
        offset = int(fields.get("offset") or 0)
        wait = min(float(fields.get("timeout") or 0), 1.0)
        deadline = time.monotonic() + wait
        async with self._changed:
            while True:
                ready = [u for u in self.updates if u["update_id"] >= offset]
                left = deadline - time.monotonic()
                if ready or left <= 0:
                    return self._ok(ready)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), left)

    async def _download(self, request: web.Request) -> web.Response:
        file_id = request.match_info["path"].rsplit("/", 1)[-1].removesuffix(".bin")
        data = self.files.get(file_id)
        if data is None:
            raise web.HTTPNotFound()
        return web.Response(body=data, content_type="application/octet-stream")

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    # ---- driving it from a test -------------------------------------------------------------------
    @staticmethod
    def user(user_id: int, name: str = "Ann") -> dict:
        return {"id": user_id, "is_bot": False, "first_name": name}

    async def push(self, update: dict) -> dict:
        update = {"update_id": next(self._update_ids), **update}
        async with self._changed:
            self.updates.append(update)
            self._changed.notify_all()
        return update

    def message(self, user: dict, **content: Any) -> dict:
        return {"message_id": next(self._message_ids), "date": int(time.time()),
                "chat": {"id": user["id"], "type": "private", "first_name": user["first_name"]},
                "from": user, **content}

    async def send_text(self, user: dict, text: str, **extra: Any) -> dict:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        msg = self.message(user, **content, **extra)
        await self.push({"message": msg})
        return msg

    def add_file(self, file_id: str, data: bytes) -> None:
        self.files[file_id] = data

    async def send_audio(self, user: dict, data: bytes, *, file_name: str = "demo.wav",
                         mime: str = "audio/x-wav", as_document: bool = False, size: int | None = None,
                         file_id: str | None = None) -> dict:
        file_id = file_id or f"f{next(self._message_ids)}"
        self.add_file(file_id, data)
        meta = {"file_id": file_id, "file_unique_id": f"u{file_id}", "mime_type": mime,
                "file_size": size if size is not None else len(data), "file_name": file_name}
        content = {"document": meta} if as_document else {"audio": {**meta, "duration": 4}}
        msg = self.message(user, **content)
        await self.push({"message": msg})
        return msg

    async def press(self, user: dict, message_call: Call, data: str) -> None:
        """Press an inline button on the message a call (sendMessage/editMessageText) produced."""
        message = {"message_id": int(message_call.fields.get("message_id") or 0),
                   "date": int(time.time()), "chat": {"id": user["id"], "type": "private"},
                   "from": BOT_USER, "text": message_call.fields.get("text", "")}
        await self.push({"callback_query": {"id": f"cq{next(self._message_ids)}", "from": user,
                                            "chat_instance": "ci", "data": data, "message": message}})

    async def wait_for(self, method: str, predicate=lambda call: True, *, timeout: float = 30.0,
                       after: int = 0) -> Call:
        """The first recorded call (from index ``after``) of ``method`` matching ``predicate``."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                for call in self.calls[after:]:
                    if call.method == method and predicate(call):
                        return call
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(c.method, c.fields.get("text", "")[:60]) for c in self.calls[after:]]
                    raise AssertionError(f"no {method} call matching in {timeout} s; saw {seen}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), left)

    def of(self, method: str, after: int = 0) -> list[Call]:
        return [c for c in self.calls[after:] if c.method == method]
