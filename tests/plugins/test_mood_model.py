"""Saving, loading and refusing mood model files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moodmix.plugins.mood import model as M
from moodmix.plugins.mood.features import FEATURE_NAMES


def toy_model() -> M.MoodModel:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, len(FEATURE_NAMES)))
    y = ["happy"] * 30 + ["sad"] * 30
    X[:30, 0] += 3.0  # a separable toy problem on the first feature
    return M.MoodModel.fit(X, y, trained_on="toy")


def test_round_trip_keeps_predictions_and_metadata(tmp_path: Path) -> None:
    model = toy_model()
    path = model.save(tmp_path / "m.joblib")
    loaded = M.MoodModel.load(path)
    X = np.random.default_rng(1).standard_normal((5, len(FEATURE_NAMES)))
    assert np.allclose(model.predict_proba(X), loaded.predict_proba(X))
    assert loaded.labels == ("happy", "sad")
    assert loaded.meta["features"] == list(FEATURE_NAMES)
    assert loaded.meta["versions"]["scikit-learn"] == M.library_versions()["scikit-learn"]
    assert loaded.meta["trained_on"] == "toy"
    assert loaded.meta["calibration"].startswith("sigmoid")  # 30 examples per mood: calibrated
    assert set(loaded.meta["taxonomy"]) >= {"happy", "sad", "calm", "energetic", "tense", "dark", "romantic",
                                             "epic"}
    probs = loaded.predict_proba(X)
    assert np.allclose(probs.sum(axis=1), 1.0)


def test_model_from_another_scikit_learn_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = M.library_versions()
    monkeypatch.setattr(M, "library_versions", lambda: {**real, "scikit-learn": "0.24.2"})
    path = toy_model().save(tmp_path / "old.joblib")
    monkeypatch.setattr(M, "library_versions", lambda: real)
    with pytest.raises(M.MoodModelError, match=r"saved with scikit-learn 0\.24\.2.*retrain") as err:
        M.MoodModel.load(path)
    assert err.value.code == "mood_model_incompatible"


def test_model_with_another_feature_set_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = toy_model().save(tmp_path / "m.joblib")
    monkeypatch.setattr(M, "FEATURE_SET_VERSION", 99)
    with pytest.raises(M.MoodModelError, match="feature set"):
        M.MoodModel.load(path)


def test_missing_and_corrupt_files_say_so(tmp_path: Path) -> None:
    with pytest.raises(M.MoodModelError, match="not found") as missing:
        M.MoodModel.load(tmp_path / "nope.joblib")
    assert missing.value.code == "mood_model_missing"
    bad = tmp_path / "bad.joblib"
    bad.write_bytes(b"this is not a model")
    with pytest.raises(M.MoodModelError, match="corrupt") as corrupt:
        M.MoodModel.load(bad)
    assert corrupt.value.code == "mood_model_corrupt"


def test_shipped_model_loads_and_covers_the_taxonomy() -> None:
    shipped = M.MoodModel.load(M.SHIPPED_MODEL)
    assert set(shipped.labels) == {"happy", "energetic", "calm", "romantic", "sad", "dark", "tense", "epic"}
    assert M.SHIPPED_MODEL.stat().st_size < 5 * 1024 * 1024
    assert "synthetic" in shipped.meta["trained_on"]
