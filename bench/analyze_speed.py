"""How fast is ``analyze`` on a 3-minute track, against the obvious librosa recipe?

    python bench/analyze_speed.py [--seconds 180] [--repeat 3] [--cold]

Both sides read the same generated 44.1 kHz stereo WAV (known: 128 BPM, E-flat
major). The baseline is what one writes first: ``librosa.load`` at the native rate,
``librosa.beat.beat_track`` and ``librosa.feature.chroma_cqt`` on the full-rate
signal, the same key-profile correlation, and pyloudnorm in float64. It does *less*
than ``analyze`` (no true peak, RMS or beat refinement). Both are warmed up on a
short clip first, so imports and JIT compilation are not timed; the best of
``--repeat`` runs is reported, wall and CPU. ``--cold`` also times one run of
each in a fresh Python process (imports included), as ``moodmix run`` pays it.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from moodmix.engine import audio_io
from moodmix.plugins.analyze import testsignals
from moodmix.plugins.analyze.key import estimate_key_from_chroma
from moodmix.plugins.analyze.pipeline import analyze_file

SR = 44100
TONIC, MODE, BPM = "D#", "major", 128.0


def ours(path: Path) -> dict[str, Any]:
    data = analyze_file(path)
    return {"tempo": data["tempo"], "key": data["key_name"], "lufs": data["loudness"]["integrated_lufs"]}


def naive(path: Path) -> dict[str, Any]:
    import librosa
    import pyloudnorm

    y, sr = librosa.load(path, sr=None, mono=False)
    lufs = pyloudnorm.Meter(sr).integrated_loudness(np.asarray(y, dtype=np.float64).T)
    mono = librosa.to_mono(y)
    tempo, _beats = librosa.beat.beat_track(y=mono, sr=sr)
    chroma = librosa.feature.chroma_cqt(y=mono, sr=sr)
    key = estimate_key_from_chroma(chroma)
    return {"tempo": round(float(np.atleast_1d(tempo)[0]), 2), "key": key.as_dict()["name"],
            "lufs": round(float(lufs), 2)}


def best_time(fn: Callable[[Path], dict], path: Path, repeat: int) -> tuple[float, float, dict]:
    walls, cpus, result = [], [], {}
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn(path)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), result


def cold_time(which: str, path: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one analysis in a fresh interpreter."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--once", which, str(path)], check=True)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="also time fresh-process runs")
    parser.add_argument("--once", nargs=2, metavar=("WHICH", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.once:  # child of --cold
        (ours if args.once[0] == "analyze" else naive)(Path(args.once[1]))
        return
    with tempfile.TemporaryDirectory(prefix="moodmix-bench-") as tmp:
        y = testsignals.song(TONIC, MODE, BPM, args.seconds, sr=SR)
        track = audio_io.save_audio(Path(tmp) / "track.wav", np.stack([y, 0.8 * y]), SR)
        clip = audio_io.save_audio(Path(tmp) / "clip.wav", np.stack([y, y])[:, : 5 * SR], SR)
        cold = {name: cold_time(name, track) for name in ("analyze", "naive")} if args.cold else {}
        for fn in (ours, naive):  # warm-up: imports, numba, FFT plans
            fn(clip)
        print(f"track: {args.seconds:.0f} s, {SR} Hz stereo WAV, truth {BPM:g} BPM, Eb major")
        rows = {name: best_time(fn, track, args.repeat) for name, fn in (("analyze", ours),
                                                                           ("naive", naive))}
    for name, (wall, cpu, result) in rows.items():
        print(f"{name:8s} wall {wall:6.2f} s   cpu {cpu:6.2f} s   {result}")
    (ours_wall, ours_cpu, _), (naive_wall, naive_cpu, _) = rows["analyze"], rows["naive"]
    print(f"speed-up (warm): {naive_wall / ours_wall:.1f}x wall, {naive_cpu / ours_cpu:.1f}x cpu")
    if cold:
        for name, (wall, cpu) in cold.items():
            print(f"{name:8s} cold: wall {wall:6.2f} s   cpu {cpu:6.2f} s   (fresh process, imports included)")
        print(f"speed-up (cold): {cold['naive'][0] / cold['analyze'][0]:.1f}x wall, "
              f"{cold['naive'][1] / cold['analyze'][1]:.1f}x cpu")


if __name__ == "__main__":
    main()
