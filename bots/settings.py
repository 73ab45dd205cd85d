"""The bots' own settings: ``[bots]`` in the TOML file, or ``MOODMIX_<FIELD>`` environment variables.

They live here, not in the engine's settings: the engine serves the bots as it serves
any front end and knows nothing of chat tokens.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from moodmix.engine.config import load_section


class BotSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Field ``foo`` is ``[bots] foo`` in the TOML file or ``MOODMIX_FOO`` in the environment."""

    discord_token: str = ""
    telegram_token: str = ""
    bot_api_url: str = ""  # empty: the bots use the service layer in-process
    bot_service_token: str = ""  # from `moodmix service-token` on the server at bot_api_url
    #: Address of a self-hosted Telegram Bot API server (``http://host:8081``); empty: api.telegram.org.
    #: A self-hosted server lifts Telegram's bot file limits from 20 MB down / 50 MB up to 2 GB each.
    telegram_api_url: str = ""
    #: The server runs with ``--local``: downloads are file paths on a disk the bot shares with it.
    telegram_local_mode: bool = False
    #: Override the file limits in MB (0: follow the server: 20/50 for Telegram's, 2000/2000 self-hosted).
    telegram_download_limit_mb: float = 0
    telegram_upload_limit_mb: float = 0
    #: Discord's REST API base (``https://discord.com/api/v10``) and gateway (``wss://gateway.discord.gg``);
    #: empty: Discord's own. For tests and proxies.
    discord_api_url: str = ""
    discord_gateway_url: str = ""
    #: Redis shared by bot replicas for per-user limits (``redis://host:6379/0``); empty: the engine's
    #: ``MOODMIX_REDIS_URL`` when it has one, else limits are kept in this process.
    bot_redis_url: str = ""

    def telegram_endpoints(self) -> tuple[str, str] | None:
        """``(base_url, base_file_url)`` for python-telegram-bot, or ``None`` for Telegram's own servers."""
        if not self.telegram_api_url:
            return None
        root = self.telegram_api_url.rstrip("/")
        return f"{root}/bot", f"{root}/file/bot"

    def redis_url(self, engine_redis_url: str = "") -> str:
        return self.bot_redis_url or engine_redis_url

    def telegram_limits(self) -> TelegramLimits:
        own_server = bool(self.telegram_api_url)
        down = self.telegram_download_limit_mb or (2000 if own_server else 20)
        up = self.telegram_upload_limit_mb or (2000 if own_server else 50)
        return TelegramLimits(download_bytes=int(down * MB), upload_bytes=int(up * MB))


MB = 1024 * 1024


class TelegramLimits(msgspec.Struct, frozen=True):
    """What the Bot API server lets a bot download (user uploads) and upload (results)."""

    download_bytes: int = 20 * MB
    upload_bytes: int = 50 * MB


def load_bot_settings(config_file: str | Path | None = None, environ: dict[str, str] | None = None) -> BotSettings:
    """``[bots]`` of the TOML file (``config_file``, else ``MOODMIX_CONFIG``), then the environment."""
    return load_section(BotSettings, toml_table="bots", env_prefix="MOODMIX_", config_file=config_file,
                        environ=environ)
