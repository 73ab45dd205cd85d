"""Accounts: sign-up, sign-in, tokens, and the chat accounts (Discord, Telegram, …) behind bot users."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from datetime import timedelta

from moodmix.engine import auth, timeutil
from moodmix.engine.db.tables import ChatIdentity, LinkCode, User
from moodmix.engine.errors import BadInput, Conflict, NotFound, Unauthorized
from moodmix.engine.runtime import Runtime
from moodmix.engine.services.common import as_uuid

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")
#: Any chat platform a bot speaks for: a short lowercase name, not a fixed list.
PLATFORM_RE = re.compile(r"[a-z0-9_-]{1,32}")
PLATFORM_USER_RE = re.compile(r"[0-9A-Za-z_-]{1,64}")
LINK_CODE_TTL_S = 600


def user_dict(row: dict) -> dict:
    return {"id": str(row["id"]), "username": row["username"], "email": row.get("email"),
            "created_at": timeutil.iso(row.get("created_at"))}


class Accounts:
    USER_CACHE_S = 10.0

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        # Token subject -> (expiry, user): status polling would otherwise query users on every request.
        self._user_cache: dict[str, tuple[float, dict]] = {}

    @property
    def settings(self):
        return self.rt.settings

    # ---- users and tokens -------------------------------------------------------------------
    async def register(self, *, username: str, password: str, email: str | None = None) -> dict:
        if not USERNAME_RE.match(username or ""):
            raise BadInput("username must be 3–32 letters, digits, '_', '.' or '-'", code="bad_username")
        if email is not None and not EMAIL_RE.match(email):
            raise BadInput("email address is not valid", code="bad_email")
        if len(password or "") < 8 or len(password) > 256:
            raise BadInput("password must be 8–256 characters", code="bad_password")
        email = email.lower() if email else None
        clash = User.username == username
        if email:
            clash = clash | (User.email == email)
        if await User.exists().where(clash):
            raise Conflict("that username or email is already registered", code="user_exists")
        pw = await asyncio.to_thread(auth.hash_password, password)
        user = User(username=username, email=email, password_hash=pw)
        try:
            await user.save()
        except Exception as exc:  # unique race between the check and the insert
            raise Conflict("that username or email is already registered", code="user_exists") from exc
        return user_dict(user.to_dict())

    async def login(self, *, identifier: str, password: str) -> dict:
        ident = (identifier or "").strip()
        row = await User.select().where((User.username == ident) | (User.email == ident.lower())).first()
        ok = row is not None and await asyncio.to_thread(auth.verify_password, row["password_hash"], password)
        if not ok:
            raise Unauthorized("wrong username or password", code="bad_credentials")
        return {"token": self.issue_token(str(row["id"])), "token_type": "Bearer",
                "expires_in": int(self.settings.jwt_expiry_days * 86400), "user": user_dict(row)}

    def issue_token(self, user_id: str, kind: str = "access") -> str:
        return auth.issue_token(self.settings.secret_key, user_id, kind=kind,
                                ttl_s=self.settings.jwt_expiry_days * 86400)

    async def user_for_token(self, token: str) -> dict:
        claims = auth.read_token(self.settings.secret_key, token)
        if claims.kind != "access":
            raise Unauthorized("this token cannot be used as a user token", code="token_invalid")
        cached = self._user_cache.get(claims.subject)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        row = await User.select().where(User.id == as_uuid(claims.subject, "user")).first()
        if row is None:
            raise Unauthorized("the account behind this token no longer exists", code="token_invalid")
        user = user_dict(row)
        if len(self._user_cache) > 10_000:
            self._user_cache.clear()
        self._user_cache[claims.subject] = (time.monotonic() + self.USER_CACHE_S, user)
        return user

    def check_service_token(self, token: str) -> None:
        claims = auth.read_token(self.settings.secret_key, token)
        if claims.kind != "service":
            raise Unauthorized("a service token is required to act for chat users", code="token_invalid")

    async def get_user(self, user_id: str) -> dict:
        row = await User.select().where(User.id == as_uuid(user_id, "user")).first()
        if row is None:
            raise NotFound("user not found", code="user_not_found")
        return user_dict(row)

    # ---- chat identities -----------------------------------------------------------------------
    async def chat_user(self, platform: str, platform_user_id: str, display_name: str | None = None) -> dict:
        """The moodmix user behind a chat account, created on first use."""
        platform = (platform or "").lower()
        if not PLATFORM_RE.fullmatch(platform) or not PLATFORM_USER_RE.fullmatch(platform_user_id or ""):
            raise BadInput("the chat platform must be 1–32 of a-z, 0-9, '_', '-' and the user id 1–64 letters, "
                           "digits, '_' or '-'", code="bad_chat_identity")
        row = await ChatIdentity.select(ChatIdentity.user).where(
            (ChatIdentity.platform == platform) & (ChatIdentity.platform_user_id == platform_user_id)).first()
        if row is not None:
            return await self.get_user(str(row["user"]))
        user = User(username=f"{platform}-{platform_user_id}"[:64], email=None, password_hash=None)
        await user.save()
        try:
            await ChatIdentity(platform=platform, platform_user_id=platform_user_id,
                               display_name=(display_name or "")[:128], user=user.id).save()
        except Exception:
            await User.delete().where(User.id == user.id)
            return await self.chat_user(platform, platform_user_id, display_name)
        return user_dict(user.to_dict())

    async def create_link_code(self, user_id: str) -> dict:
        code = secrets.token_hex(4).upper()
        await LinkCode(code=code, user=as_uuid(user_id, "user"),
                       expires_at=timeutil.now() + timedelta(seconds=LINK_CODE_TTL_S)).save()
        return {"code": code, "expires_in": LINK_CODE_TTL_S}

    async def link_chat_identity(self, platform: str, platform_user_id: str, code: str) -> dict:
        """Point a chat account at the web account that created ``code`` (single use)."""
        row = await LinkCode.select().where(LinkCode.code == (code or "").strip().upper()).first()
        if row is None or row["expires_at"] < timeutil.now():
            raise BadInput("that link code is unknown or expired; create a new one on the web page",
                           code="bad_link_code")
        await LinkCode.delete().where(LinkCode.code == row["code"])
        await self.chat_user(platform, platform_user_id)
        await ChatIdentity.update({ChatIdentity.user: row["user"]}).where(
            (ChatIdentity.platform == platform.lower()) & (ChatIdentity.platform_user_id == platform_user_id))
        return await self.get_user(str(row["user"]))
