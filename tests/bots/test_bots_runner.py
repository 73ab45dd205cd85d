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


def test_telegram_limits_follow_the_bot_api_server():
    official = load_bot_settings(environ={})
    assert official.telegram_endpoints() is None
    assert official.telegram_limits().download_bytes == 20 * 2**20
    assert official.telegram_limits().upload_bytes == 50 * 2**20
    own = load_bot_settings(environ={"MOODMIX_TELEGRAM_API_URL": "http://bot-api:8081/"})
    assert own.telegram_endpoints() == ("http://bot-api:8081/bot", "http://bot-api:8081/file/bot")
    assert own.telegram_limits().download_bytes == own.telegram_limits().upload_bytes == 2000 * 2**20
    capped = load_bot_settings(environ={"MOODMIX_TELEGRAM_API_URL": "http://bot-api:8081",
                                        "MOODMIX_TELEGRAM_DOWNLOAD_LIMIT_MB": "500"})
    assert capped.telegram_limits().download_bytes == 500 * 2**20


async def test_self_hosted_bot_api_server_from_settings_takes_big_files(tmp_path):
    """Only ``MOODMIX_TELEGRAM_API_URL`` points the bot at the (fake) server, and its 2 GB limit applies."""
    settings = load_settings(environ=engine_env(tmp_path / "data"))
    fake = await FakeTelegram().start()
    bots = load_bot_settings(environ={"MOODMIX_TELEGRAM_TOKEN": TOKEN,
                                      "MOODMIX_TELEGRAM_API_URL": f"http://127.0.0.1:{fake.port}"})
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, ["telegram"], bots=bots, stop=stop))
    try:
        ann = fake.user(1001)
        await fake.send_text(ann, "/help")
        help_text = (await fake.wait_for("sendMessage", timeout=60)).fields["text"]
        assert "up to 2000 MB" in help_text
        # 25 MB is over Telegram's own 20 MB, not over the self-hosted server's limit: the bot takes it
        # (and then finds these bytes are not audio).
        await fake.send_audio(ann, b"\x00" * 100, file_name="big.wav", size=25 * 1024 * 1024, as_document=True)
        reply = await fake.wait_for("editMessageText", lambda c: "big.wav" in c.fields["text"], timeout=60)
        assert "at most" not in reply.fields["text"]
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await fake.stop()
