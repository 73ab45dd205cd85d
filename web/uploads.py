"""Streaming upload bodies: multipart/form-data (field ``file``) or a raw audio body.

Litestar's own multipart parsing reads the whole body into memory first; uploads
can be 100 MB, so we feed the request stream through python-multipart's
push parser and hand file bytes onward as they arrive.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

from litestar import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from moodmix.engine.errors import BadInput


@dataclass
class _PartState:
    headers: dict[str, bytes] = field(default_factory=dict)
    field_name: str = ""
    header_field: bytes = b""
    header_value: bytes = b""
    filename: str | None = None
    in_file: bool = False
    file_done: bool = False
    pending: list[bytes] = field(default_factory=list)


def part_filename(opts: dict[bytes, bytes]) -> str:
    """The part's file name: RFC 5987 ``filename*=UTF-8''…`` wins over a plain (UTF-8) ``filename``."""
    extended = opts.get(b"filename*")
    if extended:
        charset, _, rest = extended.partition(b"'")
        _, _, encoded = rest.partition(b"'")
        try:
            return unquote_to_bytes(encoded.decode("ascii")).decode(charset.decode("ascii") or "utf-8")
        except (LookupError, UnicodeDecodeError):
            pass
    return (opts.get(b"filename") or b"upload").decode("utf-8", "replace")


class UploadStream:
    """Async iterator of the uploaded file's bytes; ``filename`` is known after the first chunk."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.filename: str | None = None
        ctype = request.headers.get("content-type", "")
        self._kind, params = parse_options_header(ctype)
        self._boundary = params.get(b"boundary")
        if self._kind == b"multipart/form-data":
            if not self._boundary:
                raise BadInput("multipart upload without a boundary", code="bad_upload")
        else:
            self.filename = request.query_params.get("filename") or "upload"

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._kind != b"multipart/form-data":
            async for chunk in self.request.stream():
                yield chunk
            return
        state = _PartState()
        found = False

        def on_part_begin() -> None:
            state.headers, state.filename, state.field_name = {}, None, ""

        def on_header_field(data: bytes, start: int, end: int) -> None:
            state.header_field += data[start:end]

        def on_header_value(data: bytes, start: int, end: int) -> None:
            state.header_value += data[start:end]

        def on_header_end() -> None:
            # Raw bytes: browsers send UTF-8 file names unescaped, which a str round trip through
            # latin-1 (parse_options_header encodes str that way) cannot carry.
            state.headers[state.header_field.decode("latin-1").lower()] = bytes(state.header_value)
            state.header_field, state.header_value = b"", b""

        def on_headers_finished() -> None:
            _, opts = parse_options_header(state.headers.get("content-disposition", b""))
            state.field_name = opts.get(b"name", b"").decode("utf-8", "replace")
            state.in_file = state.field_name == "file" and not state.file_done
            if state.in_file:
                self.filename = part_filename(opts)

        def on_part_data(data: bytes, start: int, end: int) -> None:
            if state.in_file:
                state.pending.append(bytes(data[start:end]))

        def on_part_end() -> None:
            if state.in_file:
                state.in_file, state.file_done = False, True

        parser = MultipartParser(self._boundary, {
            "on_part_begin": on_part_begin, "on_header_field": on_header_field,
            "on_header_value": on_header_value, "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished, "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        })
        try:
            async for chunk in self.request.stream():
                parser.write(chunk)
                if state.pending:
                    found = True
                    data, state.pending = b"".join(state.pending), []
                    yield data
            parser.finalize()
        except BadInput:
            raise
        except Exception as exc:
            raise BadInput(f"malformed multipart upload: {exc}", code="bad_upload") from exc
        if state.pending:
            found = True
            yield b"".join(state.pending)
        if not found and not state.file_done:
            raise BadInput("no file in the upload: send the audio in a form field named 'file'",
                           code="missing_file")
