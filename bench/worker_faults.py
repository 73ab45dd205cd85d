"""Jobs under fire: SIGKILLed workers, a Redis restart and dropped Postgres connections.

    python bench/worker_faults.py [--jobs 100] [--workers 3] [--kill-every 3] [--no-redis] [--no-postgres]

Starts ``moodmix serve`` and N ``moodmix worker`` processes on a private Postgres database and
Redis, submits jobs (``slow`` ~1 s and ``reverse`` on a short WAV, alternating; result reuse off),
then until every job has finished: SIGKILLs a random worker every few seconds and restarts it,
restarts Redis (``redis-cli shutdown nosave`` + ``scripts/services``) once a third of the jobs are
done, and terminates every Postgres connection to the database once two thirds are done.
Reports final states, attempts histogram, how many times each job's result was recorded (from the
workers' JSON logs), whether every output downloads with its recorded sha256, and leftovers.
Redis is shared with other users of this machine: the restart drops their queues too.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import _stack
import httpx
import numpy as np
from hardening.stack import private_database, real_server, stack_env, temp_leftovers
from support import REDIS_URL, WorkerProcess

from moodmix.engine.audio_io import save_audio

TERMINAL = {"succeeded", "failed", "cancelled"}
api_errors: Counter = Counter()  # API answers other than 200 while faults were injected


class Fleet:
    """The worker processes; ``kill_one`` SIGKILLs a random one and starts a replacement."""

    def __init__(self, env: dict[str, str], logs: Path, size: int) -> None:
        self.env, self.logs = env, logs
        self.workers = [self._start(i) for i in range(size)]
        self.kills = 0
        self.restarts_after_exit = 0

    def _start(self, slot: int) -> WorkerProcess:
        return WorkerProcess(self.env, self.logs / f"worker{slot}.log").start()

    def kill_one(self) -> None:
        slot = random.randrange(len(self.workers))
        self.workers[slot].kill(signal.SIGKILL)
        self.kills += 1
        self.workers[slot] = self._start(slot)

    def revive_exited(self) -> None:
        """A worker that exited on its own (not killed by us) is a finding: count it, then replace it."""
        for slot, worker in enumerate(self.workers):
            if worker.proc.poll() is not None:
                self.restarts_after_exit += 1
                print(f"  worker {slot} exited by itself (code {worker.proc.returncode}); restarting it")
                self.workers[slot] = self._start(slot)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()


REDIS_PORT = REDIS_URL.rsplit(":", 1)[1].split("/")[0]


def redis_shutdown() -> None:
    subprocess.run(["redis-cli", "-p", REDIS_PORT, "shutdown", "nosave"], capture_output=True, timeout=10)


def redis_start() -> None:
    """The command scripts/services uses; then wait for PONG."""
    subprocess.run(["bash", str(_stack.ROOT / "scripts" / "services")], capture_output=True, timeout=90)
    while subprocess.run(["redis-cli", "-p", REDIS_PORT, "ping"], capture_output=True, text=True
                         ).stdout.strip() != "PONG":
        time.sleep(0.1)


async def restart_redis(http: httpx.AsyncClient, headers: dict, file_id: str) -> tuple[float, list[str], Counter]:
    """Shut Redis down without saving, submit jobs while it is down, start it again.

    Returns seconds down, the ids of jobs the API accepted meanwhile, and the submit status codes.
    """
    started = time.monotonic()
    await asyncio.to_thread(redis_shutdown)
    codes: Counter = Counter()
    accepted = []
    for _ in range(3):
        resp = await http.post("/api/v1/jobs", headers=headers,
                               json={"capability": "reverse", "file_id": file_id, "reuse": False})
        codes[f"{resp.status_code} {(resp.json().get('error') or {}).get('code', '')}".strip()] += 1
        if resp.status_code == 202:
            accepted.append(resp.json()["data"]["id"])
    await asyncio.to_thread(redis_start)
    return time.monotonic() - started, accepted, codes


async def drop_postgres_connections(database: str, rounds: int, pause: float = 0.05) -> int:
    """Terminate every backend of ``database`` (ours only, never the shared one), ``rounds`` times
    ``pause`` apart, so that some die in the middle of a query rather than idle in a pool."""
    import asyncpg
    from support import PG_ADMIN_URL

    conn = await asyncpg.connect(PG_ADMIN_URL)
    killed = 0
    try:
        for _ in range(rounds):
            rows = await conn.fetch("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = $1 AND pid <> pg_backend_pid()", database)
            killed += len(rows)
            await asyncio.sleep(pause)
        return killed
    finally:
        await conn.close()


async def user_with_file(http: httpx.AsyncClient, wav: bytes) -> tuple[dict, str]:
    reg = await http.post("/api/v1/auth/register", json={"username": "faults", "password": "faults-1234"})
    headers = {"Authorization": f"Bearer {reg.json()['data']['token']}"}
    up = await http.post("/api/v1/files", headers=headers, files={"file": ("t.wav", wav, "audio/wav")})
    return headers, up.json()["data"]["id"]


async def submit(http: httpx.AsyncClient, headers: dict, count: int, file_id: str) -> list[str]:
    ids = []
    for i in range(count):
        body = ({"capability": "slow", "params": {"seconds": 1.0}, "reuse": False} if i % 2 == 0 else
                {"capability": "reverse", "file_id": file_id, "reuse": False})
        resp = await http.post("/api/v1/jobs", headers=headers, json=body)
        resp.raise_for_status()
        ids.append(resp.json()["data"]["id"])
    return ids


async def states(http: httpx.AsyncClient, headers: dict, ids: list[str]) -> dict[str, dict]:
    """Each job's record; ``{"status": "unknown"}`` when the API could not answer (counted in ``api_errors``)."""
    out = {}
    for job_id in ids:
        try:
            resp = await http.get(f"/api/v1/jobs/{job_id}", headers=headers)
            out[job_id] = resp.json()["data"] or {"status": "unknown"}
            if resp.status_code != 200:
                api_errors[f"GET /jobs/{{id}} -> {resp.status_code} {resp.json()['error']['code']}"] += 1
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            out[job_id] = {"status": "unknown"}
            api_errors[f"GET /jobs/{{id}} -> {type(exc).__name__}"] += 1
    return out


async def verify_outputs(http: httpx.AsyncClient, headers: dict, jobs: dict[str, dict]) -> list[str]:
    problems = []
    for job_id, job in jobs.items():
        if job["status"] != "succeeded":
            continue
        outputs = (await http.get(f"/api/v1/jobs/{job_id}/outputs", headers=headers)).json()["data"]
        expected = {"slow": ["log"], "reverse": ["reversed"]}[job["capability"]]
        if sorted(o["name"] for o in outputs) != expected:
            problems.append(f"{job_id}: outputs {[o['name'] for o in outputs]}, expected {expected}")
        for out in outputs:
            body = (await http.get(out["url"], headers=headers)).content
            if hashlib.sha256(body).hexdigest() != out["sha256"]:
                problems.append(f"{job_id}: {out['name']} does not match its recorded sha256")
    return problems


def recorded_counts(logs: Path) -> tuple[Counter, int]:
    """Per job: how many workers logged "succeeded"; plus how many late results were discarded."""
    succeeded: Counter = Counter()
    discarded = 0
    for path in logs.glob("worker*.log"):
        for line in path.read_text(errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            message = rec.get("message", "")
            if rec.get("job_id") and " succeeded (backend=" in message:
                succeeded[rec["job_id"]] += 1
            if "result discarded" in message:
                discarded += 1
    return succeeded, discarded


async def run(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="moodmix-faults-"))
    wav = save_audio(work / "t.wav", (np.sin(np.arange(8000) / 4.0) * 0.3).astype(np.float32), 8000)
    async with private_database("faults") as db_url:
        database = db_url.rsplit("/", 1)[1]
        env = stack_env(work / "data", "production", db_url, MOODMIX_JOB_TIME_LIMIT_S="30",
                        MOODMIX_STALL_TIMEOUT_S="4", MOODMIX_JOB_RETRIES=str(args.retries),
                        MOODMIX_LOG_FORMAT="json", MOODMIX_LOG_LEVEL="INFO", MOODMIX_RATE_LIMIT="100000000")
        fleet = Fleet(env, work, args.workers)
        try:
            with real_server(env, work / "server.log") as base:
                async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                    headers, file_id = await user_with_file(http, wav.read_bytes())
                    started = time.monotonic()
                    ids = await submit(http, headers, args.jobs, file_id)
                    print(f"submitted {len(ids)} jobs in {time.monotonic() - started:.1f} s to {args.workers} workers; "
                          f"killing one every {args.kill_every} s; {_stack.load_average()}")
                    jobs = await drive(http, headers, ids, file_id, fleet, database, args, started)
                    elapsed = time.monotonic() - started
                    problems = await verify_outputs(http, headers, jobs)
                    metrics = (await http.get("/metrics")).text
        finally:
            fleet.stop()
    return report(jobs, elapsed, fleet, problems, work, metrics)


async def drive(http, headers, ids, file_id: str, fleet: Fleet, database: str, args, started: float
                ) -> dict[str, dict]:
    next_kill = time.monotonic() + args.kill_every
    redis_done, pg_done = args.no_redis, args.no_postgres
    deadline = started + args.timeout
    while True:
        await asyncio.sleep(0.5)
        jobs = await states(http, headers, ids)
        done = sum(j["status"] in TERMINAL for j in jobs.values())
        if done == len(ids) or time.monotonic() > deadline:
            return jobs
        fleet.revive_exited()
        if time.monotonic() >= next_kill:
            fleet.kill_one()
            next_kill = time.monotonic() + args.kill_every
        if not redis_done and done >= len(ids) // 3:
            redis_done = True
            down, accepted, codes = await restart_redis(http, headers, file_id)
            ids.extend(accepted)
            print(f"  t={time.monotonic() - started:5.1f}s  {done} done: Redis restarted (down {down:.1f} s); "
                  f"jobs submitted meanwhile: {dict(codes)}")
        if not pg_done and done >= 2 * len(ids) // 3:
            pg_done = True
            n = await drop_postgres_connections(database, args.pg_rounds)
            print(f"  t={time.monotonic() - started:5.1f}s  {done} done: terminated {n} Postgres connections "
                  f"({args.pg_rounds} rounds, 50 ms apart)")


def report(jobs: dict[str, dict], elapsed: float, fleet: Fleet, problems: list[str], work: Path, metrics: str) -> int:
    statuses = Counter(j["status"] for j in jobs.values())
    attempts = Counter(j.get("attempts", 0) for j in jobs.values())
    errors = Counter((j.get("error") or {}).get("code") for j in jobs.values() if j["status"] == "failed")
    recorded, discarded = recorded_counts(work)
    twice = [job_id for job_id, n in recorded.items() if n > 1]
    never = [job_id for job_id, j in jobs.items() if j["status"] == "succeeded" and recorded[job_id] == 0]
    leftovers = [p for p in temp_leftovers(work / "data") if Path(p).parent.name == "temp"]
    print(f"\nfinished in {elapsed:.1f} s; {_stack.load_average()}")
    print(f"final states: {dict(statuses)}")
    print(f"attempts histogram: {dict(sorted(attempts.items()))}")
    if errors:
        print(f"failure reasons: {dict(errors)}")
        for job_id, j in jobs.items():
            if j["status"] == "failed":
                print(f"  {job_id}: {j['error']}")
    print(f"workers SIGKILLed: {fleet.kills}; workers that exited by themselves: {fleet.restarts_after_exit}")
    print(f"results recorded twice: {len(twice)}; succeeded without a log line: {len(never)}; "
          f"late duplicate results discarded: {discarded}")
    print(f"API errors seen while polling: {dict(api_errors) or 'none'}")
    print(f"output problems: {len(problems)}" + "".join(f"\n  {p}" for p in problems[:20]))
    print(f"left in data/temp: {len(leftovers)} scratch folders")
    print("metrics: " + "; ".join(line for line in metrics.splitlines()
                                   if line.startswith(("moodmix_jobs{", "moodmix_stalled", "moodmix_job_retries"))))
    print(f"logs: {work}")
    ok = (statuses.get("succeeded", 0) == len(jobs) and not twice and not problems)
    print("RESULT: " + ("every job succeeded exactly once, outputs intact" if ok else "NOT all jobs succeeded cleanly"))
    return 0 if ok else 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=100)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--kill-every", type=float, default=3.0, help="seconds between SIGKILLs")
    ap.add_argument("--retries", type=int, default=5, help="MOODMIX_JOB_RETRIES (attempts per job)")
    ap.add_argument("--timeout", type=float, default=540.0)
    ap.add_argument("--no-redis", action="store_true", help="skip the Redis restart")
    ap.add_argument("--no-postgres", action="store_true", help="skip dropping Postgres connections")
    ap.add_argument("--pg-rounds", type=int, default=40, help="how many times to terminate the connections")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    random.seed(args.seed)
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
