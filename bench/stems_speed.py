"""Separation speed and memory, each against a baseline run in the same command.

``python bench/stems_speed.py`` (``--clips``, ``--seconds``, ``--engine``, ``--skip-demucs``,
``--skip-memory``, ``--skip-dsp``):

1. demucs throughput: the htdemucs architecture with random weights (same compute as the
   pretrained model) saved as a local model folder; our worker path (``run_capability``, the
   engine built once per process from the recorded export, no torch) on N clips, against
   ``python -m demucs`` run once per file on the same folder. Both use demucs' defaults (shifts=1,
   overlap=0.25). Ours runs the ``[plugins.stems] engine`` given by ``--engine`` (default auto:
   OpenVINO in bfloat16 where the CPU has it and the calibration passes, else ONNX Runtime, int8
   where its calibration passes); the one-time preparation a machine's first job does (export,
   calibration, record, in a child) is done first and printed apart. Then the per-stem SNR of that
   engine against fp32 eager PyTorch on the first clip (same random shifts).
   Target: ours ≥ 1.5x the command line's throughput, SNR ≥ 40 dB per stem.
2. dsp realtime factor on one core (a child process pinned to one CPU, one thread).
   Target ≥ 20x realtime.
3. dsp peak memory on a 10-minute stereo 44.1 kHz track through the capability
   (child process, peak RSS). Target < 2.5 GB.

The issue names this script ``bench/stems_speed.py``; it lives here with the other
``separation_*`` benchmarks.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synth_mixtures import make_song  # noqa: E402

MODEL_NAME = "htdemucs_random"
SIG = "0badc0de"


def save_random_htdemucs(folder: Path) -> None:
    """The pretrained htdemucs' architecture (demucs' mmi grid) with random weights, as a model folder."""
    import torch
    from demucs.htdemucs import HTDemucs

    torch.manual_seed(0)
    model = HTDemucs(sources=["drums", "bass", "other", "vocals"], dconv_mode=3, depth=4, t_layers=5,
                     t_dropout=0.02, segment=Fraction(39, 5))
    args, kwargs = model._init_args_kwargs
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"klass": HTDemucs, "args": args, "kwargs": kwargs, "state": model.state_dict()},
               folder / f"{SIG}.th")
    (folder / f"{MODEL_NAME}.yaml").write_text(f"models: ['{SIG}']\n")


def write_clips(folder: Path, clips: int, seconds: float) -> list[Path]:
    from moodmix.engine.audio_io import save_audio

    paths = []
    for i in range(clips):
        song = make_song(500 + i, seconds=seconds)
        paths.append(save_audio(folder / f"clip{i}.wav", song.mix, song.sr, format="wav"))
    return paths


def demucs_throughput(work: Path, clips: list[Path], audio_seconds: float, engine: str) -> None:
    """Ours and the command line alternate clip by clip, so load from other users hits both alike."""
    from moodmix.engine.config import load_settings
    from moodmix.testing import run_local

    models = work / "models"
    save_random_htdemucs(models)
    onnx_cache = work / "onnx"
    settings = load_settings(environ={"MOODMIX_PLUGINS__STEMS__ENGINE": engine,
                                      "MOODMIX_PLUGINS__STEMS__ONNX_CACHE": str(onnx_cache)},
                             model_dir=str(models), device="cpu", data_dir=str(work / "data"))
    export_s = prepare_engine(models, onnx_cache, engine)
    ours = ours_cpu = cli = cli_cpu = 0.0
    engines = set()
    for i, clip in enumerate(clips):
        t0, c0 = time.perf_counter(), time.process_time()
        result = run_local("stems", work / f"ours{i}", inputs={"audio": clip},
                           params={"backend": "demucs", "model": MODEL_NAME}, settings=settings)
        assert result.backend == "demucs", result.data
        ours += time.perf_counter() - t0
        ours_cpu += time.process_time() - c0
        engines.add(f"{result.data.get('engine')} ({result.data.get('engine_reason')})")
        t0, c0 = time.perf_counter(), _children_cpu()
        subprocess.run([sys.executable, "-m", "demucs", "-n", MODEL_NAME, "--repo", str(models),
                        "-o", str(work / f"cli{i}"), str(clip)], check=True, capture_output=True)
        cli += time.perf_counter() - t0
        cli_cpu += _children_cpu() - c0
        print(f"  clip {i}: ours {ours:6.1f} s, cli {cli:6.1f} s (cumulative wall)", flush=True)
    print(f"engine that ran: {', '.join(sorted(engines))}")
    print(f"ours (worker path, built once/process): {ours:7.1f} s wall, {ours_cpu:7.1f} s CPU "
          f"for {len(clips)} clips ({audio_seconds / ours:.2f}x realtime)")
    print(f"demucs command line, once per file:    {cli:7.1f} s wall, {cli_cpu:7.1f} s CPU "
          f"({audio_seconds / cli:.2f}x realtime)")
    print(f"throughput ratio ours/cli: {cli / ours:.2f}x by wall clock, {cli_cpu / ours_cpu:.2f}x by CPU time "
          "(target >= 1.5x)", flush=True)
    if export_s:
        print(f"  (one-time export/calibration, cached on disk per model: {export_s:.1f} s, not in the figures; "
              f"counting it the ratio is {cli / (ours + export_s):.2f}x)")
    agreement(models, clips[0], engine, onnx_cache)


def prepare_engine(models: Path, onnx_cache: Path, engine: str) -> float:
    """What a machine's first job on a model does once, in a child process: load, export, calibrate (int8
    for ONNX Runtime, bfloat16 for OpenVINO) and record it; its seconds, 0 for torch. The worker path
    measured after it is every later job's: a process that builds the engine from the record."""
    from moodmix.plugins.stems import recorded_runtime

    if engine == "torch":
        return 0.0
    t0 = time.perf_counter()
    chose = recorded_runtime.prepare_in_child(MODEL_NAME, str(models), engine, onnx_cache, True)
    if chose is None:  # auto falls back to torch in the run: the worker log says why
        print("engine preparation failed; the run loads the model in-process", flush=True)
    else:
        print(f"prepared engine: {chose}", flush=True)
    return time.perf_counter() - t0


def agreement(models: Path, clip: Path, engine: str, onnx_cache: Path) -> None:
    """Per-stem SNR of our engine against fp32 eager PyTorch on one clip, same random shifts."""
    import random

    import torch

    from moodmix.engine.audio_io import load_audio
    from moodmix.plugins.stems.demucs_backend import DemucsSeparator
    from moodmix.plugins.stems.demucs_runtime import snr_db

    audio, sr = load_audio(clip)
    out = {}
    for name in ("torch", engine):
        random.seed(0)
        torch.manual_seed(0)
        sep = DemucsSeparator(MODEL_NAME, model_dir=str(models), engine=name, onnx_cache=str(onnx_cache))
        out[name] = sep.separate(audio, sr)
        out[name + "_record"] = sep.engine_record
    snrs = ", ".join(f"{stem} {snr_db(out['torch'][stem], out[engine][stem]):.1f}" for stem in out["torch"])
    print(f"SNR of {out[engine + '_record']['engine']} vs fp32 eager torch per stem (dB, target >= 40): {snrs}",
          flush=True)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


CHILD_DSP = """
import os, sys, time
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
sys.path.insert(0, sys.argv[1])
import numpy as np
from synth_mixtures import make_song
from moodmix.plugins.stems.dsp_separator import DspSeparator
song = make_song(77, seconds=float(sys.argv[2]))
sep = DspSeparator()
sep.separate(song.mix[:, : song.sr * 2], song.sr)  # warm-up
t0, c0 = time.perf_counter(), time.process_time()
sep.separate(song.mix, song.sr)
print(float(sys.argv[2]) / (time.perf_counter() - t0), float(sys.argv[2]) / (time.process_time() - c0))
"""

CHILD_MEMORY = """
import resource, sys
from pathlib import Path
from moodmix.testing import run_local
result = run_local("stems", Path(sys.argv[2]), inputs={"audio": Path(sys.argv[1])}, params={"backend": "dsp"})
assert result.backend == "dsp"
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""

ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def dsp_realtime_factor(seconds: float) -> None:
    out = subprocess.run([sys.executable, "-c", CHILD_DSP, str(HERE), str(seconds)], check=True,
                         capture_output=True, text=True, env=os.environ | ONE_THREAD)
    wall, cpu = (float(v) for v in out.stdout.strip().splitlines()[-1].split())
    print(f"dsp backend, one core: {wall:.1f}x realtime by wall clock, {cpu:.1f}x by CPU time, "
          f"on a {seconds:.0f} s stereo clip (target >= 20x)", flush=True)


def dsp_peak_memory(work: Path, minutes: float) -> None:
    from moodmix.engine.audio_io import save_audio

    song = make_song(91, seconds=30.0)
    reps = int(np.ceil(minutes * 60 / 30.0))
    track = np.tile(song.mix, (1, reps))[:, : int(minutes * 60 * song.sr)]
    path = save_audio(work / "long.wav", track, song.sr, format="wav")
    del track
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD_MEMORY, str(path), str(work / "long_out")], check=True,
                         capture_output=True, text=True, env=os.environ | ONE_THREAD)
    elapsed = time.perf_counter() - t0
    peak_mb = float(out.stdout.strip().splitlines()[-1])
    print(f"dsp backend, {minutes:.0f}-minute stereo 44.1 kHz track: peak RSS {peak_mb / 1024:.2f} GB "
          f"(target < 2.5 GB), {elapsed:.0f} s including decode/encode")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--minutes", type=float, default=10.0, help="length of the memory-test track")
    ap.add_argument("--skip-demucs", action="store_true")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-dsp", action="store_true")
    ap.add_argument("--engine", choices=("auto", "torch", "onnx", "openvino"), default="auto",
                    help="[plugins.stems] engine for our path (default auto)")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="moodmix-bench-") as tmp:
        work = Path(tmp)
        if not args.skip_dsp:
            dsp_realtime_factor(args.seconds)
        if not args.skip_memory:
            dsp_peak_memory(work, args.minutes)
        if not args.skip_demucs:
            clips = write_clips(work, args.clips, args.seconds)
            demucs_throughput(work, clips, args.clips * args.seconds, args.engine)
    print(f"(this process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")


if __name__ == "__main__":
    main()
