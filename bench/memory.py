"""Peak memory of each built-in capability on a long track, against the track's own size in memory.

    python bench/memory.py [--minutes 20] [--capabilities analyze,mood,stems,remix,demucs] [--check-minutes 3]
                           [--demucs-minutes 2,5] [--demucs-check-minutes 1]

A 20-minute stereo 44.1 kHz WAV is generated (a synthetic song, repeated). Each capability runs on it
through ``moodmix.testing.run_local`` in a fresh child process, and the child's peak RSS
(``VmHWM``) is printed next to two baselines measured in the same run, also in children:

- ``imports``: the interpreter with the capability's libraries imported, nothing decoded;
- ``decoded``: the same plus the whole track decoded once as float32 (channels, frames): what any
  in-memory path holds before it starts work.

Target (issue 19): every capability < 1 GB peak. ``--check-minutes`` also decodes a shorter track
block by block and all at once and prints the SNR between the two (identical is +inf dB), the SNR
per stem of the streamed stems files against the in-memory path (the separator's whole arrays, written
at once as before streaming), and the SNR of the remix (rendered block by block in files) against its
whole-array path.

``demucs`` is ``stems`` with ``backend=demucs`` on the htdemucs architecture with random weights
(``stems_speed.save_random_htdemucs``; same compute as the pretrained model). A 20-minute run takes
about 15 minutes on 2 cores, so it runs at each of ``--demucs-minutes`` (the flat growth of the peak
with length is the point), and its SNR check against ``demucs.apply.apply_model`` on the whole track
runs at ``--demucs-check-minutes`` (same shift offsets on both sides).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _stack  # noqa: E402
from synth_mixtures import make_song  # noqa: E402

from moodmix.engine.audio_io import save_audio  # noqa: E402

PARAMS = {"analyze": {}, "mood": {}, "stems": {"backend": "dsp"}, "remix": {"genre": "lofi", "stems_backend": "dsp"},
          "demucs": {"backend": "demucs", "model": "htdemucs_random"}}
CAPABILITY = {"demucs": "stems"}
IMPORTS = {
    "demucs": "import librosa, scipy.signal, soundfile, torch, demucs.htdemucs",
    "demucs-exported": "import soundfile, soxr, onnxruntime, openvino",  # a worker running recorded graphs
    "analyze": "import librosa, scipy.signal, soundfile",
    "mood": "import librosa, scipy.signal, soundfile, sklearn",
    "stems": "import librosa, scipy.signal, soundfile",
    "remix": "import librosa, scipy.signal, soundfile, pedalboard",
}

#: This process's own peak (VmHWM): ``ru_maxrss`` would carry over the peak of the parent it was forked from.
PEAK = """
def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""

CHILD_RUN = PEAK + """
import sys, time
from pathlib import Path
import json, os
from moodmix.engine.config import load_settings
from moodmix.testing import run_local
settings = load_settings(environ={k: v for k, v in os.environ.items() if k.startswith("MOODMIX_PLUGINS__")},
                         model_dir=os.environ.get("MOODMIX_MODEL_DIR", ""), device="cpu",
                         **({"data_dir": os.environ["MOODMIX_DATA_DIR"]} if os.environ.get("MOODMIX_DATA_DIR") else {}))
t = time.perf_counter()
result = run_local(sys.argv[1], Path(sys.argv[3]), inputs={"audio": Path(sys.argv[2])}, params=json.loads(sys.argv[4]),
                   settings=settings)
print(peak_mb(), time.perf_counter() - t, result.backend, result.data.get("engine", ""),
      "torch imported" if "torch" in sys.modules else "torch not imported")
"""

CHILD_BASELINE = PEAK + """
import sys
{imports}
if sys.argv[1] == "decode":
    from moodmix.engine.audio_io import load_audio
    audio, sr = load_audio(sys.argv[2])
print(peak_mb(), 0.0, "-")
"""


def child(code: str, *args: str, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> tuple[float, float, str]:
    """Run ``code`` in a fresh interpreter; ``cwd``: a folder of its own, so its ``./data`` (the remix's
    cached track analysis) is empty and every step runs, as on a first upload."""
    if cwd is not None:
        cwd.mkdir(parents=True, exist_ok=True)
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         env=os.environ | {"HF_HUB_OFFLINE": "1"} | (env or {}), cwd=cwd)
    if out.returncode != 0:
        return float("nan"), float("nan"), f"failed: {out.stderr.strip().splitlines()[-1][:160]}"
    peak, seconds, backend = out.stdout.strip().splitlines()[-1].split(maxsplit=2)
    return float(peak), float(seconds), backend


def long_track(path: Path, minutes: float) -> Path:
    song = make_song(91, seconds=30.0)
    reps = int(np.ceil(minutes * 60 / 30.0))
    track = np.tile(song.mix, (1, reps))[:, : int(minutes * 60 * song.sr)]
    return save_audio(path, track, song.sr, format="wav")


def decode_check(work: Path, minutes: float) -> None:
    """The block-wise decode against one read of the whole file (the in-memory path)."""
    import soundfile as sf

    from moodmix.engine.audio_io import load_audio

    path = long_track(work / "check.wav", minutes)
    ours, _ = load_audio(path)
    whole = sf.read(str(path), dtype="float32", always_2d=True)[0].T
    noise = float(np.sum((ours.astype(np.float64) - whole) ** 2))
    snr = float("inf") if noise == 0 else 10 * np.log10(float(np.sum(whole.astype(np.float64) ** 2)) / noise)
    print(f"decode of a {minutes:g}-minute track, block-wise vs all at once: SNR {snr:.1f} dB "
          f"({'identical' if noise == 0 else 'differs'})")


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    noise = float(np.sum((reference.astype(np.float64) - estimate) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(float(np.sum(reference.astype(np.float64) ** 2)) / noise)


def stems_check(work: Path, minutes: float) -> None:
    """Streamed dsp stems files (the capability) against the in-memory path: the whole track separated
    into whole arrays and each written at once, as the capability did before it streamed."""
    from moodmix.engine.audio_io import load_audio
    from moodmix.plugins.stems.capability import fold_sources
    from moodmix.plugins.stems.dsp_separator import DspSeparator
    from moodmix.testing import run_local

    path = long_track(work / "check-dsp.wav", minutes)
    audio, sr = load_audio(path)
    result = run_local("stems", work / "check-dsp", inputs={"audio": path}, params=PARAMS["stems"])
    line = []
    for name, whole in fold_sources(DspSeparator().separate(audio, sr), "4stems").items():
        depth = "float" if np.max(np.abs(whole)) > 1.0 else "24"
        expected, _ = load_audio(save_audio(work / f"whole-{name}.wav", whole, sr, format="wav", bit_depth=depth))
        got, _ = load_audio(result.files[name])
        line.append(f"{name} {snr_db(expected, got):.1f} dB")
    print(f"stems dsp, {minutes:g}-minute track, streamed files vs in-memory path: "
          f"{', '.join(line)} (inf: identical)", flush=True)


def remix_check(work: Path, minutes: float) -> None:
    """The remix capability (whole track rendered block by block in files) against its in-memory path
    (``pipeline.STREAM_WHOLE_TRACK = False``: whole arrays, as before it streamed), same track, same params."""
    from moodmix.engine.audio_io import load_audio
    from moodmix.plugins.remix import pipeline
    from moodmix.testing import run_local

    path = long_track(work / "check-remix.wav", minutes)
    results = {}
    for streamed in (True, False):
        pipeline.STREAM_WHOLE_TRACK = streamed
        try:
            results[streamed] = run_local("remix", work / f"check-remix-{streamed}", inputs={"audio": path},
                                          params=PARAMS["remix"])
        finally:
            pipeline.STREAM_WHOLE_TRACK = True
    ours, _ = load_audio(results[True].files["remix"])
    whole, _ = load_audio(results[False].files["remix"])
    new, old = results[True].data, results[False].data
    fields = [k for k in old if k != "analysis_reused" and new.get(k) != old[k]]
    print(f"remix lofi, {minutes:g}-minute track, streamed vs in-memory path: SNR {snr_db(whole, ours):.1f} dB "
          f"(inf: identical), {ours.shape[1]} vs {whole.shape[1]} frames, "
          f"result fields that differ: {', '.join(fields) or 'none'}", flush=True)


def demucs_check(work: Path, minutes: float, models: Path) -> None:
    """The separator's streamed segment loop against ``demucs.apply.apply_model`` on the whole normalised
    track (the path before streaming), both on the eager PyTorch model and with the same shift offset
    (HTDemucs draws from :mod:`random` on every pass, so a seed cannot line the two up)."""
    import random

    import torch
    from demucs.apply import apply_model

    from moodmix.engine.audio_io import load_audio
    from moodmix.plugins.stems.demucs_backend import DemucsSeparator, load_model, mix_stats

    audio, sr = load_audio(long_track(work / "check-demucs.wav", minutes))
    raw, _ = load_model(PARAMS["demucs"]["model"], "cpu", str(models))

    class Eager(DemucsSeparator):  # the loop alone, whatever runtime the separator would pick
        model = property(lambda self: raw)

    draw = random.randint
    random.randint = lambda lo, hi: (lo + hi) // 3
    try:
        ours = Eager(PARAMS["demucs"]["model"]).separate(audio, sr)
        mean, std = mix_stats(audio)
        with torch.inference_mode():
            out = apply_model(raw, torch.from_numpy((audio - mean) / std)[None], shifts=1, split=True,
                              overlap=0.25)
            whole = out[0].mul_(std).add_(mean).numpy()
    finally:
        random.randint = draw
    line = [f"{name} {snr_db(whole[k], ours[name]):.1f} dB" for k, name in enumerate(raw.sources)]
    print(f"stems demucs, {minutes:g}-minute track, streamed loop vs apply_model on the whole track: "
          f"{', '.join(line)} (inf: identical)", flush=True)


def demucs_rows(work: Path, minutes_list: list[float], check_minutes: float, engine: str) -> None:
    from stems_speed import save_random_htdemucs

    models = work / "models"
    save_random_htdemucs(models)
    if check_minutes:
        demucs_check(work, check_minutes, models)
    env = {"MOODMIX_MODEL_DIR": str(models), "MOODMIX_PLUGINS__STEMS__ENGINE": engine,
           "MOODMIX_DATA_DIR": str(work / "demucs-data")}  # its own export cache: the first use below is real
    imports = IMPORTS["demucs"] if engine == "torch" else IMPORTS["demucs-exported"]
    if engine != "torch":
        # A machine's first job on a model exports it (torch, in this process and a child) and records the
        # graphs; every later job, in any worker, runs them without torch: the rows after this one.
        first = long_track(work / "demucs-first.wav", 0.25)
        peak, seconds, backend = child(CHILD_RUN, "stems", str(first), str(work / "out-demucs-first"),
                                       json.dumps(PARAMS["demucs"]), env=env)
        print(f"demucs first job on this machine (export, calibration, record; 15 s track): {peak:.0f} MB, "
              f"{seconds:.1f} s (backend {backend})", flush=True)
    peaks = []
    for minutes in minutes_list:
        track = long_track(work / f"demucs-{minutes:g}.wav", minutes)
        base, _, _ = child(CHILD_BASELINE.format(imports=imports), "imports", str(track))
        decoded, _, _ = child(CHILD_BASELINE.format(imports=imports), "decode", str(track))
        peak, seconds, backend = child(CHILD_RUN, "stems", str(track), str(work / f"out-demucs-{minutes:g}"),
                                       json.dumps(PARAMS["demucs"]), env=env)
        peaks.append(peak)
        print(f"{'demucs':7s}{minutes:3g}m {base:11.0f} {decoded:11.0f} {peak:9.0f} {peak / decoded:11.2f}x "
              f"{seconds:8.1f}  {'met' if peak < 1024 else 'MISSED'} (backend {backend})", flush=True)
    if len(peaks) > 1:
        span = minutes_list[-1] - minutes_list[0]
        print(f"demucs peak growth: {(peaks[-1] - peaks[0]) / span:+.1f} MB per minute of track "
              f"({minutes_list[0]:g} -> {minutes_list[-1]:g} min); the decoded track alone grows "
              f"{44100 * 60 * 2 * 4 / 2**20:.1f} MB per minute", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--capabilities", default="analyze,mood,stems,remix")
    ap.add_argument("--check-minutes", type=float, default=3.0)
    ap.add_argument("--demucs-minutes", default="2,5", help="track lengths for the demucs row")
    ap.add_argument("--demucs-check-minutes", type=float, default=1.0)
    ap.add_argument("--demucs-engine", default="torch",
                    help="[plugins.stems] engine for the demucs rows (torch: the segment loop's own memory)")
    args = ap.parse_args()
    caps = args.capabilities.split(",")
    with tempfile.TemporaryDirectory(prefix="moodmix-memory-") as tmp:
        work = Path(tmp)
        if args.check_minutes:
            decode_check(work, args.check_minutes)
            if "stems" in caps:
                stems_check(work, args.check_minutes)
            if "remix" in caps:
                remix_check(work, args.check_minutes)
        track = long_track(work / "long.wav", args.minutes)
        size_mb = args.minutes * 60 * 44100 * 2 * 4 / 2**20
        print(f"{args.minutes:g}-minute stereo 44.1 kHz track: {size_mb:.0f} MB as float32; {_stack.load_average()}",
              flush=True)
        print(f"{'':10s} {'imports MB':>11s} {'decoded MB':>11s} {'run MB':>9s} {'run/decoded':>12s} "
              f"{'seconds':>8s}  verdict (< 1024 MB)")
        for cap in (c for c in caps if c != "demucs"):
            base, _, _ = child(CHILD_BASELINE.format(imports=IMPORTS[cap]), "imports", str(track))
            decoded, _, _ = child(CHILD_BASELINE.format(imports=IMPORTS[cap]), "decode", str(track))
            t0 = time.perf_counter()
            peak, seconds, backend = child(CHILD_RUN, CAPABILITY.get(cap, cap), str(track), str(work / f"out-{cap}"),
                                           json.dumps(PARAMS[cap]), cwd=work / f"cwd-{cap}")
            verdict = "met" if peak < 1024 else ("MISSED" if peak == peak else backend)
            print(f"{cap:10s} {base:11.0f} {decoded:11.0f} {peak:9.0f} {peak / decoded:11.2f}x "
                  f"{seconds if seconds == seconds else time.perf_counter() - t0:8.1f}  {verdict} "
                  f"(backend {backend})", flush=True)
        if "demucs" in caps:
            demucs_rows(work, [float(m) for m in args.demucs_minutes.split(",")], args.demucs_check_minutes,
                        args.demucs_engine)
        print(_stack.load_average())


if __name__ == "__main__":
    main()
