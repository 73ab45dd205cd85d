"""Small helpers every part of the service layer uses."""

from __future__ import annotations

import uuid
from typing import Any

from moodmix.engine.errors import BadInput, NotFound

MAX_PAGE_SIZE = 100


def as_uuid(value: Any, what: str) -> uuid.UUID:
    """``value`` as a UUID; anything else is "<what> not found" (never a 500, never a hint)."""
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise NotFound(f"{what} not found", code=f"{what}_not_found") from None


def page_bounds(page: int, per_page: int) -> tuple[int, int]:
    if page < 1:
        raise BadInput("page must be 1 or more", code="bad_page")
    if not 1 <= per_page <= MAX_PAGE_SIZE:
        raise BadInput(f"per_page must be between 1 and {MAX_PAGE_SIZE}", code="bad_page")
    return page, per_page


def page_of(items: list[dict], page: int, per_page: int, total: int) -> dict:
    return {"items": items, "page": page, "per_page": per_page, "total": total}
