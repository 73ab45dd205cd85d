"""Shared set-up for the hardening benches: the test suite's stack helpers and the example plugin.

The benches start real processes (``moodmix serve``, ``moodmix worker``) against private
Postgres databases, exactly as ``tests/hardening`` does, and need the example plugin
(``reverse``, ``slow``, ``flaky``) that the test-suite installs: its source folder carries
the distribution metadata, so putting it on ``PYTHONPATH`` is enough.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_DIST = ROOT / "tests" / "plugin_dist"

for path in (ROOT / "tests", PLUGIN_DIST):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PLUGIN_DIST), os.environ.get("PYTHONPATH")]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"
