"""Settings from ``MOODMIX_*`` environment variables or a TOML file.

Precedence: environment > TOML file (``MOODMIX_CONFIG`` or ``--config``) > defaults.
Defaults give the embedded setup: SQLite, in-process queue, local data folder.

One TOML file serves everyone: the engine reads ``[moodmix]`` (or the top-level keys),
each plugin its ``[plugins.NAME]`` table (kept raw in :attr:`Settings.plugins` and
validated by the registry against the plugin's own struct), and a front end such as the
bots its own table through :func:`load_section`.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path
from typing import Any, Literal

import msgspec

DEFAULT_SECRET = "moodmix-dev-secret-change-me"
LOCAL_URL = "http://127.0.0.1:8000"


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
    #: A running job whose heartbeat (every stall_timeout_s / 4, at most 5 s) is older than this is
    #: taken over by another worker; the sweep looks every stall_timeout_s / 2.
    stall_timeout_s: float = 15.0
    queue_name: str = "moodmix:jobs"
    embedded_worker: bool = True
    # Pools and fair scheduling (engine/jobs/pools.py, engine/jobs/scheduler.py)
    #: Capability -> pool ("gpu" or "cpu"), overriding what its resources declare; env: ``stems:gpu,slow:cpu``.
    pool_routes: dict[str, str] = msgspec.field(default_factory=dict)
    worker_pool: Literal["all", "gpu", "cpu"] = "all"  # the pools `moodmix worker` takes jobs from
    drain_cpu: bool = False  # a gpu worker also takes cpu-pool jobs while it has nothing running
    gpu_slots: int = 1  # GPU jobs one process runs at once (one process per device)
    max_running_per_user: int = 2  # a user's jobs running at once in one pool (0: no cap)
    eta_history: int = 20  # finished jobs per capability the queue ETA is estimated from
    idle_poll_s: float = 1.0  # how often a worker with a free slot looks for claimable jobs
    # Models and devices
    device: str = "auto"  # auto | cpu | cuda
    model_dir: str = ""  # local folder with model weights (demucs .th/.yaml, musicgen folders)
    # never | ask (only `moodmix run` in a terminal asks) | auto (download when needed, workers too)
    model_download: Literal["never", "ask", "auto"] = "ask"
    #: Where the public reaches the server (share links, bots' links). Empty: the web API uses each request's
    #: own base URL; front ends without a request (bots) fall back to LOCAL_URL.
    public_url: str = ""
    # Plugins: entry-point names to skip, or (when set) the only ones to load
    disable_plugins: list[str] = msgspec.field(default_factory=list)
    load_plugins: list[str] | None = None
    #: Raw per-plugin settings: ``[plugins.NAME]`` tables and ``MOODMIX_PLUGINS__NAME__FIELD`` variables.
    plugins: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one JSON object per line, with job ids
    metrics_token: str = ""  # non-empty: GET /metrics needs "Authorization: Bearer <token>"

    @property
    def public_base_url(self) -> str:
        """``public_url``, or the local default for front ends that have no request to take it from."""
        return self.public_url or LOCAL_URL

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
        if not gpu_driver_visible():
            return "cpu"  # no driver, no GPU: skip importing torch (seconds) to learn that
        try:
            import torch

            return "cuda" if torch.cuda.is_available() else "cpu"
        except Exception:
            return "cpu"


def gpu_driver_visible() -> bool:
    """Whether a CUDA/ROCm driver shows on Linux; elsewhere only torch can tell, so assume it might."""
    if sys.platform != "linux":
        return True
    return any(os.path.exists(p) for p in ("/dev/nvidiactl", "/proc/driver/nvidia", "/dev/kfd", "/dev/dxg"))


#: Top-level TOML tables that belong to someone other than the engine.
OTHER_TABLES = ("plugins", "bots")
PLUGIN_ENV_PREFIX = "MOODMIX_PLUGINS__"


def read_toml(config_file: str | Path | None, environ: dict[str, str]) -> dict[str, Any]:
    """The whole TOML file (``config_file``, else ``MOODMIX_CONFIG``), or ``{}`` when there is none."""
    path = config_file or environ.get("MOODMIX_CONFIG")
    if not path:
        return {}
    with open(path, "rb") as fh:
        try:
            return tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"invalid configuration file {path}: {exc}") from exc


def _engine_table(toml: dict[str, Any]) -> dict[str, Any]:
    """``[moodmix]`` if present, else the top-level keys that are not another owner's table."""
    if "moodmix" in toml:
        return dict(toml["moodmix"])
    return {k: v for k, v in toml.items() if k not in OTHER_TABLES}


def _table(toml: dict[str, Any], dotted: str) -> dict[str, Any]:
    node: Any = toml
    for part in dotted.split("."):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    if not isinstance(node, dict):
        raise ValueError(f"invalid configuration: [{dotted}] must be a table")
    return node


def _plugin_sections(toml: dict[str, Any], environ: dict[str, str]) -> dict[str, dict[str, Any]]:
    """``[plugins.NAME]`` tables (top level or inside ``[moodmix]``), then the environment on top."""
    out: dict[str, dict[str, Any]] = {}
    inside_engine_table = _table(_table(toml, "moodmix"), "plugins")
    for source in (_table(toml, "plugins"), inside_engine_table):
        for name, values in source.items():
            if not isinstance(values, dict):
                raise ValueError(f"invalid configuration: [plugins.{name}] must be a table")
            out.setdefault(name, {}).update(values)
    for key, raw in environ.items():
        if key.startswith(PLUGIN_ENV_PREFIX):
            name, sep, field = key[len(PLUGIN_ENV_PREFIX):].partition("__")
            if sep and name and field:
                out.setdefault(name.lower(), {})[field.lower()] = raw
    return out


def convert_section(data: dict[str, Any], struct_type: type[msgspec.Struct], where: str) -> Any:
    """Validate one settings table; a bad value raises ``ValueError`` naming ``where.FIELD``."""
    try:
        return msgspec.convert(data, type=struct_type, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc).replace("`$.", f"`{where}.").replace("`$`", f"`{where}`")
        raise ValueError(f"invalid configuration: {message}") from exc


def load_section(struct_type: type[msgspec.Struct], *, toml_table: str, env_prefix: str,
                 config_file: str | Path | None = None, environ: dict[str, str] | None = None) -> Any:
    """Settings of one plugin or front end: TOML table ``toml_table``, then ``env_prefix + FIELD``.

    For example ``load_section(BotSettings, toml_table="bots", env_prefix="MOODMIX_")`` reads
    ``[bots] telegram_token = …`` or ``MOODMIX_TELEGRAM_TOKEN``. Environment values are
    coerced to the field's type (``"30"`` → ``30``).
    """
    environ = dict(os.environ if environ is None else environ)
    data = dict(_table(read_toml(config_file, environ), toml_table))
    for name in struct_type.__struct_fields__:
        key = f"{env_prefix}{name.upper()}"
        if key in environ:
            data[name] = environ[key]
    return convert_section(data, struct_type, toml_table)


def _from_env(environ: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in Settings.__struct_fields__:
        key = f"MOODMIX_{name.upper()}"
        if key not in environ or name == "plugins":
            continue
        raw = environ[key]
        if name in ("cors_origins", "disable_plugins", "load_plugins"):
            out[name] = [p.strip() for p in raw.split(",") if p.strip()]
        elif name == "pool_routes":
            out[name] = _routes(raw)
        elif name in ("embedded_worker", "s3_presign_downloads", "drain_cpu"):
            out[name] = raw.strip().lower() in ("1", "true", "yes", "on")
        else:
            out[name] = raw
    return out


def _routes(raw: str) -> dict[str, str]:
    """``"stems:gpu, analyze:cpu"`` -> ``{"stems": "gpu", "analyze": "cpu"}``."""
    routes: dict[str, str] = {}
    for part in (p.strip() for p in raw.split(",")):
        name, sep, pool = part.partition(":")
        if part and not (sep and name.strip()):
            raise ValueError(f"invalid configuration: MOODMIX_POOL_ROUTES entry {part!r} is not capability:pool")
        if part:
            routes[name.strip()] = pool.strip()
    return routes


def load_settings(config_file: str | Path | None = None, environ: dict[str, str] | None = None,
                  **overrides: Any) -> Settings:
    """Build settings; raises ``ValueError`` naming the bad key on invalid values."""
    environ = dict(os.environ if environ is None else environ)
    toml = read_toml(config_file, environ)
    data = _engine_table(toml)
    data.pop("plugins", None)
    data.update(_from_env(environ))
    data["plugins"] = _plugin_sections(toml, environ)
    data.update({k: v for k, v in overrides.items() if v is not None})
    settings = convert_section(data, Settings, "moodmix")
    bad_routes = {k: v for k, v in settings.pool_routes.items() if v not in ("gpu", "cpu")}
    if bad_routes:
        raise ValueError(f"invalid configuration: pool_routes may name only the pools gpu and cpu, got {bad_routes}")
    if settings.mode == "production" and settings.secret_key == DEFAULT_SECRET:
        raise ValueError("refusing to start in production mode with the default secret key: "
                         "set MOODMIX_SECRET_KEY")
    return settings
