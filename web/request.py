"""The request class: JSON bodies that cannot be decoded are the client's fault (400), whatever the reason.

msgspec decodes nested JSON recursively; a body nested a few thousand levels deep (``[[[[…]]]]``)
raises ``RecursionError`` inside Litestar's decoder, which is not a ``ValidationException`` and
would otherwise leave as a 500 on routes that need no login (``/auth/login``).
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from moodmix.engine.errors import MoodmixError


class MoodmixRequest(Request):
    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            raise MoodmixError("the JSON body is nested too deeply", code="bad_json", status=400) from None
