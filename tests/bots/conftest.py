"""Fixtures for the bot tests: a real engine Runtime on a temp folder, a BotCore, fake chat servers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import msgspec
from bot_settings import PUBLIC_URL, engine_env
from fake_telegram_api import TOKEN, FakeTelegram

from moodmix.bots.backend import ChatRef
from moodmix.bots.core import BotCore
from moodmix.bots.limits import BotLimits
from moodmix.bots.service_backend import ServiceBackend
from moodmix.engine.config import load_settings
from moodmix.engine.plugin_manager import build_plugin_manager
from moodmix.engine.runtime import Runtime
from moodmix.engine.service import Service


@pytest.fixture
def settings(tmp_path):
    return load_settings(environ=engine_env(tmp_path / "data"))


@pytest.fixture
async def runtime(settings):
    only_builtins = msgspec.structs.replace(settings, disable_plugins=["example"])
    rt = await Runtime.start(settings, pm=build_plugin_manager(only_builtins), role="api")
    try:
        yield rt
    finally:
        await rt.stop()


@pytest.fixture
def service(runtime) -> Service:
    return Service(runtime)


@pytest.fixture
def backend(service) -> ServiceBackend:
    return ServiceBackend(service)


@pytest.fixture
async def core(backend) -> BotCore:
    core = BotCore(backend, public_url=PUBLIC_URL, limits=BotLimits(requests_per_minute=1000),
                   poll_interval=0.1, edit_interval=0.0)
    await core.catalog()
    return core


@pytest.fixture
def ann() -> ChatRef:
    return ChatRef("telegram", "1001", "Ann")


@pytest.fixture
def bob() -> ChatRef:
    return ChatRef("telegram", "1002", "Bob")


@pytest.fixture(scope="session")
def demo_track(tmp_path_factory) -> Path:
    from moodmix.engine.demo import write_demo_track

    return write_demo_track(tmp_path_factory.mktemp("audio") / "demo.wav", seconds=4)


@pytest.fixture
async def telegram(core):
    """A fake Bot API server and our Application polling it; yields ``(fake, app)``."""
    from moodmix.bots.telegram_bot import build_application, start_application, stop_application

    fake = await FakeTelegram().start()
    app = build_application(core, TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url)
    await start_application(app, poll_timeout=1)
    try:
        yield fake, app
    finally:
        await stop_application(app)
        await fake.stop()


@pytest.fixture
async def discord_bot(core, monkeypatch):
    """A fake Discord REST server and our client logged in against it; yields ``(fake, client)``."""
    import discord
    from fake_discord_api import TOKEN as DISCORD_TOKEN
    from fake_discord_api import FakeDiscord

    from moodmix.bots.discord_bot import MoodmixDiscordClient

    fake = await FakeDiscord().start()
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
    client = MoodmixDiscordClient(core)
    await client.login(DISCORD_TOKEN)
    try:
        yield fake, client
    finally:
        await client.close()
        await fake.stop()
