"""Peak memory of each built-in capability on a long track, against the track's own size in memory.

    python bench/memory.py [--minutes 20] [--capabilities analyze,mood,stems,remix] [--check-minutes 3]

A 20-minute stereo 44.1 kHz WAV is generated (a synthetic song, repeated). Each capability runs on it
through ``moodmix.testing.run_local`` in a fresh child process, and the child's peak RSS
(``VmHWM``) is printed next to two baselines measured in the same run, also in children:

- ``imports``: the interpreter with the capability's libraries imported, nothing decoded;
- ``decoded``: the same plus the whole track decoded once as float32 (channels, frames): what any
  in-memory path holds before it starts work.

Target (issue 19): every capability < 1 GB peak. ``--check-minutes`` also decodes a shorter track
block by block and all at once and prints the SNR between the two (identical is +inf dB).
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

PARAMS = {"analyze": {}, "mood": {}, "stems": {"backend": "dsp"}, "remix": {"genre": "lofi", "stems_backend": "dsp"}}
IMPORTS = {
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
from moodmix.testing import run_local
import json
t = time.perf_counter()
result = run_local(sys.argv[1], Path(sys.argv[3]), inputs={"audio": Path(sys.argv[2])}, params=json.loads(sys.argv[4]))
print(peak_mb(), time.perf_counter() - t, result.backend)
"""

CHILD_BASELINE = PEAK + """
import sys
{imports}
if sys.argv[1] == "decode":
    from moodmix.engine.audio_io import load_audio
    audio, sr = load_audio(sys.argv[2])
print(peak_mb(), 0.0, "-")
"""


def child(code: str, *args: str) -> tuple[float, float, str]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         env=os.environ | {"HF_HUB_OFFLINE": "1"})
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--capabilities", default="analyze,mood,stems,remix")
    ap.add_argument("--check-minutes", type=float, default=3.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="moodmix-memory-") as tmp:
        work = Path(tmp)
        if args.check_minutes:
            decode_check(work, args.check_minutes)
        track = long_track(work / "long.wav", args.minutes)
        size_mb = args.minutes * 60 * 44100 * 2 * 4 / 2**20
        print(f"{args.minutes:g}-minute stereo 44.1 kHz track: {size_mb:.0f} MB as float32; {_stack.load_average()}",
              flush=True)
        print(f"{'':10s} {'imports MB':>11s} {'decoded MB':>11s} {'run MB':>9s} {'run/decoded':>12s} "
              f"{'seconds':>8s}  verdict (< 1024 MB)")
        for cap in args.capabilities.split(","):
            base, _, _ = child(CHILD_BASELINE.format(imports=IMPORTS[cap]), "imports", str(track))
            decoded, _, _ = child(CHILD_BASELINE.format(imports=IMPORTS[cap]), "decode", str(track))
            t0 = time.perf_counter()
            peak, seconds, backend = child(CHILD_RUN, cap, str(track), str(work / f"out-{cap}"),
                                           json.dumps(PARAMS[cap]))
            verdict = "met" if peak < 1024 else ("MISSED" if peak == peak else backend)
            print(f"{cap:10s} {base:11.0f} {decoded:11.0f} {peak:9.0f} {peak / decoded:11.2f}x "
                  f"{seconds if seconds == seconds else time.perf_counter() - t0:8.1f}  {verdict} "
                  f"(backend {backend})", flush=True)
        print(_stack.load_average())


if __name__ == "__main__":
    main()
