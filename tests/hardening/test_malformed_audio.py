"""Every file of the malformed-audio corpus: a clear 4xx with a code, or a job that ends cleanly.

On both configurations (SQLite + in-process jobs; Postgres + Redis + a worker process), each
case is uploaded through the API. Refused uploads must be 4xx with a machine-readable code;
accepted ones get an ``analyze`` job that must succeed or fail with a reason — never crash,
never kill the worker, never leave files in ``temp/``. Every case also goes through
``moodmix run analyze``, which validates with header probes only, so more odd bytes reach the
plugin there: exit 0, or exit 2 with a one-line reason.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

from hardening.corpus import Case, build_corpus
from hardening.stack import temp_leftovers
from helpers import signup, wait_job

HERE = Path(__file__).parent
CLEAN_FAILURES_EXCLUDE = {"internal_error", "stalled", "timeout"}


@functools.cache
def corpus() -> tuple[Case, ...]:
    return tuple(build_corpus())


def test_corpus_is_big_and_varied():
    cases = corpus()
    assert len(cases) >= 30
    assert {c.expect for c in cases} == {"reject", "accept", "either"}
    assert max(len(c.data) for c in cases) >= 28_800_000  # the hour of silence is really there


def upload_problem(case: Case, status: int, body: dict) -> str | None:
    """Why this upload response is wrong for ``case`` (``None`` when it is right)."""
    if status >= 500:
        return f"{status} server error: {body}"
    if status == 201:
        return "accepted, but the corpus says it must be refused" if case.expect == "reject" else None
    if not 400 <= status < 500:
        return f"unexpected status {status}"
    error = body.get("error") or {}
    if body.get("success") is not False or not error.get("code") or not error.get("message"):
        return f"4xx without an error code and message: {body}"
    if case.expect == "accept":
        return f"valid audio refused: {error['code']}: {error['message']}"
    if case.expect == "reject" and error["code"] not in case.codes:
        return f"refused with code {error['code']!r}, expected one of {sorted(case.codes)}"
    return None


async def test_corpus_through_the_api(stack):
    headers = await signup(stack)
    problems: list[str] = []
    accepted: dict[str, str] = {}
    for case in corpus():
        resp = await stack.post("/api/v1/files", headers=headers,
                                files={"file": (case.filename, case.data, "application/octet-stream")})
        problem = upload_problem(case, resp.status_code, resp.json())
        if problem:
            problems.append(f"upload {case.name}: {problem}")
        elif resp.status_code == 201:
            accepted[case.name] = resp.json()["data"]["id"]
            if case.stored_name and resp.json()["data"]["filename"] != case.stored_name:
                problems.append(f"upload {case.name}: stored as {resp.json()['data']['filename']!r}")
    assert len(accepted) >= 15, accepted  # the valid-but-odd half of the corpus really got in

    jobs = {}
    for name, file_id in accepted.items():
        resp = await stack.post("/api/v1/jobs", headers=headers, json={"capability": "analyze", "file_id": file_id})
        assert resp.status_code == 202, (name, resp.text)
        jobs[name] = resp.json()["data"]["id"]
    for name, job_id in jobs.items():
        final = await wait_job(stack, headers, job_id, timeout=120)
        error = final["error"] or {}
        if final["status"] == "failed" and (error.get("code") in CLEAN_FAILURES_EXCLUDE or not error.get("message")):
            problems.append(f"job {name}: unclean failure {error}")
        elif final["status"] not in ("succeeded", "failed"):
            problems.append(f"job {name}: ended {final['status']}")
    assert problems == [], "\n".join(problems)

    polyglot = accepted["wav_html_polyglot"]
    download = await stack.get(f"/api/v1/files/{polyglot}/download", headers=headers)
    assert download.status_code == 200 and download.headers["content-type"].startswith("audio/wav")
    assert download.headers["x-content-type-options"] == "nosniff"
    if stack.worker:
        assert stack.worker.proc.poll() is None, "the worker died"
    assert temp_leftovers(*stack.data_dirs) == []


def test_corpus_through_moodmix_run(tmp_path):
    from hardening.corpus import write_corpus

    files = write_corpus(tmp_path / "corpus")
    proc = subprocess.run([sys.executable, str(HERE / "cli_batch.py"), "analyze", str(tmp_path / "out"),
                           *map(str, files)], capture_output=True, text=True, timeout=180)
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert proc.returncode == 0 and len(records) == len(files), proc.stderr[-3000:]
    problems = []
    for rec in records:
        errors = rec["stderr"].strip().splitlines()
        if rec["exception"] or rec["exit_code"] not in (0, 2) or "Traceback" in rec["stderr"] + rec["stdout"]:
            problems.append(f"{rec['file']}: exit {rec['exit_code']} {rec['exception'] or rec['stderr'][-500:]}")
        elif rec["exit_code"] == 2 and (len(errors) != 1 or not errors[0].startswith("error: ")):
            problems.append(f"{rec['file']}: exit 2 must print one 'error: …' line, got {errors}")
        elif rec["exit_code"] == 0 and "result.json" not in rec["stdout"]:
            problems.append(f"{rec['file']}: exit 0 without result.json")
    assert problems == [], "\n".join(problems)
    assert sum(r["exit_code"] == 0 for r in records) >= 15
