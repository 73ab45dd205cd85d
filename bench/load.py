"""Load on the real server over loopback: status polling with wrk, concurrent 10 MB uploads.

    python bench/load.py [--seconds 15] [--connections 100] [--uploads 50] [--configs embedded,production]
                         [--profile]

Targets (issue 9): >= 2,000 req/s on ``GET /api/v1/jobs/{id}`` at 100 connections with p99 < 25 ms and
no errors; 50 concurrent 10 MB uploads with every byte intact. ``embedded`` is ``moodmix serve``
(SQLite, one process); ``production`` is ``moodmix serve --workers 2`` on a private Postgres database
with Redis (rate limits in Redis) plus one job worker. ``GET /health`` is measured in the same run as
the ceiling of the HTTP stack. ``--profile`` samples the server with py-spy during a second polling
run and prints where the time goes. The machine may be shared: the load average is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import asynccontextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import _stack
import httpx
import numpy as np
from hardening.stack import private_database, real_server, stack_env
from support import WorkerProcess

from moodmix.engine.audio_io import save_audio

UPLOAD_CHUNK = 256 * 1024


def wrk(url: str, seconds: int, connections: int, token: str | None = None) -> dict:
    header = ["-H", f"Authorization: Bearer {token}"] if token else []
    out = subprocess.run(["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--latency", *header, url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p: str) -> float:
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", out)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(g) for g in m.groups())
    return {"rps": rps, "p50": pct("50"), "p99": pct("99"), "errors": errors}


def line(name: str, r: dict) -> str:
    return (f"  {name:30s} {r['rps']:8.0f} req/s  p50 {r['p50']:6.2f} ms  p99 {r['p99']:7.2f} ms  "
            f"errors {r['errors']}")


@asynccontextmanager
async def server(config: str, work: Path):
    """Base URL of a running server for ``config`` (with a job worker for production)."""
    extra = {"MOODMIX_RATE_LIMIT": "1000000000", "MOODMIX_LOG_LEVEL": "WARNING", "MOODMIX_JOB_TIME_LIMIT_S": "900"}
    if config == "embedded":
        with real_server(stack_env(work / "data", config, None, **extra), work / "server.log") as base:
            yield base
        return
    async with private_database("load") as url:
        env = stack_env(work / "data", config, url, **extra)
        worker = WorkerProcess(env, work / "worker.log").start()
        try:
            with real_server(env, work / "server.log", workers=2) as base:
                yield base
        finally:
            worker.stop()


def seed_jobs(http: httpx.Client, wav: bytes) -> tuple[str, str, str]:
    """A user's token, a finished job and a running one (``slow``, reporting progress, for ten minutes)."""
    token = http.post("/api/v1/auth/register", json={"username": "load", "password": "load-pass-1"}
                      ).json()["data"]["token"]
    auth = {"Authorization": f"Bearer {token}"}
    file_id = http.post("/api/v1/files", headers=auth, files={"file": ("t.wav", wav, "audio/wav")}).json()["data"]["id"]
    done = http.post("/api/v1/jobs", headers=auth, json={"capability": "reverse", "file_id": file_id}).json()["data"]
    running = http.post("/api/v1/jobs", headers=auth, json={"capability": "slow", "params": {"seconds": 600},
                                                             "reuse": False}).json()["data"]
    deadline = time.monotonic() + 120
    while (http.get(f"/api/v1/jobs/{done['id']}", headers=auth).json()["data"]["status"] != "succeeded"
           or http.get(f"/api/v1/jobs/{running['id']}", headers=auth).json()["data"]["status"] != "running"):
        if time.monotonic() > deadline:
            raise RuntimeError("the seed jobs did not start/finish")
        time.sleep(0.2)
    return token, done["id"], running["id"]


def server_pids(base: str) -> list[int]:
    """The serving processes (granian's main process and its workers), found by listening port."""
    port = base.rsplit(":", 1)[1]
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout
    return sorted({int(p) for p in re.findall(r"pid=(\d+)", out)})


def start_profilers(pids: list[int], seconds: int, work: Path) -> tuple[list[subprocess.Popen], list[Path]]:
    """py-spy sampling each serving process for ``seconds`` (raw collapsed stacks)."""
    procs, outputs = [], []
    for pid in pids:
        out = work / f"profile-{pid}.txt"
        procs.append(subprocess.Popen(["py-spy", "record", "-p", str(pid), "-d", str(seconds), "-r", "200",
                                       "--format", "raw", "-o", str(out), "--nonblocking"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        outputs.append(out)
    return procs, outputs


def summarize_profiles(outputs: list[Path], top: int = 18) -> list[str]:
    """Top functions of ours and our libraries, by inclusive share of all samples."""
    inclusive: Counter = Counter()
    total = 0
    for out in outputs:
        if not out.exists():
            continue
        for raw in out.read_text(errors="replace").splitlines():
            stack, _, count = raw.rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            total += n
            seen = set()
            for frame in stack.split(";"):
                name = re.sub(r"\s*\(.*?(site-packages/|src/)?([^/()]+\.py)?:\d+\)", r" (\2)", frame).strip()
                if name and name not in seen:
                    seen.add(name)
                    inclusive[name] += n
    interesting = [(k, v) for k, v in inclusive.most_common(400)
                   if any(s in k for s in ("moodmix", "piccolo", "aiosqlite", "asyncpg", "litestar", "jwt", "redis",
                                           "msgspec", "sqlite3", "rate_limit", "service", "security"))]
    return [f"  {v / max(total, 1) * 100:5.1f}%  {k[:110]}" for k, v in interesting[:top]]


async def uploads(base: str, token: str, count: int, payload: bytes) -> dict:
    """``count`` concurrent raw-body uploads, each a distinct 10 MB WAV; hashes checked both ways."""
    def variant(i: int) -> bytes:  # distinct audio bytes per upload (a patched sample near the end)
        pos = len(payload) - 64
        return payload[:pos] + i.to_bytes(4, "little") + payload[pos + 4:]

    async def body(data: bytes):
        for start in range(0, len(data), UPLOAD_CHUNK):
            yield data[start:start + UPLOAD_CHUNK]

    auth = {"Authorization": f"Bearer {token}", "Content-Type": "audio/wav"}
    limits = httpx.Limits(max_connections=count + 5)
    async with httpx.AsyncClient(base_url=base, timeout=300, limits=limits) as http:
        async def one(i: int) -> tuple[float, str | None]:
            data = variant(i)
            expected = hashlib.sha256(data).hexdigest()
            t = time.perf_counter()
            resp = await http.post(f"/api/v1/files?filename=up{i}.wav", headers=auth, content=body(data))
            took = time.perf_counter() - t
            if resp.status_code != 201:
                return took, f"upload {i}: {resp.status_code} {resp.text[:120]}"
            record = resp.json()["data"]
            if record["sha256"] != expected or record["size_bytes"] != len(data):
                return took, f"upload {i}: stored sha256/size differ from what was sent"
            back = await http.get(f"/api/v1/files/{record['id']}/download", headers=auth)
            if hashlib.sha256(back.content).hexdigest() != expected:
                return took, f"upload {i}: downloaded bytes differ"
            return took, None

        started = time.perf_counter()
        results = await asyncio.gather(*(one(i) for i in range(count)))
        wall = time.perf_counter() - started
    times = sorted(t for t, _ in results)
    problems = [p for _, p in results if p]
    return {"wall": wall, "p50": statistics.median(times), "max": times[-1], "problems": problems,
            "mb_s": count * len(payload) / 1e6 / wall}


async def run_config(config: str, args: argparse.Namespace, big: bytes, small: bytes) -> None:
    work = Path(tempfile.mkdtemp(prefix=f"moodmix-load-{config}-"))
    async with server(config, work) as base:
        with httpx.Client(base_url=base, timeout=60) as http:
            token, done_id, job_id = seed_jobs(http, small)
        print(f"[{config}] server {base} ({'2 HTTP workers, Postgres + Redis' if config != 'embedded' else 'SQLite'}); "
              f"{_stack.load_average()}")
        print(line("GET /health (ceiling)", wrk(f"{base}/health", max(5, args.seconds // 2), args.connections)))
        print(line("GET /api/v1/jobs/{finished}", wrk(f"{base}/api/v1/jobs/{done_id}", args.seconds,
                                                        args.connections, token)))
        polled = wrk(f"{base}/api/v1/jobs/{job_id}", args.seconds, args.connections, token)
        verdict = "meets" if polled["rps"] >= 2000 and polled["p99"] < 25 and not polled["errors"] else "misses"
        print(line("GET /api/v1/jobs/{running}", polled) + f"   ({verdict} >= 2000 req/s, p99 < 25 ms)")
        if args.profile:
            pids = server_pids(base)
            procs, outputs = start_profilers(pids, args.seconds, work)
            wrk(f"{base}/api/v1/jobs/{job_id}", args.seconds, args.connections, token)
            for proc in procs:
                proc.wait(timeout=60)
            print(f"  where status polling spends its time (py-spy, processes {pids}, inclusive):")
            print("\n".join(summarize_profiles(outputs)))
        if args.uploads:
            up = await uploads(base, token, args.uploads, big)
            print(f"  {args.uploads} concurrent {len(big) / 1e6:.1f} MB uploads: wall {up['wall']:.1f} s, "
                  f"p50 {up['p50']:.1f} s, max {up['max']:.1f} s, {up['mb_s']:.0f} MB/s; "
                  f"corrupted or failed: {len(up['problems'])}")
            for p in up["problems"][:10]:
                print(f"    {p}")
    print(f"[{config}] done; {_stack.load_average()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--connections", type=int, default=100)
    ap.add_argument("--uploads", type=int, default=50)
    ap.add_argument("--configs", default="embedded,production")
    ap.add_argument("--profile", action="store_true", help="sample the server with py-spy while polling")
    args = ap.parse_args()
    if args.profile and not shutil.which("py-spy"):
        sys.exit("--profile needs py-spy (pip install py-spy)")
    tmp = Path(tempfile.mkdtemp())
    rng = np.random.default_rng(0)
    big = save_audio(tmp / "ten_mb.wav", rng.uniform(-0.5, 0.5, (2, 2_620_000)).astype(np.float32), 44100).read_bytes()
    small = save_audio(tmp / "small.wav", (np.sin(np.arange(8000) / 4.0) * 0.3).astype(np.float32), 8000).read_bytes()
    for config in args.configs.split(","):
        asyncio.run(run_config(config, args, big, small))


if __name__ == "__main__":
    main()
