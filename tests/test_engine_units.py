"""Engine pieces on their own: configuration, storage keys, audio sniffing, plugin manager switches."""

from __future__ import annotations

import numpy as np
import pytest

from moodmix.engine import audio_io
from moodmix.engine.config import DEFAULT_SECRET, load_settings
from moodmix.engine.errors import AudioError, BadInput
from moodmix.engine.plugin_manager import build_plugin_manager
from moodmix.engine.registry import Registry
from moodmix.engine.storage import LocalStorage


def test_settings_from_env_and_toml(tmp_path):
    toml = tmp_path / "moodmix.toml"
    toml.write_text('[moodmix]\nmax_upload_mb = 5\nrate_limit = 7\n')
    s = load_settings(toml, environ={"MOODMIX_RATE_LIMIT": "9", "MOODMIX_CORS_ORIGINS": "https://a, https://b"})
    assert s.max_upload_mb == 5 and s.rate_limit == 9 and s.cors_origins == ["https://a", "https://b"]
    assert s.effective_database_url.startswith("sqlite:///")
    with pytest.raises(ValueError, match="rate_limit"):
        load_settings(environ={"MOODMIX_RATE_LIMIT": "lots"})
    with pytest.raises(ValueError, match="default secret"):
        load_settings(environ={"MOODMIX_MODE": "production"})
    prod = load_settings(environ={"MOODMIX_MODE": "production", "MOODMIX_SECRET_KEY": "x" * 40})
    assert prod.secret_key != DEFAULT_SECRET


@pytest.mark.parametrize("key", ["../etc/passwd", "/etc/passwd", "uploads/../../x", "", "a\x00b"])
def test_storage_refuses_traversal(tmp_path, key):
    with pytest.raises(BadInput):
        LocalStorage(tmp_path).path(key)


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "mp3"])
def test_sniff_and_roundtrip(tmp_path, fmt):
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(22050) / 22050)).astype(np.float32)
    path = audio_io.save_audio(tmp_path / f"x.{fmt}", np.stack([tone, tone]), 22050 if fmt != "mp3" else 44100)
    renamed = path.rename(tmp_path / "misleading.txt")
    assert audio_io.sniff_format(renamed) == fmt
    info = audio_io.verify_decodable(renamed)
    assert info.channels == 2 and info.duration > 0.45
    audio, sr = audio_io.load_audio(renamed, sample_rate=16000, mono=True)
    assert audio.shape[0] == 1 and sr == 16000 and np.isfinite(audio).all()


def test_limits(tmp_path):
    path = audio_io.save_audio(tmp_path / "long.wav", np.zeros((1, 8000 * 90), np.float32), 8000)
    with pytest.raises(AudioError, match="limit"):
        audio_io.probe(path, max_seconds=60)


def test_disable_plugins_switch(monkeypatch):
    monkeypatch.setenv("MOODMIX_DISABLE_PLUGINS", "analyze")
    reg = Registry.from_plugin_manager(build_plugin_manager())
    assert "analyze" not in reg.capabilities
    monkeypatch.delenv("MOODMIX_DISABLE_PLUGINS")
    reg = Registry.from_plugin_manager(build_plugin_manager())
    assert "analyze" in reg.capabilities
    with pytest.raises(Exception, match="available"):
        reg.capability("nope")


def _m4a(tmp_path):
    import shutil
    import subprocess

    assert shutil.which("ffmpeg"), "ffmpeg must be installed for the m4a tests (scripts/system-packages)"
    wav = audio_io.save_audio(tmp_path / "src.wav", np.zeros((2, 22050), np.float32) + 0.01, 44100)
    out = tmp_path / "song.m4a"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(wav), "-c:a", "aac", str(out)], check=True)
    return out


def test_m4a_decodes_through_ffmpeg(tmp_path):
    m4a = _m4a(tmp_path)
    assert audio_io.sniff_format(m4a) == "m4a"
    audio, sr = audio_io.load_audio(m4a)
    assert sr == 44100 and audio.shape[0] == 2 and abs(audio.shape[1] - 22050) < 3000


def test_m4a_without_ffmpeg_names_the_missing_tool(tmp_path, monkeypatch):
    m4a = _m4a(tmp_path)
    monkeypatch.setattr(audio_io, "ffmpeg_path", lambda: None)
    with pytest.raises(audio_io.MissingTool, match="ffmpeg"):
        audio_io.probe(m4a)
