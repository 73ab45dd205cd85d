"""Who is calling: a user's Bearer token, or a bot's service token acting for a chat user.

A bot sends ``Authorization: Bearer <service token>`` plus
``X-Moodmix-Chat: <platform>:<platform user id>``; it acts as the moodmix user
linked to that chat account (created on first use).
"""

from __future__ import annotations

from litestar import Request

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
