"""Exception handlers: every error leaves as an envelope with a code and a reason, never a bare 500."""

from __future__ import annotations

import logging

from asyncpg.exceptions import CharacterNotInRepertoireError, UntranslatableCharacterError
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from moodmix.engine.errors import MoodmixError
from moodmix.web.envelope import fail

log = logging.getLogger("moodmix.web")

_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type",
               429: "rate_limited", 503: "unavailable"}


def moodmix_error(request: Request, exc: MoodmixError) -> Response:
    return fail(exc.status, exc.code, exc.message, exc.details or None)


def validation_error(request: Request, exc: ValidationException) -> Response:
    extra = exc.extra if isinstance(exc.extra, list) else None
    detail = "; ".join(f"{e.get('key') or e.get('source', '')}: {e.get('message')}" for e in (extra or [])
                       if isinstance(e, dict))
    return fail(400, "bad_request", f"{exc.detail}{': ' + detail if detail else ''}",
                {"errors": extra} if extra else None)


def http_error(request: Request, exc: HTTPException) -> Response:
    headers = dict(exc.headers or {})
    if exc.status_code == 429:
        reset = headers.get("RateLimit-Reset")
        if reset:
            headers["Retry-After"] = reset
        return fail(429, "rate_limited", "too many requests; slow down and retry later", headers=headers)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return fail(exc.status_code, code, str(exc.detail), headers=headers or None)


def unstorable_text(request: Request, exc: Exception) -> Response:
    """Postgres refuses NUL (and unencodable) characters in text; SQLite stores them. Either way it is
    the request's fault, not the server's: without this, ``{"username": "a\\u0000"}`` at login was a 500."""
    return fail(422, "bad_text", "text in the request contains a NUL or otherwise unstorable character")


def internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return fail(HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", "something went wrong on the server")


HANDLERS = {
    CharacterNotInRepertoireError: unstorable_text,
    UntranslatableCharacterError: unstorable_text,
    MoodmixError: moodmix_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    Exception: internal_error,
}
