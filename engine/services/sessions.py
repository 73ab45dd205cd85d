"""Browser sessions: a short-lived access token plus a one-time refresh token, rotated on every use.

The web layer keeps the refresh token in an HttpOnly cookie; only its SHA-256 is stored. Each
sign-in starts a *family*; a refresh marks its token used and adds the next one to the family.
A token that comes back after it was used has been copied: the whole family is revoked, and the
access tokens it gave out (they carry the family as ``sid``) stop working at once.
API clients keep their long-lived bearer tokens (``Accounts.login``); nothing here changes them.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import timedelta

from moodmix.engine import auth, timeutil
from moodmix.engine.db.tables import RefreshToken, User
from moodmix.engine.errors import Unauthorized
from moodmix.engine.services.accounts import Accounts, user_dict


@dataclass(frozen=True)
class SessionGrant:
    """What a sign-in or a refresh hands out: the access token for the page, the refresh token for the cookie."""

    token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    user: dict

    def public(self) -> dict:
        """The JSON body (the refresh token travels only in the cookie)."""
        return {"token": self.token, "token_type": "Bearer", "expires_in": self.expires_in, "user": self.user}


class Sessions:
    #: The page's access token: short, so that a copied one is of little use; the page refreshes it.
    ACCESS_TTL_S = 900
    #: A session unused this long ends (each refresh starts the period again).
    REFRESH_TTL_S = 30 * 86400

    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts

    async def start(self, user_row: dict) -> SessionGrant:
        """A new session (family) for a user who just signed in or signed up."""
        await RefreshToken.delete().where(
            (RefreshToken.user == user_row["id"]) & (RefreshToken.expires_at < timeutil.now()))
        return await self._grant(user_row, uuid.uuid4())

    async def start_for(self, user_id: str) -> SessionGrant:
        row = await User.select().where(User.id == uuid.UUID(str(user_id))).first()
        if row is None:
            raise Unauthorized("the account no longer exists", code="session_invalid")
        return await self.start(row)

    async def refresh(self, refresh_token: str | None) -> SessionGrant:
        """Rotate: the presented token is used up and the next one of its family is handed out."""
        if not refresh_token:
            raise Unauthorized("not signed in on this browser", code="session_missing")
        row = await RefreshToken.select().where(
            RefreshToken.token_hash == auth.hash_refresh_token(refresh_token)).first()
        if row is None or row["revoked"]:
            raise Unauthorized("this sign-in has ended; sign in again", code="session_ended")
        if row["expires_at"] < timeutil.now():
            raise Unauthorized("this sign-in has expired; sign in again", code="session_expired")
        claimed = await RefreshToken.update({RefreshToken.used_at: timeutil.now()}).where(
            (RefreshToken.id == row["id"]) & RefreshToken.used_at.is_null() & RefreshToken.revoked.eq(False)
        ).returning(RefreshToken.id)
        if not claimed:  # used before: someone else holds a copy, so no one keeps this session
            await self.end_family(row["family"])
            raise Unauthorized("this sign-in was used twice and has been ended for safety; sign in again",
                               code="session_reused")
        user = await User.select().where(User.id == row["user"]).first()
        if user is None:
            raise Unauthorized("the account no longer exists", code="session_ended")
        return await self._grant(user, row["family"])

    async def end(self, user_id: str, *, refresh_token: str | None = None, access_token: str | None = None) -> None:
        """Sign ``user_id`` out of the cookie's session and the access token's (either may be absent)."""
        families: set[uuid.UUID] = set()
        if refresh_token:
            row = await RefreshToken.select(RefreshToken.family).where(
                (RefreshToken.token_hash == auth.hash_refresh_token(refresh_token))
                & (RefreshToken.user == uuid.UUID(str(user_id)))).first()
            if row is not None:
                families.add(row["family"])
        if access_token:
            session = auth.read_token(self.accounts.settings.secret_key, access_token).session
            if session:
                with contextlib.suppress(ValueError):  # not one of ours: nothing to end
                    families.add(uuid.UUID(session))
        for family in families:
            await self.end_family(family)

    async def end_family(self, family: uuid.UUID) -> None:
        await RefreshToken.update({RefreshToken.revoked: True}).where(RefreshToken.family == family)
        await self.accounts.token_state.end_session(str(family), self.ACCESS_TTL_S)

    async def _grant(self, user_row: dict, family: uuid.UUID) -> SessionGrant:
        token, digest = auth.new_refresh_token()
        await RefreshToken(user=user_row["id"], family=family, token_hash=digest,
                           expires_at=timeutil.now() + timedelta(seconds=self.REFRESH_TTL_S)).save()
        access = self.accounts.issue_token(str(user_row["id"]), version=user_row["token_version"],
                                           session=str(family), ttl_s=self.ACCESS_TTL_S)
        return SessionGrant(access, self.ACCESS_TTL_S, token, self.REFRESH_TTL_S, user_dict(user_row))
