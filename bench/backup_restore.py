"""The README's backup and restore, done for real: every file and output must come back byte for byte.

    python bench/backup_restore.py [--configs production,embedded]

production: server + worker on a private Postgres database; a user uploads a track and runs a job;
then, with the server still running, ``pg_dump -Fc`` and ``rsync -a data/`` (the README's order:
database first, so every file it names is in the copy). Everything is wiped (database dropped, data
folder deleted), restored with ``pg_restore`` and ``rsync`` back, ``moodmix migrate`` is run, a fresh
server starts, and the same user signs in and downloads the upload and the job's output.
embedded: the server is stopped, the data folder (SQLite inside) copied, wiped, copied back.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import _stack
import httpx
import numpy as np
from hardening.stack import admin_sql, private_database, real_server, stack_env
from support import WorkerProcess

from moodmix.engine.audio_io import save_audio

USER = {"username": "backup", "password": "backup-pass-1"}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def create_content(base: str, wav: bytes) -> dict[str, str]:
    """Sign up, upload, run a job; returns the URLs to check and the sha256 of what they serve."""
    with httpx.Client(base_url=base, timeout=60) as http:
        token = http.post("/api/v1/auth/register", json=USER).json()["data"]["token"]
        auth = {"Authorization": f"Bearer {token}"}
        file_id = http.post("/api/v1/files", headers=auth, files={"file": ("song.wav", wav, "audio/wav")}
                            ).json()["data"]["id"]
        job_id = http.post("/api/v1/jobs", headers=auth, json={"capability": "reverse", "file_id": file_id}
                           ).json()["data"]["id"]
        deadline = time.monotonic() + 120
        while http.get(f"/api/v1/jobs/{job_id}", headers=auth).json()["data"]["status"] != "succeeded":
            if time.monotonic() > deadline:
                raise RuntimeError("the job did not finish")
            time.sleep(0.2)
        urls = [f"/api/v1/files/{file_id}/download", f"/api/v1/jobs/{job_id}/outputs/reversed",
                f"/api/v1/jobs/{job_id}/result"]
        return {url: sha(http.get(url, headers=auth).content) for url in urls}


def check_content(base: str, expected: dict[str, str]) -> list[str]:
    """Sign in again (the password hash came back too) and compare every URL's bytes."""
    problems = []
    with httpx.Client(base_url=base, timeout=60) as http:
        login = http.post("/api/v1/auth/login", json=USER)
        if login.status_code != 200:
            return [f"login after restore: {login.status_code} {login.text[:200]}"]
        auth = {"Authorization": f"Bearer {login.json()['data']['token']}"}
        for url, digest in expected.items():
            resp = http.get(url, headers=auth)
            same = sha(resp.content) == digest
            if resp.status_code != 200 or not same:
                problems.append(f"{url}: {resp.status_code}, sha256 {'matches' if same else 'differs'}")
    return problems


def run(cmd: list[str], **kw) -> None:
    subprocess.run(cmd, check=True, capture_output=True, **kw)


async def production(work: Path, wav: bytes) -> list[str]:
    data, copy, dump = work / "data", work / "backup" / "data", work / "backup" / "moodmix.dump"
    copy.parent.mkdir(parents=True)
    async with private_database("backup") as url:
        env = stack_env(data, "production", url)
        worker = WorkerProcess(env, work / "worker.log").start()
        try:
            with real_server(env, work / "server.log") as base:
                expected = create_content(base, wav)
                t = time.monotonic()
                run(["pg_dump", "-Fc", "-f", str(dump), url])
                run(["rsync", "-a", f"{data}/", f"{copy}/"])
                print(f"  backup (server running): {time.monotonic() - t:.1f} s; dump {dump.stat().st_size:,} B, "
                      f"data {sum(p.stat().st_size for p in copy.rglob('*') if p.is_file()):,} B")
        finally:
            worker.stop()
        name = url.rsplit("/", 1)[1]
        await admin_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin_sql(f'CREATE DATABASE "{name}"')
        shutil.rmtree(data)
        print(f"  wiped: database {name} dropped and recreated empty, {data} deleted")
        t = time.monotonic()
        run(["pg_restore", "--no-owner", "-d", url, str(dump)])
        run(["rsync", "-a", f"{copy}/", f"{data}/"])
        run([sys.executable, "-m", "moodmix", "migrate"], env={**os.environ, **env})
        print(f"  restore (pg_restore + rsync + moodmix migrate): {time.monotonic() - t:.1f} s")
        worker = WorkerProcess(env, work / "worker2.log").start()
        try:
            with real_server(env, work / "server2.log") as base:
                return check_content(base, expected)
        finally:
            worker.stop()


async def embedded(work: Path, wav: bytes) -> list[str]:
    data, copy = work / "data", work / "backup"
    env = stack_env(data, "embedded", None)
    with real_server(env, work / "server.log") as base:
        expected = create_content(base, wav)
    run(["rsync", "-a", f"{data}/", f"{copy}/"])  # the server is stopped: the SQLite file is consistent
    shutil.rmtree(data)
    run(["rsync", "-a", f"{copy}/", f"{data}/"])
    print(f"  stopped, copied {sum(p.stat().st_size for p in copy.rglob('*') if p.is_file()):,} B, wiped, copied back")
    with real_server(env, work / "server2.log") as base:
        return check_content(base, expected)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--configs", default="production,embedded")
    args = ap.parse_args()
    for tool in ("pg_dump", "pg_restore", "rsync"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is needed")
    wav = save_audio(Path(tempfile.mkdtemp()) / "t.wav",
                     (np.sin(np.arange(44100) / 7.0) * 0.3).astype(np.float32), 44100).read_bytes()
    failed = 0
    for config in args.configs.split(","):
        work = Path(tempfile.mkdtemp(prefix=f"moodmix-backup-{config}-"))
        print(f"[{config}] {_stack.load_average()}")
        problems = asyncio.run(production(work, wav) if config == "production" else embedded(work, wav))
        print(f"[{config}] " + ("upload, job output and result document came back identical" if not problems
                                else "PROBLEMS:\n  " + "\n  ".join(problems)))
        failed += len(problems)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
