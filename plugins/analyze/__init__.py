"""Built-in ``analyze`` plugin: loudness, tempo/beats and key of one track.

Other plugins reuse the estimators directly (all take numpy audio):
:func:`moodmix.plugins.analyze.tempo.estimate_tempo`,
:func:`moodmix.plugins.analyze.key.estimate_key`, or the whole analysis
with :func:`moodmix.plugins.analyze.pipeline.analyze_file` / ``analyze_signal``.
:mod:`moodmix.plugins.analyze.testsignals` makes songs with a known key and tempo. Loudness and true
peak come from :mod:`moodmix.engine.loudness`, shared by every plugin.
"""

from __future__ import annotations

from moodmix.engine.hookspecs import hookimpl
from moodmix.plugins.analyze.capability import ANALYZE, AnalyzeParams

__all__ = ["ANALYZE", "AnalyzeParams", "register_capabilities"]


@hookimpl
def register_capabilities() -> list:
    return [ANALYZE]
