"""The OpenAPI document and its viewers: every status a route can answer, what its ``data`` holds,
its request body, who may call it; and ReDoc / Swagger UI served from a package, so /schema works offline.

Handlers return a generic ``Response`` (the seed's envelope), so Litestar documents only
"200, any JSON" plus its own 400 shape, which is not ours. Clients and fuzzers
(schemathesis) then see undocumented 401/404/409/422/429s, audio served as "JSON" and
public routes that claim to need a token. Rather than repeat ``responses=`` on every
handler, :func:`document_responses` walks the route table once, after the app is built:
a new route is documented by the same rules without anyone remembering to. What each
route's ``data`` holds is listed in :mod:`moodmix.web.api_schemas`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import msgspec
from litestar import Litestar, Router
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.plugins import RedocRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, OpenAPIMediaType, Operation, RequestBody, Schema, SecurityScheme
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.static_files import create_static_files_router
from litestar.types import Empty
from openapi_ui_bundles import redoc, swagger_ui

from moodmix.web.api_schemas import DATA
from moodmix.web.plugin_routes import PREFIX as PLUGIN_PREFIX
from moodmix.web.plugin_routes import is_public
from moodmix.web.security import REFRESH_COOKIE

#: Where the viewers' scripts and styles are served from (outside /schema, whose unknown paths are 404 pages).
ASSETS = "/schema-assets"
#: A local icon instead of Litestar's default (a CDN address).
FAVICON = "<link rel='icon' type='image/svg+xml' href='/static/favicon.svg'>"
BEARER = {"bearer": []}
REFRESH = {"refreshCookie": []}


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
#: Routes that stream an archive of a job's outputs.
ZIP_ROUTES = {"/api/v1/jobs/{job_id}/outputs.zip"}
#: Open to anyone (share and media links carry their own signed token). Everything else needs a bearer
#: token — a user's, or for ``/auth/link-chat`` a bot's service token — and may answer 401.
PUBLIC_ROUTES = {("GET", "/"), ("GET", "/health"), ("GET", "/ready"), ("GET", "/metrics"),
                 ("POST", "/api/v1/auth/register"), ("POST", "/api/v1/auth/login"),
                 ("POST", "/api/v1/auth/refresh"), ("GET", "/api/v1/capabilities"),
                 ("GET", "/api/v1/capabilities/{name}"), ("GET", "/api/v1/genres"), ("GET", "/s/{token}"),
                 ("GET", "/m/{token}")}
OWNED_PARAMS = {"file_id", "job_id", "share_id", "name", "token"}


def _error(status: int) -> ResponseSpec:
    return ResponseSpec(data_container=ErrorEnvelope, description=ERROR_TEXT[status])


def _error_statuses(path: str, method: str, needs_token: bool, params: set[str]) -> set[int]:
    statuses = {400, 422}
    if path.startswith("/api/") or path.startswith(("/s/", "/m/")):
        statuses.add(429)
    if needs_token or path in ("/api/v1/auth/login", "/api/v1/auth/refresh"):
        statuses.add(401)
    if params & OWNED_PARAMS or (method == "POST" and path == "/api/v1/jobs"):
        statuses.add(404)
    if method in ("POST", "DELETE"):
        statuses.add(409)
    if (method, path) in (("DELETE", "/api/v1/auth/me"), ("POST", "/api/v1/auth/logout")):
        statuses.add(403)  # the confirmation (password) is wrong
    if path == "/api/v1/files" and method == "POST":
        statuses |= {413, 415}
    if path in FILE_ROUTES:
        statuses.add(416)
    if path == "/api/v1/genres":
        statuses.add(404)  # a genre set nobody declares
    if path.startswith(("/s/", "/m/")):
        statuses |= {403, 410}
    if path == "/ready" or (method == "POST" and path == "/api/v1/jobs"):
        statuses.add(503)  # a dependency (for jobs: the queue) is down
    return statuses


@cache
def envelope_of(data: Any) -> type[msgspec.Struct]:
    """The success envelope whose ``data`` is ``data`` (a struct, ``list[struct]``, ``None`` or ``Any``)."""
    if data is Any:
        return Envelope
    if data is None:
        name = "EmptyEnvelope"
    elif getattr(data, "__origin__", None) is list:
        name = f"{data.__args__[0].__name__}ListEnvelope"
    else:
        name = f"{data.__name__}Envelope"
    return msgspec.defstruct(name, [("success", bool), ("message", str), ("data", data), ("error", None)],
                             module=__name__)


def _schema_body(media_types: dict[str, Schema], description: str, required: bool = True) -> RequestBody:
    return RequestBody(content={m: OpenAPIMediaType(schema=s) for m, s in media_types.items()},
                       description=description, required=required)


def _operation_with(body: RequestBody) -> type[Operation]:
    """An Operation class whose request body is ``body`` (for handlers that read the body themselves)."""

    @dataclass
    class DocumentedOperation(Operation):
        def __post_init__(self) -> None:
            self.request_body = body

    return DocumentedOperation


def request_bodies(share_max_s: float) -> dict[tuple[str, str], RequestBody]:
    """Bodies Litestar cannot see (streamed uploads, hand-decoded JSON) or whose limits come from settings."""
    binary = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
    upload = Schema(type=OpenAPIType.OBJECT, required=["file"], properties={
        "file": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY, description="The audio file")})
    share = Schema(type=OpenAPIType.OBJECT, properties={"expires_in_s": Schema(
        type=OpenAPIType.NUMBER, minimum=60, maximum=share_max_s, default=7 * 86400,
        description="Seconds until the link expires (at most share_link_max_days)")})
    confirm = Schema(type=OpenAPIType.OBJECT, properties={
        "password": Schema(type=OpenAPIType.STRING, description="The account's password"),
        "confirm": Schema(type=OpenAPIType.STRING, description="The username, for accounts without a password")})
    return {
        ("POST", "/api/v1/files"): _schema_body(
            {"multipart/form-data": upload, "application/octet-stream": binary},
            "The audio as multipart/form-data (field `file`), or as the raw body with `?filename=`"),
        ("POST", "/api/v1/jobs/{job_id}/outputs/{name}/share"): _schema_body(
            {"application/json": share}, "How long the link lives", required=False),
        ("DELETE", "/api/v1/auth/me"): _schema_body({"application/json": confirm}, "Confirmation"),
    }


def _document(handler: HTTPRouteHandler, path: str, bodies: dict[tuple[str, str], RequestBody]) -> None:
    method = next(iter(handler.http_methods))
    needs_token = (method, path) not in PUBLIC_ROUTES and not (path.startswith(PLUGIN_PREFIX) and is_public(handler))
    params = set(handler.parsed_fn_signature.parameters) & OWNED_PARAMS
    specs: dict[int, ResponseSpec] = {s: _error(s) for s in _error_statuses(path, method, needs_token, params)}
    success = handler.status_code
    if path in FILE_ROUTES:
        specs[200] = ResponseSpec(data_container=bytes, media_type="*/*", description="The file's bytes")
        specs[206] = ResponseSpec(data_container=bytes, media_type="*/*", description="The requested byte range")
        specs[307] = ResponseSpec(data_container=None, description="Redirect to a presigned storage URL")
    elif path in ZIP_ROUTES:
        specs[200] = ResponseSpec(data_container=bytes, media_type="application/zip",
                                  description="Every output of the job in one zip archive")
    elif path in EVENT_ROUTES:
        specs[200] = ResponseSpec(data_container=ServerSentEventDoc, media_type="text/event-stream",
                                  description="Server-Sent Events: progress, then done")
    else:
        specs[success] = ResponseSpec(data_container=envelope_of(DATA.get((method, path), Any)),
                                      description="The envelope; `data` holds the result")
    handler.responses = {**specs, **(handler.responses or {})}
    if (method, path) in bodies:
        handler.operation_class = _operation_with(bodies[(method, path)])
    # Per route: open routes need nothing, the refresh route its cookie, everything else a bearer token.
    if (method, path) == ("POST", "/api/v1/auth/refresh"):
        handler.security = [REFRESH]
    else:
        handler.security = [BEARER] if needs_token else []
    handler._resolved_security = Empty  # recomputed from `security` when the schema is built


def document_responses(app: Litestar, *, share_max_s: float = 30 * 86400) -> Litestar:
    """Fill in responses, request bodies and security for every handler in the schema; returns ``app``."""
    bodies = request_bodies(share_max_s)
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if isinstance(handler, HTTPRouteHandler) and handler.include_in_schema:
                _document(handler, route.path_format, bodies)
    return app


def openapi_config(title: str, version: str) -> OpenAPIConfig:
    """The document's frame and its two viewers (ReDoc at /schema, Swagger UI at /schema/swagger), offline."""
    return OpenAPIConfig(
        title=title, version=version, path="/schema",
        description="Stems, mood, genre remixes and text-to-music. Responses use the envelope "
                    "{success, message, data, error}; each operation documents what `data` holds. "
                    "API clients send `Authorization: Bearer <token>` (from /api/v1/auth/login); the web page "
                    "uses a browser session (a short token plus a refresh cookie).",
        components=Components(security_schemes={
            "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
            "refreshCookie": SecurityScheme(type="apiKey", security_scheme_in="cookie", name=REFRESH_COOKIE,
                                            description="The browser session's refresh token (HttpOnly)"),
        }),
        render_plugins=[
            RedocRenderPlugin(path="/redoc", js_url=f"{ASSETS}/redoc/redoc.standalone.js", google_fonts=False,
                              favicon=FAVICON),
            SwaggerRenderPlugin(path="/swagger", js_url=f"{ASSETS}/swagger-ui/swagger-ui-bundle.js",
                                css_url=f"{ASSETS}/swagger-ui/swagger-ui.css",
                                standalone_preset_js_url=f"{ASSETS}/swagger-ui/swagger-ui-standalone-preset.js",
                                favicon=FAVICON),
        ],
    )


def docs_assets_router() -> Router:
    """The viewers' scripts and styles, from the ``openapi-ui-bundles`` package (no CDN, no copies in the repo)."""
    return Router(ASSETS, include_in_schema=False, route_handlers=[
        create_static_files_router(path="/redoc", directories=[redoc.static_path], include_in_schema=False,
                                   name="docs-redoc"),
        create_static_files_router(path="/swagger-ui", directories=[swagger_ui.static_path],
                                   include_in_schema=False, name="docs-swagger-ui"),
    ])
