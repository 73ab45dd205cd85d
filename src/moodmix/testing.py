"""Helpers for testing moodmix and moodmix plugins (used by our own tests too).

- :func:`make_registry` — a registry with the built-ins plus extra plugin objects;
- :func:`run_local` — run a capability on local files, as ``moodmix run`` does;
- :func:`tone`, :func:`click_track`, :func:`write_wav` — short generated audio.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from moodmix.engine import audio_io
from moodmix.engine.capability import RunResult
from moodmix.engine.config import Settings, load_settings
from moodmix.engine.execution import run_capability
from moodmix.engine.plugin_manager import build_plugin_manager
from moodmix.engine.registry import Registry


def make_registry(*plugins: Any, settings: Settings | None = None) -> Registry:
    """Registry of the installed plugins plus ``plugins`` (modules or objects with hookimpls)."""
    return Registry.from_plugin_manager(build_plugin_manager(settings, extra=plugins))


def run_local(name: str, output_dir: Path, *, inputs: dict[str, Path] | None = None,
              texts: dict[str, str] | None = None, params: dict[str, Any] | None = None,
              registry: Registry | None = None, settings: Settings | None = None,
              progress: list | None = None) -> RunResult:
    """Run capability ``name``; when ``progress`` is a list, every report is appended to it."""
    reg = registry or make_registry()

    def record(fraction: float, message: str | None = None) -> None:
        if progress is not None:
            progress.append((fraction, message))

    return run_capability(reg, name, inputs=inputs, texts=texts, params=params, output_dir=output_dir,
                          settings=settings or load_settings(environ={}), progress=record)


def tone(freq: float = 440.0, seconds: float = 2.0, sr: int = 22050, amp: float = 0.3,
         channels: int = 1) -> np.ndarray:
    """A sine tone shaped ``(channels, frames)``."""
    t = np.arange(int(seconds * sr)) / sr
    y = (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.repeat(y[None, :], channels, axis=0)


def click_track(bpm: float = 120.0, seconds: float = 8.0, sr: int = 22050, amp: float = 0.8) -> np.ndarray:
    """Short decaying noise bursts on every beat, shaped ``(1, frames)``."""
    rng = np.random.default_rng(0)
    y = np.zeros(int(seconds * sr), dtype=np.float32)
    burst = (rng.standard_normal(int(0.03 * sr)) * np.exp(-np.linspace(0, 8, int(0.03 * sr)))).astype(np.float32)
    step = 60.0 / bpm
    t = 0.0
    while t < seconds:
        i = int(t * sr)
        seg = burst[: max(0, min(len(burst), len(y) - i))]
        y[i:i + len(seg)] += amp * seg
        t += step
    return y[None, :]


def write_wav(path: Path, audio: np.ndarray, sr: int = 22050) -> Path:
    return audio_io.save_audio(path, audio, sr, format="wav")
