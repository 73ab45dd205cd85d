"""Train the shipped mood model from a rendered corpus, reproducibly.

    python -m moodmix.plugins.mood.training.train_shipped            # writes plugins/mood/shipped_model.joblib
    python -m moodmix.plugins.mood.training.train_shipped --per-mood 20 -o /tmp/m.joblib   # quick run

Training clips (12 s, one timeline window each) use the training voices and kits
of :mod:`voices` (half of them MP3-encoded); the held-out set (20 s clips) uses
*other* voices, another kit, chorus/phaser mastering and Ogg Vorbis, none of
which training ever sees — the accuracy on it is the honest figure for
"settings it never saw". Same seed, same corpus, same model.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from moodmix.plugins.mood.features import SAMPLE_RATE
from moodmix.plugins.mood.model import SHIPPED_MODEL, MoodModel
from moodmix.plugins.mood.taxonomy import MOOD_NAMES
from moodmix.plugins.mood.training import synth
from moodmix.plugins.mood.training.dataset import Dataset, cross_validate, evaluate, format_confusion, window_rows
from moodmix.plugins.mood.training.script import training_main

TRAIN_SECONDS = 12.0
HELD_OUT_SECONDS = 20.0


def render_corpus(per_mood: int, seed: int, held_out: bool, seconds: float, log: Any = print,
                  backend: str = "features") -> Dataset:
    """Render ``per_mood`` clips per mood, pass them through a codec, analyse them into a :class:`Dataset`.

    Real uploads are lossy, and codecs move the top spectral bands a lot (MP3 alone
    shifted spectral contrast above 6 kHz by ~6 standard deviations), so half the
    training clips go through MP3 at 96-192 kbps; the held-out set uses Ogg Vorbis,
    a codec training never sees.
    """
    data = Dataset(backend=backend)
    with tempfile.TemporaryDirectory(prefix="moodmix-corpus-") as tmp:
        for m_index, mood in enumerate(MOOD_NAMES):
            rng = np.random.default_rng([seed, m_index, int(held_out)])
            for i in range(per_mood):
                y, clip = synth.render_clip(mood, rng, seconds=seconds, held_out=held_out)
                if held_out:
                    y = codec_round_trip(y, Path(tmp) / f"{mood}-{i}.ogg", "ogg")
                elif rng.random() < 0.5:
                    y = codec_round_trip(y, Path(tmp) / f"{mood}-{i}.mp3", "mp3",
                                         bitrate=int(rng.choice((96, 128, 192))))
                data.add(f"{mood}-{i} {clip.voices} {clip.kit} {clip.drums}", mood, window_rows(y, backend=backend))
            log(f"  {'held-out' if held_out else 'training'} {mood}: {per_mood} clips")
    return data


def codec_round_trip(y: np.ndarray, path: Path, fmt: str, bitrate: int = 128) -> np.ndarray:
    """Encode at 44.1 kHz (as real files are) and decode back to the analysis rate."""
    from moodmix.engine.audio_io import load_audio, resample, save_audio

    save_audio(path, resample(y[None, :], SAMPLE_RATE, 44100), 44100, format=fmt, mp3_bitrate=bitrate)
    audio, _ = load_audio(path, sample_rate=SAMPLE_RATE, mono=True)
    return audio[0][: len(y)]


def train(per_mood: int = 60, held_out_per_mood: int = 20, seed: int = 2024, output: Path = SHIPPED_MODEL,
          log: Any = print, train_seconds: float = TRAIN_SECONDS,
          held_out_seconds: float = HELD_OUT_SECONDS) -> dict[str, Any]:
    """Render, cross-validate, fit on everything, score the held-out set, save. Returns the metrics."""
    started = time.perf_counter()
    log(f"rendering training corpus: {per_mood} x {len(MOOD_NAMES)} clips of {train_seconds:.0f} s "
        f"(seed {seed})")
    train_set = render_corpus(per_mood, seed, False, train_seconds, log=log)
    cv = cross_validate(train_set, seed=seed)
    log(f"cross-validated accuracy ({cv['folds']} folds, {cv['n_files']} clips): {cv['accuracy']:.3f}")
    log(format_confusion(cv))
    description = (f"synthetic corpus rendered by moodmix.plugins.mood.training.train_shipped (seed {seed}): "
                   f"{per_mood} x {train_seconds:.0f} s clips per mood, training voices and kits only, "
                   "half of them through MP3")
    model = MoodModel.fit(train_set.X, train_set.labels, trained_on=description, seed=seed)
    log(f"rendering held-out set: {held_out_per_mood} x {len(MOOD_NAMES)} clips of {held_out_seconds:.0f} s, "
        "unseen voices/kit/effects, Ogg Vorbis")
    held_out = render_corpus(held_out_per_mood, seed, True, held_out_seconds, log=log)
    ho = evaluate(model, held_out)
    log(f"held-out accuracy ({ho['n_files']} clips): {ho['accuracy']:.3f}")
    log(format_confusion(ho))
    metrics = {"cv_accuracy": round(cv["accuracy"], 4), "cv_confusion": cv["confusion"],
               "held_out_accuracy": round(ho["accuracy"], 4), "held_out_confusion": ho["confusion"],
               "labels": cv["labels"], "seed": seed, "per_mood": per_mood,
               "held_out_per_mood": held_out_per_mood}
    model.meta["metrics"] = metrics
    path = model.save(output)
    log(f"saved {path} ({path.stat().st_size / 1024:.0f} KiB) in {time.perf_counter() - started:.0f} s")
    return metrics


def main(argv: list[str] | None = None) -> None:
    training_main(train, SHIPPED_MODEL, __doc__.split("\n")[0], argv)


if __name__ == "__main__":
    main()
