"""The local data folder backend (the embedded default)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import anyio

from moodmix.engine.errors import BadInput, NotFound
from moodmix.engine.storage.base import Storage, StoredBlob, check_key, output_key, upload_key

BLOCK = 256 * 1024


class LocalStorage(Storage):
    def __init__(self, root: str | Path, scratch_root: str | Path | None = None) -> None:
        self.root = Path(root).resolve()
        for sub in ("uploads", "outputs"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._init_scratch(scratch_root or self.root / "temp")

    def path(self, key: str) -> Path:
        """Local path of ``key``; raises on traversal attempts."""
        check_key(key)
        p = (self.root / key).resolve()
        if self.root not in p.parents:
            raise BadInput("invalid storage key", code="bad_key")
        return p

    def _existing(self, key: str) -> Path:
        p = self.path(key)
        if not p.is_file():
            raise NotFound("the stored file is missing", code="file_missing")
        return p

    async def adopt_upload(self, tmp: Path, sha256: str) -> StoredBlob:
        key = upload_key(sha256)
        dest = self.path(key)
        size = tmp.stat().st_size
        if dest.is_file():
            tmp.unlink(missing_ok=True)
            return StoredBlob(key, sha256, size, deduplicated=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(tmp), dest)
        return StoredBlob(key, sha256, size)

    async def put_output(self, job_id: str, filename: str, src: Path, sha256: str) -> StoredBlob:
        key = output_key(job_id, filename)
        dest = self.path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(src), dest)
        return StoredBlob(key, sha256, dest.stat().st_size)

    async def put_derived(self, key: str, src: Path) -> StoredBlob:
        dest = self.path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(src), dest)
        return StoredBlob(key, "", dest.stat().st_size)

    async def fetch(self, key: str, dest_dir: Path) -> Path:
        return self._existing(key)  # already local: no copy

    async def size(self, key: str) -> int:
        return self._existing(key).stat().st_size

    async def read_range(self, key: str, start: int, length: int) -> AsyncIterator[bytes]:
        path = self._existing(key)
        async with await anyio.open_file(path, "rb") as fh:
            await fh.seek(start)
            remaining = length
            while remaining > 0:
                chunk = await fh.read(min(BLOCK, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk

    async def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    async def delete_prefix(self, prefix: str) -> None:
        target = self.path(prefix.rstrip("/"))
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        else:
            target.unlink(missing_ok=True)
