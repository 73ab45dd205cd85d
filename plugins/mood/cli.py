"""``moodmix mood train|eval``: retrain the mood model on your own folders, or score one."""

from __future__ import annotations

import json
from pathlib import Path

import click


def _progress(index: int, total: int, path: Path, problem: str | None) -> None:
    status = f"skipped: {problem}" if problem else "ok"
    click.echo(f"  [{index}/{total}] {path.parent.name}/{path.name}: {status}", err=True)


def configured_model() -> str:
    """``[plugins.mood] model`` of the ``--config`` file or the environment (empty: the shipped model)."""
    from moodmix.plugins.mood.settings import load_mood_settings

    root = click.get_current_context().find_root()
    try:
        return load_mood_settings((root.obj or {}).get("config")).model
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None


def resolve_backend(backend: str) -> str:
    """``auto`` -> ``musicnn`` when the shipped weights load, else ``features``; ``musicnn`` must load."""
    if backend == "features":
        return backend
    from moodmix.plugins.mood.musicnn.network import MusicnnError, load_models

    try:
        load_models()
    except MusicnnError as exc:
        if backend == "musicnn":
            raise click.ClickException(exc.message) from None
        return "features"
    return "musicnn"


@click.group("mood")
def mood() -> None:
    """Train and evaluate mood models (folders named after moods: DIR/happy/*.mp3, DIR/sad/*.wav, ...)."""


@mood.command("train")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), required=False)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("mood_model.joblib"), show_default=True, help="Where to save the trained model.")
@click.option("--folds", default=5, show_default=True,
              help="Cross-validation folds (capped by files per mood).")
@click.option("--seed", default=0, show_default=True)
@click.option("--window-seconds", default=10.0, show_default=True, help="Timeline window length.")
@click.option("--synthetic", is_flag=True, help="Ignore DIRECTORY: render the corpus of the shipped model.")
@click.option("--backend", type=click.Choice(["auto", "musicnn", "features"]), default="auto", show_default=True,
              help="Rows to learn from: musicnn embeddings and tags + audio features, or audio features only "
                   "(auto: musicnn when its weights load).")
def train_command(directory: Path | None, output: Path, folds: int, seed: int, window_seconds: float,
                  synthetic: bool, backend: str) -> None:
    """Train on DIRECTORY/<mood>/* audio, report cross-validated accuracy, save the model."""
    from moodmix.plugins.mood.model import MoodModel
    from moodmix.plugins.mood.training import train_shipped
    from moodmix.plugins.mood.training.dataset import cross_validate, folder_dataset, format_confusion

    if synthetic:
        train_shipped.train(output=output, seed=seed, log=click.echo)
        return
    if directory is None:
        raise click.UsageError("give a DIRECTORY of mood folders (or --synthetic)")
    backend = resolve_backend(backend)
    click.echo(f"backend: {backend}")
    try:
        data = folder_dataset(directory, window_seconds, on_file=_progress, backend=backend)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    usable = sorted(set(data.file_labels))
    if len(usable) < 2:
        raise click.ClickException(f"need readable files of at least two moods, found: {usable or 'none'}")
    click.echo(f"{len(data.files)} files, {len(data.rows)} windows, moods: {', '.join(usable)}")
    try:
        cv = cross_validate(data, seed=seed, folds=folds)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"cross-validated accuracy ({cv['folds']} folds, per file): {cv['accuracy']:.3f}")
    click.echo(format_confusion(cv))
    model = MoodModel.fit(data.X, data.labels, trained_on=f"user folders {directory.resolve()}", seed=seed,
                          metrics={"cv_accuracy": round(cv["accuracy"], 4), "cv_confusion": cv["confusion"],
                                   "labels": cv["labels"]}, backend=backend)
    if backend == "musicnn":
        from moodmix.plugins.mood.musicnn.features import tag_reference

        model.meta["tag_reference"] = tag_reference(data.rows)
    click.echo(f"calibration: {model.meta['calibration']}")
    path = model.save(output)
    click.echo(f"saved {path}; use it with MOODMIX_PLUGINS__MOOD__MODEL={path.resolve()}")


@mood.command("eval")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-m", "--model", "model_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Model file (default: MOODMIX_PLUGINS__MOOD__MODEL, else the shipped model).")
@click.option("--window-seconds", default=10.0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def eval_command(directory: Path, model_file: Path | None, window_seconds: float, as_json: bool) -> None:
    """Score a model on DIRECTORY/<mood>/* audio: accuracy and confusion matrix."""
    from moodmix.engine.errors import MoodmixError
    from moodmix.plugins.mood.model import SHIPPED_MODEL, MoodModel
    from moodmix.plugins.mood.training.dataset import evaluate, folder_dataset, format_confusion

    path = model_file or Path(configured_model() or SHIPPED_MODEL)
    try:
        model = MoodModel.load(path)
        data = folder_dataset(directory, window_seconds, on_file=_progress, backend=model.backend)
    except (MoodmixError, ValueError) as exc:
        raise click.ClickException(getattr(exc, "message", str(exc))) from exc
    if not data.files:
        raise click.ClickException("no readable audio files")
    result = evaluate(model, data)
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"model {path}: accuracy {result['accuracy']:.3f} on {result['n_files']} files")
    click.echo(format_confusion(result))
