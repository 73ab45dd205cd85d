"""S3-compatible object storage (AWS S3, MinIO, Ceph) through boto3.

boto3 is the reference client: its transfer manager does multipart uploads and
downloads from/to disk in bounded memory, and it presigns URLs. Its calls are
blocking, so they run in worker threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

from moodmix.engine.config import Settings
from moodmix.engine.errors import NotFound
from moodmix.engine.storage.base import Storage, StoredBlob, check_key, output_key, upload_key

PART = 8 * 1024 * 1024
RANGE_BLOCK = 256 * 1024


class S3Storage(Storage):
    def __init__(self, bucket: str, prefix: str, *, scratch_root: Path, endpoint_url: str | None = None,
                 region: str | None = None, access_key: str | None = None, secret_key: str | None = None,
                 presign: bool = False, create_bucket: bool = False) -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.presign = presign
        self._init_scratch(scratch_root)
        session = boto3.session.Session()
        self.client = session.client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or None,
            aws_access_key_id=access_key or None, aws_secret_access_key=secret_key or None,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=32,
                          signature_version="s3v4"),
        )
        self.transfer = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART, max_concurrency=4,
                                       use_threads=True)
        if create_bucket:
            self._ensure_bucket()

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        """``s3://bucket/prefix?endpoint=http://host:9000&region=eu-west-1`` plus ``MOODMIX_S3_*`` settings."""
        parsed = urlparse(settings.storage_url)
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        return cls(parsed.netloc, parsed.path, scratch_root=settings.data_path / "temp",
                   endpoint_url=query.get("endpoint") or settings.s3_endpoint_url,
                   region=query.get("region") or settings.s3_region,
                   access_key=settings.s3_access_key_id, secret_key=settings.s3_secret_access_key,
                   presign=settings.s3_presign_downloads,
                   create_bucket=query.get("create", "").lower() in ("1", "true", "yes"))

    def _ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)

    def _k(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _missing(self, exc: Exception) -> bool:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        return code in ("404", "NoSuchKey", "NotFound")

    async def adopt_upload(self, tmp: Path, sha256: str) -> StoredBlob:
        key = upload_key(sha256)
        size = tmp.stat().st_size
        try:
            if await self._exists(key):
                return StoredBlob(key, sha256, size, deduplicated=True)
            await asyncio.to_thread(self.client.upload_file, str(tmp), self.bucket, self._k(key),
                                    Config=self.transfer)
        finally:
            tmp.unlink(missing_ok=True)
        return StoredBlob(key, sha256, size)

    async def put_output(self, job_id: str, filename: str, src: Path, sha256: str) -> StoredBlob:
        key = output_key(job_id, filename)
        return StoredBlob(key, sha256, await self._move_up(src, key))

    async def put_derived(self, key: str, src: Path) -> StoredBlob:
        return StoredBlob(key, "", await self._move_up(src, key))

    async def _move_up(self, src: Path, key: str) -> int:
        """Upload ``src`` as ``key`` (multipart, bounded memory) and remove the local file; its size."""
        size = src.stat().st_size
        try:
            await asyncio.to_thread(self.client.upload_file, str(src), self.bucket, self._k(key),
                                    Config=self.transfer)
        finally:
            src.unlink(missing_ok=True)
        return size

    async def _exists(self, key: str) -> bool:
        try:
            await asyncio.to_thread(self.client.head_object, Bucket=self.bucket, Key=self._k(key))
            return True
        except Exception as exc:
            if self._missing(exc):
                return False
            raise

    async def fetch(self, key: str, dest_dir: Path) -> Path:
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / Path(key).name
        try:
            await asyncio.to_thread(self.client.download_file, self.bucket, self._k(key), str(dest),
                                    Config=self.transfer)
        except Exception as exc:
            dest.unlink(missing_ok=True)
            if self._missing(exc):
                raise NotFound("the stored file is missing", code="file_missing") from None
            raise
        return dest

    async def size(self, key: str) -> int:
        try:
            head = await asyncio.to_thread(self.client.head_object, Bucket=self.bucket, Key=self._k(key))
        except Exception as exc:
            if self._missing(exc):
                raise NotFound("the stored file is missing", code="file_missing") from None
            raise
        return int(head["ContentLength"])

    async def read_range(self, key: str, start: int, length: int) -> AsyncIterator[bytes]:
        if length <= 0:
            return
        resp = await asyncio.to_thread(self.client.get_object, Bucket=self.bucket, Key=self._k(key),
                                       Range=f"bytes={start}-{start + length - 1}")
        body = resp["Body"]
        try:
            while True:
                chunk = await asyncio.to_thread(body.read, RANGE_BLOCK)
                if not chunk:
                    break
                yield chunk
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=self._k(key))

    async def delete_prefix(self, prefix: str) -> None:
        full = self._k(prefix.rstrip("/")) + "/"

        def run() -> None:
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys})

        await asyncio.to_thread(run)

    def presigned_url(self, key: str, filename: str, content_type: str, expires_s: int = 900) -> str | None:
        if not self.presign:
            return None
        return self.client.generate_presigned_url(
            "get_object", ExpiresIn=expires_s,
            Params={"Bucket": self.bucket, "Key": self._k(key), "ResponseContentType": content_type,
                    "ResponseContentDisposition": f"inline; filename*=UTF-8''{quote(filename)}"})
