"""The analysis of one file, step by step, as a JSON-ready dict.

Kept apart from the capability so that scripts and other plugins can analyse a
file without an engine (``analyze_file(path)``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from moodmix.engine import audio_io
from moodmix.engine.loudness import measure_levels
from moodmix.plugins.analyze.capability import AnalyzeParams
from moodmix.plugins.analyze.features import spectral_features
from moodmix.plugins.analyze.key import DEFAULT_PROFILE, estimate_key_from_chroma
from moodmix.plugins.analyze.tempo import estimate_tempo_from_onsets

Progress = Callable[[float, str | None], None]


def analyze_file(path: str | Path, params: AnalyzeParams | None = None, *,
                 progress: Progress | None = None) -> dict[str, Any]:
    """Format, loudness, tempo/beats and key of the audio file at ``path``.

    ``progress(fraction, message)`` is called before each step, at fractions that
    match where the time goes on a typical track (loudness and true peak on the
    original audio take about half of it).
    """
    params = params or AnalyzeParams()
    report = progress or (lambda fraction, message=None: None)

    report(0.02, "reading audio")
    info = audio_io.probe(path)
    audio, sr = audio_io.load_audio(path)
    report(0.1, "measuring loudness and peaks")
    loudness = measure_levels(audio, sr)
    report(0.6, "computing the spectrograms")
    analysis_sr = params.analysis_sample_rate
    mono = audio_io.resample(audio.mean(axis=0, keepdims=True), sr, analysis_sr)[0]
    del audio
    features = spectral_features(mono, analysis_sr)
    report(0.88, "finding tempo and beats")
    tempo = estimate_tempo_from_onsets(features.onset_envelope, analysis_sr, hop_length=features.hop_length,
                                       low_envelope=features.low_onset_envelope,
                                       high_envelope=features.high_onset_envelope, with_beats=True,
                                       duration=info.duration)
    report(0.93, "estimating the key")
    key = estimate_key_from_chroma(features.chroma, bass_chroma=features.bass_chroma,
                                   profile=params.key_profile, duration=info.duration)
    report(0.97, "assembling the result")

    notes = [n for n in (loudness.note, tempo.note, key.note) if n]
    tempo_data = tempo.as_dict(max_beats=params.max_beats, include_beats=params.beats)
    key_data = key.as_dict()
    data: dict[str, Any] = {
        "duration": round(float(info.duration), 3),
        "sample_rate": int(info.sample_rate),
        "channels": int(info.channels),
        "format": info.format,
        "loudness": loudness.as_dict(),
        "tempo": tempo_data["bpm"],
        "tempo_confidence": tempo_data["confidence"],
        "tempo_candidates": tempo_data["candidates"],
        "beat_count": tempo_data["beat_count"],
        "key": key_data["key"],
        "mode": key_data["mode"],
        "key_name": key_data["name"],
        "camelot": key_data["camelot"],
        "key_confidence": key_data["confidence"],
        "key_correlation": key_data["correlation"],
        "key_runner_up": key_data["runner_up"],
        "analysis": {
            "sample_rate": analysis_sr,
            "hop_length": features.hop_length,
            "tuning_cents": round(float(features.tuning) * 100.0, 1),
            "key_profile": key.profile,
        },
        "notes": notes,
    }
    if params.beats:
        data["beats"] = tempo_data["beats"]
        data["beats_truncated"] = tempo_data["beats_truncated"]
    return data


def analyze_signal(y: np.ndarray, sr: int, *, key_profile: str = DEFAULT_PROFILE) -> dict[str, Any]:
    """Tempo and key of an in-memory mono signal (for benchmarks that never touch disk)."""
    features = spectral_features(y, sr)
    tempo = estimate_tempo_from_onsets(features.onset_envelope, sr, hop_length=features.hop_length,
                                       low_envelope=features.low_onset_envelope,
                                       high_envelope=features.high_onset_envelope)
    key = estimate_key_from_chroma(features.chroma, bass_chroma=features.bass_chroma, profile=key_profile)
    return {"tempo": tempo.as_dict(), "key": key.as_dict()}
