"""Fixtures shared by the plugin tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def fresh_model_cache():
    """An empty demucs model cache before and after the test: models injected with ``model_cache.put``
    and load counts must not leak between tests."""
    from moodmix.plugins.stems import model_cache, recorded_runtime

    model_cache.clear()
    recorded_runtime.forget()
    yield model_cache
    model_cache.clear()
    recorded_runtime.forget()
