"""The storage interface shared by every backend, and the parts they have in common."""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from moodmix.engine.errors import BadInput, TooLarge

CHUNK = 1 << 20


@dataclass(frozen=True)
class StoredBlob:
    key: str
    sha256: str
    size: int
    deduplicated: bool = False


def check_key(key: str) -> str:
    """Refuse keys that could escape the storage root."""
    if not key or key.startswith(("/", "\\")) or "\x00" in key or "\\" in key:
        raise BadInput("invalid storage key", code="bad_key")
    parts = PurePosixPath(key).parts
    if any(p in ("..", ".", "") for p in parts):
        raise BadInput("invalid storage key", code="bad_key")
    return key


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def upload_key(sha256: str) -> str:
    return f"uploads/{sha256[:2]}/{sha256}"


def output_key(job_id: str, filename: str) -> str:
    return check_key(f"outputs/{job_id}/{Path(filename).name}")


def derived_key(sha256: str, name: str) -> str:
    """Where a file made from stored content lives (a playable preview, waveform peaks), by content hash."""
    return check_key(f"derived/{sha256[:2]}/{sha256}/{Path(name).name}")


class Storage(ABC):
    """What the engine needs from a storage backend."""

    scratch_root: Path

    def _init_scratch(self, scratch_root: str | Path) -> None:
        self.scratch_root = Path(scratch_root).resolve()
        self.scratch_root.mkdir(parents=True, exist_ok=True)

    # ---- local scratch (same for every backend) ---------------------------------------------------
    def new_temp_file(self, suffix: str = "") -> Path:
        fd, name = tempfile.mkstemp(prefix="upload-", suffix=suffix, dir=self.scratch_root)
        os.close(fd)
        return Path(name)

    def job_scratch(self, job_id: str) -> Path:
        p = self.scratch_root / f"job-{job_id}-{uuid.uuid4().hex[:8]}"
        p.mkdir(parents=True)
        return p

    async def receive(self, chunks: AsyncIterable[bytes], max_bytes: int) -> tuple[Path, str, int]:
        """Stream ``chunks`` into a local temp file while hashing; never holds the whole file in memory."""
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

    # ---- backend-specific -----------------------------------------------------------------------
    @abstractmethod
    async def adopt_upload(self, tmp: Path, sha256: str) -> StoredBlob:
        """Store a received temp file at its content address (consumes ``tmp``)."""

    @abstractmethod
    async def put_output(self, job_id: str, filename: str, src: Path, sha256: str) -> StoredBlob:
        """Store a finished job output whose hash the caller computed (consumes ``src``)."""

    @abstractmethod
    async def put_derived(self, key: str, src: Path) -> StoredBlob:
        """Store a file made from stored content at ``key`` (from :func:`derived_key`; consumes ``src``)."""

    @abstractmethod
    async def fetch(self, key: str, dest_dir: Path) -> Path:
        """A local file holding ``key``'s bytes (downloaded into ``dest_dir`` when remote)."""

    @abstractmethod
    async def size(self, key: str) -> int:
        """Size in bytes; raises NotFound when the object is missing."""

    @abstractmethod
    def read_range(self, key: str, start: int, length: int) -> AsyncIterator[bytes]:
        """Stream ``length`` bytes from ``start``."""

    @abstractmethod
    async def delete(self, key: str) -> None: ...

    @abstractmethod
    async def delete_prefix(self, prefix: str) -> None: ...

    def presigned_url(self, key: str, filename: str, content_type: str, expires_s: int = 900) -> str | None:
        """A direct download URL, when the backend has such a thing and it is enabled."""
        return None
