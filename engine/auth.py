"""Passwords (argon2id) and tokens (JWT HS256).

Token kinds: ``access`` (a user, 7 days by default) and ``service`` (a bot acting
for linked chat users; it names no user itself).
"""

from __future__ import annotations

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


def issue_token(secret: str, subject: str, *, kind: str = "access", ttl_s: float = 7 * 86400) -> str:
    now = int(time.time())
    payload = {"sub": subject, "kind": kind, "iat": now, "exp": now + int(ttl_s), "jti": uuid.uuid4().hex}
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


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
    return TokenClaims(str(payload["sub"]), str(payload.get("kind", "access")), float(payload["exp"]))
