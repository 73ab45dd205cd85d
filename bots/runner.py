"""``moodmix bots``: start the Discord and/or Telegram bot on one backend.

The backend is the in-process service layer, or the REST API when ``bot_api_url`` is
set (then jobs run wherever that server sends them). Tokens come from the bots' own
settings (:mod:`moodmix.bots.settings`: ``MOODMIX_DISCORD_TOKEN``, ``MOODMIX_TELEGRAM_TOKEN``
or ``[bots]`` in the TOML file); a bot without one refuses to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from moodmix.bots.backend import BotBackend
from moodmix.bots.core import BotCore
from moodmix.bots.limits import BotLimits, make_limiter
from moodmix.bots.settings import BotSettings, load_bot_settings
from moodmix.engine.config import Settings

log = logging.getLogger("moodmix.bots")

PLATFORMS = ("discord", "telegram")
TOKEN_ENV = {"discord": "MOODMIX_DISCORD_TOKEN", "telegram": "MOODMIX_TELEGRAM_TOKEN"}
HOW_TO = {
    "discord": "create an application at https://discord.com/developers/applications, add a bot and copy "
               "its token",
    "telegram": "talk to @BotFather on Telegram, send /newbot and copy the token it gives you",
}


def token_for(bots: BotSettings, platform: str) -> str:
    return (bots.discord_token if platform == "discord" else bots.telegram_token).strip()


def platforms_to_run(bots: BotSettings, platform: str) -> list[str]:
    """Which bots to start; ``ValueError`` with what to set when a needed token is missing."""
    if platform not in (*PLATFORMS, "all"):
        raise ValueError(f"unknown platform {platform!r}; choose discord, telegram or all")
    if platform != "all":
        if not token_for(bots, platform):
            raise ValueError(f"the {platform} bot needs a token: set {TOKEN_ENV[platform]} "
                             f"({HOW_TO[platform]})")
        return [platform]
    chosen = [p for p in PLATFORMS if token_for(bots, p)]
    if not chosen:
        raise ValueError("no bot token is configured: set MOODMIX_DISCORD_TOKEN and/or MOODMIX_TELEGRAM_TOKEN "
                         "(see `moodmix bots --help`)")
    return chosen


async def make_backend(settings: Settings, bots: BotSettings) -> BotBackend:
    """The REST API when ``bot_api_url`` is set, else the service layer on a Runtime in this process."""
    if bots.bot_api_url:
        from moodmix.bots.http_backend import HttpBackend

        return HttpBackend(bots.bot_api_url, bots.bot_service_token)
    from moodmix.bots.service_backend import ServiceBackend

    return await ServiceBackend.start(settings)


async def serve(settings: Settings, platforms: list[str], *, bots: BotSettings | None = None,
                stop: asyncio.Event | None = None, telegram_api: tuple[str, str] | None = None) -> None:
    """Run the bots until ``stop`` is set (SIGINT/SIGTERM set it) or a bot stops by itself.

    ``bots``: tokens and backend (default: :func:`load_bot_settings` from the environment).

    ``telegram_api``: ``(base_url, base_file_url)`` of another Bot API server, overriding
    ``bots.telegram_api_url`` (a self-hosted server lifts Telegram's 20/50 MB file limits).
    """
    stop = stop or asyncio.Event()
    bots = bots or load_bot_settings()
    backend = await make_backend(settings, bots)
    core = BotCore(backend, public_url=settings.public_base_url, max_input_bytes=settings.max_upload_bytes,
                   limiter=make_limiter(BotLimits.from_env(), bots.redis_url(settings.redis_url)))
    cleanups = []
    try:
        catalog = await core.catalog()
        log.info("bots use capabilities %s", ", ".join(sorted(catalog.capabilities)))
        watched: list[asyncio.Task] = [asyncio.create_task(stop.wait())]
        if "telegram" in platforms:
            from moodmix.bots.telegram_bot import build_application, start_application, stop_application

            base_url, base_file_url = telegram_api or bots.telegram_endpoints() or (None, None)
            app = build_application(core, token_for(bots, "telegram"), base_url=base_url,
                                    base_file_url=base_file_url, limits=bots.telegram_limits(),
                                    local_mode=bots.telegram_local_mode)
            await start_application(app)
            cleanups.append(lambda: stop_application(app))
            log.info("telegram bot polling")
        if "discord" in platforms:
            from moodmix.bots.discord_bot import MoodmixDiscordClient, configure_endpoints

            configure_endpoints(bots.discord_api_url, bots.discord_gateway_url)
            client = MoodmixDiscordClient(core)
            watched.append(asyncio.create_task(client.start(token_for(bots, "discord"))))
            cleanups.append(client.close)
            log.info("discord bot connecting")
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        done, pending = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in done:
            if task.exception() is not None:
                raise task.exception()
    finally:
        for cleanup in reversed(cleanups):
            with contextlib.suppress(Exception):
                await cleanup()
        await backend.close()


def run_bots(settings: Settings, platform: str = "all", bots: BotSettings | None = None) -> None:
    """Entry point of ``moodmix bots``; blocks until interrupted."""
    bots = bots or load_bot_settings()
    platforms = platforms_to_run(bots, platform)
    if bots.bot_api_url and not bots.bot_service_token:
        raise ValueError("MOODMIX_BOT_API_URL is set, so the bots need MOODMIX_BOT_SERVICE_TOKEN too "
                         "(create one with `moodmix service-token` on the API server)")
    asyncio.run(serve(settings, platforms, bots=bots))
