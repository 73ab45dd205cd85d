"""Sign-up, sign-in, browser sessions (refresh, sign-out), the current user and its deletion, and link
codes for chat accounts.

API clients sign in for a long-lived bearer token. The web page asks for a *session* instead
(``"session": true``): a 15-minute access token in the body plus a refresh token in an HttpOnly,
SameSite=Strict cookie scoped to ``/api/v1/auth``, which ``POST /auth/refresh`` rotates.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.di import Provide

from moodmix.engine.errors import BadInput, MoodmixError, Unauthorized
from moodmix.engine.service import Service
from moodmix.engine.services.sessions import SessionGrant
from moodmix.web.envelope import fail, ok
from moodmix.web.security import (
    CHAT_HEADER,
    bearer,
    clear_refresh_cookie,
    current_user,
    refresh_cookie,
    set_refresh_cookie,
)

#: A browser session instead of a long-lived API token (the page sets it).
SessionFlag = Annotated[bool, msgspec.Meta(description="Start a browser session: a short access token in the "
                                                       "body and a rotating refresh token in an HttpOnly cookie")]


class RegisterBody(msgspec.Struct, forbid_unknown_fields=True):
    """Checked by the service (422 with a reason): username 3–32 of ``A-Za-z0-9_.-``, password 8–256."""

    username: str
    password: str
    email: str | None = None
    session: SessionFlag = False


class LoginBody(msgspec.Struct, forbid_unknown_fields=True):
    password: str
    username: str | None = None
    email: str | None = None
    session: SessionFlag = False


class DeleteAccountBody(msgspec.Struct, forbid_unknown_fields=True):
    """Confirmation: the password, or for an account made by a chat bot (no password) its username."""

    password: str | None = None
    confirm: str | None = None


class LogoutBody(msgspec.Struct, forbid_unknown_fields=True):
    """``everywhere``: end every session and token of the account (confirmed like a deletion)."""

    everywhere: bool = False
    password: str | None = None
    confirm: str | None = None


class LinkChatBody(msgspec.Struct, forbid_unknown_fields=True):
    code: str


def session_response(request: Request, grant: SessionGrant, message: str, status: int = 200) -> Response:
    return set_refresh_cookie(ok(grant.public(), message, status), request, grant.refresh_token,
                              grant.refresh_expires_in)


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/register", status_code=201)
    async def register(self, request: Request, data: RegisterBody) -> Response:
        service: Service = request.app.state.service
        user = await service.register(username=data.username, password=data.password, email=data.email)
        if data.session:
            return session_response(request, await service.start_session_for(user["id"]), "account created", 201)
        token = service.issue_token(user["id"])
        return ok({"user": user, "token": token, "token_type": "Bearer"}, "account created", 201)

    @post("/login", status_code=200)
    async def login(self, request: Request, data: LoginBody) -> Response:
        service: Service = request.app.state.service
        identifier = data.username or data.email or ""
        if data.session:
            row = await service.authenticate(identifier=identifier, password=data.password)
            return session_response(request, await service.start_session(row), "signed in")
        return ok(await service.login(identifier=identifier, password=data.password), "signed in")

    @post("/refresh", status_code=200)
    async def refresh(self, request: Request) -> Response:
        """A new access token for the browser session in the cookie; the cookie's token is rotated (one use)."""
        try:
            grant = await request.app.state.service.refresh_session(refresh_cookie(request))
        except Unauthorized as exc:  # the cookie is of no further use: drop it
            return clear_refresh_cookie(fail(exc.status, exc.code, exc.message), request)
        return session_response(request, grant, "session refreshed")

    @post("/logout", status_code=200, dependencies={"user": Provide(current_user)})
    async def logout(self, request: Request, user: dict, data: LogoutBody | None = None) -> Response:
        """Sign out this browser session (the cookie's and the token's); ``everywhere`` ends every token."""
        service: Service = request.app.state.service
        if data is not None and data.everywhere:
            await service.end_all_tokens(user["id"], password=data.password, confirm=data.confirm)
        await service.end_session(user["id"], refresh_token=refresh_cookie(request), access_token=bearer(request))
        return clear_refresh_cookie(ok(None, "signed out"), request)

    @get("/me", dependencies={"user": Provide(current_user)})
    async def me(self, user: dict) -> Response:
        return ok(user)

    @delete("/me", status_code=200, dependencies={"user": Provide(current_user)})
    async def delete_me(self, request: Request, user: dict) -> Response:
        """Delete the account and all its data: files, jobs, outputs, share links, chat accounts, sessions.

        Send ``{"password": …}`` (or ``{"confirm": "<username>"}`` for an account without a password).
        """
        try:
            body = msgspec.json.decode(await request.body() or b"{}", type=DeleteAccountBody)
        except (msgspec.DecodeError, RecursionError) as exc:  # like any malformed body: a 400
            raise MoodmixError(f"send {{\"password\": …}} to confirm ({exc})", code="bad_request",
                               status=400) from None
        await request.app.state.service.delete_account(user["id"], password=body.password, confirm=body.confirm)
        return clear_refresh_cookie(ok(None, "account deleted"), request)

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
