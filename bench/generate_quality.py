"""Generate benchmark: does the music say what the prompt asked for, and how fast is it made?

One command (``python bench/generate_quality.py``), offline, about a minute on one core:

1. Tempo and key: 20 seeded prompts that name a tempo and a key are rendered by the
   procedural backend and measured by the ``analyze`` capability. Reported: the share
   whose detected tempo is within ±3 BPM (target ≥ 90 %) and whose key matches
   (target ≥ 80 %).
2. Mood (only when the ``mood`` capability is registered): the share whose classified
   mood is the prompt's mood.
3. Speed: the procedural backend's realtime factor on one core (target ≥ 50×), and
   MusicGen tokens/second through our path against a bare ``transformers`` generate on
   the same tiny random model in the same run (target: no slower).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # "on one core": must be set before numpy is imported
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from moodmix.plugins.generate.theory import parse_key  # noqa: E402
from moodmix.testing import make_registry, run_local  # noqa: E402

#: (prompt, seed): tempo and key are named in every prompt, across genres and moods.
PROMPTS: tuple[tuple[str, int], ...] = (
    ("sad lofi piano 80 bpm in A minor", 1),
    ("energetic house 124 bpm in F# minor", 2),
    ("happy pop song 110 bpm in G major", 3),
    ("dark techno 130 bpm in D minor", 4),
    ("calm folk guitar 96 bpm in D major", 5),
    ("funky disco groove 116 bpm in E minor", 6),
    ("uplifting trance 138 bpm in B minor", 7),
    ("angry rock 140 bpm in E minor", 8),
    ("romantic jazz 100 bpm in F major", 9),
    ("dark hip hop beat 90 bpm in C minor", 10),
    ("80s synthwave 105 bpm in A minor", 11),
    ("happy chiptune 150 bpm in C major", 12),
    ("chill lofi hip hop 75 bpm in Eb major", 13),
    ("epic cinematic 100 bpm in D minor", 14),
    ("happy reggae 85 bpm in G major", 15),
    ("energetic edm 128 bpm in G minor", 16),
    ("relaxed pop 95 bpm in Bb major", 17),
    ("energetic rock 120 bpm in A major", 18),
    ("sad piano ballad 70 bpm in C# minor", 19),
    ("happy funk 108 bpm in E major", 20),
)
TEMPO_TOLERANCE = 3.0
DURATION = 20.0


def _key_matches(detected_key: str | None, detected_mode: str | None, wanted: str) -> bool:
    if not detected_key or not detected_mode:
        return False
    got, want = parse_key(f"{detected_key} {detected_mode}"), parse_key(wanted)
    return (got.tonic, got.mode) == (want.tonic, want.mode)


def quality(out: Path, durations: float) -> dict:
    registry = make_registry()
    has_mood = "mood" in registry.capabilities
    rows = []
    for prompt, seed in PROMPTS:
        gen = run_local("generate", out / f"gen{seed}", texts={"prompt": prompt}, registry=registry,
                        params={"seed": seed, "duration": durations, "backend": "procedural"})
        spec = gen.data["spec"]
        ana = run_local("analyze", out / f"ana{seed}", inputs={"audio": gen.files["audio"]}, registry=registry,
                        params={"beats": False}).data
        row = {"prompt": prompt, "seed": seed, "tempo": spec["tempo"], "key": spec["key"],
               "detected_tempo": ana["tempo"], "detected_key": ana["key_name"],
               "tempo_ok": ana["tempo"] is not None and abs(ana["tempo"] - spec["tempo"]) <= TEMPO_TOLERANCE,
               "key_ok": _key_matches(ana["key"], ana["mode"], spec["key"]), "mood": spec["mood"]}
        if has_mood:
            mood = run_local("mood", out / f"mood{seed}", inputs={"audio": gen.files["audio"]},
                             registry=registry).data
            row["detected_mood"] = mood.get("mood")
            row["mood_ok"] = mood.get("mood") == spec["mood"]
        rows.append(row)
        flags = ("T" if row["tempo_ok"] else "-") + ("K" if row["key_ok"] else "-") + \
            ("M" if row.get("mood_ok") else ("-" if has_mood else ""))
        print(f"  {flags:3} {prompt:42} -> {row['detected_tempo']!s:>7} BPM, {row['detected_key']!s:10}"
              + (f" mood {row['detected_mood']}" if has_mood else ""), flush=True)
    summary = {
        "prompts": len(rows),
        "tempo_within_3bpm": sum(r["tempo_ok"] for r in rows) / len(rows),
        "key_match": sum(r["key_ok"] for r in rows) / len(rows),
        "mood_match": (sum(r["mood_ok"] for r in rows) / len(rows)) if has_mood else None,
        "rows": rows,
    }
    return summary


def procedural_speed(seconds: float = 60.0, repeats: int = 3) -> dict:
    """Realtime factor of the procedural backend (BLAS/OpenMP pinned to one thread above)."""
    from moodmix.plugins.generate.procedural import generate_procedural
    from moodmix.plugins.generate.spec import SpecOverrides

    generate_procedural("warm up", SpecOverrides(duration=4), seed=0)
    factors = {}
    for prompt in ("energetic house 124 bpm in F# minor", "sad lofi piano 80 bpm in A minor",
                   "epic cinematic 100 bpm in D minor"):
        times = []
        for _ in range(repeats):
            start = time.process_time()
            generate_procedural(prompt, SpecOverrides(duration=seconds), seed=1)
            times.append(time.process_time() - start)
        factors[prompt] = seconds / min(times)
    return {"seconds_rendered": seconds, "cpu_time_realtime_factor": factors,
            "median_realtime_factor": statistics.median(factors.values())}


def musicgen_speed(seconds: float = 2.0, repeats: int = 5) -> dict:
    """Tokens/second: our windowed, progress-reporting path against a bare ``model.generate``."""
    import torch

    from moodmix.plugins.generate import musicgen
    from moodmix.plugins.generate.tiny_model import save_tiny_musicgen

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        bundle = musicgen.load_musicgen(save_tiny_musicgen(Path(tmp) / "tiny"), "cpu")
    ids = torch.tensor([[3, 4, 5, 1]])
    steps = musicgen.tokens_for(seconds, bundle)
    sampling = musicgen.Sampling(guidance_scale=3.0, top_k=50)
    ours, bare = [], []
    for i in range(repeats + 1):  # the first round warms up both
        start = time.perf_counter()
        musicgen.generate_audio(bundle, input_ids=ids, duration=seconds, seed=i, sampling=sampling,
                                progress=lambda f, m: None)
        t_ours = time.perf_counter() - start
        torch.manual_seed(i)
        start = time.perf_counter()
        with torch.inference_mode():
            bundle.model.generate(input_ids=ids, max_new_tokens=steps, **sampling.kwargs())
        t_bare = time.perf_counter() - start
        if i:
            ours.append(t_ours)
            bare.append(t_bare)
    return {"tokens": steps, "ours_tokens_per_s": steps / statistics.median(ours),
            "bare_tokens_per_s": steps / statistics.median(bare),
            "ratio": statistics.median(bare) / statistics.median(ours)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=DURATION, help="seconds per generated piece")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the full results here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="moodmix-genbench-") as tmp:
        print(f"tempo/key over {len(PROMPTS)} prompts ({args.duration:g} s each):")
        results: dict = {"quality": quality(Path(tmp), args.duration)}
    q = results["quality"]
    print(f"tempo within ±{TEMPO_TOLERANCE:g} BPM: {q['tempo_within_3bpm']:.0%} (target ≥ 90 %)")
    print(f"key match:                {q['key_match']:.0%} (target ≥ 80 %)")
    if q["mood_match"] is not None:
        print(f"mood match:               {q['mood_match']:.0%}")
    else:
        print("mood match:               skipped (no 'mood' capability registered)")
    if not args.skip_speed:
        results["procedural_speed"] = speed = procedural_speed()
        print(f"procedural realtime factor (CPU time, 1 thread): median {speed['median_realtime_factor']:.0f}× "
              f"(target ≥ 50×) " + ", ".join(f"{v:.0f}×" for v in speed["cpu_time_realtime_factor"].values()))
        results["musicgen_speed"] = mg = musicgen_speed()
        print(f"musicgen tiny model: ours {mg['ours_tokens_per_s']:.0f} tok/s, bare transformers "
              f"{mg['bare_tokens_per_s']:.0f} tok/s (ratio {mg['ratio']:.2f}, target ≥ ~1)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
