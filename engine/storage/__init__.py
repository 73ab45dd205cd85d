"""File storage behind one interface: the local data folder (default) or any S3-compatible service.

Keys are relative POSIX paths::

    uploads/ab/abcdef…      content-addressed (sha256): the same bytes are stored once
    outputs/<job id>/…      job outputs

Whatever the backend, uploads arrive in a local temp file first (streamed, hashed,
validated) and workers keep only per-job scratch folders locally.
"""

from __future__ import annotations

from moodmix.engine.config import Settings
from moodmix.engine.storage.base import Storage, StoredBlob
from moodmix.engine.storage.local import LocalStorage


def make_storage(settings: Settings) -> Storage:
    """The backend named by ``settings.storage_url`` (empty: the local data folder)."""
    url = settings.storage_url.strip()
    if not url or url.startswith("file://"):
        root = url[len("file://"):] if url else settings.data_path
        return LocalStorage(root, scratch_root=settings.data_path / "temp")
    if url.startswith("s3://"):
        from moodmix.engine.storage.s3 import S3Storage

        return S3Storage.from_settings(settings)
    raise ValueError(f"unsupported storage URL {url!r}: use s3://bucket[/prefix] or leave it empty")


__all__ = ["LocalStorage", "Storage", "StoredBlob", "make_storage"]
