"""Settings from ``MOODMIX_*`` environment variables or a TOML file.

Precedence: environment > TOML file (``MOODMIX_CONFIG`` or ``--config``) > defaults.
Defaults give the embedded setup: SQLite, in-process queue, local data folder.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

import msgspec

DEFAULT_SECRET = "moodmix-dev-secret-change-me"


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """All configuration. Field ``foo_bar`` is read from ``MOODMIX_FOO_BAR``."""

    mode: Literal["development", "production"] = "development"
    data_dir: str = "./data"
    database_url: str = ""  # empty: sqlite:///<data_dir>/moodmix.sqlite
    redis_url: str = ""  # empty: in-process broker
    storage_url: str = ""  # empty: the data folder; s3://bucket/prefix?endpoint=…&region=…
    s3_endpoint_url: str = ""
    s3_region: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    s3_presign_downloads: bool = False
    share_link_max_days: float = 30.0
    secret_key: str = DEFAULT_SECRET
    jwt_expiry_days: float = 7.0
    # Limits
    max_upload_mb: float = 100.0
    max_audio_minutes: float = 20.0
    rate_limit: int = 100
    rate_limit_window_s: int = 900
    cors_origins: list[str] = msgspec.field(default_factory=lambda: ["*"])
    # Jobs
    job_time_limit_s: float = 600.0
    job_retries: int = 3
    retry_backoff_s: float = 2.0
    worker_concurrency: int = 1
    stall_timeout_s: float = 120.0
    queue_name: str = "moodmix:jobs"
    embedded_worker: bool = True
    # Models and devices
    device: str = "auto"  # auto | cpu | cuda
    model_dir: str = ""  # local folder with model weights (demucs .th/.yaml, musicgen folders)
    # never | ask (only `moodmix run` in a terminal asks) | auto (download when needed, workers too)
    model_download: Literal["never", "ask", "auto"] = "ask"
    mood_model: str = ""  # path of a trained mood model (default: the shipped one)
    # Bots
    discord_token: str = ""
    telegram_token: str = ""
    bot_api_url: str = ""  # empty: bots use the service layer in-process
    bot_service_token: str = ""
    public_url: str = "http://127.0.0.1:8000"
    # Plugins: entry-point names to skip, or (when set) the only ones to load
    disable_plugins: list[str] = msgspec.field(default_factory=list)
    load_plugins: list[str] | None = None
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one JSON object per line, with job ids
    metrics_token: str = ""  # non-empty: GET /metrics needs "Authorization: Bearer <token>"

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser().resolve()

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_path / 'moodmix.sqlite'}"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_audio_seconds(self) -> float:
        return self.max_audio_minutes * 60.0

    @property
    def resolved_device(self) -> str:
        if self.device != "auto":
            return self.device
        try:
            import torch

            return "cuda" if torch.cuda.is_available() else "cpu"
        except Exception:
            return "cpu"


_FIELD_TYPES = {name: typ for name, typ in Settings.__annotations__.items()}


def _from_env(environ: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in Settings.__struct_fields__:
        key = f"MOODMIX_{name.upper()}"
        if key not in environ:
            continue
        raw = environ[key]
        if name in ("cors_origins", "disable_plugins", "load_plugins"):
            out[name] = [p.strip() for p in raw.split(",") if p.strip()]
        elif name in ("embedded_worker", "s3_presign_downloads"):
            out[name] = raw.strip().lower() in ("1", "true", "yes", "on")
        else:
            out[name] = raw
    return out


def load_settings(config_file: str | Path | None = None, environ: dict[str, str] | None = None,
                  **overrides: Any) -> Settings:
    """Build settings; raises ``ValueError`` naming the bad key on invalid values."""
    environ = dict(os.environ if environ is None else environ)
    data: dict[str, Any] = {}
    path = config_file or environ.get("MOODMIX_CONFIG")
    if path:
        with open(path, "rb") as fh:
            toml = tomllib.load(fh)
        data.update(toml.get("moodmix", toml))
    data.update(_from_env(environ))
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        settings = msgspec.convert(data, type=Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ValueError(f"invalid configuration: {exc}") from exc
    if settings.mode == "production" and settings.secret_key == DEFAULT_SECRET:
        raise ValueError("refusing to start in production mode with the default secret key: "
                         "set MOODMIX_SECRET_KEY")
    return settings
