"""Train the shipped musicnn mood model, reproducibly, and score it against the features-only model.

    python -m moodmix.plugins.mood.training.train_musicnn           # writes plugins/mood/shipped_musicnn_model.joblib
    python -m moodmix.plugins.mood.training.train_musicnn --per-mood 10 -o /tmp/m.joblib   # quick run

The corpus is :mod:`train_shipped`'s (same seed, same clips): training clips with
the training voices, a held-out set with other voices, kit, effects and codec
that is never used for fitting or tuning. Rows carry the librosa features, so the
features-only shipped model is scored on the very same held-out clips. The tag
statistics of the training rows are saved in the model, for the tag-based
valence/arousal evidence (:func:`moodmix.plugins.mood.musicnn.features.tag_evidence`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from moodmix.plugins.mood.model import SHIPPED_MODEL, SHIPPED_MUSICNN_MODEL, MoodModel
from moodmix.plugins.mood.taxonomy import MOOD_NAMES
from moodmix.plugins.mood.training.dataset import Dataset, cross_validate, evaluate, format_confusion
from moodmix.plugins.mood.training.script import training_main
from moodmix.plugins.mood.training.train_shipped import HELD_OUT_SECONDS, TRAIN_SECONDS, render_corpus

CACHE = Path.home() / ".cache" / "moodmix" / "mood-musicnn-corpus"


def corpus(per_mood: int, held_out_per_mood: int, seed: int, log: Any = print) -> tuple[Dataset, Dataset]:
    """The rendered training and held-out sets with musicnn rows, cached outside the repository."""
    import joblib

    path = CACHE / f"seed{seed}-{per_mood}-{held_out_per_mood}.joblib"
    if path.is_file():
        return joblib.load(path)
    train_set = render_corpus(per_mood, seed, False, TRAIN_SECONDS, log=log, backend="musicnn")
    held_out = render_corpus(held_out_per_mood, seed, True, HELD_OUT_SECONDS, log=log, backend="musicnn")
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump((train_set, held_out), path)
    return train_set, held_out


def as_features(data: Dataset) -> Dataset:
    """The same clips seen by the features-only model (musicnn columns dropped)."""
    return Dataset(rows=data.rows, labels=data.labels, groups=data.groups, files=data.files,
                   file_labels=data.file_labels, backend="features")


def train(per_mood: int = 60, held_out_per_mood: int = 20, seed: int = 2024,
          output: Path = SHIPPED_MUSICNN_MODEL, log: Any = print) -> dict[str, Any]:
    """Render (or reuse) the corpus, cross-validate, fit, score held-out against the old model, save."""
    from moodmix.plugins.mood.musicnn.features import tag_reference

    started = time.perf_counter()
    train_set, held_out = corpus(per_mood, held_out_per_mood, seed, log)
    cv = cross_validate(train_set, seed=seed)
    log(f"cross-validated accuracy ({cv['folds']} folds, {cv['n_files']} clips): {cv['accuracy']:.3f}")
    description = (f"synthetic corpus of moodmix.plugins.mood.training.train_shipped (seed {seed}): {per_mood} x "
                   f"{TRAIN_SECONDS:.0f} s clips per mood; librosa features + musicnn MSD/MTT embeddings and tags")
    model = MoodModel.fit(train_set.X, train_set.labels, trained_on=description, seed=seed, backend="musicnn")
    ho = evaluate(model, held_out)
    baseline = evaluate(MoodModel.load(SHIPPED_MODEL), as_features(held_out))
    log(f"held-out accuracy ({ho['n_files']} clips): musicnn {ho['accuracy']:.3f}, "
        f"features-only shipped model {baseline['accuracy']:.3f}")
    log(format_confusion(ho))
    model.meta["tag_reference"] = tag_reference(train_set.rows)
    model.meta["metrics"] = {
        "cv_accuracy": round(cv["accuracy"], 4), "cv_confusion": cv["confusion"],
        "held_out_accuracy": round(ho["accuracy"], 4), "held_out_confusion": ho["confusion"],
        "features_only_held_out_accuracy": round(baseline["accuracy"], 4), "labels": cv["labels"],
        "seed": seed, "per_mood": per_mood, "held_out_per_mood": held_out_per_mood, "moods": list(MOOD_NAMES)}
    path = model.save(output)
    log(f"saved {path} ({path.stat().st_size / 1024:.0f} KiB) in {time.perf_counter() - started:.0f} s")
    return model.meta["metrics"]


def main(argv: list[str] | None = None) -> None:
    training_main(train, SHIPPED_MUSICNN_MODEL, __doc__.split("\n")[0], argv)


if __name__ == "__main__":
    main()
