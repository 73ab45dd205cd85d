"""File downloads with HTTP Range support (206), so browsers can seek in audio.

Litestar's File response serves whole local files only; this adds single byte ranges
(``bytes=a-b``, ``bytes=a-``, ``bytes=-n``) streamed from any storage backend.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from litestar import Request, Response
from litestar.response import Redirect, Stream

from moodmix.engine.storage import Storage
from moodmix.web.envelope import fail

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def content_disposition(disposition: str, filename: str) -> str:
    """``filename=`` in plain ASCII for old clients, and the real name RFC 5987-encoded in ``filename*=``."""
    fallback = unicodedata.normalize("NFKD", filename.replace("\u2013", "-")).encode("ascii", "ignore").decode()
    fallback = re.sub(r'[^A-Za-z0-9 ._()-]+', "_", fallback).strip() or "download"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def file_response(request: Request, storage: Storage, key: str, filename: str, content_type: str,
                        *, inline: bool = True) -> Response | Stream | Redirect:
    """Serve ``key`` from storage: a presigned redirect when the backend offers one, else streamed."""
    url = storage.presigned_url(key, filename, content_type)
    if url:
        return Redirect(url, status_code=307)
    size = await storage.size(key)
    disposition = "inline" if inline else "attachment"
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(disposition, filename),
        "Cache-Control": "private, max-age=0",
    }
    header = request.headers.get("range")
    start, end = 0, size - 1
    status = 200
    if header:
        m = _RANGE.match(header.strip())
        if not m or (not m.group(1) and not m.group(2)):
            return fail(416, "bad_range", "unsupported Range header (one bytes range only)",
                        headers={"Content-Range": f"bytes */{size}"})
        if m.group(1):
            start = int(m.group(1))
            end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
        else:
            start = max(0, size - int(m.group(2)))
        if start >= size or start > end:
            return fail(416, "bad_range", "the requested range is outside the file",
                        headers={"Content-Range": f"bytes */{size}"})
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    length = end - start + 1
    headers["Content-Length"] = str(length)
    return Stream(storage.read_range(key, start, length), status_code=status, media_type=content_type,
                  headers=headers)
