"""Tempo and key of ``analyze`` on the real-instrument corpus, against baselines in the same run.

    python bench/tempo_key_accuracy.py [--corpus ~/.cache/moodmix-corpus] [--split heldout|train|all]

Build the corpus first (``python bench/real_corpus.py build``). For every clip with a
known tempo: Acc1 (within ±4 % of the notated tempo) and Acc2 (also accepting ×½, ×2, ×⅓,
×3) for ``analyze``, for ``analyze`` without its octave choice ("prior only": the strongest
prior-weighted periodicity peak, as before issue 16) and for ``librosa.beat.beat_track`` on the
same mono mixture. For every clip with a known key: the MIREX weighted score (1 exact, 0.5 fifth, 0.3 relative, 0.2
parallel) and exact-key share for ``analyze`` and for a plain Krumhansl-Schmuckler baseline
(mean ``chroma_cqt`` against the Krumhansl-Kessler profiles, no bass chroma).

Targets (issue 16, held-out split): tempo Acc1 ≥ 85 % and ≥ librosa's.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from analyze_accuracy import mirex_key_score
from real_corpus import DEFAULT_DIR, load_clip, load_index

from moodmix.plugins.analyze.features import spectral_features
from moodmix.plugins.analyze.key import estimate_key_from_chroma, key_correlations
from moodmix.plugins.analyze.tempo import estimate_tempo_from_onsets

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def acc1(found: float | None, truth: float) -> bool:
    return found is not None and abs(found / truth - 1) <= 0.04


def acc2(found: float | None, truth: float) -> bool:
    return found is not None and any(acc1(found, truth * f) for f in (1 / 3, 0.5, 1, 2, 3))


def librosa_tempo(y: np.ndarray, sr: int) -> float | None:
    import librosa

    tempo, _ = librosa.beat.beat_track(y=y, sr=sr)
    value = float(np.atleast_1d(tempo)[0])
    return value if value > 0 else None


def krumhansl_key(y: np.ndarray, sr: int) -> tuple[str, str]:
    import librosa

    chroma = librosa.feature.chroma_cqt(y=y, sr=sr).mean(axis=1)
    scores = key_correlations(chroma, "krumhansl")
    best = int(np.argmax(scores))
    return PITCH_CLASSES[best % 12], "major" if best < 12 else "minor"


def evaluate(root: Path, entries: list[dict], *, verbose: bool = False) -> dict:
    rows = []
    for e in entries:
        mix, _ = load_clip(root, e)
        y = mix.mean(axis=0)
        sr = e["sr"]
        f = spectral_features(y, sr)
        ours = estimate_tempo_from_onsets(f.onset_envelope, sr, hop_length=f.hop_length,
                                          low_envelope=f.low_onset_envelope, high_envelope=f.high_onset_envelope,
                                          with_beats=True)
        prior_only = estimate_tempo_from_onsets(f.onset_envelope, sr, hop_length=f.hop_length,
                                                low_envelope=f.low_onset_envelope, with_beats=True, metrical=False)
        key = estimate_key_from_chroma(f.chroma, bass_chroma=f.bass_chroma)
        row = {"entry": e, "ours": ours.bpm, "prior only": prior_only.bpm, "librosa": librosa_tempo(y, sr),
               "key": (key.key, key.mode), "krumhansl": krumhansl_key(y, sr)}
        rows.append(row)
        if verbose:
            truth = e["tempo"]
            print(f"{e['id']:40s} tempo {truth!s:>6} ours {row['ours'] or 0:6.1f} librosa {row['librosa'] or 0:6.1f}"
                  f"  key {e['key']} {e['mode']} ours {key.key} {key.mode}", flush=True)
    return summarise(rows)


def summarise(rows: list[dict]) -> dict:
    out: dict = defaultdict(dict)
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups["all"].append(r)
        groups[r["entry"]["source"]].append(r)
    for name, group in groups.items():
        timed = [r for r in group if r["entry"]["tempo"]]
        keyed = [r for r in group if r["entry"]["key"]]
        for method in ("ours", "prior only", "librosa"):
            if timed:
                out[name][f"{method} Acc1"] = np.mean([acc1(r[method], r["entry"]["tempo"]) for r in timed])
                out[name][f"{method} Acc2"] = np.mean([acc2(r[method], r["entry"]["tempo"]) for r in timed])
        for method in ("key", "krumhansl"):
            if keyed:
                pairs = [(r[method], (r["entry"]["key"], r["entry"]["mode"])) for r in keyed]
                out[name][f"{method} MIREX"] = np.mean([mirex_key_score(f, t) for f, t in pairs])
                out[name][f"{method} exact"] = np.mean([f == t for f, t in pairs])
        out[name]["n tempo"] = len(timed)
        out[name]["n key"] = len(keyed)
    return dict(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--split", default="heldout", choices=("train", "heldout", "all"))
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    root = args.corpus.expanduser()
    entries = load_index(root, args.split)
    started = time.perf_counter()
    result = evaluate(root, entries, verbose=args.verbose)
    print(f"\n{len(entries)} clips ({args.split}) in {time.perf_counter() - started:.0f} s")
    for group, figures in result.items():
        print(f"[{group}] tempo n={figures['n tempo']}, key n={figures['n key']}")
        for name, value in figures.items():
            if not name.startswith("n "):
                print(f"  {name:16s} {value:6.1%}")
    figures = result["all"]
    ok = figures["ours Acc1"] >= 0.85 and figures["ours Acc1"] >= figures["librosa Acc1"]
    print(f"target tempo Acc1 >= 85 % and >= librosa: {'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()
