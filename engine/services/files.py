"""Uploaded audio: streamed in, verified once (sniffed and fully decoded), listed, deleted.

Stored audio also gets what browsers need, made on first request and cached in storage by content
hash: a playable rendition (:mod:`moodmix.engine.renditions` says which originals need one) and
waveform peaks.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterable, Callable
from pathlib import Path

from moodmix.engine import audio_io, renditions, timeutil
from moodmix.engine.db.tables import AudioFile, ProcessingJob
from moodmix.engine.errors import Conflict, NotFound
from moodmix.engine.filenames import safe_filename
from moodmix.engine.jobs import states
from moodmix.engine.runtime import Runtime
from moodmix.engine.services.common import as_uuid, page_bounds, page_of
from moodmix.engine.storage.base import derived_key


def file_dict(row: dict) -> dict:
    return {
        "id": str(row["id"]), "filename": row["filename"], "format": row["format"],
        "content_type": row["content_type"], "size_bytes": row["size_bytes"], "sha256": row["sha256"],
        "duration": row["duration"], "sample_rate": row["sample_rate"], "channels": row["channels"],
        "created_at": timeutil.iso(row["created_at"]),
        "playback": "preview" if renditions.needs_preview(row["format"], row["sample_rate"], row["channels"])
        else "original",
    }


class Files:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._making: dict[str, asyncio.Lock] = {}  # derived key -> lock, so one request makes it

    async def upload(self, user_id: str, filename: str | Callable[[], str | None],
                     chunks: AsyncIterable[bytes]) -> dict:
        """Stream, hash, validate (content sniffed, fully decoded) and record an upload.

        This is the one full check an upload gets: workers trust a stored upload. ``filename``
        may be a callable, read after the body: multipart names arrive with it.
        """
        settings = self.rt.settings
        storage = self.rt.storage
        tmp, sha, size = await storage.receive(chunks, settings.max_upload_bytes)
        try:
            if size == 0:
                raise audio_io.AudioError("the file is empty", code="empty_file")
            info = await asyncio.to_thread(audio_io.verify_decodable, tmp, max_seconds=settings.max_audio_seconds)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        blob = await storage.adopt_upload(tmp, sha)
        safe_name = safe_filename(filename() if callable(filename) else filename, info.format)
        row = AudioFile(user=as_uuid(user_id, "user"), filename=safe_name, storage_key=blob.key, sha256=sha,
                        size_bytes=size, content_type=audio_io.CONTENT_TYPES.get(info.format, "audio/octet-stream"),
                        format=info.format, duration=info.duration, sample_rate=info.sample_rate,
                        channels=info.channels, source="upload")
        await row.save()
        return file_dict(row.to_dict())

    async def list_files(self, user_id: str, *, page: int = 1, per_page: int = 20) -> dict:
        page, per_page = page_bounds(page, per_page)
        where = AudioFile.user == as_uuid(user_id, "user")
        total = await AudioFile.count().where(where)
        rows = await AudioFile.select().where(where).order_by(AudioFile.created_at, ascending=False).limit(
            per_page).offset((page - 1) * per_page)
        return page_of([file_dict(r) for r in rows], page, per_page, total)

    async def file_row(self, user_id: str, file_id: str) -> dict:
        """The user's file record; another user's file is "not found"."""
        row = await AudioFile.select().where(
            (AudioFile.id == as_uuid(file_id, "file")) & (AudioFile.user == as_uuid(user_id, "user"))).first()
        if row is None:
            raise NotFound("file not found", code="file_not_found")
        return row

    async def get_file(self, user_id: str, file_id: str) -> dict:
        return file_dict(await self.file_row(user_id, file_id))

    async def file_download(self, user_id: str, file_id: str) -> tuple[str, str, str]:
        """``(storage key, file name, content type)`` of one of the user's files."""
        row = await self.file_row(user_id, file_id)
        return row["storage_key"], row["filename"], row["content_type"]

    async def file_rendition(self, user_id: str, file_id: str) -> tuple[str, str, str, bool]:
        """``(storage key, file name, content type, is_preview)`` of what a browser plays for a file."""
        row = await self.file_row(user_id, file_id)
        return await self.rendition(row["storage_key"], row["sha256"], row["filename"], row["content_type"],
                                    fmt=row["format"], sample_rate=row["sample_rate"], channels=row["channels"])

    async def file_peaks(self, user_id: str, file_id: str, points: int) -> dict:
        row = await self.file_row(user_id, file_id)
        return await self.peaks(row["storage_key"], row["sha256"], points)

    async def rendition(self, key: str, sha256: str, filename: str, content_type: str, *, fmt: str | None = None,
                        sample_rate: int | None = None, channels: int | None = None) -> tuple[str, str, str, bool]:
        """The stored audio itself when browsers play it, else its MP3 preview (made once, then cached)."""
        fmt = fmt or renditions.format_of(content_type, filename)
        if not renditions.needs_preview(fmt, sample_rate, channels):
            return key, filename, content_type, False
        made = await self._derive(key, derived_key(sha256, "preview" + renditions.PREVIEW_SUFFIX),
                                  renditions.write_preview)
        return made, f"{Path(filename).stem} (preview){renditions.PREVIEW_SUFFIX}", \
            renditions.PREVIEW_CONTENT_TYPE, True

    async def peaks(self, key: str, sha256: str, points: int) -> dict:
        """``{"points", "duration", "min", "max"}``: the waveform of stored audio in ``points`` slices."""
        def write(src: Path, dst: Path) -> None:
            dst.write_text(json.dumps(renditions.compute_peaks(src)))

        made = await self._derive(key, derived_key(sha256, f"peaks-{renditions.PEAK_RESOLUTION}.json"), write)
        storage = self.rt.storage
        raw = b"".join([chunk async for chunk in storage.read_range(made, 0, await storage.size(made))])
        stored = json.loads(raw)
        low, high = renditions.reduce_peaks(stored["min"], stored["max"], points)
        return {"points": len(low), "duration": stored["duration"], "min": low, "max": high}

    async def _derive(self, key: str, made: str, make: Callable[[Path, Path], object]) -> str:
        """Make ``made`` from the stored ``key`` unless storage has it already; returns ``made``."""
        storage = self.rt.storage
        lock = self._making.setdefault(made, asyncio.Lock())
        async with lock:
            try:
                await storage.size(made)
                return made
            except NotFound:
                pass
            scratch = storage.job_scratch("derived")
            try:
                src = await storage.fetch(key, scratch)
                dst = scratch / f"made{Path(made).suffix}"
                await asyncio.to_thread(make, src, dst)
                await storage.put_derived(made, dst)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
                self._making.pop(made, None)
        return made

    async def delete_file(self, user_id: str, file_id: str) -> None:
        row = await self.file_row(user_id, file_id)
        busy = await ProcessingJob.exists().where(
            (ProcessingJob.audio == row["id"]) & ProcessingJob.status.is_in([states.QUEUED, states.RUNNING]))
        if busy:
            raise Conflict("the file is used by a job that has not finished; cancel it first", code="file_busy")
        await ProcessingJob.update({ProcessingJob.audio: None}).where(ProcessingJob.audio == row["id"])
        await AudioFile.delete().where(AudioFile.id == row["id"])
        if not await AudioFile.exists().where(AudioFile.storage_key == row["storage_key"]):
            await self.rt.storage.delete(row["storage_key"])  # last reference to these bytes
            await self.rt.storage.delete_prefix(derived_key(row["sha256"], "x").rsplit("/", 1)[0])
