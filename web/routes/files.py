"""Uploads (streamed), listing, metadata, deletion and Range downloads of audio files; what a browser
needs to play any upload (a preview rendition where the original does not play everywhere) and its
waveform peaks."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import Provide
from litestar.params import Parameter

from moodmix.engine import renditions
from moodmix.engine.service import Service
from moodmix.web.envelope import ok
from moodmix.web.links import media_link
from moodmix.web.openapi_docs import MAX_PAGE
from moodmix.web.ranges import file_response
from moodmix.web.security import current_user
from moodmix.web.uploads import UploadStream


class FilesController(Controller):
    path = "/api/v1/files"
    tags = ["files"]
    dependencies = {"user": Provide(current_user)}

    @post("/", status_code=201, request_max_body_size=None)
    async def upload(self, request: Request, user: dict) -> Response:
        """Upload audio as multipart/form-data (field ``file``) or a raw body (``?filename=``).

        The type is sniffed from the content; the file is decoded completely before it is accepted.
        """
        service: Service = request.app.state.service
        stream = UploadStream(request)
        record = await service.upload(user["id"], lambda: stream.filename, stream)
        return ok(record, "uploaded", 201)

    @get("/")
    async def list_files(self, request: Request, user: dict,
                         page: int = Parameter(default=1, ge=1, le=MAX_PAGE),
                         per_page: int = Parameter(default=20, ge=1, le=100)) -> Response:
        return ok(await request.app.state.service.list_files(user["id"], page=page, per_page=per_page))

    @get("/{file_id:uuid}")
    async def get_file(self, request: Request, user: dict, file_id: UUID) -> Response:
        return ok(await request.app.state.service.get_file(user["id"], str(file_id)))

    @delete("/{file_id:uuid}", status_code=200)
    async def delete_file(self, request: Request, user: dict, file_id: UUID) -> Response:
        await request.app.state.service.delete_file(user["id"], str(file_id))
        return ok(None, "deleted")

    @get("/{file_id:uuid}/stream-url")
    async def stream_url(self, request: Request, user: dict, file_id: UUID,
                         rendition: Literal["original", "playable"] = Parameter(default="original")) -> Response:
        """A URL valid for 15 minutes that an ``<audio>`` element can stream (with Range) without headers.

        ``rendition=playable`` points at what every browser plays: the original, or an MP3 preview made
        once when the original's format does not play everywhere (``preview`` in the answer says which).
        """
        service = request.app.state.service
        if rendition == "original":
            return ok({**media_link(service.media_token(*await service.file_download(user["id"], str(file_id)))),
                       "preview": False})
        key, name, ctype, preview = await service.file_rendition(user["id"], str(file_id))
        return ok({**media_link(service.media_token(key, name, ctype)), "preview": preview})

    @get("/{file_id:uuid}/waveform")
    async def waveform(self, request: Request, user: dict, file_id: UUID,
                       points: int = Parameter(default=800, ge=renditions.MIN_POINTS,
                                               le=renditions.PEAK_RESOLUTION)) -> Response:
        """Min/max peaks of the track in ``points`` equal slices (fewer for very short audio), computed once."""
        return ok(await request.app.state.service.file_peaks(user["id"], str(file_id), points))

    @get("/{file_id:uuid}/download")
    async def download(self, request: Request, user: dict, file_id: UUID) -> Response:
        key, name, ctype = await request.app.state.service.file_download(user["id"], str(file_id))
        return await file_response(request, request.app.state.runtime.storage, key, name, ctype)
