"""API throughput and latency against the real server on loopback.

    python bench/api.py [--seconds 10] [--connections 100] [--uploads 20]

- ``GET /api/v1/jobs/{id}`` (authenticated status polling) with wrk (or a Python load generator when
  wrk is missing), against ``GET /health`` as the baseline measured in the same run;
- 10 MB uploads (streamed, hashed, decoded in full), against writing + hashing the same bytes locally.
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=100)
    ap.add_argument("--uploads", type=int, default=20)
    ap.add_argument("--server", default="granian")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    # ~10 MB of 16-bit stereo noise at 44.1 kHz (≈ 59 s)
    rng = np.random.default_rng(0)
    big = save_audio(tmp / "ten_mb.wav", rng.uniform(-0.5, 0.5, (2, 2_620_000)).astype(np.float32), 44100)
    size_mb = big.stat().st_size / 1e6
    with running_server(args.server) as (base, _data):
        http = httpx.Client(base_url=base, timeout=60)
        token = http.post("/api/v1/auth/register", json={"username": "bench", "password": "bench-pass-1"}
                          ).json()["data"]["token"]
        auth = {"Authorization": f"Bearer {token}"}
        with open(big, "rb") as fh:
            file_id = http.post("/api/v1/files", headers=auth, files={"file": ("b.wav", fh, "audio/wav")}
                                ).json()["data"]["id"]
        job = http.post("/api/v1/jobs", headers=auth, json={"capability": "analyze", "file_id": file_id}
                        ).json()["data"]
        tool = "wrk" if shutil.which("wrk") else "python (httpx)"
        base_res = load(f"{base}/health", args.seconds, args.connections, None)
        job_res = load(f"{base}/api/v1/jobs/{job['id']}", args.seconds, args.connections, token)
        print(f"load generator: {tool}, {args.connections} connections, {args.seconds} s each, server {args.server}")
        for name, r in (("GET /health (baseline)", base_res), ("GET /api/v1/jobs/{id}", job_res)):
            print(f"{name:26s} {r['rps']:9.0f} req/s  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  "
                  f"errors {r['errors']}")
        print(f"job polling / baseline throughput ratio: {job_res['rps'] / base_res['rps']:.2f}")

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


if __name__ == "__main__":
    main()
