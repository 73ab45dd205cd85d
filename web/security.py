"""Who is calling: a user's Bearer token, or a bot's service token acting for a chat user; and the
browser session's refresh-token cookie.

A bot sends ``Authorization: Bearer <service token>`` plus
``X-Moodmix-Chat: <platform>:<platform user id>``; it acts as the moodmix user
linked to that chat account (created on first use).
"""

from __future__ import annotations

from litestar import Request, Response

from moodmix.engine.errors import Unauthorized
from moodmix.engine.service import Service

CHAT_HEADER = "x-moodmix-chat"


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("sign in first: send 'Authorization: Bearer <token>'", code="token_missing")
    return token.strip()


async def current_user(request: Request) -> dict:
    """Litestar dependency: the calling user's record."""
    service: Service = request.app.state.service
    token = bearer(request)
    chat = request.headers.get(CHAT_HEADER)
    if chat:
        service.check_service_token(token)
        platform, _, pid = chat.partition(":")
        return await service.chat_user(platform, pid)
    return await service.user_for_token(token)


#: The browser session's refresh token: HttpOnly (page scripts never see it), sent only to the auth routes.
REFRESH_COOKIE = "moodmix_refresh"
REFRESH_COOKIE_PATH = "/api/v1/auth"


def _secure(request: Request) -> bool:
    """Secure when the page is served over HTTPS (directly, or as the configured public URL says)."""
    return request.url.scheme == "https" or request.app.state.runtime.settings.public_url.startswith("https:")


def set_refresh_cookie(response: Response, request: Request, token: str, max_age: int) -> Response:
    response.set_cookie(REFRESH_COOKIE, token, max_age=max_age, path=REFRESH_COOKIE_PATH, httponly=True,
                        samesite="strict", secure=_secure(request))
    return response


def clear_refresh_cookie(response: Response, request: Request) -> Response:
    response.set_cookie(REFRESH_COOKIE, "", max_age=0, path=REFRESH_COOKIE_PATH, httponly=True,
                        samesite="strict", secure=_secure(request))
    return response


def refresh_cookie(request: Request) -> str | None:
    return request.cookies.get(REFRESH_COOKIE) or None
