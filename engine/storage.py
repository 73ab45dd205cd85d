"""File storage behind one small interface; the local data folder is the default backend.

Layout under the data folder::

    uploads/ab/abcdef…      content-addressed (sha256): the same bytes are stored once
    outputs/<job id>/…      job outputs
    temp/                   per-job scratch space, removed after each job

Keys are relative POSIX paths; :meth:`LocalStorage.path` refuses anything that
escapes the root.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path

from moodmix.engine.errors import BadInput, NotFound, TooLarge

CHUNK = 1 << 20


@dataclass(frozen=True)
class StoredBlob:
    key: str
    sha256: str
    size: int
    path: Path
    deduplicated: bool = False


class LocalStorage:
    """The data folder on local disk."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        for sub in ("uploads", "outputs", "temp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    @property
    def temp_root(self) -> Path:
        return self.root / "temp"

    def path(self, key: str) -> Path:
        """Local path of ``key``; raises on traversal attempts."""
        if not key or key.startswith(("/", "\\")) or "\x00" in key:
            raise BadInput("invalid storage key", code="bad_key")
        p = (self.root / key).resolve()
        if self.root not in p.parents:
            raise BadInput("invalid storage key", code="bad_key")
        return p

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def open_existing(self, key: str) -> Path:
        p = self.path(key)
        if not p.is_file():
            raise NotFound("the stored file is missing", code="file_missing")
        return p

    def new_temp_file(self, suffix: str = "") -> Path:
        fd, name = tempfile.mkstemp(prefix="upload-", suffix=suffix, dir=self.temp_root)
        os.close(fd)
        return Path(name)

    async def receive(self, chunks: AsyncIterable[bytes], max_bytes: int) -> tuple[Path, str, int]:
        """Stream ``chunks`` into a temp file while hashing; never holds the whole file in memory."""
        tmp = self.new_temp_file()
        digest = hashlib.sha256()
        size = 0
        try:
            with open(tmp, "wb") as fh:
                async for chunk in chunks:
                    if not chunk:
                        continue
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(f"the upload is larger than the {max_bytes // (1024 * 1024)} MB limit",
                                       code="too_large")
                    digest.update(chunk)
                    fh.write(chunk)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp, digest.hexdigest(), size

    def adopt_upload(self, tmp: Path, sha256: str) -> StoredBlob:
        """Move a received temp file to its content address (or drop it when already stored)."""
        key = f"uploads/{sha256[:2]}/{sha256}"
        dest = self.path(key)
        size = tmp.stat().st_size
        if dest.is_file():
            tmp.unlink(missing_ok=True)
            return StoredBlob(key, sha256, size, dest, deduplicated=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, dest)
        return StoredBlob(key, sha256, size, dest)

    def store_output(self, job_id: str, filename: str, src: Path) -> StoredBlob:
        """Move a finished output into ``outputs/<job>/`` and hash it."""
        safe = Path(filename).name
        key = f"outputs/{job_id}/{safe}"
        dest = self.path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with open(src, "rb") as fh:
            for block in iter(lambda: fh.read(CHUNK), b""):
                digest.update(block)
        shutil.move(str(src), dest)
        return StoredBlob(key, digest.hexdigest(), dest.stat().st_size, dest)

    def job_scratch(self, job_id: str) -> Path:
        """A fresh scratch folder for one job attempt."""
        p = self.temp_root / f"job-{job_id}-{uuid.uuid4().hex[:8]}"
        p.mkdir(parents=True)
        return p

    def delete(self, key: str) -> None:
        p = self.path(key)
        p.unlink(missing_ok=True)

    def delete_job_outputs(self, job_id: str) -> None:
        shutil.rmtree(self.path(f"outputs/{job_id}"), ignore_errors=True)


def make_storage(data_dir: str | Path) -> LocalStorage:
    return LocalStorage(data_dir)
