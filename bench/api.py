"""API throughput and latency against the real server on loopback.

    python bench/api.py [--seconds 5] [--connections 100] [--runs 3] [--configs embedded,production]
                        [--uploads 20]

- ``GET /api/v1/jobs/{id}`` (authenticated status polling of a running job, and of a finished one)
  with wrk (or a Python load generator when wrk is missing), against ``GET /health`` on the same
  server as the baseline, alternating, ``--runs`` times each; the ratio of throughputs and the p99
  are printed per run and as min / median / max. Targets (issue 19): ratio >= 0.5, p99 <= 25 ms at
  100 connections, on ``embedded`` (SQLite, one process) and ``production`` (2 HTTP workers,
  Postgres + Redis, one job worker);
- 10 MB uploads (streamed, hashed, decoded in full), against writing + hashing the same bytes locally
  (first configuration only).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import _stack
import load as load_bench
from _server import running_server

from moodmix.engine.audio_io import save_audio


def wrk(url: str, seconds: int, connections: int, token: str | None) -> dict:
    r = load_bench.wrk(url, seconds, connections, token)  # one wrk parser for every bench
    return {"rps": r["rps"], "p50_ms": r["p50"], "p99_ms": r["p99"], "errors": r["errors"]}


async def pyload(url: str, seconds: int, connections: int, token: str | None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    lat: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, headers=headers, timeout=10) as client:
        async def loop() -> None:
            nonlocal errors
            while time.monotonic() < stop:
                t = time.perf_counter()
                r = await client.get(url)
                lat.append((time.perf_counter() - t) * 1000)
                errors += r.status_code != 200
        await asyncio.gather(*(loop() for _ in range(connections)))
    lat.sort()
    return {"rps": len(lat) / seconds, "p50_ms": lat[len(lat) // 2], "p99_ms": lat[int(len(lat) * 0.99)],
            "errors": errors}


def load(url: str, seconds: int, connections: int, token: str | None) -> dict:
    if shutil.which("wrk"):
        return wrk(url, seconds, connections, token)
    return asyncio.run(pyload(url, seconds, connections, token))


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


async def polling(config: str, args: argparse.Namespace, small: bytes) -> None:
    """Status polling against /health on one server of ``config``, ``args.runs`` times, alternating."""
    work = Path(tempfile.mkdtemp(prefix=f"moodmix-api-{config}-"))
    async with load_bench.server(config, work) as base:
        with httpx.Client(base_url=base, timeout=60) as http:
            token, done_id, running_id = load_bench.seed_jobs(http, small)
        tool = "wrk" if shutil.which("wrk") else "python (httpx)"
        print(f"[{config}] {tool}, {args.connections} connections, {args.seconds} s per measurement; "
              f"{_stack.load_average()}", flush=True)
        ratios: dict[str, list[float]] = {"running": [], "finished": []}
        p99s: dict[str, list[float]] = {"health": [], "running": [], "finished": []}
        for i in range(args.runs):
            health = load(f"{base}/health", args.seconds, args.connections, None)
            running = load(f"{base}/api/v1/jobs/{running_id}", args.seconds, args.connections, token)
            finished = load(f"{base}/api/v1/jobs/{done_id}", args.seconds, args.connections, token)
            p99s["health"].append(health["p99_ms"])
            for name, r in (("running", running), ("finished", finished)):
                ratios[name].append(r["rps"] / health["rps"])
                p99s[name].append(r["p99_ms"])
            for name, r in (("GET /health (baseline)", health), ("GET /api/v1/jobs/{running}", running),
                            ("GET /api/v1/jobs/{finished}", finished)):
                print(f"  run {i + 1} {name:28s} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.2f} ms  "
                      f"p99 {r['p99_ms']:7.2f} ms  errors {r['errors']}", flush=True)
        print(f"[{config}] over {args.runs} runs (min / median / max):")
        print(f"  /health p99 ms {spread(p99s['health'])}")
        for name in ("running", "finished"):
            ok = min(ratios[name]) >= 0.5 and max(p99s[name]) <= 25
            print(f"  job {name:8s} ratio to /health {spread(ratios[name])}; p99 ms {spread(p99s[name])}  "
                  f"({'meets' if ok else 'MISSES'} ratio >= 0.5 and p99 <= 25 ms in every run)")
        print(f"[{config}] {_stack.load_average()}", flush=True)


def uploads(args: argparse.Namespace, big: Path, tmp: Path) -> None:
    size_mb = big.stat().st_size / 1e6
    with running_server(args.server) as (base, _data):
        http = httpx.Client(base_url=base, timeout=60)
        token = http.post("/api/v1/auth/register", json={"username": "bench", "password": "bench-pass-1"}
                          ).json()["data"]["token"]
        auth = {"Authorization": f"Bearer {token}"}
        times = []
        payload = big.read_bytes()
        for _ in range(args.uploads):
            t = time.perf_counter()
            r = http.post("/api/v1/files", headers=auth, files={"file": ("b.wav", payload, "audio/wav")})
            times.append(time.perf_counter() - t)
            assert r.status_code == 201 and r.json()["data"]["sha256"] == hashlib.sha256(payload).hexdigest()
        local = []
        for _ in range(5):
            t = time.perf_counter()
            digest = hashlib.sha256()
            with open(tmp / "copy.bin", "wb") as fh:
                for i in range(0, len(payload), 1 << 20):
                    digest.update(payload[i:i + 1 << 20])
                    fh.write(payload[i:i + (1 << 20)])
            local.append(time.perf_counter() - t)
        times.sort()
        p50 = statistics.median(times)
        print(f"10 MB upload ({size_mb:.1f} MB, {args.uploads}x): p50 {p50 * 1000:.0f} ms  "
              f"p99 {times[min(len(times) - 1, int(len(times) * 0.99))] * 1000:.0f} ms  "
              f"{size_mb / p50:.0f} MB/s; local write+hash baseline {statistics.median(local) * 1000:.0f} ms "
              f"(upload/baseline {p50 / statistics.median(local):.1f}x)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--configs", default="embedded,production")
    ap.add_argument("--uploads", type=int, default=20)
    ap.add_argument("--server", default="granian", help="HTTP server for the upload measurement")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    small = save_audio(tmp / "small.wav", (np.sin(np.arange(8000) / 4.0) * 0.3).astype(np.float32), 8000).read_bytes()
    for config in args.configs.split(","):
        asyncio.run(polling(config, args, small))
    if args.uploads:
        # ~10 MB of 16-bit stereo noise at 44.1 kHz (≈ 59 s)
        rng = np.random.default_rng(0)
        big = save_audio(tmp / "ten_mb.wav", rng.uniform(-0.5, 0.5, (2, 2_620_000)).astype(np.float32), 44100)
        uploads(args, big, tmp)


if __name__ == "__main__":
    main()
