"""Accounts: sign-up, sign-in, tokens, deletion, and the chat accounts (Discord, Telegram, …) behind bot users.

Tokens are checked against the user's current ``token_version`` and, for a browser session, against
the sessions that were ended, through :mod:`token_state`, so that deleting an account or signing
out takes effect at once in every API process, whatever their user caches hold.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
import uuid
from datetime import timedelta

from piccolo.table import Table

from moodmix.engine import auth, timeutil
from moodmix.engine.db.tables import (
    AudioFile,
    ChatIdentity,
    JobOutput,
    LinkCode,
    ProcessingJob,
    RefreshToken,
    ShareLink,
    User,
)
from moodmix.engine.errors import BadInput, Conflict, Forbidden, NotFound, Unauthorized
from moodmix.engine.runtime import Runtime
from moodmix.engine.services.common import as_uuid
from moodmix.engine.services.token_state import make_token_state
from moodmix.engine.storage.base import derived_key

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")
#: Any chat platform a bot speaks for: a short lowercase name, not a fixed list.
PLATFORM_RE = re.compile(r"[a-z0-9_-]{1,32}")
PLATFORM_USER_RE = re.compile(r"[0-9A-Za-z_-]{1,64}")
LINK_CODE_TTL_S = 600


def user_dict(row: dict) -> dict:
    return {"id": str(row["id"]), "username": row["username"], "email": row.get("email"),
            "created_at": timeutil.iso(row.get("created_at"))}


def _subject(claims: auth.TokenClaims) -> uuid.UUID:
    """The user id a signed token names; anything but a UUID is an invalid token (401, not 404)."""
    try:
        return uuid.UUID(claims.subject)
    except ValueError:
        raise Unauthorized("the token is invalid", code="token_invalid") from None


#: Tables whose rows point at stored bytes, and the columns that do (``storage_key``, ``*_storage_key``).
BLOB_TABLES: tuple[type[Table], ...] = (AudioFile, JobOutput)


def blob_columns(table: type[Table]) -> list:
    return [c for c in table._meta.columns
            if c._meta.name == "storage_key" or c._meta.name.endswith("_storage_key")]


class Accounts:
    USER_CACHE_S = 10.0

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        # User id -> (expiry, token version, user): status polling would otherwise query users on every
        # request. Each use is checked against token_state, so a bumped version or a deletion shows at once.
        self._user_cache: dict[str, tuple[float, int, dict]] = {}
        self._user_loads: dict[uuid.UUID, asyncio.Future] = {}
        self.token_state = make_token_state(rt.settings.redis_url)

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

    async def authenticate(self, *, identifier: str, password: str) -> dict:
        """The user row for these credentials; 401 ``bad_credentials`` otherwise."""
        ident = (identifier or "").strip()
        row = await User.select().where((User.username == ident) | (User.email == ident.lower())).first()
        ok = row is not None and await asyncio.to_thread(auth.verify_password, row["password_hash"], password)
        if not ok:
            raise Unauthorized("wrong username or password", code="bad_credentials")
        return row

    async def login(self, *, identifier: str, password: str) -> dict:
        """An API client's sign-in: a bearer token of ``jwt_expiry_days`` (browser sessions: ``Sessions``)."""
        row = await self.authenticate(identifier=identifier, password=password)
        return {"token": self.issue_token(str(row["id"]), version=row["token_version"]), "token_type": "Bearer",
                "expires_in": int(self.settings.jwt_expiry_days * 86400), "user": user_dict(row)}

    def issue_token(self, user_id: str, kind: str = "access", *, version: int = 0, session: str | None = None,
                    ttl_s: float | None = None) -> str:
        ttl = ttl_s if ttl_s is not None else self.settings.jwt_expiry_days * 86400
        return auth.issue_token(self.settings.secret_key, user_id, kind=kind, ttl_s=ttl, version=version,
                                session=session)

    async def user_for_token(self, token: str) -> dict:
        claims = auth.read_token(self.settings.secret_key, token)
        if claims.kind != "access":
            raise Unauthorized("this token cannot be used as a user token", code="token_invalid")
        key = claims.subject
        cached = self._user_cache.get(key)  # its keys are canonical ids (str(UUID)): a hit is a valid subject
        if cached is None:
            key = str(_subject(claims))
            cached = self._user_cache.get(key)
        known, ended = await self.token_state.lookup(key, claims.session)
        if ended:
            raise Unauthorized("this session was signed out; sign in again", code="token_revoked")
        if cached and cached[0] > time.monotonic() and known is not None and cached[1] == known:
            version, user = cached[1], cached[2]
        else:
            row = await self._user_row(uuid.UUID(key))
            if row is None:
                raise Unauthorized("the account behind this token no longer exists", code="token_invalid")
            version, user = row["token_version"], user_dict(row)
            if known is not None and known > version:  # bumped while a shared read was on its way
                version = known
            if known != version:
                await self.token_state.learn(key, version)
            if claims.session and ended is None and await self._session_ended_in_db(claims.session):
                raise Unauthorized("this session was signed out; sign in again", code="token_revoked")
            if len(self._user_cache) > 10_000:
                self._user_cache.clear()
            self._user_cache[key] = (time.monotonic() + self.USER_CACHE_S, version, user)
        if claims.version != version:
            raise Unauthorized("this token was revoked; sign in again", code="token_revoked")
        return user

    async def _user_row(self, user_id: uuid.UUID) -> dict | None:
        """The user's row, read once for every request that asks at the same time: when a cached user
        expires under 100 pollers, one query runs, not 100 queued on the connection pool."""
        pending = self._user_loads.get(user_id)
        if pending is None:
            pending = self._user_loads[user_id] = asyncio.ensure_future(
                User.select().where(User.id == user_id).first().run())
            pending.add_done_callback(lambda done: (self._user_loads.pop(user_id, None),
                                                    done.cancelled() or done.exception()))
        return await asyncio.shield(pending)

    async def _session_ended_in_db(self, session: str) -> bool:
        """When the shared store cannot say: a session is over once its family is revoked."""
        try:
            family = uuid.UUID(session)
        except ValueError:
            return True
        return await RefreshToken.exists().where((RefreshToken.family == family) & RefreshToken.revoked.eq(True))

    async def confirmed_user(self, user_id: str, *, password: str | None, confirm: str | None, action: str) -> dict:
        """The user's row once they confirmed ``action``: with their password, or (an account made by a chat
        bot, without one) with their username. A copied token alone cannot end an account or its sessions."""
        row = await User.select().where(User.id == as_uuid(user_id, "user")).first()
        if row is None:
            raise NotFound("user not found", code="user_not_found")
        if row["password_hash"]:
            if not password or not await asyncio.to_thread(auth.verify_password, row["password_hash"], password):
                raise Forbidden(f"confirm with your current password to {action}", code="bad_password")
        elif confirm != row["username"]:
            raise Forbidden(f"confirm with your username to {action}", code="bad_confirmation")
        return row

    async def end_all_tokens(self, user_id: str, *, password: str | None = None, confirm: str | None = None) -> int:
        """Sign out everywhere: every access token and browser session of the user ends now."""
        await self.confirmed_user(user_id, password=password, confirm=confirm, action="sign out everywhere")
        uid = as_uuid(user_id, "user")
        rows = await User.update({User.token_version: User.token_version + 1}).where(User.id == uid).returning(
            User.token_version)
        if not rows:
            raise NotFound("user not found", code="user_not_found")
        await RefreshToken.update({RefreshToken.revoked: True}).where(RefreshToken.user == uid)
        version = rows[0]["token_version"]
        await self.token_state.bump(str(uid), version)
        self._user_cache.pop(str(uid), None)
        return version

    async def delete_account(self, user_id: str, *, password: str | None = None, confirm: str | None = None) -> None:
        """Delete the user and everything of theirs (confirmed); stored bytes go when no other row points at them."""
        row = await self.confirmed_user(user_id, password=password, confirm=confirm, action="delete the account")
        uid = row["id"]
        jobs = [r["id"] for r in await ProcessingJob.select(ProcessingJob.id).where(ProcessingJob.user == uid)]
        keys = await self._blob_keys(uid, jobs)
        hashes = {r["sha256"] for r in await AudioFile.select(AudioFile.sha256).where(AudioFile.user == uid)}
        if jobs:
            hashes |= {r["sha256"] for r in await JobOutput.select(JobOutput.sha256).where(JobOutput.job.is_in(jobs))}
        async with User._meta.db.transaction():
            await ShareLink.delete().where(ShareLink.user == uid)
            if jobs:
                await JobOutput.delete().where(JobOutput.job.is_in(jobs))
            await ProcessingJob.delete().where(ProcessingJob.user == uid)
            await AudioFile.delete().where(AudioFile.user == uid)
            await ChatIdentity.delete().where(ChatIdentity.user == uid)
            await LinkCode.delete().where(LinkCode.user == uid)
            await RefreshToken.delete().where(RefreshToken.user == uid)
            await User.delete().where(User.id == uid)  # plugins' rows follow their own foreign keys
        await self.token_state.bump(str(uid), row["token_version"] + 1)
        self._user_cache.pop(str(uid), None)
        for key in keys:
            if not await self._blob_referenced(key):
                await self.rt.storage.delete(key)
        for sha in hashes:  # previews and waveforms are kept by content hash, for as long as the content is
            if not (await AudioFile.exists().where(AudioFile.sha256 == sha)
                    or await JobOutput.exists().where(JobOutput.sha256 == sha)):
                await self.rt.storage.delete_prefix(derived_key(sha, "x").rsplit("/", 1)[0])

    @staticmethod
    async def _blob_keys(uid: uuid.UUID, jobs: list) -> set[str]:
        """Storage keys of the user's uploads and job outputs (renditions included)."""
        keys: set[str] = set()
        wheres = [(AudioFile, AudioFile.user == uid)] + ([(JobOutput, JobOutput.job.is_in(jobs))] if jobs else [])
        for table, where in wheres:
            columns = blob_columns(table)
            for r in await table.select(*columns).where(where):
                keys.update(v for v in r.values() if v)
        return keys

    @staticmethod
    async def _blob_referenced(key: str) -> bool:
        for table in BLOB_TABLES:
            for column in blob_columns(table):
                if await table.exists().where(column == key):
                    return True
        return False

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
