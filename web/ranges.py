"""File downloads with HTTP Range support (206), so browsers can seek in audio.

Litestar's File response serves whole files only; this adds single byte ranges
(``bytes=a-b``, ``bytes=a-``, ``bytes=-n``) streamed in 256 KiB blocks.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import anyio
from litestar import Request, Response
from litestar.response import Stream

from moodmix.web.envelope import fail

BLOCK = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


async def _read(path: Path, start: int, length: int) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as fh:
        await fh.seek(start)
        remaining = length
        while remaining > 0:
            chunk = await fh.read(min(BLOCK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk


def file_response(request: Request, path: Path, filename: str, content_type: str,
                  *, inline: bool = True) -> Response | Stream:
    size = os.stat(path).st_size
    disposition = "inline" if inline else "attachment"
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(filename)}",
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
    return Stream(_read(path, start, length), status_code=status, media_type=content_type, headers=headers)
