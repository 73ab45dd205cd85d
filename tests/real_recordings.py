"""Real recordings for tests: a Vorbis OGG from Debian's hyperrogue-music package, fetched with apt
into a cache folder outside the repository once, and an MP3 and a FLAC made from it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

AUDIO_CACHE = Path(os.environ.get("MOODMIX_TEST_AUDIO_CACHE", Path.home() / ".cache" / "moodmix-test-audio"))
#: A real Vorbis recording from Debian's hyperrogue-music package (48 s, 44.1 kHz stereo).
HYPERROGUE_TRACK = "usr/share/hyperrogue/music/hr3-crossroads.ogg"


def _hyperrogue_ogg() -> Path | None:
    """The package's track, downloaded with apt into the cache folder once; None when apt cannot."""
    target = AUDIO_CACHE / "hyperrogue" / HYPERROGUE_TRACK
    if target.is_file():
        return target
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        return None
    AUDIO_CACHE.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(["apt-get", "download", "hyperrogue-music"], cwd=AUDIO_CACHE, check=True,
                       capture_output=True, timeout=300)
        deb = sorted(AUDIO_CACHE.glob("hyperrogue-music_*.deb"))[-1]
        subprocess.run(["dpkg-deb", "-x", str(deb), str(AUDIO_CACHE / "hyperrogue")], check=True,
                       capture_output=True, timeout=300)
    except (OSError, subprocess.SubprocessError, IndexError):
        return None
    return target if target.is_file() else None


def make_recordings(folder: Path) -> dict[str, Path]:
    """A real Vorbis OGG (hyperrogue-music; a generated song encoded as OGG when apt is unavailable),
    and an MP3 and a FLAC made from its first 12 s with moodmix's encoder, in ``folder``."""
    from moodmix.engine.audio_io import load_audio, save_audio
    from moodmix.engine.demo import demo_song

    ogg = _hyperrogue_ogg()
    if ogg is None:
        ogg = save_audio(folder / "Fallback Song.ogg", demo_song(20.0), 44100, format="ogg")
    else:
        ogg = Path(shutil.copy(ogg, folder / "Crossroads (HyperRogue).ogg"))
    excerpt, sr = load_audio(ogg, duration=12.0)
    return {"ogg": ogg, "mp3": save_audio(folder / "Crossroads excerpt.mp3", excerpt, sr, format="mp3"),
            "flac": save_audio(folder / "Crossroads excerpt.flac", excerpt, sr, format="flac")}
