"""``GET /metrics``: Prometheus exposition of jobs, durations and queue depth (see engine/metrics.py)."""

from __future__ import annotations

import asyncio
import hmac
import time

from litestar import Request, Response, get
from prometheus_client import CONTENT_TYPE_LATEST

from moodmix.engine.errors import Unauthorized
from moodmix.engine.metrics import render, take_snapshot

#: A scrape storm must not turn into a storm of aggregate queries: reuse a snapshot this young.
CACHE_S = 1.0


@get("/metrics", include_in_schema=False, media_type=CONTENT_TYPE_LATEST)
async def metrics(request: Request) -> Response[bytes]:
    """Open unless ``MOODMIX_METRICS_TOKEN`` is set; then it needs ``Authorization: Bearer <token>``."""
    rt = request.app.state.runtime
    expected = rt.settings.metrics_token
    if expected:
        given = request.headers.get("authorization", "").partition(" ")[2].strip()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise Unauthorized("metrics need the metrics token", code="token_invalid")
    state = request.app.state
    if "metrics_lock" not in state:
        state.metrics_lock = asyncio.Lock()
    async with state.metrics_lock:
        cached = state.get("metrics_cache")
        if cached is None or time.monotonic() - cached[0] > CACHE_S:
            cached = (time.monotonic(), render(await take_snapshot(rt), rt))
            state.metrics_cache = cached
    return Response(cached[1], media_type=CONTENT_TYPE_LATEST)
