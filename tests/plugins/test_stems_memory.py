"""Demucs stems in bounded memory: the mix read back from a spooled float WAV gives the in-memory path's
output to the bit, the capability lets go of the decoded track while the model runs, and the heap
thresholds are fixed for the engines that need them (and free what a forward frees)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from moodmix.engine import audio_io, memory
from moodmix.engine.config import load_settings
from moodmix.plugins.stems import demucs_backend, model_cache
from moodmix.testing import run_local
from tests.plugins.tiny_demucs import SOURCES, tiny_htdemucs

pytestmark = pytest.mark.usefixtures("fresh_model_cache")


@pytest.fixture
def no_bound(monkeypatch):
    """Count :func:`memory.bound_heap` calls instead of fixing this test process's heap."""
    calls: list[int] = []
    monkeypatch.setattr(memory, "bound_heap", lambda: calls.append(1) or {})
    return calls


def _mix(seconds: float, sr: int, channels: int = 2) -> np.ndarray:
    rng = np.random.default_rng(3)
    t = np.arange(int(seconds * sr)) / sr
    audio = [0.3 * np.sin(2 * np.pi * 110 * (k + 1) * t) + 0.05 * rng.standard_normal(t.size) for k in range(channels)]
    return np.stack(audio).astype(np.float32)


@pytest.mark.parametrize(("sr", "channels"), [(44100, 2), (48000, 2), (44100, 1)])
def test_spooled_mix_separates_exactly_as_the_array(tmp_path: Path, sr: int, channels: int, no_bound) -> None:
    model_cache.put("tiny", "cpu", tiny_htdemucs())
    audio = _mix(2.6, sr, channels)
    sep = demucs_backend.DemucsSeparator("tiny", shifts=0, segment=1.0, engine="torch")
    whole = list(sep.separate_blocks(audio, sr))
    spooler = demucs_backend.DemucsSeparator("tiny", shifts=0, segment=1.0, engine="torch")
    spooled = spooler.spool(audio, sr, tmp_path / "mix.wav")
    assert spooler.engine_record == {}  # written before the model is built: the track is let go first
    streamed = list(spooler.separate_spooled(spooled))
    assert not list(tmp_path.glob("*.model.wav"))  # the copy at the model's rate and channels is removed
    assert [start for start, _ in streamed] == [start for start, _ in whole]
    for (_, a), (_, b) in zip(whole, streamed, strict=True):
        assert a.keys() == b.keys()
        for name in a:
            assert b[name].shape == a[name].shape and b[name].shape[0] == channels
            np.testing.assert_array_equal(b[name], a[name])
    assert sum(b["vocals"].shape[1] for _, b in streamed) == audio.shape[1]
    assert no_bound  # torch on CPU fixes the heap thresholds


def test_spooled_silence_gives_silent_stems_without_a_file(tmp_path: Path, no_bound) -> None:
    model_cache.put("tiny", "cpu", tiny_htdemucs())
    sep = demucs_backend.DemucsSeparator("tiny", shifts=0, segment=1.0, engine="torch")
    spooled = sep.spool(np.zeros((2, 5000), np.float32), 44100, tmp_path / "mix.wav")
    blocks = list(sep.separate_spooled(spooled))
    assert spooled.silent and not spooled.path.exists()
    assert [start for start, _ in blocks] == [0]
    assert all(part.shape == (2, 5000) and not part.any() for part in blocks[0][1].values())


def test_stems_capability_separates_from_the_spool_and_releases_the_track(tmp_path: Path, monkeypatch,
                                                                          no_bound) -> None:
    model_cache.put("tiny", "cpu", tiny_htdemucs())
    audio = _mix(2.6, 44100)
    song = audio_io.save_audio(tmp_path / "song.wav", audio, 44100, format="wav", bit_depth="float")
    released: list[str] = []
    from moodmix.engine.capability import RunContext

    original = RunContext.release_audio
    monkeypatch.setattr(RunContext, "release_audio",
                        lambda self, source="audio": released.append(source) or original(self, source))
    params = {"backend": "demucs", "model": "tiny", "shifts": 0, "segment": 1.0, "format": "wav"}
    result = run_local("stems", tmp_path / "out", inputs={"audio": song}, params=params,
                       settings=load_settings(environ={"MOODMIX_PLUGINS__STEMS__ENGINE": "torch"}, device="cpu"))
    assert released == ["audio"]
    assert not list((tmp_path / "out").rglob("demucs-mix.wav"))  # the spool is removed
    expected = demucs_backend.DemucsSeparator("tiny", shifts=0, segment=1.0, engine="torch").separate(audio, 44100)
    for name in SOURCES:
        got, sr = audio_io.load_audio(result.files[name])
        reference = audio_io.save_audio(tmp_path / f"ref-{name}.wav", expected[name], 44100, format="wav",
                                        bit_depth="float" if np.abs(expected[name]).max() > 1 else "24")
        want, _ = audio_io.load_audio(reference)
        assert sr == 44100
        np.testing.assert_array_equal(got, want)
    assert result.data["channels"] == 2 and result.data["duration_s"] == round(audio.shape[1] / 44100, 3)


def test_only_the_listed_engines_fix_the_heap(no_bound, monkeypatch) -> None:
    monkeypatch.setattr(demucs_backend, "BOUND_HEAP_ENGINES", ("torch",))
    model_cache.put("tiny", "cpu", tiny_htdemucs())
    sep = demucs_backend.DemucsSeparator("tiny", engine="torch", device="cpu")
    assert sep.model is not None and len(no_bound) == 1
    monkeypatch.setattr(demucs_backend, "BOUND_HEAP_ENGINES", ())
    assert sep.model is not None and len(no_bound) == 1


HEAP_CHILD = """
import sys
import numpy as np
from moodmix.engine import memory

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

if sys.argv[1] == "bound":
    print(memory.bound_heap(), memory.bound_heap() is memory.heap_bounds())
else:
    print({}, True)
np.ones(2 << 20, np.uint8)  # freed: the dynamic threshold rises to 2 MiB
before = rss_mb()
blocks = [np.ones(2 << 20, np.uint8) for _ in range(100)]
del blocks[:-1]  # the last one stays: the heap cannot shrink from the top past it
print(rss_mb() - before)
"""


def test_bound_heap_fixes_the_thresholds_and_frees_what_is_freed() -> None:
    out = {}
    for mode in ("bound", "default"):
        done = subprocess.run([sys.executable, "-c", HEAP_CHILD, mode], capture_output=True, text=True, check=True)
        applied, grown = done.stdout.strip().splitlines()
        out[mode] = (applied, float(grown))
    applied = {"mmap_threshold": memory.MMAP_THRESHOLD, "trim_threshold": memory.TRIM_THRESHOLD}
    assert out["bound"][0] == f"{applied} True"
    assert out["bound"][1] < 20  # 99 freed 2-MiB blocks went back to the system
    assert out["default"][1] > 150  # glibc's dynamic threshold keeps them on the heap
