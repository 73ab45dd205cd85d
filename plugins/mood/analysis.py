"""From audio to a mood result: distribution, confidence, valence/arousal, timeline and features.

Kept separate from the capability wrapper so the CLI, the bench and tests call the
same code path on arrays or files without a RunContext.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from moodmix.engine.errors import BadInput
from moodmix.plugins.mood import features as F
from moodmix.plugins.mood.model import MoodModel
from moodmix.plugins.mood.taxonomy import MOOD_NAMES, valence_arousal

#: Shortest track we analyse: below this, tempo and key are guesses.
MIN_SECONDS = 5.0
#: Peak level under which a track counts as silent (-80 dBFS).
SILENCE_PEAK = 1e-4
#: Above this duration, decode in blocks so a 20-minute file never sits in memory at 44.1 kHz stereo.
BLOCK_SECONDS = 120.0

Progress = Callable[[float, str], None]


def load_mono(path: str | Path) -> np.ndarray:
    """Decode to mono float32 at the analysis rate, block by block for long native-format files."""
    from moodmix.engine.audio_io import FFMPEG_FORMATS, load_audio, probe

    info = probe(path)
    if info.duration <= BLOCK_SECONDS * 1.5 or info.format in FFMPEG_FORMATS:
        audio, _ = load_audio(path, sample_rate=F.SAMPLE_RATE, mono=True)
        return audio[0]
    blocks, offset = [], 0.0
    while offset < info.duration:
        audio, _ = load_audio(path, sample_rate=F.SAMPLE_RATE, mono=True, offset=offset,
                              duration=BLOCK_SECONDS)
        blocks.append(audio[0])
        offset += BLOCK_SECONDS
    return np.concatenate(blocks)


def validate(y: np.ndarray, sr: int = F.SAMPLE_RATE) -> None:
    """Refuse silence and tracks too short to analyse, with a reason a user can act on."""
    seconds = len(y) / sr
    if seconds < MIN_SECONDS:
        raise BadInput(f"the track is {seconds:.1f} s long; mood analysis needs at least {MIN_SECONDS:.0f} s",
                       code="too_short")
    if float(np.max(np.abs(y))) < SILENCE_PEAK:
        raise BadInput("the track is silent (no sound above -80 dBFS); nothing to analyse",
                       code="silent_audio")


#: Weight of the musicnn tags' own valence/arousal reading against the mood distribution's.
TAG_EVIDENCE_WEIGHT = 0.5


def analyse_audio(y: np.ndarray, model: MoodModel, *, sr: int = F.SAMPLE_RATE, window_seconds: float = 10.0,
                  progress: Progress | None = None, musicnn_weights: str | Path | None = None) -> dict[str, Any]:
    """The full mood result for mono audio ``y`` (JSON-ready).

    A model of the ``musicnn`` backend also runs musicnn (weights from
    ``musicnn_weights``, default the shipped ones); its tags then pull valence and
    arousal toward what they say on their own (:data:`TAG_EVIDENCE_WEIGHT`).
    """
    report = progress or (lambda f, m: None)
    validate(y, sr)
    fa = F.analyse(y, sr, progress=lambda f, m: report(0.6 * f, m))
    tf = F.track_features(fa, window_seconds)
    tagging, evidence_of = None, None
    if model.backend == "musicnn":
        from moodmix.plugins.mood.musicnn import features as MF
        from moodmix.plugins.mood.musicnn.network import WEIGHTS, load_models

        report(0.65, "musicnn tags")
        tagging = MF.tag_audio(y, sr, models=load_models(musicnn_weights or WEIGHTS))
        X = MF.as_matrix(MF.window_rows(tf, tagging))
        reference = model.meta.get("tag_reference")
        if reference:
            def evidence_of(start: float, end: float) -> dict[str, float]:
                return MF.tag_evidence(tagging.select(start, end), reference)
    else:
        X = F.as_matrix(tf.per_window)
    report(0.85, "classifying")
    windows = model.distributions(X)
    timeline = []
    for (start, end), dist in zip(tf.windows, windows, strict=True):
        full = _over_taxonomy(dist)
        valence, arousal = _blend(valence_arousal(full), evidence_of(start, end) if evidence_of else None)
        top = max(full, key=full.__getitem__)
        timeline.append({"start": round(start, 2), "end": round(end, 2), "mood": top,
                         "confidence": round(full[top], 4), "valence": round(valence, 4),
                         "arousal": round(arousal, 4),
                         "distribution": {m: round(p, 3) for m, p in full.items()}})
    lengths = np.array([end - start for start, end in tf.windows])
    track = {m: float(np.dot(lengths, [d[m] for d in map(_over_taxonomy, windows)]) / lengths.sum())
             for m in MOOD_NAMES}
    evidence = evidence_of(0.0, fa.duration + 1.0) if evidence_of else None
    valence, arousal = _blend(valence_arousal(track), evidence)
    top = max(track, key=track.__getitem__)
    result = {
        "mood": top,
        "confidence": round(track[top], 4),
        "valence": round(valence, 4),
        "arousal": round(arousal, 4),
        "distribution": {m: round(p, 4) for m, p in sorted(track.items(), key=lambda kv: -kv[1])},
        "timeline": timeline,
        "duration": round(fa.duration, 2),
        "window_seconds": round(float(lengths.mean()), 2),
        "features": {"key": tf.key, "beats": tf.beats, **{k: round(v, 5) for k, v in tf.whole.items()}},
        "backend": model.backend,
        "model": {"backend": model.backend, "labels": list(model.labels),
                  "trained_on": model.meta.get("trained_on", ""), "created": model.meta.get("created", "")},
    }
    if tagging is not None:
        from moodmix.plugins.mood.musicnn.features import top_tags

        result["tags"] = {"top": top_tags(tagging), "patches": len(tagging.starts),
                          **({"valence": round(evidence["valence"], 4), "arousal": round(evidence["arousal"], 4)}
                             if evidence else {})}
    result["summary"] = summary(result)
    return result


def _blend(coords: tuple[float, float], evidence: dict[str, float] | None) -> tuple[float, float]:
    """The distribution's (valence, arousal), pulled toward the tags' reading when there is one."""
    if evidence is None:
        return coords
    w = TAG_EVIDENCE_WEIGHT
    return ((1 - w) * coords[0] + w * evidence["valence"], (1 - w) * coords[1] + w * evidence["arousal"])


def _over_taxonomy(dist: dict[str, float]) -> dict[str, float]:
    """A model's distribution spread over the whole taxonomy (labels it lacks get 0)."""
    return {m: float(dist.get(m, 0.0)) for m in MOOD_NAMES}


def summary(result: dict[str, Any]) -> str:
    """One human line: label, confidence, valence/arousal, and the timeline's mood changes."""
    changes, last = [], None
    for w in result["timeline"]:
        if w["mood"] != last:
            changes.append(f"{int(w['start']) // 60}:{int(w['start']) % 60:02d} {w['mood']}")
            last = w["mood"]
    return (f"{result['mood']} ({result['confidence']:.0%} confidence), valence {result['valence']:+.2f}, "
            f"arousal {result['arousal']:+.2f}; timeline: {', '.join(changes)}")
