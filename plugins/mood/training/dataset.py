"""Datasets, cross-validation and scoring shared by `moodmix mood train/eval` and the shipped-model script.

Training rows are timeline windows (as at inference), grouped by file: folds
never split one file between training and testing, and a file's prediction is
the mean of its windows' probabilities — exactly what the capability reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from moodmix.plugins.mood import features as F
from moodmix.plugins.mood.taxonomy import MOOD_NAMES, resolve_label

AUDIO_SUFFIXES = {".wav", ".mp3", ".flac", ".ogg", ".oga", ".aiff", ".aif", ".m4a", ".webm"}


@dataclass
class Dataset:
    """Window feature rows with their label and source file index."""

    rows: list[dict[str, float]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    file_labels: list[str] = field(default_factory=list)
    #: ``features`` (librosa rows) or ``musicnn`` (librosa + musicnn rows).
    backend: str = "features"

    def add(self, name: str, label: str, rows: list[dict[str, float]]) -> None:
        index = len(self.files)
        self.files.append(name)
        self.file_labels.append(label)
        self.rows.extend(rows)
        self.labels.extend([label] * len(rows))
        self.groups.extend([index] * len(rows))

    @property
    def X(self) -> np.ndarray:
        if self.backend == "musicnn":
            from moodmix.plugins.mood.musicnn import features as MF

            return MF.as_matrix(self.rows)
        return F.as_matrix(self.rows)


def window_rows(y: np.ndarray, sr: int = F.SAMPLE_RATE, window_seconds: float = 10.0,
                backend: str = "features") -> list[dict[str, float]]:
    """Feature rows of every timeline window of mono audio ``y`` (musicnn's added for that backend)."""
    tf = F.track_features(F.analyse(y, sr), window_seconds)
    if backend != "musicnn":
        return tf.per_window
    from moodmix.plugins.mood.musicnn import features as MF

    return MF.window_rows(tf, MF.tag_audio(y, sr))


def labelled_files(root: Path) -> list[tuple[Path, str]]:
    """``(file, mood)`` for ``root/<mood>/*`` audio files; folder names may be aliases (``angry``)."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder")
    found, unknown = [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        label = resolve_label(folder.name)
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
        if label is None:
            if files:
                unknown.append(folder.name)
            continue
        found.extend((f, label) for f in files)
    if unknown:
        raise ValueError(f"folders {unknown} are not moods of the taxonomy; use: {', '.join(MOOD_NAMES)}")
    if not found:
        raise ValueError(f"no audio files found under {root}/<mood>/ (moods: {', '.join(MOOD_NAMES)})")
    return found


def folder_dataset(root: Path, window_seconds: float = 10.0,
                   on_file: Callable[[int, int, Path, str | None], None] | None = None,
                   backend: str = "features") -> Dataset:
    """Analyse every labelled file; unreadable or too-short files are reported and skipped."""
    from moodmix.plugins.mood.analysis import load_mono, validate

    data = Dataset(backend=backend)
    files = labelled_files(root)
    for i, (path, label) in enumerate(files):
        try:
            y = load_mono(path)
            validate(y)
            data.add(str(path), label, window_rows(y, window_seconds=window_seconds, backend=backend))
            problem = None
        except Exception as exc:  # one bad file must not sink a training run
            problem = getattr(exc, "message", None) or str(exc)
        if on_file:
            on_file(i + 1, len(files), path, problem)
    return data


def file_predictions(model: Any, data: Dataset, rows_index: np.ndarray | None = None) -> dict[int, str]:
    """Per-file predicted mood: argmax of the mean window probabilities."""
    index = np.arange(len(data.rows)) if rows_index is None else rows_index
    proba = model.predict_proba(data.X[index])
    groups = np.asarray(data.groups)[index]
    labels = list(model.labels) if hasattr(model, "labels") else list(model.classes_)
    out = {}
    for g in np.unique(groups):
        out[int(g)] = labels[int(proba[groups == g].mean(axis=0).argmax())]
    return out


def score(truth: list[str], predicted: list[str]) -> dict[str, Any]:
    """Accuracy and confusion matrix (rows = true mood, columns = predicted)."""
    from sklearn.metrics import confusion_matrix

    labels = [m for m in MOOD_NAMES if m in set(truth) | set(predicted)]
    matrix = confusion_matrix(truth, predicted, labels=labels)
    accuracy = float(np.mean(np.asarray(truth) == np.asarray(predicted))) if truth else 0.0
    return {"accuracy": accuracy, "labels": labels, "confusion": matrix.tolist(), "n_files": len(truth)}


def cross_validate(data: Dataset, seed: int = 0, folds: int = 5) -> dict[str, Any]:
    """File-level accuracy of grouped, stratified k-fold cross-validation."""
    from sklearn.model_selection import StratifiedGroupKFold

    from moodmix.plugins.mood.model import MoodModel

    per_class = min(data.file_labels.count(label) for label in set(data.file_labels))
    folds = min(folds, per_class)
    if folds < 2:
        raise ValueError("cross-validation needs at least two files per mood")
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    X, y, groups = data.X, np.asarray(data.labels), np.asarray(data.groups)
    truth, predicted = [], []
    for train, test in splitter.split(X, y, groups):
        model = MoodModel.fit(X[train], y[train].tolist(), trained_on="cv fold", seed=seed,
                              backend=data.backend)
        for g, label in file_predictions(model, data, test).items():
            truth.append(data.file_labels[g])
            predicted.append(label)
    return {**score(truth, predicted), "folds": folds}


def evaluate(model: Any, data: Dataset) -> dict[str, Any]:
    """File-level accuracy of ``model`` on ``data``."""
    predicted = file_predictions(model, data)
    groups = sorted(predicted)
    return score([data.file_labels[g] for g in groups], [predicted[g] for g in groups])


def format_confusion(result: dict[str, Any]) -> str:
    """The confusion matrix as a fixed-width table."""
    labels = result["labels"]
    width = max(9, *(len(label) + 1 for label in labels))
    header = "".join(label[:width - 1].rjust(width) for label in labels)
    lines = ["true \\ predicted".ljust(width + 7) + header]
    for label, row in zip(labels, result["confusion"], strict=True):
        lines.append(label.ljust(width + 7) + "".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)
