"""Plugin routes: each plugin's ``register_routes`` handlers, mounted under ``/api/v1/plugins/NAME/``.

One Litestar ``Router`` per plugin, so a plugin's paths cannot collide with the engine's or another
plugin's, and its handlers land in the OpenAPI schema tagged with the plugin's name. Handlers may ask
for ``user`` (the signed-in user: naming it makes the route need a Bearer token) and ``service``.
"""

from __future__ import annotations

from typing import Any

import pluggy
from litestar import Request, Router
from litestar.di import Provide

from moodmix.web.security import current_user

PREFIX = "/api/v1/plugins"


async def app_service(request: Request) -> Any:
    """Litestar dependency: the service layer the app was started with."""
    return request.app.state.service


def settings_of(name: str) -> Provide:
    """Dependency giving plugin ``name``'s validated settings (``None`` if it registers none)."""

    async def plugin_settings(request: Request) -> Any:
        return request.app.state.runtime.registry.plugin_settings(name)

    return Provide(plugin_settings)


def plugin_routers(pm: pluggy.PluginManager) -> list[Router]:
    """One router per plugin that returns handlers from ``register_routes``."""
    routers = []
    for impl in pm.hook.register_routes.get_hookimpls():
        handlers = list(impl.function() or [])
        if not handlers:
            continue
        name = impl.plugin_name
        routers.append(Router(path=f"{PREFIX}/{name}", route_handlers=handlers, tags=[f"plugin: {name}"],
                              dependencies={"user": Provide(current_user), "service": Provide(app_service),
                                            "plugin_settings": settings_of(name)}))
    return routers


def is_public(handler: Any) -> bool:
    """Whether a plugin handler works without a token (it does not ask for ``user``)."""
    return "user" not in handler.parsed_fn_signature.parameters
