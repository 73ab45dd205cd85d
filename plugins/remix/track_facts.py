"""The genre-independent facts about a track: tempo, beats, key, bar grid and structure scores.

Computed once per track (content hash) and kept in :class:`~.track_cache.TrackCache`, so a
full render after a preview, or a remix in another genre, skips the analysis.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from moodmix.engine import audio_io
from moodmix.engine.capability import RunContext
from moodmix.engine.errors import NotFound
from moodmix.plugins.remix.downbeat import align_to_bars
from moodmix.plugins.remix.structure import BarScores, bar_starts, score_bars
from moodmix.plugins.remix.tempo import BeatGrid, fit_beat_grid
from moodmix.plugins.remix.track_cache import TrackCache, file_sha256


@dataclass
class Analysis:
    tempo: float | None
    beats: list[float] = field(default_factory=list)
    key: str | None = None
    mode: str | None = None
    precise_tempo: bool = True  # False: a tempogram-bin estimate, to be refined from the beats
    confidence: float | None = None  # the analyzer's tempo confidence (0..1), passed on to clients


class TrackFacts:
    """Analysis and bar-aligned grid of the run's ``audio`` input, from the cache or computed now."""

    def __init__(self, cache: TrackCache, sha: str, doc: dict, *, reused: bool) -> None:
        self.cache, self.sha, self.doc, self.reused = cache, sha, doc, reused

    @classmethod
    def load(cls, ctx: RunContext, mono: Callable[[], np.ndarray], sr: int) -> TrackFacts:
        """``mono``: the track's mono downmix at ``sr``, asked for only when the analysis is not cached
        (the caller decodes it then, so the analysis runs with no other copy of the track in memory)."""
        cache = TrackCache.for_run(ctx)
        sha = file_sha256(ctx.inputs["audio"])
        key = f"analysis-{sr}-{_analyzer(ctx)}"  # another analyzer (or version) finds other beats
        doc = cache.get(sha, key)
        if doc is not None:
            ctx.progress(0.02, "reusing the track's analysis")
            return cls(cache, sha, doc, reused=True)
        analysis = _analyse(ctx)
        grid = fit_beat_grid(analysis.beats, analysis.tempo, trust_tempo=analysis.precise_tempo)
        grid = align_to_bars(grid, mono(), sr)
        doc = {"analysis": dataclasses.asdict(analysis), "grid": dataclasses.asdict(grid)}
        cache.put(sha, key, doc)
        return cls(cache, sha, doc, reused=False)

    def analysis(self) -> Analysis:
        return Analysis(**self.doc["analysis"])

    def grid(self) -> BeatGrid:
        return BeatGrid(**self.doc["grid"])

    def bar_scores(self, mix: np.ndarray, sr: int) -> BarScores:
        """Repetition and energy per bar (cached with the analysis)."""
        key = f"structure-{sr}"
        doc = self.cache.get(self.sha, key)
        if doc is not None:
            return BarScores(**doc)
        grid = self.grid()
        bar_s = 4 * grid.period if grid.steady else 2.0
        first = grid.first_beat if grid.steady and math.isfinite(grid.first_beat) else 0.0
        scores = score_bars(mix.mean(axis=0), sr, bar_starts(first, bar_s, mix.shape[1] / sr))
        self.cache.put(self.sha, key, dataclasses.asdict(scores))
        return scores


def _analyzer(ctx: RunContext) -> str:
    cap = getattr(ctx.registry, "capabilities", {}).get("analyze")
    return f"analyze{cap.version}" if cap is not None else "librosa"


def _analyse(ctx: RunContext) -> Analysis:
    """Tempo, beats and key from the analyze capability (librosa beat tracking if it is absent)."""
    ctx.progress(0.02, "finding the beat")
    try:
        result = ctx.call("analyze", inputs={"audio": ctx.inputs["audio"]}, params={}, progress=(0.02, 0.1))
    except NotFound:
        return _fallback_analysis(ctx.inputs["audio"])
    data = result.data
    beats = [float(b) for b in data.get("beats") or []]
    tempo = data.get("tempo")
    confidence = data.get("tempo_confidence")
    return Analysis(float(tempo) if tempo else None, beats, data.get("key"), data.get("mode"),
                    confidence=float(confidence) if confidence is not None else None)


def _fallback_analysis(path: Path) -> Analysis:
    import librosa

    mono, sr = audio_io.load_audio(path, sample_rate=22_050, mono=True)
    tempo, beats = librosa.beat.beat_track(y=mono[0], sr=sr, units="time")
    return Analysis(float(np.atleast_1d(tempo)[0]), [float(b) for b in beats], precise_tempo=False)
