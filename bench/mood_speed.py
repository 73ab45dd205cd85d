"""Mood analysis speed on one core: both backends vs a per-feature librosa baseline.

    python bench/mood_speed.py [--seconds 180] [--repeat 3]

Every path analyses the same 3-minute rendered track (moods change every 12 s).
The baseline is what one writes first: every librosa feature called on the
signal by itself (each recomputes its STFT; HPSS runs on the full spectrogram).
It is timed for whole-track features only, so it is not charged for the timeline.
Ours includes the timeline windows and the classifier: the features backend
(shared analysis only) and the musicnn backend (the same plus musicnn's
patches, one torch thread), each against the baseline of the same run.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

SR = 22050


def test_track(seconds: float) -> np.ndarray:
    """Consecutive 12 s clips of every mood, as one track."""
    from moodmix.plugins.mood.taxonomy import MOOD_NAMES
    from moodmix.plugins.mood.training import synth

    rng = np.random.default_rng(7)
    parts, total, i = [], 0.0, 0
    while total < seconds:
        y, _ = synth.render_clip(MOOD_NAMES[i % len(MOOD_NAMES)], rng, seconds=12.0)
        parts.append(y)
        total += 12.0
        i += 1
    return np.concatenate(parts)[: int(seconds * SR)]


def baseline(y: np.ndarray) -> dict[str, float]:
    """Each feature computed on its own from the signal, as the librosa docs show them."""
    import librosa

    from moodmix.plugins.mood.features import key_from_chroma

    tempo, beats = librosa.beat.beat_track(y=y, sr=SR)
    onset_env = librosa.onset.onset_strength(y=y, sr=SR)
    onsets = librosa.onset.onset_detect(y=y, sr=SR)
    chroma = librosa.feature.chroma_stft(y=y, sr=SR)
    mfcc = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=13)
    centroid = librosa.feature.spectral_centroid(y=y, sr=SR)
    rolloff = librosa.feature.spectral_rolloff(y=y, sr=SR)
    contrast = librosa.feature.spectral_contrast(y=y, sr=SR)
    flatness = librosa.feature.spectral_flatness(y=y)
    zcr = librosa.feature.zero_crossing_rate(y)
    rms = librosa.feature.rms(y=y)
    harmonic, percussive = librosa.effects.hpss(y)
    key = key_from_chroma(chroma.mean(axis=1))
    return {
        "tempo": float(np.atleast_1d(tempo)[0]),
        "beat_strength": float(onset_env[beats].mean() / onset_env.mean()),
        "onset_rate": len(onsets) / (len(y) / SR), "key_strength": key["strength"],
        "mfcc": float(mfcc.mean()), "centroid": float(centroid.mean()), "rolloff": float(rolloff.mean()),
        "contrast": float(contrast.mean()), "flatness": float(flatness.mean()), "zcr": float(zcr.mean()),
        "rms": float(rms.mean()),
        "hp_ratio_db": float(10 * np.log10((harmonic ** 2).sum() / ((percussive ** 2).sum() + 1e-10))),
    }


def ours(backend: str) -> Callable[[np.ndarray], dict]:
    """The full mood analysis with the shipped model of ``backend`` (``features`` or ``musicnn``)."""
    from moodmix.plugins.mood.analysis import analyse_audio
    from moodmix.plugins.mood.model import SHIPPED_MODEL, SHIPPED_MUSICNN_MODEL, load_cached

    model = load_cached(SHIPPED_MUSICNN_MODEL if backend == "musicnn" else SHIPPED_MODEL)
    return lambda y: analyse_audio(y, model)


def timed(fn: Callable[[np.ndarray], object], y: np.ndarray, repeat: int) -> tuple[float, float, object]:
    """Median wall-clock and CPU seconds of ``fn(y)``.

    CPU time is reported too because the shared development machine is often
    oversubscribed: wall time then measures the neighbours, CPU time the code.
    """
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn(y)
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return statistics.median(walls), statistics.median(cpus), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    y = test_track(args.seconds)
    duration = len(y) / SR
    runs = {}
    with threadpool_limits(1):
        for backend in ("features", "musicnn"):
            runs[backend] = ours(backend)
            runs[backend](y[: SR * 10])  # warm-up: imports, model and weights load, librosa caches
        baseline(y[: SR * 10])
        timings = {backend: timed(fn, y, args.repeat) for backend, fn in runs.items()}
        t_base, c_base, _ = timed(baseline, y, max(1, args.repeat - 1))
    print(f"track: {duration:.0f} s rendered audio, one core, median of {args.repeat} runs; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"baseline (librosa, each feature on its own, whole track only): wall {t_base:.3f} s = "
          f"{duration / t_base:.0f}x realtime; CPU {c_base:.3f} s = {duration / c_base:.0f}x realtime")
    for backend, (t_ours, c_ours, result) in timings.items():
        extra = f", {result['tags']['patches']} musicnn patches" if "tags" in result else ""
        print(f"ours, {backend} backend (shared analysis + {len(result['timeline'])} windows{extra} + classifier): "
              f"wall {t_ours:.3f} s = {duration / t_ours:.0f}x realtime; CPU {c_ours:.3f} s = "
              f"{duration / c_ours:.0f}x realtime")
        print(f"  speed-up over baseline: {t_base / t_ours:.1f}x wall, {c_base / c_ours:.1f}x CPU; "
              f"target >= 100x realtime: {'met' if duration / t_ours >= 100 else 'NOT met'} (wall), "
              f"{'met' if duration / c_ours >= 100 else 'NOT met'} (CPU)")


if __name__ == "__main__":
    main()
