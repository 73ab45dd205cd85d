"""Long schemathesis run against real servers, with and without a token.

    python bench/fuzz_api.py [--examples 100] [--seed 1] [--configs embedded,production]

For each configuration it starts ``moodmix serve`` (and, for production, a ``moodmix worker``
on a private Postgres database plus Redis), seeds a user with a file, a finished job and a share
link, then fuzzes every operation of the served schema (valid and invalid requests) signed in and
anonymously, plus the edge cases generators rarely reach (bodies nested 5,000 levels deep, uploads
named in non-Latin scripts). Prints request counts, status histogram and every failure; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import _stack
import numpy as np
from hardening.fuzzing import FuzzReport, edge_cases, fuzz, seed_resources
from hardening.stack import private_database, real_server, stack_env
from support import WorkerProcess

from moodmix.engine.audio_io import save_audio


async def run_config(config: str, examples: int, seed: int, work: Path) -> list[FuzzReport]:
    wav = save_audio(work / "t.wav", (np.sin(np.arange(4000) / 3.0) * 0.3).astype(np.float32), 8000).read_bytes()
    extra = {"MOODMIX_JOB_TIME_LIMIT_S": "5", "MOODMIX_RATE_LIMIT": "1000000000", "MOODMIX_LOG_LEVEL": "ERROR"}
    if config == "embedded":
        env = stack_env(work / "data", config, None, **extra)
        with real_server(env, work / "server.log") as base:
            return _fuzz_both(base, wav, examples, seed)
    async with private_database("fuzzbench") as url:
        env = stack_env(work / "data", config, url, **extra)
        worker = WorkerProcess(env, work / "worker.log").start()
        try:
            with real_server(env, work / "server.log") as base:
                reports = _fuzz_both(base, wav, examples, seed)
            if worker.proc.poll() is not None:
                reports[0].failures.append(f"the worker died (exit {worker.proc.returncode})")
            return reports
        finally:
            worker.stop()


def _fuzz_both(base: str, wav: bytes, examples: int, seed: int) -> list[FuzzReport]:
    headers, known = seed_resources(base, wav)
    signed_in = fuzz(base, headers=headers, known=known, max_examples=examples, seed=seed)
    anonymous = fuzz(base, headers={}, known=known, max_examples=examples, seed=seed + 1)
    edge_cases(base, headers=headers, known=known, wav_bytes=wav, report=signed_in)
    edge_cases(base, headers={}, known=known, wav_bytes=wav, report=anonymous)
    return [signed_in, anonymous]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--examples", type=int, default=100, help="examples per operation and mode")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--configs", default="embedded,production")
    args = ap.parse_args()
    import schemathesis

    print(f"schemathesis {schemathesis.__version__}, {args.examples} examples per operation and mode, "
          f"seed {args.seed}; {_stack.load_average()}")
    failed = 0
    for config in args.configs.split(","):
        work = Path(tempfile.mkdtemp(prefix=f"moodmix-fuzz-{config}-"))
        started = time.monotonic()
        reports = asyncio.run(run_config(config, args.examples, args.seed, work))
        for label, report in zip(("signed in", "anonymous"), reports, strict=True):
            print(f"[{config}, {label}] {report.summary()}")
            for failure in report.failures:
                print("  FAIL", failure.replace("\n", "\n       "))
            failed += len(report.failures)
        print(f"[{config}] {time.monotonic() - started:.0f} s wall; logs in {work}")
    print(f"{_stack.load_average()}; {failed} failures")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
