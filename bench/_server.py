"""A real `moodmix serve` process on loopback with a fresh data folder, for the benchmarks."""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from pathlib import Path

import _stack  # noqa: F401  (puts tests/ on sys.path)
from support import real_server


@contextmanager
def running_server(server: str = "granian", **env: str):
    data = Path(tempfile.mkdtemp(prefix="moodmix-bench-"))
    full_env = {"MOODMIX_DATA_DIR": str(data), "MOODMIX_SECRET_KEY": "bench-secret-" + "x" * 24,
                "MOODMIX_RATE_LIMIT": "100000000", "MOODMIX_LOG_LEVEL": "WARNING", "HF_HUB_OFFLINE": "1", **env}
    with real_server(full_env, data / "server.log", server=server) as base:
        yield base, data
