"""Complete the OpenAPI document: every status a route can answer, its media types, who may call it.

Handlers return a generic ``Response`` (the seed's envelope), so Litestar documents only
"200, any JSON" plus its own 400 shape, which is not ours. Clients and fuzzers
(schemathesis) then see undocumented 401/404/409/422/429s, audio served as "JSON" and
public routes that claim to need a token. Rather than repeat ``responses=`` on every
handler, :func:`document_responses` walks the route table once, after the app is built:
a new route is documented by the same rules without anyone remembering to.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import Empty

from moodmix.web.plugin_routes import PREFIX as PLUGIN_PREFIX
from moodmix.web.plugin_routes import is_public


class ErrorDetail(msgspec.Struct):
    code: str
    message: str
    details: dict[str, Any] | None = None


class ErrorEnvelope(msgspec.Struct):
    """Every error response: ``{success: false, message, data: null, error: {code, message}}``."""

    success: bool
    message: str
    data: None
    error: ErrorDetail


class Envelope(msgspec.Struct):
    """Every JSON success response: ``{success: true, message, data, error: null}``."""

    success: bool
    message: str
    data: Any
    error: None


#: Highest page number a listing accepts: beyond it the SQL OFFSET overflows a 64-bit integer (a 500
#: on Postgres, found by the fuzzer), and no one pages that far anyway.
MAX_PAGE = 1_000_000


class ServerSentEventDoc(msgspec.Struct):
    """One Server-Sent Event: ``event`` is ``progress`` or ``done``; ``data`` is the job as JSON."""

    event: str
    data: str
    id: str


ERROR_TEXT = {
    400: "Malformed request (bad JSON, wrong parameter types)", 401: "Missing, invalid or expired token",
    403: "Not allowed (e.g. an invalid share link)", 404: "No such resource for this user",
    409: "Conflicts with the resource's state", 410: "Gone (expired or revoked link)", 413: "Too large",
    415: "Not audio moodmix can read", 416: "Range not satisfiable", 422: "Invalid input, with a reason",
    429: "Rate limited; see Retry-After", 503: "A dependency is unavailable",
}
#: Routes that stream stored files (any media type, Range requests, presigned redirects).
FILE_ROUTES = {"/api/v1/files/{file_id}/download", "/api/v1/jobs/{job_id}/outputs/{name}", "/s/{token}",
               "/m/{token}"}
EVENT_ROUTES = {"/api/v1/jobs/{job_id}/events"}
#: Open to anyone (share and media links carry their own signed token). Everything else needs a bearer
#: token — a user's, or for ``/auth/link-chat`` a bot's service token — and may answer 401.
PUBLIC_ROUTES = {("GET", "/"), ("GET", "/health"), ("GET", "/ready"), ("GET", "/metrics"),
                 ("POST", "/api/v1/auth/register"), ("POST", "/api/v1/auth/login"), ("GET", "/api/v1/capabilities"),
                 ("GET", "/api/v1/capabilities/{name}"), ("GET", "/api/v1/genres"), ("GET", "/s/{token}"),
                 ("GET", "/m/{token}")}
OWNED_PARAMS = {"file_id", "job_id", "share_id", "name", "token"}


def _error(status: int) -> ResponseSpec:
    return ResponseSpec(data_container=ErrorEnvelope, description=ERROR_TEXT[status])


def _error_statuses(path: str, method: str, needs_token: bool, params: set[str]) -> set[int]:
    statuses = {400, 422}
    if path.startswith("/api/") or path.startswith(("/s/", "/m/")):
        statuses.add(429)
    if needs_token or path == "/api/v1/auth/login":
        statuses.add(401)
    if params & OWNED_PARAMS or (method == "POST" and path == "/api/v1/jobs"):
        statuses.add(404)
    if method in ("POST", "DELETE"):
        statuses.add(409)
    if path == "/api/v1/files" and method == "POST":
        statuses |= {413, 415}
    if path in FILE_ROUTES:
        statuses.add(416)
    if path.startswith(("/s/", "/m/")):
        statuses |= {403, 410}
    if path == "/ready" or (method == "POST" and path == "/api/v1/jobs"):
        statuses.add(503)  # a dependency (for jobs: the queue) is down
    return statuses


def _document(handler: HTTPRouteHandler, path: str) -> None:
    method = next(iter(handler.http_methods))
    needs_token = (method, path) not in PUBLIC_ROUTES and not (path.startswith(PLUGIN_PREFIX) and is_public(handler))
    params = set(handler.parsed_fn_signature.parameters) & OWNED_PARAMS
    specs: dict[int, ResponseSpec] = {s: _error(s) for s in _error_statuses(path, method, needs_token, params)}
    success = handler.status_code
    if path in FILE_ROUTES:
        specs[200] = ResponseSpec(data_container=bytes, media_type="*/*", description="The file's bytes")
        specs[206] = ResponseSpec(data_container=bytes, media_type="*/*", description="The requested byte range")
        specs[307] = ResponseSpec(data_container=None, description="Redirect to a presigned storage URL")
    elif path in EVENT_ROUTES:
        specs[200] = ResponseSpec(data_container=ServerSentEventDoc, media_type="text/event-stream",
                                  description="Server-Sent Events: progress, then done")
    else:
        specs[success] = ResponseSpec(data_container=Envelope, description="The envelope; `data` holds the result")
    handler.responses = {**specs, **(handler.responses or {})}
    if not needs_token:  # open route: say so, instead of inheriting the document-wide bearer requirement
        handler.security = [{}]
        handler._resolved_security = Empty  # recomputed from `security` when the schema is built


def document_responses(app: Litestar) -> Litestar:
    """Fill in responses and security for every handler in the schema; returns ``app``."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if isinstance(handler, HTTPRouteHandler) and handler.include_in_schema:
                _document(handler, route.path_format)
    return app
