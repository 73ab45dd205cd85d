"""Liveness and readiness."""

from __future__ import annotations

from litestar import Request, Response, get

from moodmix.web.envelope import fail, ok


@get("/health", tags=["health"])
async def health() -> Response:
    return ok({"status": "ok"})


@get("/ready", tags=["health"])
async def ready(request: Request) -> Response:
    """Ready when the database answers (and Redis, when configured)."""
    rt = request.app.state.runtime
    checks: dict[str, str] = {}
    try:
        await rt.db.run_ddl("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {exc}"
    if rt.settings.redis_url:
        try:
            import redis.asyncio as aioredis

            client = aioredis.from_url(rt.settings.redis_url)
            await client.ping()
            await client.aclose()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {exc}"
    if all(v == "ok" for v in checks.values()):
        return ok({"status": "ready", "checks": checks, "capabilities": sorted(rt.registry.capabilities)})
    return fail(503, "not_ready", "a dependency is unavailable", {"checks": checks})
