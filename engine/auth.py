"""Passwords (argon2id), tokens (JWT HS256) and refresh tokens (random, stored as SHA-256).

Token kinds: ``access`` (a user, 7 days by default; 15 minutes for a browser session) and
``service`` (a bot acting for linked chat users; it names no user itself). An access token
carries the user's ``ver`` (token version: bumping it ends every token at once) and, for a
browser session, ``sid`` (the session's refresh-token family, so signing out ends it too).
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from moodmix.engine.errors import Unauthorized

_hasher = PasswordHasher()  # argon2id with the library's current recommended cost
ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    kind: str
    expires_at: float
    version: int = 0
    session: str | None = None


def issue_token(secret: str, subject: str, *, kind: str = "access", ttl_s: float = 7 * 86400,
                version: int = 0, session: str | None = None) -> str:
    now = int(time.time())
    payload = {"sub": subject, "kind": kind, "iat": now, "exp": now + int(ttl_s), "jti": uuid.uuid4().hex,
               "ver": version}
    if session:
        payload["sid"] = session
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def new_refresh_token() -> tuple[str, str]:
    """``(token, its hash)``: the token goes to the browser's cookie, only the hash to the database."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    """SHA-256 is enough here: the token is 256 random bits, not a password to be guessed."""
    return hashlib.sha256(token.encode()).hexdigest()


#: Verified tokens, so that a client polling every 100 ms is not re-verified (HMAC, base64, JSON) each
#: time. Only successes are kept, keyed by secret and token; expiry is still checked on every use.
_VERIFIED: dict[tuple[str, str], TokenClaims] = {}
_VERIFIED_MAX = 10_000


def read_token(secret: str, token: str) -> TokenClaims:
    """Verify signature, algorithm and expiry; raises :class:`Unauthorized` with the reason."""
    cached = _VERIFIED.get((secret, token))
    if cached is not None:
        if cached.expires_at > time.time():
            return cached
        _VERIFIED.pop((secret, token), None)
    claims = _verify(secret, token)
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[(secret, token)] = claims
    return claims


def _verify(secret: str, token: str) -> TokenClaims:
    try:
        payload = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the token has expired; sign in again", code="token_expired") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("the token is invalid", code="token_invalid") from None
    version, session = payload.get("ver", 0), payload.get("sid")
    if not isinstance(version, int) or not (session is None or isinstance(session, str)):
        raise Unauthorized("the token is invalid", code="token_invalid")
    return TokenClaims(str(payload["sub"]), str(payload.get("kind", "access")), float(payload["exp"]),
                       version, session)
