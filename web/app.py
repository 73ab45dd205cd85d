"""Build the Litestar application around one :class:`~moodmix.engine.runtime.Runtime`."""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar, MediaType, Request, get
from litestar.config.compression import CompressionConfig
from litestar.config.cors import CORSConfig
from litestar.logging.config import LoggingConfig
from litestar.static_files import create_static_files_router

from moodmix import __version__
from moodmix.engine.config import Settings, load_settings
from moodmix.engine.logging_setup import configure_logging
from moodmix.engine.plugin_manager import get_plugin_manager
from moodmix.engine.runtime import Runtime
from moodmix.engine.scratch_cleanup import remove_orphan_scratch
from moodmix.engine.service import Service
from moodmix.web.allow import allow_every_method
from moodmix.web.errors import HANDLERS
from moodmix.web.openapi_docs import docs_assets_router, document_responses, openapi_config
from moodmix.web.plugin_routes import plugin_routers
from moodmix.web.rate_limit import make_rate_limit
from moodmix.web.request import MoodmixRequest
from moodmix.web.routes.auth import AuthController
from moodmix.web.routes.capabilities import CapabilitiesController
from moodmix.web.routes.files import FilesController
from moodmix.web.routes.health import health, ready
from moodmix.web.routes.jobs import JobsController
from moodmix.web.routes.metrics import metrics
from moodmix.web.routes.shares import SharesController, open_media, open_share
from moodmix.web.security_headers import security_headers_middleware

STATIC_DIR = Path(__file__).parent / "static"
log = logging.getLogger("moodmix.web")


@get("/", media_type=MediaType.HTML, include_in_schema=False)
async def index(request: Request) -> str:
    page = STATIC_DIR / "index.html"
    if page.is_file():
        return page.read_text(encoding="utf-8")
    return "<!doctype html><title>moodmix</title><h1>moodmix</h1><p>API at <a href='/schema'>/schema</a></p>"


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None, pm=None,
               freeze_heap: bool = False) -> Litestar:
    """``freeze_heap`` (the server): once started, the objects made so far (modules, routes, plugins) leave
    the garbage collector's view (``gc.freeze``). In an HTTP worker they are ~120k; each full collection
    walked them all and paused every request in flight by 50-170 ms (measured under load)."""
    settings = settings or load_settings()
    pm = pm or (runtime.pm if runtime else get_plugin_manager())  # routes are read now, before start-up

    @asynccontextmanager
    async def lifespan(app: Litestar):
        rt = runtime or await Runtime.start(settings, pm=pm, role="api")
        app.state.runtime = rt
        app.state.service = Service(rt)
        if rt.runner is not None:  # embedded: this process runs jobs, so it owns the scratch folder
            await remove_orphan_scratch(rt)
        if freeze_heap:
            gc.collect()
            gc.freeze()
        log.info("moodmix %s ready: capabilities %s", __version__, ", ".join(sorted(rt.registry.capabilities)))
        try:
            yield
        finally:
            await app.state.service.close()
            if runtime is None:
                await rt.stop()

    return document_responses(Litestar(
        route_handlers=[AuthController, FilesController, CapabilitiesController, JobsController, SharesController,
                        open_share, open_media, health, ready, metrics, *plugin_routers(pm),
                        index, create_static_files_router(path="/static", directories=[STATIC_DIR],
                                                          include_in_schema=False), docs_assets_router()],
        lifespan=[lifespan],
        exception_handlers=HANDLERS,
        request_class=MoodmixRequest,
        cors_config=CORSConfig(allow_origins=settings.cors_origins, allow_headers=["*"],
                               allow_methods=["GET", "POST", "DELETE", "OPTIONS"]),
        middleware=[security_headers_middleware,
                    make_rate_limit(settings.rate_limit, settings.rate_limit_window_s, settings.redis_url,
                                    secret_key=settings.secret_key)],
        # JSON and the page compress well; audio is already compressed and is served with Range.
        compression_config=CompressionConfig(
            backend="brotli", brotli_gzip_fallback=True, minimum_size=500,
            exclude=[r"/download$", r"/outputs/[^/]+$", r"^/s/", r"^/m/", r"/events$"]),
        openapi_config=openapi_config("moodmix", __version__),
        before_send=[allow_every_method],
        request_max_body_size=int(settings.max_upload_bytes + 1024 * 1024),
        # Leave the root logger to engine/logging_setup.py (text or JSON lines, with job ids).
        logging_config=LoggingConfig(configure_root_logger=False),
        debug=False,
    ), share_max_s=settings.share_link_max_days * 86400)


def app_from_env() -> Litestar:
    """Factory for ASGI servers (``granian --factory moodmix.web.app:app_from_env``)."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings, freeze_heap=True)
