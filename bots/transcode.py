"""Make audio fit a chat upload limit: re-encode to MP3 at falling bitrates.

Returns ``None`` when even the lowest bitrate cannot fit, so the caller can send a
download link instead.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from moodmix.engine import audio_io

MP3_BITRATES = (320, 192, 128, 96, 64, 48, 32)
#: Container overhead and bitrate slack allowed for when estimating an MP3's size.
ESTIMATE_SLACK = 1.03


def estimated_mp3_bytes(seconds: float, kbps: int) -> int:
    return int(seconds * kbps * 1000 / 8 * ESTIMATE_SLACK) + 8192


def fit_audio(path: Path, limit_bytes: int, workdir: Path, *,
              keep_formats: tuple[str, ...] = ("mp3", "wav", "flac", "ogg", "m4a")) -> Path | None:
    """``path`` itself when it fits and its format is welcome; else an MP3 copy that fits; else ``None``."""
    suffix = path.suffix.lstrip(".").lower()
    if path.stat().st_size <= limit_bytes and suffix in keep_formats:
        return path
    audio, sr = audio_io.load_audio(path)
    seconds = audio.shape[-1] / sr
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / f"{path.stem}.mp3"
    for kbps in MP3_BITRATES:
        if estimated_mp3_bytes(seconds, kbps) > limit_bytes:
            continue
        audio_io.save_audio(target, audio, sr, format="mp3", mp3_bitrate=kbps)
        if target.stat().st_size <= limit_bytes:
            return target
    target.unlink(missing_ok=True)
    return None


async def fit_audio_async(path: Path, limit_bytes: int, workdir: Path, *,
                          keep_formats: tuple[str, ...] = ("mp3", "wav", "flac", "ogg", "m4a")) -> Path | None:
    """:func:`fit_audio` off the event loop (decoding and encoding take a while)."""
    return await asyncio.to_thread(fit_audio, path, limit_bytes, workdir, keep_formats=keep_formats)
