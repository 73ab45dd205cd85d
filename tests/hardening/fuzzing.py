"""Property-based fuzzing of the served OpenAPI schema with schemathesis (shared by the test and the bench).

For every operation, schemathesis generates valid (``positive``) and invalid (``negative``)
requests from the schema; about half of them get real resource ids (a file, a finished job
with an output, a share link) in place of the generated ones, so the fuzzer reaches the
code behind the 404s. Every response is checked: no 5xx, a documented status code and
media type, a body matching the documented schema. Failures are collected, not raised,
so one run reports all of them.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
#: Capabilities a fuzzed job may name: cheap ones only (the fuzz server caps jobs at a few seconds).
CHEAP_CAPABILITIES = ("reverse", "slow", "flaky")


@dataclass
class FuzzReport:
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    operations: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        return (f"{self.operations} operations, {self.requests} requests in {self.seconds:.1f} s; "
                f"statuses {{{codes}}}; {len(self.failures)} failures")


def _with_known_ids(case, known: dict[str, str], draw_capability: str) -> None:
    for name in list(case.path_parameters or {}):
        if name in known:
            case.path_parameters[name] = known[name]
    if isinstance(case.body, dict):
        for key in ("file_id", "job_id"):
            if key in case.body and key in known:
                case.body[key] = known[key]
        if "capability" in case.body:
            case.body["capability"] = draw_capability


def _runner(operation, mode: GenerationMode, base_url: str, headers: dict[str, str], known: dict[str, str],
            max_examples: int, seed: int, request_timeout: float, report: FuzzReport):
    """One hypothesis test for one operation and mode; it records failures instead of raising them."""
    strategy = st.tuples(operation.as_strategy(generation_mode=mode), st.booleans(),
                         st.sampled_from(CHEAP_CAPABILITIES))

    @hypothesis.seed(seed)
    @hypothesis.settings(max_examples=max_examples, deadline=None, database=None,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                         print_blob=False)
    @hypothesis.given(strategy)
    def run(drawn) -> None:
        case, use_known, capability = drawn
        if use_known:
            _with_known_ids(case, known, capability)
        try:
            response = case.call(base_url=base_url, headers=headers, timeout=request_timeout)
        except Exception as exc:  # a dropped connection or a timeout is a finding too
            report.failures.append(f"{operation.label} [{mode.value}]: request failed: {exc!r}\n"
                                   f"  {case.as_curl_command(headers=headers)}")
            return
        report.requests += 1
        report.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup is a BaseExceptionGroup
            report.failures.append(f"{operation.label} [{mode.value}] -> {response.status_code}: "
                                   f"{str(exc)[:600]}\n  {case.as_curl_command(headers=headers)}")

    return run


def fuzz(base_url: str, *, headers: dict[str, str], known: dict[str, str], max_examples: int, seed: int,
         request_timeout: float = 15.0, report: FuzzReport | None = None) -> FuzzReport:
    """Fuzz every operation of ``base_url``'s schema, positive and negative, sending ``headers``."""
    report = report or FuzzReport()
    started = time.monotonic()
    schema = schemathesis.openapi.from_url(f"{base_url}/schema/openapi.json")
    for result in schema.get_all_operations():
        operation = result.ok()
        report.operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _runner(operation, mode, base_url, headers, known, max_examples, seed, request_timeout, report)()
            except hypothesis.errors.Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, f"{operation.label}: no valid request can be generated"
                # nothing in this operation can be made invalid (e.g. GET /health has no inputs)
    report.seconds += time.monotonic() - started
    return report


DEEP_JSON = "[" * 5000 + "]" * 5000
UNICODE_NAMES = ("名前.wav", "a–b.wav", "song 🎵.wav", "שיר.wav", "café.wav")


def edge_cases(base_url: str, *, headers: dict[str, str], known: dict[str, str], wav_bytes: bytes,
               report: FuzzReport) -> FuzzReport:
    """Requests generators rarely produce: a body nested 5,000 levels deep to every JSON operation
    (must be a 400, with or without a token), and uploads named in non-Latin scripts (kept as given)."""
    import re

    import httpx

    with httpx.Client(base_url=base_url, timeout=30) as http:
        spec = http.get("/schema/openapi.json").json()
        for path, item in spec["paths"].items():
            for method, op in item.items():
                content = (op.get("requestBody") or {}).get("content", {}) if isinstance(op, dict) else {}
                if "application/json" not in content:
                    continue
                url = re.sub(r"\{(\w+)\}", lambda m: known.get(m.group(1), "x"), path)
                for body in (DEEP_JSON, '{"a": ' + DEEP_JSON + "}"):
                    resp = http.request(method.upper(), url, content=body,
                                        headers={**headers, "content-type": "application/json"})
                    report.requests += 1
                    report.statuses[resp.status_code] += 1
                    if resp.status_code not in (400, 401, 404, 405, 429):
                        report.failures.append(f"{method.upper()} {path} with deep JSON -> {resp.status_code}: "
                                               f"{resp.text[:200]}")
        if headers:
            for name in UNICODE_NAMES:
                resp = http.post("/api/v1/files", headers=headers, files={"file": (name, wav_bytes, "audio/wav")})
                report.requests += 1
                report.statuses[resp.status_code] += 1
                if resp.status_code != 201 or resp.json()["data"]["filename"] != name:
                    report.failures.append(f"upload named {name!r} -> {resp.status_code}: {resp.text[:200]}")
    return report


def seed_resources(base_url: str, wav_bytes: bytes, timeout_s: float = 90.0) -> tuple[dict[str, str], dict[str, str]]:
    """A user with a file, a finished ``reverse`` job and a share link: ``(auth headers, known ids)``."""
    import uuid

    import httpx

    with httpx.Client(base_url=base_url, timeout=30) as http:
        name = f"fuzz{uuid.uuid4().hex[:8]}"
        reg = http.post("/api/v1/auth/register", json={"username": name, "password": "fuzz-pass-123"})
        headers = {"Authorization": f"Bearer {reg.json()['data']['token']}"}
        file_id = http.post("/api/v1/files", headers=headers, files={"file": ("t.wav", wav_bytes, "audio/wav")}
                            ).json()["data"]["id"]
        job_id = http.post("/api/v1/jobs", headers=headers, json={"capability": "reverse", "file_id": file_id}
                           ).json()["data"]["id"]
        deadline = time.monotonic() + timeout_s
        while http.get(f"/api/v1/jobs/{job_id}", headers=headers).json()["data"]["status"] != "succeeded":
            if time.monotonic() > deadline:
                raise AssertionError("the seed job did not succeed")
            time.sleep(0.2)
        share = http.post(f"/api/v1/jobs/{job_id}/outputs/reversed/share", headers=headers, json={}).json()["data"]
    known = {"file_id": file_id, "job_id": job_id, "name": "reversed", "share_id": share["id"],
             "token": share["token"], "capability": "reverse"}
    return headers, known
