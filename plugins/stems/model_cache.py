"""A process-wide cache of loaded separation models, keyed by (name, device).

Loading htdemucs takes seconds and hundreds of MB; a worker process loads each
model once and reuses it for every job. A per-key lock keeps two threads from
loading the same model twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_models: dict[tuple[str, str], Any] = {}
_locks: dict[tuple[str, str], threading.Lock] = {}
_guard = threading.Lock()
#: How many times each key was actually loaded (tests and ``doctor`` read it).
load_counts: dict[tuple[str, str], int] = {}


def _lock_for(key: tuple[str, str]) -> threading.Lock:
    with _guard:
        return _locks.setdefault(key, threading.Lock())


def get(name: str, device: str) -> Any | None:
    """The cached model, or ``None``."""
    return _models.get((name, device))


def get_or_load(name: str, device: str, loader: Callable[[], Any]) -> tuple[Any, bool]:
    """Return ``(model, loaded_now)``, calling ``loader`` only when the model is not cached."""
    key = (name, device)
    cached = _models.get(key)
    if cached is not None:
        return cached, False
    with _lock_for(key):
        cached = _models.get(key)
        if cached is not None:
            return cached, False
        model = loader()
        _models[key] = model
        load_counts[key] = load_counts.get(key, 0) + 1
        return model, True


def put(name: str, device: str, model: Any) -> None:
    """Insert a ready model (tests inject small random ones; warm-up code may preload)."""
    _models[(name, device)] = model


def clear() -> None:
    """Forget every cached model (frees memory; tests use it for isolation)."""
    with _guard:
        _models.clear()
        load_counts.clear()


def cached_keys() -> list[tuple[str, str]]:
    return sorted(_models)
