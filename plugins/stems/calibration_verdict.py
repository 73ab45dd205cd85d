"""A calibration's measured SNR kept beside the graph it was measured on, under a key that says what
measured it (the library's version, the CPU's capabilities): OpenVINO's bfloat16 and ONNX Runtime's
int8 calibrations each store one, so a later process decides without measuring again."""

from __future__ import annotations

import json
import os
from pathlib import Path


def read_snr(path: Path, key: str) -> float | None:
    """The SNR (dB) stored at ``path`` under ``key``; ``None`` when missing, unreadable or another key's."""
    try:
        doc = json.loads(path.read_text())
        return float(doc["snr_db"]) if doc.get("key") == key else None
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing or unreadable: calibrate again


def write_snr(path: Path, key: str, snr: float) -> None:
    """Store ``snr`` under ``key`` at ``path`` atomically (a killed writer leaves a ``.<pid>.tmp`` that the
    export cache's sweep removes)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"key": key, "snr_db": snr}))
    tmp.replace(path)
