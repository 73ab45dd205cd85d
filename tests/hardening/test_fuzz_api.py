"""schemathesis against a real ``moodmix serve`` (Postgres + Redis + a worker), with and without a token.

Bounded: a fixed seed and a few examples per operation and mode (~1,000 requests). The
longer run is ``python bench/fuzz_api.py``.
"""

from __future__ import annotations

import numpy as np
from hardening.fuzzing import edge_cases, fuzz, seed_resources
from hardening.stack import private_database, real_server, stack_env
from support import WorkerProcess, require_services

from moodmix.engine.audio_io import save_audio

MAX_EXAMPLES = 8
SEED = 20261125


async def test_fuzzed_requests_never_get_a_5xx_or_an_undocumented_response(tmp_path):
    require_services()
    wav = save_audio(tmp_path / "t.wav", (np.sin(np.arange(4000) / 3.0) * 0.3).astype(np.float32), 8000)
    async with private_database("fuzz") as db_url:
        env = stack_env(tmp_path / "data", "production", db_url, MOODMIX_JOB_TIME_LIMIT_S="5",
                        MOODMIX_RATE_LIMIT="100000000")
        worker = WorkerProcess(env, tmp_path / "worker.log").start()
        try:
            with real_server(env, tmp_path / "server.log") as base:
                headers, known = seed_resources(base, wav.read_bytes())
                signed_in = fuzz(base, headers=headers, known=known, max_examples=MAX_EXAMPLES, seed=SEED)
                anonymous = fuzz(base, headers={}, known=known, max_examples=MAX_EXAMPLES, seed=SEED + 1)
                edge_cases(base, headers=headers, known=known, wav_bytes=wav.read_bytes(), report=signed_in)
                edge_cases(base, headers={}, known=known, wav_bytes=wav.read_bytes(), report=anonymous)
            assert worker.proc.poll() is None, "the worker died"
        finally:
            worker.stop()
    failures = signed_in.failures + anonymous.failures
    assert failures == [], f"{signed_in.summary()}\n{anonymous.summary()}\n" + "\n".join(failures[:30])
    assert signed_in.operations >= 25 and signed_in.requests >= 300, signed_in.summary()
    # The signed-in run got past authentication; the anonymous one (mostly) did not.
    assert sum(n for code, n in signed_in.statuses.items() if code < 300) >= 30, signed_in.summary()
    assert anonymous.statuses[401] >= anonymous.requests // 2, anonymous.summary()
    assert {400, 404, 422} <= set(signed_in.statuses), signed_in.summary()
