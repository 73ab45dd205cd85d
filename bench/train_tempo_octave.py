"""Fit the tempo octave scorer (``plugins/analyze/octave_model.json``) on the corpus's training split.

    python bench/train_tempo_octave.py [--corpus DIR ...] [--C 1.0] [--out plugins/analyze/octave_model.json]

Reads the ``train`` clips with a known tempo of each corpus (``bench/real_corpus.py build``;
a larger one, e.g. ``--out ~/.cache/moodmix-corpus-train --n 300``, keeps the same by-piece
split, so its held-out pieces are left out here too — never tune on them). For each clip,
the candidates of :mod:`moodmix.plugins.analyze.octave` around the strongest periodicity peak
and their features; then a pairwise logistic regression (scikit-learn): the features of the
right candidate minus those of each wrong one, and the reverse, with no intercept, so the
learned weights rank candidates. Prints the piece-grouped 5-fold cross-validated Acc1 for a
few regularisation strengths, then fits on everything with ``--C`` and writes the JSON.

The shipped model came from (379 training clips; cross-validated Acc1 96.6 % at C=1)::

    python bench/real_corpus.py build
    python bench/real_corpus.py build --out ~/.cache/moodmix-corpus-train --n 300
    python bench/real_corpus.py build --out ~/.cache/moodmix-corpus-train2 --n 300 --first 300
    python bench/train_tempo_octave.py --corpus ~/.cache/moodmix-corpus \
        --corpus ~/.cache/moodmix-corpus-train --corpus ~/.cache/moodmix-corpus-train2

Envelopes are cached per clip under ``~/.cache/moodmix-tempo-octave`` (they depend only on
the audio and ``features.py``; delete the folder after changing either).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from real_corpus import DEFAULT_DIR, load_clip, load_index, split_of

from moodmix.plugins.analyze import octave
from moodmix.plugins.analyze.features import HOP_LENGTH, onset_envelopes
from moodmix.plugins.analyze.tempo import ranked_tempi, rhythm_of

CACHE_DIR = Path.home() / ".cache" / "moodmix-tempo-octave"
#: Acc1's tolerance: a candidate within it of the notated tempo is right.
TOLERANCE = 0.04


def envelopes(root: Path, entry: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The clip's three onset envelopes and frame rate, cached."""
    path = CACHE_DIR / root.name / f"{entry['id']}.npz"
    if not path.exists():
        mix, _ = load_clip(root, entry)
        full, low, high = onset_envelopes(mix.mean(axis=0), entry["sr"])
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, full=full, low=low, high=high, fps=entry["sr"] / HOP_LENGTH)
    z = np.load(path)
    return z["full"], z["low"], z["high"], float(z["fps"])


def clip_rows(root: Path, entry: dict) -> tuple[list[float], np.ndarray] | None:
    """Candidate tempi and their feature matrix (columns in :func:`feature_names` order)."""
    full, low, high, fps = envelopes(root, entry)
    rhythm = rhythm_of(full.astype(np.float64), fps, low.astype(np.float64), high.astype(np.float64))
    if rhythm is None:
        return None
    tempi = octave.candidate_tempi(ranked_tempi(rhythm.lags, rhythm.acf, fps)[0][0])
    features = octave.candidate_features(rhythm, tempi)
    return tempi, np.stack([features[name] for name in feature_names()], axis=1)


def feature_names() -> list[str]:
    """Every feature :func:`octave.candidate_features` computes, in its order."""
    fps = 43.0
    env = np.tile(np.r_[1.0, np.zeros(20)], 20)
    rhythm = rhythm_of(env, fps, env, env)
    return list(octave.candidate_features(rhythm, [120.0]))


def training_set(roots: list[Path]) -> list[dict]:
    """One record per training clip with a known tempo (each clip id once, held-out pieces never)."""
    seen: set[str] = set()
    records = []
    for root in roots:
        for entry in load_index(root, "train"):
            if not entry["tempo"] or entry["id"] in seen or split_of(entry["piece"]) != "train":
                continue
            seen.add(entry["id"])
            rows = clip_rows(root, entry)
            if rows is not None:
                records.append({"entry": entry, "tempi": rows[0], "x": rows[1]})
    return records


def right(tempi: list[float], truth: float) -> np.ndarray:
    return np.array([abs(b / truth - 1.0) <= TOLERANCE for b in tempi])


def pairs(records: list[dict], mean: np.ndarray, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Right-minus-wrong feature differences (label 1) and their negatives (label 0)."""
    diffs, labels = [], []
    for r in records:
        x = (r["x"] - mean) / scale
        good = right(r["tempi"], r["entry"]["tempo"])
        for g in np.flatnonzero(good):
            for w in np.flatnonzero(~good):
                diffs += [x[g] - x[w], x[w] - x[g]]
                labels += [1, 0]
    return np.asarray(diffs), np.asarray(labels)


def fit(records: list[dict], c: float) -> dict:
    from sklearn.linear_model import LogisticRegression

    stacked = np.concatenate([r["x"] for r in records])
    mean, scale = stacked.mean(axis=0), stacked.std(axis=0)
    scale[scale == 0] = 1.0
    diffs, labels = pairs(records, mean, scale)
    weights = LogisticRegression(C=c, fit_intercept=False, max_iter=10_000).fit(diffs, labels).coef_[0]
    return {"mean": mean, "scale": scale, "weights": weights}


def chosen(model: dict, record: dict) -> float:
    scores = ((record["x"] - model["mean"]) / model["scale"]) @ model["weights"]
    return record["tempi"][int(np.argmax(scores))]


def accuracy(model: dict, records: list[dict]) -> float:
    return float(np.mean([right([chosen(model, r)], r["entry"]["tempo"])[0] for r in records]))


def cross_validated(records: list[dict], c: float, folds: int = 5) -> float:
    from sklearn.model_selection import GroupKFold

    groups = [r["entry"]["piece"] for r in records]
    hits = []
    for train, test in GroupKFold(folds).split(records, groups=groups):
        model = fit([records[i] for i in train], c)
        hits += [accuracy(model, [records[i]]) for i in test]
    return float(np.mean(hits))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, action="append", help=f"corpus folder (repeatable; {DEFAULT_DIR})")
    ap.add_argument("--C", type=float, default=1.0, help="inverse regularisation strength of the final fit")
    ap.add_argument("--out", type=Path, default=octave.MODEL_PATH)
    args = ap.parse_args()
    roots = [p.expanduser() for p in (args.corpus or [DEFAULT_DIR])]
    records = training_set(roots)
    names = feature_names()
    first = np.mean([right(r["tempi"][:1], r["entry"]["tempo"])[0] for r in records])
    covered = np.mean([right(r["tempi"], r["entry"]["tempo"]).any() for r in records])
    print(f"{len(records)} training clips; strongest peak right {first:.1%}; a candidate right {covered:.1%}")
    for c in (0.03, 0.1, 0.3, 1.0, 3.0):
        print(f"  C={c:<5g} cross-validated Acc1 {cross_validated(records, c):.1%}", flush=True)
    model = fit(records, args.C)
    print(f"fitted with C={args.C:g}: training Acc1 {accuracy(model, records):.1%}")
    args.out.write_text(json.dumps({
        "about": "Tempo octave scorer: score = ((features - mean) / scale) . weights; written by "
                 "bench/train_tempo_octave.py on the real-instrument corpus's training split.",
        "training_clips": len(records), "C": args.C,
        "features": names,
        "mean": [round(float(v), 6) for v in model["mean"]],
        "scale": [round(float(v), 6) for v in model["scale"]],
        "weights": [round(float(v), 6) for v in model["weights"]],
    }, indent=1) + "\n")
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
