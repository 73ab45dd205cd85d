"""Remix quality and speed: every registered genre on seeded test tracks, then a 3-minute track.

    python bench/remix_quality.py                 # full run (~3-4 min on 2 busy cores)
    python bench/remix_quality.py --quick         # 1 track, 12 s clips, no speed run
    python bench/remix_quality.py --json out.json
    python bench/remix_quality.py --no-seeded --real a.ogg b.ogg --speed-file a.ogg   # real recordings

Checks per genre and track, all measured independently of the plugin's own meters:
integrated loudness (pyloudnorm) within ±1 LU of the target, true peak (8× scipy
oversampling) ≤ -1 dBTP, no NaN/inf, tempo of the result (the analyze plugin run on the
output file) within ±2 BPM of the genre's target — also reported with half/double-time
readings folded, since a tempo detector may tap a 174 BPM drum & bass at 87 — and the
output duration equal to input duration / stretch ratio.

Speed: a 3-minute stereo 44.1 kHz track remixed through the full chain (dsp stems,
analyze, stretch, drums, master, files), pinned to one CPU core with one BLAS/OpenMP
thread; realtime factor = track seconds / wall seconds (target ≥ 5×).
"""

from __future__ import annotations

import os

# One thread per library, set before numpy and friends are imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse
import json
import math
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyloudnorm
from scipy import signal

from moodmix.engine import audio_io
from moodmix.engine.pitch import midi_to_hz
from moodmix.plugins.analyze import testsignals as ts
from moodmix.plugins.analyze.pipeline import analyze_file
from moodmix.plugins.remix.genre_lookup import use_registry
from moodmix.testing import make_registry, run_local

SR = 44_100
LOUDNESS_TARGET = -14.0
TRUE_PEAK_MAX = -1.0
#: (tonic, mode, bpm, seed) of the seeded test tracks.
TRACKS = (("A", "minor", 96.0, 1), ("E", "major", 122.0, 2), ("C", "minor", 138.0, 3))
SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}


def seeded_track(tonic: str, mode: str, bpm: float, seconds: float, seed: int, sr: int = SR) -> np.ndarray:
    """Drums + chords (analyze's test song) + a seeded 8th-note lead, stereo, peak 0.9."""
    rng = np.random.default_rng(seed)
    base = ts.song(tonic, mode, bpm, seconds, sr=sr).astype(np.float64)
    lead = np.zeros_like(base)
    step = 60.0 / bpm / 2
    root = 72 + ts.pitch_class(tonic)
    for i in range(int(seconds / step)):
        if rng.random() < 0.3:
            continue
        note = root + SCALES[mode][rng.integers(0, 7)] - 12 * int(rng.random() < 0.3)
        hit = ts.harmonic_note(midi_to_hz(note), step * 0.9, sr, partials=4, amp=0.12)
        start = int(i * step * sr)
        end = min(lead.size, start + hit.size)
        lead[start:end] += hit[: end - start]
    left = base + 0.9 * lead + 0.002 * rng.standard_normal(base.size)
    right = base + 0.6 * lead + 0.002 * rng.standard_normal(base.size)
    stereo = np.stack([left, right])
    return (0.9 * stereo / np.abs(stereo).max()).astype(np.float32)


def true_peak_dbtp(audio: np.ndarray) -> float:
    up = signal.resample_poly(audio.astype(np.float64), 8, 1, axis=-1)
    return float(20 * np.log10(np.abs(up).max()))


def folded_error(detected: float | None, target: float) -> float:
    if not detected:
        return math.inf
    return min(abs(detected * k - target) for k in (0.5, 1.0, 2.0))


@dataclass
class Row:
    genre: str
    track: str
    loudness: float
    true_peak: float
    finite: bool
    target_tempo: float
    detected_tempo: float | None
    tempo_error: float
    tempo_error_folded: float
    duration_error_ms: float
    seconds: float

    @property
    def passed(self) -> dict[str, bool]:
        return {"loudness": abs(self.loudness - LOUDNESS_TARGET) <= 1.0, "true_peak": self.true_peak <= TRUE_PEAK_MAX,
                "finite": self.finite, "tempo": self.tempo_error <= 2.0,
                "tempo_folded": self.tempo_error_folded <= 2.0, "duration": self.duration_error_ms <= 1.0}


def remix_once(registry, src: Path, out: Path, genre: str, track_bpm: float | None, track_seconds: float) -> Row:
    """One remix, measured. ``track_bpm`` None (a real recording): the plugin's own source tempo is used."""
    started = time.perf_counter()
    result = run_local("remix", out, inputs={"audio": src}, params={"genre": genre, "stems_backend": "dsp"},
                       registry=registry)
    elapsed = time.perf_counter() - started
    audio, sr = audio_io.load_audio(result.files["remix"])
    preset = registry.genre(genre).recipe
    ratio = result.data["tempo_ratio"]
    source_bpm = track_bpm or result.data["source_tempo"] or 0.0
    target = float(preset.tempo) if preset.tempo is not None else source_bpm * ratio
    detected = analyze_file(result.files["remix"])["tempo"]
    error = abs(detected - target) if detected else math.inf
    expected_frames = track_seconds * sr / ratio
    return Row(genre=genre, track=src.stem, finite=bool(np.isfinite(audio).all()),
               loudness=float(pyloudnorm.Meter(sr).integrated_loudness(audio.T.astype(np.float64))),
               true_peak=true_peak_dbtp(audio), target_tempo=round(target, 2), detected_tempo=detected,
               tempo_error=round(error, 2), tempo_error_folded=round(folded_error(detected, target), 2),
               duration_error_ms=round(abs(audio.shape[1] - expected_frames) / sr * 1000, 3),
               seconds=round(elapsed, 2))


def test_tracks(workdir: Path, seconds: float, seeded: tuple, real: list[Path]) -> list[tuple[Path, float | None]]:
    """Seeded tracks (tempo known) and the first ``seconds`` of real recordings (tempo unknown)."""
    tracks: list[tuple[Path, float | None]] = []
    for tonic, mode, bpm, seed in seeded:
        name = f"{tonic}{mode[:3]}_{bpm:g}bpm_s{seed}"
        audio = seeded_track(tonic, mode, bpm, seconds, seed)
        tracks.append((audio_io.save_audio(workdir / f"{name}.wav", audio, SR), bpm))
    for path in real:
        audio, sr = audio_io.load_audio(path, duration=seconds)
        tracks.append((audio_io.save_audio(workdir / f"real-{path.stem}.wav", audio, sr), None))
    return tracks


def quality(registry, workdir: Path, tracks: list[tuple[Path, float | None]], genres: list[str]) -> list[Row]:
    rows = []
    for src, bpm in tracks:
        name = src.stem
        seconds = audio_io.probe(src).duration
        for genre in genres:
            row = remix_once(registry, src, workdir / f"{name}-{genre}", genre, bpm, seconds)
            rows.append(row)
            flags = " ".join(k for k, ok in row.passed.items() if not ok) or "ok"
            print(f"{name:22s} {genre:14s} {row.loudness:7.2f} LUFS {row.true_peak:6.2f} dBTP "
                  f"tempo {row.detected_tempo!s:>7} / {row.target_tempo:6.1f} "
                  f"dur±{row.duration_error_ms:.3f} ms {row.seconds:5.1f}s  {flags}", flush=True)
    return rows


def speed(registry, workdir: Path, seconds: float, genres: list[str], real: Path | None = None) -> list[dict]:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    if real is not None:
        audio, sr = audio_io.load_audio(real, duration=seconds)
        seconds = audio.shape[1] / sr
        src = audio_io.save_audio(workdir / "long.wav", audio, sr)
    else:
        src = audio_io.save_audio(workdir / "long.wav", seeded_track("G", "minor", 118.0, seconds, 7), SR)
    results = []
    for genre in genres:
        started, cpu = time.perf_counter(), time.process_time()
        result = run_local("remix", workdir / f"long-{genre}", inputs={"audio": src},
                           params={"genre": genre, "stems_backend": "dsp"}, registry=registry)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        results.append({"genre": genre, "track_seconds": seconds, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                        "realtime_factor": round(seconds / wall, 2),
                        "realtime_factor_cpu": round(seconds / cpu, 2),
                        "loudness": result.data["loudness_lufs"], "true_peak": result.data["true_peak_dbtp"]})
        print(f"speed {genre:14s} {seconds:.0f} s track: wall {wall:6.2f} s ({seconds / wall:5.2f}× realtime), "
              f"cpu {cpu:6.2f} s ({seconds / cpu:5.2f}×)", flush=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one track, 12 s clips, no speed run")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the quality test tracks")
    parser.add_argument("--speed-seconds", type=float, default=180.0)
    parser.add_argument("--speed-genres", default="house,lofi", help="genres timed on the long track")
    parser.add_argument("--genres", default="", help="comma-separated subset (default: all registered)")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--json", type=Path, help="write all figures here")
    parser.add_argument("--real", type=Path, nargs="*", default=[],
                        help="real recordings to add (their first --seconds; tempo checked against the "
                             "plugin's own source tempo for ratio genres)")
    parser.add_argument("--no-seeded", action="store_true", help="only the --real recordings")
    parser.add_argument("--speed-file", type=Path, help="time this recording (its first --speed-seconds) "
                        "instead of a seeded track")
    args = parser.parse_args()
    registry = make_registry()
    genres = [g.strip() for g in args.genres.split(",") if g.strip()] or list(registry.genres)
    tracks = () if args.no_seeded else TRACKS[:1] if args.quick else TRACKS
    seconds = 12.0 if args.quick else args.seconds
    report: dict = {"loudness_target": LOUDNESS_TARGET, "true_peak_max": TRUE_PEAK_MAX}
    with tempfile.TemporaryDirectory(prefix="remix-bench-") as tmp, use_registry(registry):
        rows = quality(registry, Path(tmp), test_tracks(Path(tmp), seconds, tracks, args.real), genres)
        checks = rows[0].passed.keys() if rows else []
        summary = {k: f"{sum(r.passed[k] for r in rows)}/{len(rows)}" for k in checks}
        print("passed:", ", ".join(f"{k} {v}" for k, v in summary.items()))
        report |= {"rows": [asdict(r) | {"passed": r.passed} for r in rows], "summary": summary}
        if not (args.quick or args.no_speed):
            report["speed"] = speed(registry, Path(tmp), args.speed_seconds,
                                    [g.strip() for g in args.speed_genres.split(",") if g.strip()],
                                    args.speed_file)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    required = ("loudness", "true_peak", "finite", "duration")
    return 0 if all(r.passed[k] for r in rows for k in required) else 1


if __name__ == "__main__":
    sys.exit(main())
