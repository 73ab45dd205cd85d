"""``moodmix worker --gpus 0,1``: one worker process per GPU, each pinned to its device.

Each child is an ordinary ``moodmix worker`` with ``CUDA_VISIBLE_DEVICES`` set to one device, so
it sees that GPU as ``cuda:0`` and runs ``gpu_slots`` (default 1) GPU jobs at a time: two models
never share a card. The parent restarts a child that exits on its own and stops them all on
SIGINT/SIGTERM.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time

log = logging.getLogger("moodmix.worker")


def parse_devices(raw: str) -> list[str]:
    devices = [d.strip() for d in raw.split(",") if d.strip()]
    if not devices or not all(d.isdigit() for d in devices) or len(set(devices)) != len(devices):
        raise ValueError(f"--gpus takes distinct device numbers separated by commas (e.g. 0,1), not {raw!r}")
    return devices


def run_device_workers(devices: list[str], worker_args: list[str], config: str | None = None) -> int:
    """Run one ``moodmix worker worker_args…`` per device until told to stop; returns an exit code."""
    base = [sys.executable, "-m", "moodmix", *(["--config", config] if config else []), "worker", *worker_args]
    stopping = False

    def start(device: str) -> subprocess.Popen:
        log.info("starting the worker for GPU %s", device)
        return subprocess.Popen(base, env={**os.environ, "CUDA_VISIBLE_DEVICES": device})

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for proc in children.values():
            if proc.poll() is None:
                proc.send_signal(signum)

    children = {device: start(device) for device in devices}
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping:
        time.sleep(0.5)
        for device, proc in list(children.items()):
            if proc.poll() is not None and not stopping:
                log.warning("the worker for GPU %s exited (code %s); starting it again", device, proc.returncode)
                time.sleep(1.0)
                children[device] = start(device)
    for proc in children.values():
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0
