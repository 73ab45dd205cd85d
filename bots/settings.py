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


def load_bot_settings(config_file: str | Path | None = None, environ: dict[str, str] | None = None) -> BotSettings:
    """``[bots]`` of the TOML file (``config_file``, else ``MOODMIX_CONFIG``), then the environment."""
    return load_section(BotSettings, toml_table="bots", env_prefix="MOODMIX_", config_file=config_file,
                        environ=environ)
