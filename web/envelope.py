"""The seed's response envelope ``{success, message, data, error}``."""

from __future__ import annotations

from typing import Any

from litestar import Response


def success(data: Any = None, message: str = "ok") -> dict:
    """The envelope of a successful answer (``ok`` sends it; the status route keeps it encoded)."""
    return {"success": True, "message": message, "data": data, "error": None}


def ok(data: Any = None, message: str = "ok", status: int = 200) -> Response:
    return Response(success(data, message), status_code=status)


def fail(status: int, code: str, message: str, details: dict | None = None,
         headers: dict[str, str] | None = None) -> Response:
    body = {"success": False, "message": message, "data": None,
            "error": {"code": code, "message": message, **({"details": details} if details else {})}}
    return Response(body, status_code=status, headers=headers)
