"""Per-plugin settings (``[plugins.NAME]`` / ``MOODMIX_PLUGINS__NAME__FIELD``) and the bots' own section."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pluggy
import pytest

from moodmix.bots.settings import load_bot_settings
from moodmix.engine import hookspecs
from moodmix.engine.config import load_settings
from moodmix.engine.hookspecs import hookimpl
from moodmix.engine.plugin_manager import build_plugin_manager
from moodmix.engine.registry import Registry

CONFIG = """
[moodmix]
rate_limit = 7

[plugins.mood]
model = "/models/from-toml.joblib"

[plugins.tuner]
limit = 3

[bots]
telegram_token = "1:toml"
"""


class TunerSettings(msgspec.Struct, forbid_unknown_fields=True):
    limit: int = 10
    label: str = "plain"


class Tuner:
    @hookimpl
    def register_settings(self):
        return TunerSettings


def registry_with_tuner(settings) -> Registry:
    pm = pluggy.PluginManager("moodmix")
    pm.add_hookspecs(hookspecs)
    pm.register(Tuner(), name="tuner")
    return Registry.from_plugin_manager(pm, settings)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "moodmix.toml"
    path.write_text(CONFIG)
    return path


def test_engine_plugin_and_bot_tables_share_one_file(config_file: Path) -> None:
    settings = load_settings(config_file, environ={})
    assert settings.rate_limit == 7
    assert settings.plugins["mood"] == {"model": "/models/from-toml.joblib"}
    reg = Registry.from_plugin_manager(build_plugin_manager(settings), settings)
    assert reg.plugin_settings("mood").model == "/models/from-toml.joblib"
    assert reg.capability_settings("mood") is reg.plugin_settings("mood")
    assert registry_with_tuner(settings).plugin_settings("tuner") == TunerSettings(limit=3)
    assert load_bot_settings(config_file, environ={}).telegram_token == "1:toml"


def test_environment_beats_the_file_and_is_coerced(config_file: Path) -> None:
    env = {"MOODMIX_PLUGINS__TUNER__LIMIT": "42", "MOODMIX_PLUGINS__MOOD__MODEL": "/env.joblib",
           "MOODMIX_TELEGRAM_TOKEN": "2:env"}
    settings = load_settings(config_file, environ=env)
    assert registry_with_tuner(settings).plugin_settings("tuner") == TunerSettings(limit=42)
    assert Registry.from_plugin_manager(build_plugin_manager(settings), settings).plugin_settings(
        "mood").model == "/env.joblib"
    assert load_bot_settings(config_file, environ=env).telegram_token == "2:env"


def test_defaults_when_nothing_is_given() -> None:
    settings = load_settings(environ={})
    assert registry_with_tuner(settings).plugin_settings("tuner") == TunerSettings()
    assert registry_with_tuner(settings).plugin_settings("nobody") is None


def test_a_bad_value_names_its_key() -> None:
    settings = load_settings(environ={"MOODMIX_PLUGINS__TUNER__LIMIT": "lots"})
    with pytest.raises(ValueError, match=r"plugins\.tuner\.limit"):
        registry_with_tuner(settings)
    settings = load_settings(environ={"MOODMIX_PLUGINS__TUNER__COLOUR": "red"})
    with pytest.raises(ValueError, match=r"colour"):
        registry_with_tuner(settings)


def test_engine_settings_hold_no_bot_or_mood_fields(tmp_path: Path) -> None:
    path = tmp_path / "old.toml"
    path.write_text('[moodmix]\ntelegram_token = "1:x"\n')
    with pytest.raises(ValueError, match="telegram_token"):
        load_settings(path, environ={})
    assert "mood_model" not in load_settings(environ={}).__struct_fields__


def test_mood_model_setting_reaches_the_run(tmp_path: Path) -> None:
    from moodmix.engine.errors import MoodmixError
    from moodmix.testing import run_local, tone, write_wav

    song = write_wav(tmp_path / "song.wav", tone(seconds=6.0))
    settings = load_settings(environ={"MOODMIX_PLUGINS__MOOD__MODEL": str(tmp_path / "gone.joblib")})
    with pytest.raises(MoodmixError, match=r"gone\.joblib"):
        run_local("mood", tmp_path / "out", inputs={"audio": song}, settings=settings)
