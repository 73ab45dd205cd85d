"""Mood features from musicnn: window rows of librosa features + musicnn embeddings + mood-bearing tags.

A row of the musicnn backend is the librosa row of the window (:data:`F.FEATURE_NAMES`),
the mean of the 400-unit penultimate embeddings (MSD then MTT) of the window's
patches, their standard deviation over the whole track, and the logits of the
tags that carry mood evidence. musicnn's raw tag probabilities are tiny and
differ in scale per tag (happy <= .006, chill <= .057), so tags enter as logits;
the model's scaler, and :func:`tag_evidence` with the training corpus'
statistics, compare each tag only with itself.
"""

from __future__ import annotations

import numpy as np

from moodmix.plugins.mood import features as F
from moodmix.plugins.mood.musicnn import labels
from moodmix.plugins.mood.musicnn.tagger import SAMPLE_RATE, Tagging

FEATURE_SET_VERSION = "musicnn-1"
#: Analyse one 3-s patch in this many (one every ~9 s): the network costs ~0.1 s CPU per patch.
PATCH_EVERY = 3
#: ...and no more than one per this many seconds of track (at least :data:`MIN_PATCHES`, at most
#: :data:`MAX_PATCHES`), spread evenly: mood changes slowly, and this is what keeps the backend at
#: >= 100x realtime per core. Clips up to ~20 s (the training corpus is 12-20 s) keep the grid above.
SECONDS_PER_PATCH = 24.0
MIN_PATCHES = 2
MAX_PATCHES = 48
EMBEDDING = 400
MOOD_TAGS: tuple[tuple[str, str], ...] = (
    *(("msd", t) for t in ("happy", "sad", "chill", "chillout", "Mellow", "party", "beautiful", "sexy",
                           "catchy", "easy listening", "ambient", "dance", "metal", "heavy metal",
                           "hard rock", "punk", "experimental")),
    *(("mtt", t) for t in ("fast", "slow", "soft", "loud", "quiet", "ambient", "techno", "metal", "rock",
                           "classical", "drums", "beat", "new age", "weird", "dance", "strings", "choir",
                           "opera")),
)
FEATURE_NAMES: tuple[str, ...] = (
    *F.FEATURE_NAMES,
    *(f"embedding_mean_{i}" for i in range(EMBEDDING)),
    *(f"embedding_track_std_{i}" for i in range(EMBEDDING)),
    *(f"tag_{source}_{tag.lower().replace(' ', '_')}" for source, tag in MOOD_TAGS),
)
#: Signed tags behind the tag-based valence/arousal estimate (each compared with its training statistics).
AROUSAL_TAGS = {("mtt", "fast"): 1, ("mtt", "loud"): 1, ("mtt", "drums"): 1, ("mtt", "metal"): 1,
                ("mtt", "rock"): 1, ("msd", "party"): 1, ("msd", "metal"): 1, ("mtt", "slow"): -1,
                ("mtt", "quiet"): -1, ("mtt", "soft"): -1, ("mtt", "ambient"): -1, ("msd", "chill"): -1,
                ("msd", "Mellow"): -1, ("msd", "ambient"): -1}
VALENCE_TAGS = {("msd", "happy"): 1, ("msd", "party"): 1, ("msd", "catchy"): 1, ("msd", "beautiful"): 0.5,
                ("msd", "sad"): -1, ("mtt", "weird"): -0.5, ("msd", "heavy metal"): -0.5}


def tag_logits(tagging: Tagging) -> dict[tuple[str, str], np.ndarray]:
    """Per-patch logits of :data:`MOOD_TAGS`."""
    out = {}
    for source, tag in MOOD_TAGS:
        vocab, probs = (labels.MSD, tagging.msd) if source == "msd" else (labels.MTT, tagging.mtt)
        p = np.clip(probs[:, vocab.index(tag)], 1e-6, 1 - 1e-6)
        out[(source, tag)] = np.log(p / (1 - p))
    return out


def patch_limit(seconds: float) -> int:
    """How many patches a track of ``seconds`` gets at most (see :data:`SECONDS_PER_PATCH`)."""
    return int(min(MAX_PATCHES, max(MIN_PATCHES, np.ceil(seconds / SECONDS_PER_PATCH))))


def tag_audio(y: np.ndarray, sr: int = F.SAMPLE_RATE, every: int | None = None,
              models: tuple | None = None) -> Tagging:
    """musicnn on mono ``y`` at ``sr`` (resampled to 16 kHz): one patch in ``every`` (:data:`PATCH_EVERY`),
    thinned to :func:`patch_limit` evenly spread patches."""
    import soxr

    from moodmix.plugins.mood.musicnn.tagger import tag

    y = np.asarray(y, dtype=np.float32)
    # soxr on the 1-D signal: the same samples as engine.audio_io.resample (soxr HQ) without its two
    # (frames, channels) copies of the track, which were the peak on 20-minute tracks.
    y16 = y if sr == SAMPLE_RATE else soxr.resample(y, sr, SAMPLE_RATE, quality="HQ")
    return tag(y16, every=every or PATCH_EVERY, models=models, limit=patch_limit(len(y) / sr))


def window_rows(tf: F.TrackFeatures, tagging: Tagging) -> list[dict[str, float]]:
    """The musicnn backend's rows for the windows of ``tf`` (named as :data:`FEATURE_NAMES`)."""
    track_std = tagging.embedding.std(axis=0)
    rows = []
    for (start, end), base in zip(tf.windows, tf.per_window, strict=True):
        part = tagging.select(start, end)
        logits = tag_logits(part)
        row = dict(base)
        row.update({f"embedding_mean_{i}": float(v) for i, v in enumerate(part.embedding.mean(axis=0))})
        row.update({f"embedding_track_std_{i}": float(v) for i, v in enumerate(track_std)})
        row.update({f"tag_{s}_{t.lower().replace(' ', '_')}": float(v.mean()) for (s, t), v in logits.items()})
        rows.append(row)
    return rows


def as_matrix(rows: list[dict[str, float]]) -> np.ndarray:
    return np.array([[row[name] for name in FEATURE_NAMES] for row in rows], dtype=np.float64)


def tag_reference(rows: list[dict[str, float]]) -> dict[str, list[float]]:
    """Mean and spread of each tag logit over a training corpus: the scale :func:`tag_evidence` uses."""
    out = {}
    for source, tag in MOOD_TAGS:
        name = f"tag_{source}_{tag.lower().replace(' ', '_')}"
        values = np.array([row[name] for row in rows])
        out[name] = [float(values.mean()), float(values.std() + 1e-6)]
    return out


def tag_evidence(tagging: Tagging, reference: dict[str, list[float]]) -> dict[str, float]:
    """Valence and arousal in [-1, 1] read from the tags alone, each tag standardised by ``reference``."""
    logits = {k: float(v.mean()) for k, v in tag_logits(tagging).items()}

    def score(weights: dict[tuple[str, str], float]) -> float:
        total = 0.0
        for (source, tag), sign in weights.items():
            mean, std = reference[f"tag_{source}_{tag.lower().replace(' ', '_')}"]
            total += sign * (logits[(source, tag)] - mean) / std
        return float(np.tanh(total / sum(abs(s) for s in weights.values()) * 1.5))

    return {"valence": score(VALENCE_TAGS), "arousal": score(AROUSAL_TAGS)}


def top_tags(tagging: Tagging, n: int = 5) -> list[str]:
    """The strongest MTT and MSD tags of the track (mean probability), for people to read."""
    found = []
    for vocab, probs in ((labels.MTT, tagging.mtt), (labels.MSD, tagging.msd)):
        mean = probs.mean(axis=0)
        found += [vocab[i] for i in np.argsort(-mean)[:n]]
    return list(dict.fromkeys(found))
