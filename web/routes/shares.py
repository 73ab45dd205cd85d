"""Share links: signed, expiring, revocable public links to one job output."""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.di import Provide

from moodmix.web.envelope import ok
from moodmix.web.links import share_with_urls
from moodmix.web.ranges import file_response
from moodmix.web.security import current_user


class ShareBody(msgspec.Struct, forbid_unknown_fields=True):
    expires_in_s: float = 7 * 86400


class SharesController(Controller):
    path = "/api/v1"
    tags = ["shares"]
    dependencies = {"user": Provide(current_user)}

    @post("/jobs/{job_id:uuid}/outputs/{name:str}/share", status_code=201)
    async def create(self, request: Request, user: dict, job_id: UUID, name: str, data: ShareBody) -> Response:
        share = await request.app.state.service.create_share(user["id"], str(job_id), name, data.expires_in_s)
        return ok(share_with_urls(share, public_base(request)), "share link created", 201)

    @get("/shares")
    async def list_shares(self, request: Request, user: dict) -> Response:
        return ok(await request.app.state.service.list_shares(user["id"]))

    @delete("/shares/{share_id:uuid}", status_code=200)
    async def revoke(self, request: Request, user: dict, share_id: UUID) -> Response:
        await request.app.state.service.revoke_share(user["id"], str(share_id))
        return ok(None, "share link revoked")


def public_base(request: Request) -> str:
    """Where the public reaches this server: ``public_url`` when set, else the request's own base URL."""
    return request.app.state.runtime.settings.public_url or str(request.base_url)


@get("/s/{token:str}", tags=["shares"], security=[])
async def open_share(request: Request, token: str) -> Response:
    """The public side of a share link: no account needed; Range requests work."""
    key, filename, ctype = await request.app.state.service.open_share(token)
    return await file_response(request, request.app.state.runtime.storage, key, filename, ctype)


@get("/m/{token:str}", tags=["files"], security=[])
async def open_media(request: Request, token: str) -> Response:
    """Short-lived media links from ``…/stream-url``: lets players stream and seek without headers."""
    key, filename, ctype = request.app.state.service.open_media(token)
    return await file_response(request, request.app.state.runtime.storage, key, filename, ctype)
