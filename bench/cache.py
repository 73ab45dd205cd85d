"""Result reuse: an identical request answered from a finished job vs. the first run.

    python bench/cache.py [--capability stems] [--seconds 30]

Measures, against the real server on loopback, the time from POST /jobs to a
succeeded job for the first request and for an identical repeat (same bytes,
parameters and plugin version), and prints the ratio. Target: ≥ 50×.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _server import running_server

from moodmix.engine.demo import write_demo_track


def timed_job(http: httpx.Client, headers: dict, body: dict) -> tuple[float, dict]:
    start = time.perf_counter()
    resp = http.post("/api/v1/jobs", headers=headers, json=body).json()
    job = resp["data"]
    if job is None:
        raise SystemExit(f"job refused: {resp['error']}")
    while job["status"] not in ("succeeded", "failed", "cancelled"):
        time.sleep(0.02)
        job = http.get(f"/api/v1/jobs/{job['id']}", headers=headers).json()["data"]
    return time.perf_counter() - start, job


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--capability", default="stems")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    track = write_demo_track(Path(tempfile.mkdtemp()) / "track.wav", seconds=args.seconds)
    with running_server() as (base, _):
        http = httpx.Client(base_url=base, timeout=600)
        token = http.post("/api/v1/auth/register", json={"username": "cachebench", "password": "cache-bench-1"}
                          ).json()["data"]["token"]
        headers = {"Authorization": f"Bearer {token}"}
        with open(track, "rb") as fh:
            file_id = http.post("/api/v1/files", headers=headers, files={"file": ("t.wav", fh, "audio/wav")}
                                ).json()["data"]["id"]
        body = {"capability": args.capability, "file_id": file_id}
        first, job = timed_job(http, headers, body)
        assert job["status"] == "succeeded" and not job["cache_hit"], job
        hits = []
        for _ in range(args.repeats):
            t, again = timed_job(http, headers, body)
            assert again["cache_hit"] and again["reused_from"] == job["id"], again
            hits.append(t)
        hit = sorted(hits)[len(hits) // 2]
        print(f"{args.capability} on a {args.seconds:.0f} s track: first run {first * 1000:.0f} ms, "
              f"identical repeat (cache hit, median of {args.repeats}) {hit * 1000:.1f} ms -> "
              f"{first / hit:.0f}x faster (target >= 50x)")


if __name__ == "__main__":
    main()
