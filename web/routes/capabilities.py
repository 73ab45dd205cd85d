"""What the engine can do: capabilities with their parameter schemas, and the genre sets they choose from."""

from __future__ import annotations

from litestar import Controller, Request, Response, get
from litestar.params import Parameter

from moodmix.web.envelope import ok


class CapabilitiesController(Controller):
    path = "/api/v1"
    tags = ["capabilities"]

    @get("/capabilities")
    async def list_capabilities(self, request: Request) -> Response:
        return ok(request.app.state.service.capabilities())

    @get("/capabilities/{name:str}")
    async def get_capability(self, request: Request, name: str) -> Response:
        return ok(request.app.state.runtime.registry.capability(name).describe())

    @get("/genres")
    async def list_genres(self, request: Request,
                          genre_set: str | None = Parameter(query="set", default=None, max_length=64)) -> Response:
        """Every genre with its ``set``; ``?set=NAME`` gives one set (what a capability's genre param takes)."""
        return ok(request.app.state.service.genres(genre_set))
