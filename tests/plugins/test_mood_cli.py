"""``moodmix mood train`` / ``eval`` on a tiny generated labelled folder."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

import moodmix.plugins.mood as mood_plugin
from moodmix.plugins.mood.model import MoodModel
from moodmix.plugins.mood.training import synth
from moodmix.testing import write_wav


@pytest.fixture(scope="module")
def cli() -> click.Group:
    """A root group with only what the mood plugin's ``register_commands`` hook adds."""
    group = click.Group("moodmix")
    mood_plugin.register_commands(cli=group)
    return group


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DIR/energetic, DIR/calm (by alias: 'peaceful') and DIR/tense with three 6 s clips each."""
    root = tmp_path_factory.mktemp("labelled")
    for folder, mood in (("energetic", "energetic"), ("peaceful", "calm"), ("tense", "tense")):
        rng = np.random.default_rng(len(folder))
        for i in range(3):
            y, _ = synth.render_clip(mood, rng, seconds=6.0)
            write_wav(root / folder / f"{i}.wav", y[None, :])
    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("not audio, ignored")
    return root


def test_train_reports_cv_accuracy_and_saves_a_model(cli: click.Group, labelled: Path,
                                                      tmp_path: Path) -> None:
    out = tmp_path / "mine.joblib"
    result = CliRunner().invoke(cli, ["mood", "train", str(labelled), "-o", str(out), "--folds", "3"])
    assert result.exit_code == 0, result.output
    assert "cross-validated accuracy (3 folds, per file)" in result.output
    assert "true \\ predicted" in result.output and "energetic" in result.output
    model = MoodModel.load(out)
    assert set(model.labels) == {"energetic", "calm", "tense"}
    assert 0.0 <= model.meta["metrics"]["cv_accuracy"] <= 1.0

    scored = CliRunner().invoke(cli, ["mood", "eval", str(labelled), "--model", str(out), "--json"])
    assert scored.exit_code == 0, scored.output
    metrics = json.loads(scored.output.strip().splitlines()[-1])
    assert metrics["n_files"] == 9
    assert metrics["accuracy"] >= 0.66  # scored on its own training files
    assert np.array(metrics["confusion"]).sum() == 9


def test_eval_uses_the_shipped_model_by_default(cli: click.Group, labelled: Path) -> None:
    result = CliRunner().invoke(cli, ["mood", "eval", str(labelled)])
    assert result.exit_code == 0, result.output
    assert "shipped_model.joblib: accuracy" in result.output


def test_unknown_mood_folder_is_a_clear_error(cli: click.Group, tmp_path: Path) -> None:
    write_wav(tmp_path / "spooky" / "a.wav", np.full((1, 22050 * 6), 0.1, dtype=np.float32))
    result = CliRunner().invoke(cli, ["mood", "train", str(tmp_path), "-o", str(tmp_path / "m.joblib")])
    assert result.exit_code != 0
    assert "not moods of the taxonomy" in result.output and "happy" in result.output


def test_eval_refuses_a_corrupt_model(cli: click.Group, labelled: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.joblib"
    bad.write_bytes(b"\x00" * 64)
    result = CliRunner().invoke(cli, ["mood", "eval", str(labelled), "--model", str(bad)])
    assert result.exit_code != 0 and "corrupt" in result.output


def test_shipped_training_script_runs_end_to_end_on_a_tiny_corpus(tmp_path: Path) -> None:
    from moodmix.plugins.mood.training import train_shipped

    lines: list[str] = []
    metrics = train_shipped.train(per_mood=2, held_out_per_mood=1, seed=1, output=tmp_path / "m.joblib",
                                  log=lines.append, train_seconds=6.0, held_out_seconds=6.0)
    model = MoodModel.load(tmp_path / "m.joblib")
    assert len(model.labels) == 8
    assert model.meta["metrics"]["held_out_accuracy"] == metrics["held_out_accuracy"]
    assert any("held-out accuracy (8 clips)" in line for line in lines)
