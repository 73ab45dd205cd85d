"""Security headers on every response, as the seed's Helmet set them up.

The content security policy fits the bundled web page (scripts, styles and media from
this origin only; blob:/data: for decoded audio and pictures). The OpenAPI viewers
under /schema load their bundled scripts from this origin too (/schema-assets), but start
with an inline script holding the document, so only they may run inline scripts.
"""

from __future__ import annotations

from litestar.types import ASGIApp, Message, Receive, Scope, Send

PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; media-src 'self' blob: data:; connect-src 'self'; font-src 'self' data:; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
SCHEMA_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
              "img-src 'self' data: blob:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
              "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
COMMON = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), geolocation=(), microphone=()",
}


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


def _header_sets() -> dict[tuple[bool, bool, bool], tuple[frozenset[bytes], list[tuple[bytes, bytes]]]]:
    """Every combination (schema page, public share, HTTPS) encoded once: a response only appends a list."""
    sets = {}
    for schema in (False, True):
        for public_share in (False, True):
            for https in (False, True):
                headers = {**COMMON, "Content-Security-Policy": SCHEMA_CSP if schema else PAGE_CSP}
                if public_share:  # shared files may be embedded in players elsewhere
                    headers["Cross-Origin-Resource-Policy"] = "cross-origin"
                if https:
                    headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
                raw = _raw(headers)
                sets[schema, public_share, https] = frozenset(name for name, _ in raw), raw
    return sets


HEADER_SETS = _header_sets()


def security_headers_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        path = scope.get("path", "")
        names, extra = HEADER_SETS[path.startswith("/schema"), path.startswith(("/s/", "/m/")),
                                   scope.get("scheme") == "https"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":  # ours replace any the route set
                kept = [h for h in message.get("headers", ()) if bytes(h[0]).lower() not in names]
                message = {**message, "headers": [*kept, *extra]}
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware
