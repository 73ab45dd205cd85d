"""Share links (signed, expiring, revocable public access to one output) and short-lived media tokens.

Both hand out tokens; the web layer turns them into addresses.
"""

from __future__ import annotations

import time
from datetime import timedelta

import jwt

from moodmix.engine import auth, timeutil
from moodmix.engine.db.tables import ShareLink
from moodmix.engine.errors import BadInput, Forbidden, Gone, NotFound, Unauthorized
from moodmix.engine.runtime import Runtime
from moodmix.engine.services.common import as_uuid
from moodmix.engine.services.jobs import Jobs

#: How long a media token (for ``<audio>`` elements, which cannot send headers) stays valid.
MEDIA_TTL_S = 900


def share_dict(row: dict, token: str | None = None) -> dict:
    d = {"id": str(row["id"]), "job_id": str(row["job"]), "output": row["output"],
         "expires_at": timeutil.iso(row["expires_at"]), "revoked": bool(row["revoked"])}
    if token:
        d["token"] = token
    return d


def encode_media_token(secret: str, key: str, filename: str, content_type: str, ttl_s: float) -> str:
    now = int(time.time())
    return jwt.encode({"kind": "media", "key": key, "name": filename, "type": content_type, "iat": now,
                       "exp": now + int(ttl_s), "sub": "media"}, secret, algorithm=auth.ALGORITHM)


def decode_media_token(secret: str, token: str) -> dict:
    try:
        claims = jwt.decode(token, secret, algorithms=[auth.ALGORITHM], options={"require": ["exp", "key"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("expired", code="token_expired") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("invalid", code="token_invalid") from None
    if claims.get("kind") != "media":
        raise Unauthorized("invalid", code="token_invalid")
    return claims


class Shares:
    def __init__(self, rt: Runtime, jobs: Jobs) -> None:
        self.rt = rt
        self.jobs = jobs

    @property
    def secret(self) -> str:
        return self.rt.settings.secret_key

    # ---- media tokens -----------------------------------------------------------------------------
    def media_token(self, key: str, filename: str, content_type: str) -> dict:
        """``{"token", "expires_in"}`` for streaming one stored file with Range requests."""
        return {"token": encode_media_token(self.secret, key, filename, content_type, MEDIA_TTL_S),
                "expires_in": MEDIA_TTL_S}

    def open_media(self, token: str) -> tuple[str, str, str]:
        try:
            claims = decode_media_token(self.secret, token)
        except Unauthorized as exc:
            if exc.code == "token_expired":
                raise Gone("this media link has expired; ask for a new one", code="media_expired") from None
            raise Forbidden("this media link is not valid", code="media_invalid") from None
        return claims["key"], claims["name"], claims["type"]

    # ---- share links ------------------------------------------------------------------------------
    async def create_share(self, user_id: str, job_id: str, output: str, expires_in_s: float) -> dict:
        """A signed public token for one output; valid until it expires or is revoked."""
        max_s = self.rt.settings.share_link_max_days * 86400
        if not 60 <= expires_in_s <= max_s:
            raise BadInput(f"expires_in_s must be between 60 and {int(max_s)}", code="bad_expiry")
        row = await self.jobs.job_row(user_id, job_id)
        if await self.jobs.output_row(row["id"], output) is None:
            raise NotFound(f"job has no output {output!r}", code="output_not_found")
        expires = timeutil.now() + timedelta(seconds=expires_in_s)
        link = ShareLink(user=as_uuid(user_id, "user"), job=row["id"], output=output, expires_at=expires)
        await link.save()
        token = auth.issue_token(self.secret, str(link.id), kind="share", ttl_s=expires_in_s)
        return share_dict(link.to_dict(), token)

    async def list_shares(self, user_id: str) -> list[dict]:
        rows = await ShareLink.select().where(ShareLink.user == as_uuid(user_id, "user")).order_by(
            ShareLink.created_at, ascending=False).limit(200)
        return [share_dict(r) for r in rows]

    async def revoke_share(self, user_id: str, share_id: str) -> None:
        rows = await ShareLink.update({ShareLink.revoked: True}).where(
            (ShareLink.id == as_uuid(share_id, "share")) & (ShareLink.user == as_uuid(user_id, "user"))
        ).returning(ShareLink.id)
        if not rows:
            raise NotFound("share link not found", code="share_not_found")

    async def open_share(self, token: str) -> tuple[str, str, str]:
        """``(storage key, file name, content type)`` behind a public token; 403 tampered, 410 gone."""
        try:
            claims = auth.read_token(self.secret, token)
        except Unauthorized as exc:
            if exc.code == "token_expired":
                raise Gone("this share link has expired", code="share_expired") from None
            raise Forbidden("this share link is not valid", code="share_invalid") from None
        if claims.kind != "share":
            raise Forbidden("this share link is not valid", code="share_invalid")
        row = await ShareLink.select().where(ShareLink.id == as_uuid(claims.subject, "share")).first()
        if row is None:
            raise Forbidden("this share link is not valid", code="share_invalid")
        if row["revoked"]:
            raise Gone("this share link was revoked by its owner", code="share_revoked")
        if row["expires_at"] < timeutil.now():
            raise Gone("this share link has expired", code="share_expired")
        out = await self.jobs.output_row(row["job"], row["output"])
        if out is None:
            raise Gone("the shared file no longer exists", code="share_gone")
        return out["storage_key"], out["filename"], out["content_type"]
