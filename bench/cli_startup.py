"""How soon ``moodmix`` answers, against ``python -c pass`` measured in the same run.

    python bench/cli_startup.py [--runs 3] [--capability analyze]

Each command runs ``--runs`` times, alternating, in fresh processes:

- ``python -c pass`` (the interpreter's own start-up: the baseline);
- ``moodmix --help``;
- ``moodmix run analyze 1s.wav`` end to end (quiet);
- time to the first progress update of ``moodmix run`` (the first frame of the progress bar, read
  from a pseudo-terminal so that rich draws it as it would for a person).

Wall and CPU time (user + system of the child) are printed as min / median / max; the machine may be
shared, so CPU time is the steadier figure. Targets (issue 19): first progress ≤ 2 s, ``run analyze``
on a 1-s file ≤ 3 s end to end.
"""

from __future__ import annotations

import argparse
import os
import pty
import resource
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
import _stack  # noqa: E402

PY = sys.executable
MOODMIX = [PY, "-m", "moodmix"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``cmd`` (which must succeed)."""
    c0, t0 = _children_cpu(), time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0, _children_cpu() - c0


def first_progress(cmd: list[str], timeout: float = 120.0) -> tuple[float, float]:
    """Seconds until the progress bar first draws (a ``%`` on a terminal), and the run's total wall time."""
    master, slave = pty.openpty()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=os.environ | {
        "COLUMNS": "120", "TERM": "xterm-256color"})
    os.close(slave)
    seen, buf = None, b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 0.01)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                buf += chunk
                if seen is None and b"%" in buf:
                    seen = time.perf_counter() - t0
            elif proc.poll() is not None:
                break
            if time.perf_counter() - t0 > timeout:
                proc.kill()
                raise RuntimeError("moodmix run did not finish")
    finally:
        os.close(master)
    proc.wait()
    if proc.returncode != 0 or seen is None:
        raise RuntimeError(f"moodmix run failed (rc {proc.returncode}): {buf[-400:]!r}")
    return seen, time.perf_counter() - t0


def spread(values: list[float]) -> str:
    return f"{min(values):6.2f} / {statistics.median(values):6.2f} / {max(values):6.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--capability", default="analyze", help="what `moodmix run` runs on the 1-s file")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="moodmix-cli-bench-"))
    clip = work / "one.wav"
    subprocess.run([*MOODMIX, "demo-track", str(clip), "--seconds", "1"], check=True, stdout=subprocess.DEVNULL)
    run_cmd = [*MOODMIX, "run", args.capability, str(clip), "-o", str(work / "out")]
    cases: dict[str, Callable[[], tuple[float, float]]] = {
        "python -c pass (baseline)": lambda: timed([PY, "-c", "pass"]),
        "moodmix --help": lambda: timed([*MOODMIX, "--help"]),
        f"moodmix run {args.capability} 1s.wav": lambda: timed([*run_cmd, "-q"]),
    }
    walls: dict[str, list[float]] = {k: [] for k in cases}
    cpus: dict[str, list[float]] = {k: [] for k in cases}
    firsts: list[float] = []
    print(f"{args.runs} runs each, alternating; {_stack.load_average()}", flush=True)
    for _ in range(args.runs):
        for name, case in cases.items():
            wall, cpu = case()
            walls[name].append(wall)
            cpus[name].append(cpu)
        firsts.append(first_progress(run_cmd)[0])
    base = statistics.median(walls["python -c pass (baseline)"])
    base_cpu = statistics.median(cpus["python -c pass (baseline)"])
    print(f"{'':34s} {'wall s min / median / max':28s} {'CPU s min / median / max':28s} ratio to baseline "
          "(median wall, CPU)")
    for name in cases:
        print(f"{name:34s} {spread(walls[name]):28s} {spread(cpus[name]):28s} "
              f"{statistics.median(walls[name]) / base:6.1f}x, {statistics.median(cpus[name]) / base_cpu:6.1f}x")
    print(f"{'first progress of moodmix run':34s} {spread(firsts):28s} {'':28s} "
          f"{statistics.median(firsts) / base:6.1f}x")
    run_name = f"moodmix run {args.capability} 1s.wav"
    print(f"targets: first progress <= 2 s: {'met' if max(firsts) <= 2 else 'MISSED'} "
          f"(worst {max(firsts):.2f} s); run {args.capability} <= 3 s: "
          f"{'met' if statistics.median(walls[run_name]) <= 3 else 'MISSED'} by median wall "
          f"({statistics.median(walls[run_name]):.2f} s; CPU {statistics.median(cpus[run_name]):.2f} s); "
          f"{_stack.load_average()}")


if __name__ == "__main__":
    main()
