"""Sign-up, sign-in, the current user, and link codes for chat accounts."""

from __future__ import annotations

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import Provide

from moodmix.engine.errors import BadInput
from moodmix.engine.service import Service
from moodmix.web.envelope import ok
from moodmix.web.security import CHAT_HEADER, bearer, current_user


class RegisterBody(msgspec.Struct, forbid_unknown_fields=True):
    username: str
    password: str
    email: str | None = None


class LoginBody(msgspec.Struct, forbid_unknown_fields=True):
    password: str
    username: str | None = None
    email: str | None = None


class LinkChatBody(msgspec.Struct, forbid_unknown_fields=True):
    code: str


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/register", status_code=201)
    async def register(self, request: Request, data: RegisterBody) -> Response:
        service: Service = request.app.state.service
        user = await service.register(username=data.username, password=data.password, email=data.email)
        token = service.issue_token(user["id"])
        return ok({"user": user, "token": token, "token_type": "Bearer"}, "account created", 201)

    @post("/login", status_code=200)
    async def login(self, request: Request, data: LoginBody) -> Response:
        service: Service = request.app.state.service
        result = await service.login(identifier=data.username or data.email or "", password=data.password)
        return ok(result, "signed in")

    @get("/me", dependencies={"user": Provide(current_user)})
    async def me(self, user: dict) -> Response:
        return ok(user)

    @post("/link-code", status_code=201, dependencies={"user": Provide(current_user)})
    async def link_code(self, request: Request, user: dict) -> Response:
        """A one-time code to type into a bot (``/link CODE``) to attach that chat account to this user."""
        code = await request.app.state.service.create_link_code(user["id"])
        return ok(code, "send this code to the bot with /link", 201)

    @post("/link-chat", status_code=200)
    async def link_chat(self, request: Request, data: LinkChatBody) -> Response:
        """A bot (service token + ``X-Moodmix-Chat``) attaches that chat account to the web account
        that created ``code``."""
        service = request.app.state.service
        service.check_service_token(bearer(request))
        chat = request.headers.get(CHAT_HEADER, "")
        platform, _, pid = chat.partition(":")
        if not platform or not pid:
            raise BadInput("send the chat account as 'X-Moodmix-Chat: <platform>:<user id>'",
                           code="bad_chat_identity")
        user = await service.link_chat_identity(platform, pid, data.code)
        return ok(user, "chat account linked")
