"""``moodmix bots``: refusing without a token, and a real start/stop with the in-process backend."""

from __future__ import annotations

import asyncio

from bot_settings import engine_env
from click.testing import CliRunner
from fake_telegram_api import TOKEN, FakeTelegram

from moodmix.bots.runner import serve
from moodmix.bots.settings import load_bot_settings
from moodmix.cli import cli
from moodmix.engine.config import load_settings


def test_cli_refuses_to_start_without_a_token(tmp_path, monkeypatch):
    for key, value in engine_env(tmp_path / "data").items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MOODMIX_TELEGRAM_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["bots", "--platform", "telegram"])
    assert result.exit_code != 0
    assert "MOODMIX_TELEGRAM_TOKEN" in result.output and "BotFather" in result.output


async def test_serve_runs_telegram_until_stopped(tmp_path):
    settings = load_settings(environ=engine_env(tmp_path / "data"))
    bots = load_bot_settings(environ={"MOODMIX_TELEGRAM_TOKEN": TOKEN})
    fake = await FakeTelegram().start()
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, ["telegram"], bots=bots, stop=stop,
                                     telegram_api=(fake.base_url, fake.base_file_url)))
    try:
        await fake.send_text(fake.user(1001), "/help")
        reply = await fake.wait_for("sendMessage", timeout=60)
        assert "/remix" in reply.fields["text"]
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await fake.stop()
    assert task.exception() is None
