"""Fixtures of the hardening suite (the machinery lives in stack.py)."""

from __future__ import annotations

import pytest
from hardening.stack import QUEUED_CONFIGS, app_client
from support import CONFIGS, require_services


@pytest.fixture(params=CONFIGS)
def stack_config(request) -> str:
    if request.param in QUEUED_CONFIGS:
        require_services()
    return request.param


@pytest.fixture
async def stack(stack_config, tmp_path, monkeypatch):
    """Like ``api``, on a private database: the client, with ``.worker``, ``.config_name`` and ``.data_dirs``."""
    async with app_client(stack_config, tmp_path, monkeypatch) as client:
        yield client
