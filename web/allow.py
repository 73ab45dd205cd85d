"""``OPTIONS`` names every method of its path in ``Allow``.

Litestar builds one route per path and, when a controller adds a second method to a path
(``GET /files`` then ``POST /files``), rebuilds the route but keeps the first ``OPTIONS``
handler, which still answers with the first route's methods (``GET, OPTIONS``). This hook
rewrites the header from the app's final route table.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope


def route_methods(app: Litestar) -> dict[str, str]:
    """Path template -> the ``Allow`` value for it (computed once per app)."""
    allowed = app.state.get("allow_by_path")
    if allowed is None:
        allowed = {route.path_format: ", ".join(sorted(route.methods)) for route in app.routes
                   if hasattr(route, "route_handler_map")}
        app.state.allow_by_path = allowed
    return allowed


async def allow_every_method(message: Message, scope: Scope) -> None:
    """``before_send`` hook: correct ``Allow`` on the answers of the automatic OPTIONS handlers."""
    if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS" or scope["type"] != "http":
        return
    headers = MutableScopeHeaders(message)
    if "allow" not in headers:
        return
    value = route_methods(scope["app"]).get(scope.get("path_template", ""))
    if value:
        headers["Allow"] = value
