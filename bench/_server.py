"""Start and stop a real `moodmix serve` process on loopback for benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(server: str = "granian", **env: str):
    data = Path(tempfile.mkdtemp(prefix="moodmix-bench-"))
    port = free_port()
    full_env = {**os.environ, "MOODMIX_DATA_DIR": str(data), "MOODMIX_SECRET_KEY": "bench-secret",
                "MOODMIX_RATE_LIMIT": "100000000", "MOODMIX_LOG_LEVEL": "WARNING", "HF_HUB_OFFLINE": "1", **env}
    proc = subprocess.Popen([sys.executable, "-m", "moodmix", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--server", server], env=full_env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("server did not start")
        yield base, data
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
